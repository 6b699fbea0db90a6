import { describe, expect, it } from "vitest";
import { PayloadTooLargeError, ValidationError } from "../../functions/domain/errors.ts";
import type { DeliveryMessage, FanOutContinuation } from "../../functions/domain/messages.ts";
import type { Delivery, StoredEvent, Webhook } from "../../functions/domain/model.ts";
import {
  continueFanOut,
  INLINE_PAYLOAD_BYTES,
  type PublishEventDeps,
  publishEvent,
  resumeFanOut,
  selectsEvent,
} from "../../functions/domain/publish.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { eventDataCheck } from "../../functions/shared/event-schemas.ts";
import { webhookFixture } from "../support/webhook-fixture.ts";

const PRO_FILTER = { data: { plan: ["pro", "enterprise"], amount: [{ numeric: [">=", 100] }] } };

function filtered(id: string, eventTypes: string[], filter: Webhook["filter"] = PRO_FILTER): Webhook {
  return { ...webhook(id, eventTypes), filter };
}

const webhook = (id: string, eventTypes: string[], active = true) =>
  webhookFixture(id, eventTypes, { active });

/**
 * Test doubles for the stores the ingest function uses, recording what they were asked. The subscriber
 * snapshot is cached like the ingest function's, and the subscriptions version moves on with `change`.
 */
function harness(webhookPages: Webhook[][]) {
  let version = 0;
  let cachedSnapshot: { version: number; page: { webhooks: Webhook[]; next?: string } } | undefined;
  const firstPage = () => {
    const page = (webhookPages[0] ?? []).filter((candidate) => candidate.active);
    return webhookPages.length > 1 ? { webhooks: page, next: "1" } : { webhooks: page };
  };
  const events = new Map<string, StoredEvent>();
  /** Events stored and not yet marked fanned out: due, to the reconciler. */
  const due = new Set<string>();
  /** The counts each mark wrote (undefined: the count stored with the event was kept). */
  const markedCounts: (number | undefined)[] = [];
  const deliveries = new Map<string, Delivery>();
  const queued: DeliveryMessage[] = [];
  const resumes: boolean[] = [];
  const continuations: FanOutContinuation[] = [];
  const extended: string[] = [];
  /** The size of each batch of pending records stored, in order. */
  const pendingBatches: number[] = [];
  /** How many pages of the tenant's webhooks were read (not counting the snapshot's). */
  let pageReads = 0;
  let failEnqueueOnce = false;
  let failCreateOnce = false;
  const deps: PublishEventDeps = {
    catalogue: DEFAULT_EVENT_TYPES,
    checkData: eventDataCheck(DEFAULT_EVENT_TYPES),
    now: () => new Date("2026-03-01T12:00:00.000Z"),
    events: {
      async insertIfAbsent(event) {
        const existing = events.get(event.id);
        if (existing) return { event: existing, created: false };
        events.set(event.id, event);
        due.add(event.id);
        return { event, created: true };
      },
      async extendFanOut(_tenantId, eventId) {
        extended.push(eventId);
      },
      async markFannedOut(_tenantId, eventId, deliveryCount) {
        const event = events.get(eventId);
        if (event && deliveryCount !== undefined) events.set(eventId, { ...event, deliveryCount });
        due.delete(eventId);
        markedCounts.push(deliveryCount);
      },
    },
    subscribers: {
      async subscriberSnapshot(_tenantId, fresh) {
        if (!fresh && cachedSnapshot) return cachedSnapshot;
        cachedSnapshot = { version, page: firstPage() };
        return cachedSnapshot;
      },
      async subscriptionsUnchanged(_tenantId, snapshotVersion) {
        return snapshotVersion === version;
      },
      async activeWebhookPage(_tenantId, after) {
        pageReads += 1;
        const index = after === undefined ? 0 : Number(after);
        const page = (webhookPages[index] ?? []).filter((candidate) => candidate.active);
        return index + 1 < webhookPages.length
          ? { webhooks: page, next: String(index + 1) }
          : { webhooks: page };
      },
    },
    deliveries: {
      async createPending(batch, { resume }) {
        if (failCreateOnce) {
          failCreateOnce = false;
          throw new Error("DynamoDB unavailable");
        }
        resumes.push(resume);
        pendingBatches.push(batch.length);
        const created = batch.filter((delivery) => !deliveries.has(delivery.id));
        for (const delivery of created) deliveries.set(delivery.id, delivery);
        return resume ? created : batch;
      },
    },
    continueLater: async (continuation) => {
      continuations.push(continuation);
    },
    queue: {
      async enqueue(messages) {
        if (failEnqueueOnce) {
          failEnqueueOnce = false;
          throw new Error("SQS unavailable");
        }
        queued.push(...messages);
      },
    },
  };
  return {
    deps,
    events,
    due,
    markedCounts,
    deliveries,
    queued,
    resumes,
    continuations,
    extended,
    pendingBatches,
    pageReads: () => pageReads,
    /** Changes the tenant's webhooks as the management API does: the pages, and the version. */
    change: (pages: Webhook[][]) => {
      webhookPages.splice(0, webhookPages.length, ...pages);
      version += 1;
    },
    failNextEnqueue: () => {
      failEnqueueOnce = true;
    },
    failNextCreate: () => {
      failCreateOnce = true;
    },
  };
}

