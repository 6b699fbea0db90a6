/**
 * What a publish reads, wired as the ingest function wires it: the subscriber cache in front of the
 * tenant's webhooks, and the version check before the event is stored. A warm publish must read one copy of the
 * subscriptions version and nothing of the tenant's webhooks (issue 14), and a webhook change must
 * still reach the very next publish.
 */
import { describe, expect, it } from "vitest";
import { cachedSubscriberSnapshots } from "../../functions/adapters/subscriber-cache.ts";
import type { StoredEvent, Webhook } from "../../functions/domain/model.ts";
import { type PublishEventDeps, publishEvent } from "../../functions/domain/publish.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { eventDataCheck } from "../../functions/shared/event-schemas.ts";
import { webhookFixture } from "../support/webhook-fixture.ts";

const webhook = (id: string, eventTypes: string[]) => webhookFixture(id, eventTypes);

/**
 * The tenant's webhooks and subscriptions version as the webhook store keeps them, with every read
 * recorded: `version` for one copy of the version, `webhooks` for a query of the tenant's partition.
 */
function tenant(initial: Webhook[]) {
  const reads: ("version" | "webhooks")[] = [];
  let webhooks = initial;
  let version = 0;
  const readVersion = () => {
    reads.push("version");
    return version;
  };
  const readWebhooks = () => {
    reads.push("webhooks");
    return { webhooks: webhooks.filter((candidate) => candidate.active) };
  };
  const queuedTo: string[][] = [];
  const events = new Map<string, StoredEvent>();
  const deps: PublishEventDeps = {
    catalogue: DEFAULT_EVENT_TYPES,
    checkData: eventDataCheck(DEFAULT_EVENT_TYPES),
    now: () => new Date("2026-03-01T12:00:00.000Z"),
    subscribers: {
      activeWebhookPage: async () => readWebhooks(),
      subscriberSnapshot: cachedSubscriberSnapshots(
        // The store's snapshot: the version first, then the page.
        { subscriberSnapshot: async () => ({ version: readVersion(), page: readWebhooks() }) },
        { ttlMs: 5 * 60_000, maxTenants: 1_000, now: () => 0 },
      ),
      subscriptionsUnchanged: async (_tenantId, version) => readVersion() === version,
    },
    events: {
      async insertIfAbsent(event) {
        events.set(event.id, event);
        return { event, created: true };
      },
      async markFannedOut() {},
      async extendFanOut() {},
    },
    deliveries: { createPending: async (batch) => batch },
    queue: {
      async enqueue(messages) {
        queuedTo.push(messages.map((message) => message.webhookId).sort());
      },
    },
    continueLater: async () => {},
  };
  return {
    deps,
    reads,
    queuedTo,
    /** A webhook change as the management API writes it: the webhooks and the version together. */
    change(next: Webhook[]) {
      webhooks = next;
      version += 1;
    },
    publish: () => publishEvent(deps, "t1", { type: "memory.created", data: {}, source: "api" }),
  };
}

describe("the reads of a publish", () => {
  it("reads the tenant's webhooks once; a warm publish reads one version copy and nothing else", async () => {
    const t = tenant(Array.from({ length: 10 }, (_, n) => webhook(`wh_${n}`, ["memory.created"])));
    await t.publish();
    expect(t.reads).toEqual(["version", "webhooks", "version"]);
    t.reads.length = 0;
    for (let n = 0; n < 100; n += 1) await t.publish();
    expect(t.reads).toEqual(Array.from({ length: 100 }, () => "version"));
    expect(t.queuedTo.every((webhooks) => webhooks.length === 10)).toBe(true);
  });

  it("takes a webhook change on the very next publish, reading the webhooks again once", async () => {
    const t = tenant([webhook("wh_a", ["memory.created"])]);
    await t.publish();
    t.change([webhook("wh_a", ["session.started"]), webhook("wh_b", ["memory.created"])]);
    t.reads.length = 0;
    await t.publish();
    expect(t.queuedTo.at(-1)).toEqual(["wh_b"]);
    expect(t.reads).toEqual(["version", "version", "webhooks", "version"]);
    t.reads.length = 0;
    await t.publish();
    expect(t.queuedTo.at(-1)).toEqual(["wh_b"]);
    expect(t.reads).toEqual(["version"]);
  });

  it("sends nothing to a webhook deleted just before, though the cache still held it", async () => {
    const t = tenant([webhook("wh_a", ["memory.created"]), webhook("wh_b", ["memory.created"])]);
    await t.publish();
    t.change([webhook("wh_b", ["memory.created"])]);
    const result = await t.publish();
    expect(result.deliveryCount).toBe(1);
    expect(t.queuedTo.at(-1)).toEqual(["wh_b"]);
  });
});
