import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import { decodeCursor } from "../../functions/domain/cursor.ts";
import type { EndpointPolicy } from "../../functions/domain/endpoint-url.ts";
import {
  ConflictError,
  LimitExceededError,
  NotFoundError,
  UnsafeUrlError,
  ValidationError,
} from "../../functions/domain/errors.ts";
import type { Webhook } from "../../functions/domain/model.ts";
import type { WebhookStore } from "../../functions/domain/ports.ts";
import {
  applyWebhookPatch,
  listWebhooks,
  registerWebhook,
  updateWebhook,
} from "../../functions/domain/webhooks.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";

const disabled: Webhook = {
  id: "wh_01",
  tenantId: "acme",
  url: "https://example.com/hooks",
  eventTypes: ["memory.created"],
  description: "d",
  active: false,
  secret: "whsec_x",
  createdAt: "2026-11-25T10:00:00.000Z",
  updatedAt: "2026-11-25T10:00:00.000Z",
  disabledReason: "the endpoint answered 410 Gone",
  headers: { "X-A": "1" },
  timeoutSeconds: 5,
  rateLimitPerSecond: 10,
  metadata: { team: "a" },
  filter: { data: { plan: ["pro"] } },
  circuit: { state: "open", consecutiveFailures: 7, openedAt: "2026-11-25T10:00:00.000Z", version: 4 },
};
const now = new Date("2026-11-25T11:00:00.000Z");

describe("applying a patch", () => {
  it("changes only the given fields, and the update time", () => {
    const patched = applyWebhookPatch(disabled, { description: "new", metadata: { team: "b" } }, now);
    expect(patched).toEqual({
      ...disabled,
      description: "new",
      metadata: { team: "b" },
      updatedAt: now.toISOString(),
    });
  });

  it("puts nullable settings back to their defaults and empties maps", () => {
    const patched = applyWebhookPatch(
      disabled,
      {
        timeoutSeconds: null,
        rateLimitPerSecond: null,
        retryScheduleSeconds: null,
        headers: {},
        metadata: {},
        filter: null,
      },
      now,
    );
    for (const field of [
      "timeoutSeconds",
      "rateLimitPerSecond",
      "retryScheduleSeconds",
      "headers",
      "metadata",
      "filter",
    ])
      expect(patched).not.toHaveProperty(field);
  });

  it("orders a webhook with fifo and stops ordering it with none, which is stored as no setting", () => {
    const ordered = applyWebhookPatch(disabled, { ordering: "fifo" }, now);
    expect(ordered.ordering).toBe("fifo");
    expect(applyWebhookPatch(ordered, { description: "x" }, now).ordering).toBe("fifo");
    expect(applyWebhookPatch(ordered, { ordering: "none" }, now)).not.toHaveProperty("ordering");
  });

  it("re-enables a deactivated webhook: clears the reason and closes its circuit with the next version", () => {
    const patched = applyWebhookPatch(disabled, { active: true }, now);
    expect(patched.active).toBe(true);
    expect(patched).not.toHaveProperty("disabledReason");
    expect(patched.circuit).toEqual({ state: "closed", consecutiveFailures: 0, version: 5 });
  });

  it("leaves the circuit alone when nothing is re-enabled", () => {
    expect(applyWebhookPatch(disabled, { active: false }, now).circuit).toBe(disabled.circuit);
    const manual = { ...disabled, disabledReason: undefined } as Webhook;
    const { disabledReason: _, ...manuallyOff } = manual;
    expect(applyWebhookPatch(manuallyOff, { active: true }, now).circuit).toBe(disabled.circuit);
  });

  it("does not change the webhook it was given", () => {
    const copy = structuredClone(disabled);
    applyWebhookPatch(disabled, { active: true, url: "https://example.org/", headers: {} }, now);
    expect(disabled).toEqual(copy);
  });
});

/** An in-memory store whose `update` can be made to lose `conflicts` times. */
function memoryStore(initial: Webhook[], conflicts = 0) {
  const items = new Map(initial.map((webhook) => [`${webhook.tenantId}/${webhook.id}`, webhook]));
  let toLose = conflicts;
  const store: WebhookStore = {
    async create(webhook, maxWebhooks) {
      const count = [...items.values()].filter((stored) => stored.tenantId === webhook.tenantId).length;
      if (count >= maxWebhooks) return false;
      items.set(`${webhook.tenantId}/${webhook.id}`, webhook);
      return true;
    },
    async get(tenantId, id) {
      return items.get(`${tenantId}/${id}`);
    },
    async list(tenantId, request) {
      const mine = [...items.values()]
        .filter((webhook) => webhook.tenantId === tenantId)
        .sort((a, b) => b.id.localeCompare(a.id));
      const from = request.after
        ? mine.findIndex((webhook) => `WEBHOOK#${webhook.id}` === request.after?.sk) + 1
        : 0;
      const page = mine.slice(from, from + request.limit);
      const last = page.at(-1);
      return {
        webhooks: page,
        ...(from + request.limit < mine.length && last
          ? { next: { pk: `TENANT#${tenantId}`, sk: `WEBHOOK#${last.id}` } }
          : {}),
      };
    },
    async update(before, after) {
      if (toLose > 0) {
        toLose -= 1;
        return false;
      }
      const stored = items.get(`${before.tenantId}/${before.id}`);
      if (stored?.updatedAt !== before.updatedAt) return false;
      items.set(`${after.tenantId}/${after.id}`, after);
      return true;
    },
    async remove(tenantId, id) {
      return items.delete(`${tenantId}/${id}`);
    },
  };
  return { store, items };
}