describe("publishEvent", () => {
  it("stores the event and creates and queues one delivery per subscribed active webhook", async () => {
    const h = harness([
      [
        webhook("wh_a", ["memory.created"]),
        webhook("wh_b", ["memory.*"]),
        webhook("wh_c", ["session.started"]),
        webhook("wh_d", ["*"]),
        webhook("wh_e", ["memory.created"], false),
      ],
    ]);
    const result = await publishEvent(h.deps, "t1", {
      type: "memory.created",
      data: { n: 1 },
      source: "api",
    });
    expect(result.deliveryCount).toBe(3);
    expect(result.duplicate).toBe(false);
    expect([...h.deliveries.values()].map((d) => d.webhookId).sort()).toEqual(["wh_a", "wh_b", "wh_d"]);
    expect(h.queued.map((m) => m.deliveryId).sort()).toEqual([...h.deliveries.keys()].sort());
    expect(JSON.parse(h.queued[0]?.payload ?? "")).toEqual({
      id: result.event.id,
      type: "memory.created",
      timestamp: "2026-03-01T12:00:00.000Z",
      data: { n: 1 },
    });
    expect(h.events.get(result.event.id)?.deliveryCount).toBe(3);
  });

  it("fans out once when the same id is published twice", async () => {
    const h = harness([[webhook("wh_a", ["memory.created"])]]);
    await publishEvent(h.deps, "t1", { id: "order-42", type: "memory.created", data: {}, source: "api" });
    const again = await publishEvent(h.deps, "t1", {
      id: "order-42",
      type: "memory.created",
      data: {},
      source: "api",
    });
    expect(again.duplicate).toBe(true);
    expect(again.deliveryCount).toBe(1);
    expect(h.queued).toHaveLength(1);
  });

  it("fans a small fan-out out from the subscriber snapshot: its records in one batch, every delivery queued", async () => {
    const h = harness([[webhook("wh_a", ["memory.created"]), webhook("wh_b", ["*"])]]);
    const result = await publishEvent(h.deps, "t1", { type: "memory.created", data: {}, source: "api" });
    expect(h.pendingBatches).toEqual([2]);
    expect(h.resumes).toEqual([false]);
    expect(h.pageReads()).toBe(0);
    expect(result).toMatchObject({ deliveryCount: 2, fanOutComplete: true });
    expect(h.queued).toHaveLength(2);
    // Stored with the event, the count is not written again when the event's deadline ends.
    expect(h.events.get(result.event.id)?.deliveryCount).toBe(2);
    expect(h.due.has(result.event.id)).toBe(false);
    expect(h.markedCounts).toEqual([undefined]);
  });

  it("never fans out to a cached, stale set of subscribers: the write refuses it and they are read again", async () => {
    const h = harness([[webhook("wh_a", ["memory.created"])]]);
    await publishEvent(h.deps, "t1", { type: "memory.created", data: {}, source: "api" });
    h.change([[webhook("wh_a", ["memory.created"]), webhook("wh_new", ["memory.created"])]]);
    const after = await publishEvent(h.deps, "t1", { type: "memory.created", data: {}, source: "api" });
    expect(after.deliveryCount).toBe(2);
    expect(
      h.queued
        .slice(1)
        .map((message) => message.webhookId)
        .sort(),
    ).toEqual(["wh_a", "wh_new"]);
    expect(h.pendingBatches).toEqual([1, 2]);
    expect(h.pageReads()).toBe(0);
    // Each message names the version its deliveries were stored under, so that the delivery function
    // uses no webhook it read before then (a circuit that opened since moved the version on too).
    expect(h.queued.map((message) => message.subscriptionsVersion)).toEqual([0, 1, 1]);
  });

  it("goes page by page when the subscribers keep changing under it", async () => {
    const h = harness([[webhook("wh_a", ["memory.created"])]]);
    const deps = {
      ...h.deps,
      subscribers: { ...h.deps.subscribers, subscriptionsUnchanged: async () => false },
    };
    const result = await publishEvent(deps, "t1", { type: "memory.created", data: {}, source: "api" });
    expect(result).toMatchObject({ deliveryCount: 1, fanOutComplete: true, duplicate: false });
    expect(h.resumes).toEqual([false]);
    expect(h.pageReads()).toBe(1);
    expect(h.queued.map((message) => message.webhookId)).toEqual(["wh_a"]);
    // Read page by page, the deliveries were stored under no snapshot's version.
    expect(h.queued[0]?.subscriptionsVersion).toBeUndefined();
  });

  it("leaves the pending records of a small fan-out that crashed before queueing to the reconciler", async () => {
    const h = harness([[webhook("wh_a", ["memory.created"]), webhook("wh_b", ["memory.created"])]]);
    h.failNextEnqueue();
    const request = { id: "e1", type: "memory.created", data: {}, source: "api" } as const;
    await expect(publishEvent(h.deps, "t1", request)).rejects.toThrow("SQS unavailable");
    // Both records exist, and stay due until attempted: the event, marked fanned out, needs no deadline.
    expect([...h.deliveries.values()].map((delivery) => delivery.status)).toEqual(["pending", "pending"]);
    expect(h.events.get("e1")?.deliveryCount).toBe(2);

    // Publishing again cannot tell a crashed fan-out from one still running, so it sends nothing.
    const retried = await publishEvent(h.deps, "t1", request);
    expect(retried).toMatchObject({ deliveryCount: 2, duplicate: true });
    expect(h.queued).toEqual([]);
  });

  it("leaves an event whose records a crash kept from being stored due, and the reconciler fans it out", async () => {
    const h = harness([[webhook("wh_a", ["memory.created"]), webhook("wh_b", ["memory.created"])]]);
    h.failNextCreate();
    const request = { id: "e1", type: "memory.created", data: {}, source: "api" } as const;
    await expect(publishEvent(h.deps, "t1", request)).rejects.toThrow("DynamoDB unavailable");
    const stored = h.events.get("e1");
    if (!stored) throw new Error("the event was not stored");
    // Stored with the count it was meant to have, but not marked fanned out: still due, so the
    // reconciler finds it, and resumes it although it has a count.
    expect(stored.deliveryCount).toBe(2);
    expect(h.due.has("e1")).toBe(true);
    expect(h.deliveries.size).toBe(0);
    expect(h.queued).toEqual([]);

    expect(await resumeFanOut(h.deps, stored)).toBe(2);
    expect(h.queued.map((message) => message.webhookId).sort()).toEqual(["wh_a", "wh_b"]);
    expect(h.due.has("e1")).toBe(false);
    expect(h.events.get("e1")?.deliveryCount).toBe(2);
  });

  it("leaves a large fan-out that crashed to the reconciler, which finishes it with the same delivery ids", async () => {
    const pages = [0, 1].map((page) =>
      Array.from({ length: 2 }, (_, n) => webhook(`wh_${page}_${n}`, ["memory.created"])),
    );
    const h = harness(pages);
    h.failNextEnqueue();
    const request = { id: "e1", type: "memory.created", data: {}, source: "api" } as const;
    await expect(publishEvent(h.deps, "t1", request)).rejects.toThrow("SQS unavailable");
    const idsAfterCrash = [...h.deliveries.keys()];
    expect(idsAfterCrash).toHaveLength(2);

    // Publishing again cannot tell a crashed fan-out from one still running, so it sends nothing.
    const retried = await publishEvent(h.deps, "t1", request);
    expect(retried).toMatchObject({ deliveryCount: 4, duplicate: true });
    expect(h.queued).toEqual([]);

    // Resuming creates what is missing and queues only that: a record that exists has a deadline of
    // its own, by which the reconciler drives it on, so queueing it here could send it twice.
    const stored = h.events.get("e1");
    if (!stored) throw new Error("the event was not stored");
    expect(stored.deliveryCount).toBeUndefined();
    const lost = idsAfterCrash[1] ?? "";
    h.deliveries.delete(lost);
    expect(await resumeFanOut(h.deps, stored)).toBe(2);
    expect([...h.deliveries.keys()].sort()).toEqual([...idsAfterCrash].sort());
    expect(h.resumes).toEqual([false, true]);
    expect(h.queued.map((m) => m.deliveryId)).toEqual([lost]);
    // The next page goes on in another invocation, still as a resume.
    expect(h.continuations.at(-1)).toMatchObject({ after: "1", deliveriesSoFar: 2, resume: true });
  });

  it("rejects an unknown event type before storing anything", async () => {
    const h = harness([[webhook("wh_a", ["*"])]]);
    await expect(publishEvent(h.deps, "t1", { type: "nope.never", data: {}, source: "api" })).rejects.toThrow(
      ValidationError,
    );
    expect(h.events.size).toBe(0);
  });

  it("refuses data that misses its type's schema before storing anything, naming each field", async () => {
    const h = harness([[webhook("wh_a", ["memory.created"])]]);
    const refused = publishEvent(h.deps, "t1", {
      id: "bad-1",
      type: "memory.created",
      data: { memory_id: 42, importance: 3 },
      source: "eventbridge",
    });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({
      message:
        "data does not match the schema of memory.created: data.memory_id must be string; data.importance must be <= 1",
      details: [
        { path: "data.memory_id", message: "must be string" },
        { path: "data.importance", message: "must be <= 1" },
      ],
    });
    expect([...h.events.keys()]).toEqual([]);
    expect(h.queued).toEqual([]);
  });

  it("rejects payloads over 256 KB and keeps large-but-allowed ones out of the queue message", async () => {
    const h = harness([[webhook("wh_a", ["*"])]]);
    await expect(
      publishEvent(h.deps, "t1", {
        type: "sync.failed",
        data: { blob: "x".repeat(256 * 1024) },
        source: "api",
      }),
    ).rejects.toThrow(PayloadTooLargeError);
    expect(h.events.size).toBe(0);
    await publishEvent(h.deps, "t1", {
      type: "sync.failed",
      data: { blob: "x".repeat(INLINE_PAYLOAD_BYTES) },
      source: "api",
    });
    expect(h.queued[0]?.payload).toBeUndefined();
  });

  it("splits a fan-out across invocations a page at a time, and marks it done after the last page", async () => {
    const pages = [0, 1, 2].map((page) =>
      Array.from({ length: 3 }, (_, n) => webhook(`wh_${page}_${n}`, ["memory.created"])),
    );
    const h = harness(pages);
    const published = await publishEvent(h.deps, "t1", {
      id: "big",
      type: "memory.created",
      data: {},
      source: "api",
    });
    expect(published).toMatchObject({ deliveryCount: 3, fanOutComplete: false });
    expect(h.continuations).toEqual([
      {
        kind: "fanout",
        tenantId: "t1",
        eventId: "big",
        eventType: "memory.created",
        after: "1",
        deliveriesSoFar: 3,
        resume: false,
      },
    ]);
    const withGet = {
      ...h.deps,
      events: { ...h.deps.events, get: async (_tenant: string, id: string) => h.events.get(id) },
    };
    for (let step = 0; step < 2; step += 1) {
      const next = h.continuations.at(-1);
      if (!next) throw new Error("no continuation");
      await continueFanOut(withGet, next);
    }
    expect(h.continuations).toHaveLength(2);
    // Each hand-on moves the event's deadline, so the reconciler leaves a progressing fan-out alone.
    expect(h.extended).toEqual(["big", "big"]);
    expect(h.queued).toHaveLength(9);
    expect(new Set(h.queued.map((message) => message.webhookId)).size).toBe(9);
    expect(h.events.get("big")?.deliveryCount).toBe(9);
    // A continuation that arrives again after the fan-out finished does nothing.
    const last = h.continuations.at(-1);
    if (last) expect(await continueFanOut(withGet, last)).toBe(0);
    expect(h.queued).toHaveLength(9);
  });
});

