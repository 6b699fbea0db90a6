import { describe, expect, it } from "vitest";
import { cachedWebhookReader } from "../../functions/adapters/webhook-cache.ts";
import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import type { Webhook } from "../../functions/domain/model.ts";

const webhook = (updatedAt: string, url = "https://example.com/hooks"): Webhook => ({
  id: "wh_1",
  tenantId: "t1",
  url,
  eventTypes: ["*"],
  description: "",
  active: true,
  secret: "whsec_x",
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt,
  circuit: CLOSED_CIRCUIT,
});

/**
 * A tenant's webhooks and subscriptions version as the store keeps them: `change` replaces the webhook
 * and moves the version on, as every management change and every opening circuit does.
 */
function store(initial: Webhook | undefined) {
  const reads: string[] = [];
  let current = initial;
  let version = 0;
  return {
    reads,
    change(next: Webhook | undefined) {
      current = next;
      version += 1;
    },
    /** Writes the webhook without moving the version: a failure counted below the threshold. */
    countFailure(next: Webhook) {
      current = next;
    },
    get: async (_tenantId: string, webhookId: string, consistent = false) => {
      reads.push(consistent ? `webhook ${webhookId}` : `stale webhook ${webhookId}`);
      return current === undefined ? undefined : { ...current, id: webhookId };
    },
    version: async (tenantId: string) => {
      reads.push(`version ${tenantId}`);
      return version;
    },
  };
}