const policy: EndpointPolicy = { allowInsecureHttp: false, allowPrivateTargets: false, allowedPorts: [443] };
const deps = (store: WebhookStore) => ({
  store,
  catalogue: DEFAULT_EVENT_TYPES,
  endpointPolicy: policy,
  resolveHost: async (host: string) => (host === "internal.example" ? ["10.0.0.1"] : ["93.184.216.34"]),
  now: () => now,
});

describe("updating a webhook", () => {
  it("validates like a registration: event types, schedule, headers, and the URL's endpoint checks", async () => {
    const { store, items } = memoryStore([disabled]);
    await expect(updateWebhook(deps(store), "acme", "wh_01", { eventTypes: ["nope.x"] })).rejects.toThrow(
      ValidationError,
    );
    await expect(updateWebhook(deps(store), "acme", "wh_01", { retryScheduleSeconds: [-1] })).rejects.toThrow(
      ValidationError,
    );
    await expect(
      updateWebhook(deps(store), "acme", "wh_01", { headers: { "Webhook-Id": "x" } }),
    ).rejects.toThrow(ValidationError);
    await expect(
      updateWebhook(deps(store), "acme", "wh_01", { url: "https://internal.example/hooks" }),
    ).rejects.toThrow(UnsafeUrlError);
    await expect(
      updateWebhook(deps(store), "acme", "wh_01", { filter: { data: { amount: [{ numeric: [">="] }] } } }),
    ).rejects.toMatchObject({ details: [{ path: "filter.data.amount[0].numeric" }] });
    expect(items.get("acme/wh_01")).toBe(disabled);
  });

  it("stores the patched webhook, normalizing a new URL", async () => {
    const { store, items } = memoryStore([disabled]);
    const updated = await updateWebhook(deps(store), "acme", "wh_01", {
      url: "https://EXAMPLE.org",
      active: true,
    });
    expect(updated.url).toBe("https://example.org/");
    expect(items.get("acme/wh_01")).toEqual(updated);
  });

  it("reads again and re-applies after a concurrent change, then gives up with a conflict", async () => {
    const retried = memoryStore([disabled], 2);
    await expect(
      updateWebhook(deps(retried.store), "acme", "wh_01", { description: "x" }),
    ).resolves.toMatchObject({
      description: "x",
    });
    const hopeless = memoryStore([disabled], 3);
    await expect(updateWebhook(deps(hopeless.store), "acme", "wh_01", { description: "x" })).rejects.toThrow(
      ConflictError,
    );
  });

  it("answers not found for another tenant's webhook", async () => {
    const { store } = memoryStore([disabled]);
    await expect(updateWebhook(deps(store), "globex", "wh_01", { description: "x" })).rejects.toThrow(
      NotFoundError,
    );
  });
});

describe("registering a webhook", () => {
  it("refuses one more than the tenant's limit with a clear message, storing nothing, and counts tenants apart", async () => {
    const { store, items } = memoryStore([]);
    const limited = { ...deps(store), randomBytes, maxWebhooksPerTenant: 2 };
    const input = { url: "https://example.com/hooks", eventTypes: ["memory.created"] };
    await registerWebhook(limited, "acme", input);
    await registerWebhook(limited, "acme", input);
    const refused = registerWebhook(limited, "acme", input);
    await expect(refused).rejects.toBeInstanceOf(LimitExceededError);
    await expect(refused).rejects.toThrow("this tenant has 2 webhooks, as many as it may have");
    expect(items.size).toBe(2);
    await registerWebhook(limited, "globex", input);
    expect(items.size).toBe(3);
  });
});

describe("listing webhooks", () => {
  const key = Buffer.alloc(32, 1);
  const many = Array.from({ length: 5 }, (_, index) => ({
    ...disabled,
    id: `wh_0${index}`,
    circuit: CLOSED_CIRCUIT,
  }));

  it("pages with signed cursors bound to the tenant", async () => {
    const { store } = memoryStore(many);
    const listDeps = { store, cursorKey: async () => key };
    const first = await listWebhooks(listDeps, "acme", { limit: 2 });
    expect(first.webhooks.map((webhook) => webhook.id)).toEqual(["wh_04", "wh_03"]);
    expect(first.nextCursor).not.toBeNull();
    expect(decodeCursor(key, "acme", first.nextCursor ?? "")).toEqual({
      pk: "TENANT#acme",
      sk: "WEBHOOK#wh_03",
    });
    const second = await listWebhooks(listDeps, "acme", { limit: 2, cursor: first.nextCursor ?? "" });
    expect(second.webhooks.map((webhook) => webhook.id)).toEqual(["wh_02", "wh_01"]);
    await expect(
      listWebhooks(listDeps, "globex", { limit: 2, cursor: first.nextCursor ?? "" }),
    ).rejects.toThrow(ValidationError);
  });
});