describe("filters", () => {
  const matching = { plan: "pro", amount: 150 };
  const other = { plan: "free", amount: 150 };

  it("selects by event type first, then narrows by the filter", () => {
    const wh = filtered("wh_f", ["memory.created"], { type: ["memory.created"] });
    expect(selectsEvent(wh, "memory.created", () => ({}))).toBe(true);
    expect(selectsEvent(wh, "memory.updated", () => ({}))).toBe(false);
    const data = () => {
      throw new Error("the data is not needed without a filter");
    };
    expect(selectsEvent(webhook("wh_a", ["memory.*"]), "memory.updated", data)).toBe(true);
  });

  it("creates no delivery for a webhook whose filter the event does not match, and counts only matches", async () => {
    const h = harness([[webhook("wh_all", ["memory.created"]), filtered("wh_pro", ["memory.created"])]]);
    const first = await publishEvent(h.deps, "t1", { type: "memory.created", data: other, source: "api" });
    expect(first.deliveryCount).toBe(1);
    expect(h.queued.map((m) => m.webhookId)).toEqual(["wh_all"]);
    const second = await publishEvent(h.deps, "t1", {
      type: "memory.created",
      data: matching,
      source: "api",
    });
    expect(second.deliveryCount).toBe(2);
    expect(h.queued.map((m) => m.webhookId).sort()).toEqual(["wh_all", "wh_all", "wh_pro"]);
    expect(h.events.get(second.event.id)?.deliveryCount).toBe(2);
  });

  it("takes a filter changed after the subscribers were cached on the very next publish", async () => {
    const h = harness([[filtered("wh_pro", ["memory.created"])]]);
    await publishEvent(h.deps, "t1", { type: "memory.created", data: other, source: "api" });
    expect(h.queued).toHaveLength(0);
    h.change([[webhook("wh_pro", ["memory.created"])]]);
    const next = await publishEvent(h.deps, "t1", { type: "memory.created", data: other, source: "api" });
    expect(next.deliveryCount).toBe(1);
  });

  it("applies filters on every page of a large fan-out, its continuations and resumes", async () => {
    const pages = [0, 1].map((page) => [
      webhook(`wh_${page}_all`, ["memory.created"]),
      filtered(`wh_${page}_pro`, ["memory.created"]),
    ]);
    const h = harness(pages);
    const request = { id: "e1", type: "memory.created", data: other, source: "api" } as const;
    h.failNextEnqueue();
    await expect(publishEvent(h.deps, "t1", request)).rejects.toThrow("SQS unavailable");
    // The duplicate answer counts only the webhooks the filter lets through.
    expect(await publishEvent(h.deps, "t1", request)).toMatchObject({ deliveryCount: 2, duplicate: true });
    const stored = h.events.get("e1");
    if (!stored) throw new Error("the event was not stored");
    expect(await resumeFanOut(h.deps, stored)).toBe(1);
    const withGet = {
      ...h.deps,
      events: { ...h.deps.events, get: async (_tenant: string, id: string) => h.events.get(id) },
    };
    const next = h.continuations.at(-1);
    if (!next) throw new Error("no continuation");
    expect(await continueFanOut(withGet, next)).toBe(2);
    expect([...h.deliveries.values()].map((d) => d.webhookId).sort()).toEqual(["wh_0_all", "wh_1_all"]);
  });
});