describe("cachedWebhookReader", () => {
  it("reads a warm webhook's item once, then only the tenant's version, once per invocation", async () => {
    const stored = store(webhook("2026-01-01T00:00:00.000Z"));
    const cached = cachedWebhookReader(stored, stored.version);
    for (const invocation of [1, 2, 3]) {
      cached.newInvocation();
      for (const _delivery of [1, 2]) {
        expect((await cached.read("t1", "wh_1", false))?.url, `invocation ${invocation}`).toBe(
          "https://example.com/hooks",
        );
      }
    }
    expect(stored.reads).toEqual(["version t1", "webhook wh_1", "version t1", "version t1"]);
  });

  it("shares one version read between the webhooks of a tenant and concurrent deliveries", async () => {
    const stored = store(webhook("2026-01-01T00:00:00.000Z"));
    const read = cachedWebhookReader(stored, stored.version).read;
    await Promise.all(["wh_1", "wh_2", "wh_1", "wh_2"].map((id) => read("t1", id, false)));
    expect(stored.reads.filter((entry) => entry.startsWith("version"))).toEqual(["version t1"]);
  });

  it("takes a webhook change on the next invocation: the version moved, so the webhook is read again", async () => {
    const stored = store(webhook("2026-01-01T00:00:00.000Z", "https://old.example.com/hooks"));
    const cached = cachedWebhookReader(stored, stored.version);
    expect((await cached.read("t1", "wh_1", false))?.url).toBe("https://old.example.com/hooks");
    stored.change(webhook("2026-01-01T00:00:05.000Z", "https://new.example.com/hooks"));
    cached.newInvocation();
    expect((await cached.read("t1", "wh_1", false))?.url).toBe("https://new.example.com/hooks");
    stored.change(undefined);
    cached.newInvocation();
    expect(await cached.read("t1", "wh_1", false)).toBeUndefined();
  });

  it("keeps a delivery received after a circuit opened from using the webhook cached healthy before it", async () => {
    const healthy = webhook("2026-01-01T00:00:00.000Z");
    const stored = store(healthy);
    const cached = cachedWebhookReader(stored, stored.version);
    // Another instance's attempts fail until the circuit opens; this one cached the webhook healthy and
    // read the version just before the opening moved it.
    expect((await cached.read("t1", "wh_1", false))?.circuit.state).toBe("closed");
    stored.change({
      ...healthy,
      circuit: { state: "open", consecutiveFailures: 5, openedAt: "2026-01-01T00:00:01.000Z", version: 5 },
    });
    cached.newInvocation();
    expect((await cached.read("t1", "wh_1", false))?.circuit.state).toBe("open");
  });

  it("reads no version for a message that names the one its publish stored it under", async () => {
    const stored = store(webhook("2026-01-01T00:00:00.000Z"));
    const cached = cachedWebhookReader(stored, stored.version);
    for (const invocation of [1, 2]) {
      cached.newInvocation();
      expect((await cached.read("t1", "wh_1", false, undefined, 0))?.id, `invocation ${invocation}`).toBe(
        "wh_1",
      );
    }
    expect(stored.reads).toEqual(["webhook wh_1"]);
  });

  it("reads the webhook again for a message published after a circuit opened, within one invocation", async () => {
    const healthy = webhook("2026-01-01T00:00:00.000Z");
    const stored = store(healthy);
    const cached = cachedWebhookReader(stored, stored.version);
    expect((await cached.read("t1", "wh_1", false, undefined, 0))?.circuit.state).toBe("closed");
    stored.change({
      ...healthy,
      circuit: { state: "open", consecutiveFailures: 5, openedAt: "2026-01-01T00:00:01.000Z", version: 5 },
    });
    // Published before the opening: it was in flight already, and may go as it was read.
    expect((await cached.read("t1", "wh_1", false, undefined, 0))?.circuit.state).toBe("closed");
    // Published after it, under the version the opening moved on to.
    expect((await cached.read("t1", "wh_1", false, undefined, 1))?.circuit.state).toBe("open");
    expect(stored.reads).toEqual(["webhook wh_1", "webhook wh_1"]);
  });

  it("never caches a miss", async () => {
    const stored = store(undefined);
    const read = cachedWebhookReader(stored, stored.version).read;
    expect(await read("t1", "wh_1", false)).toBeUndefined();
    stored.countFailure(webhook("2026-01-01T00:00:00.000Z"));
    expect((await read("t1", "wh_1", false))?.id).toBe("wh_1");
  });

  it("does not use a cached webhook older than the one the caller knows of", async () => {
    const before = webhook("2026-01-01T00:00:00.000Z", "https://old.example.com/hooks");
    const after = webhook("2026-01-01T00:00:05.000Z", "https://new.example.com/hooks");
    const stored = store(before);
    const read = cachedWebhookReader(stored, stored.version).read;
    expect((await read("t1", "wh_1", false))?.url).toBe("https://old.example.com/hooks");
    stored.change(after);
    expect((await read("t1", "wh_1", false))?.url).toBe("https://old.example.com/hooks");
    expect((await read("t1", "wh_1", false, after.updatedAt))?.url).toBe("https://new.example.com/hooks");
  });

  it("reads fresh requests past the cache, and every webhook strongly consistent", async () => {
    const stored = store(webhook("2026-01-01T00:00:00.000Z"));
    const read = cachedWebhookReader(stored, stored.version).read;
    await read("t1", "wh_1", false);
    await read("t1", "wh_1", true);
    expect(stored.reads).toEqual(["version t1", "webhook wh_1", "webhook wh_1"]);
  });

  it("reads a failing webhook on every use, so an instance that knows of failures sees its circuit open at once", async () => {
    const failing: Webhook = {
      ...webhook("2026-01-01T00:00:00.000Z"),
      circuit: { ...CLOSED_CIRCUIT, consecutiveFailures: 4 },
    };
    const stored = store(failing);
    const read = cachedWebhookReader(stored, stored.version).read;
    expect((await read("t1", "wh_1", false))?.circuit.consecutiveFailures).toBe(4);
    stored.countFailure({
      ...failing,
      circuit: {
        ...CLOSED_CIRCUIT,
        state: "open",
        consecutiveFailures: 5,
        openedAt: "2026-01-01T00:00:01.000Z",
      },
    });
    expect((await read("t1", "wh_1", false))?.circuit.state).toBe("open");
  });

  it("reads the version again after a failed read of it", async () => {
    const stored = store(webhook("2026-01-01T00:00:00.000Z"));
    let fail = true;
    const version = async (tenantId: string) => {
      if (fail) throw new Error("throttled");
      return stored.version(tenantId);
    };
    const read = cachedWebhookReader(stored, version).read;
    await expect(read("t1", "wh_1", false)).rejects.toThrow("throttled");
    fail = false;
    expect((await read("t1", "wh_1", false))?.id).toBe("wh_1");
  });

  it("keeps at most maxEntries webhooks, letting the least recently used go first", async () => {
    const stored = store(webhook("2026-01-01T00:00:00.000Z"));
    const read = cachedWebhookReader(stored, stored.version, { maxEntries: 2 }).read;
    await read("t1", "wh_a", false);
    await read("t1", "wh_b", false);
    await read("t1", "wh_a", false); // a hit: wh_a is now the most recently used
    await read("t1", "wh_c", false); // the third: wh_b goes
    stored.reads.length = 0;
    await read("t1", "wh_a", false);
    await read("t1", "wh_c", false);
    expect(stored.reads).toEqual([]);
    await read("t1", "wh_b", false);
    expect(stored.reads).toEqual(["webhook wh_b"]);
  });
});
