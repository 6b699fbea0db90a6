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

/** A store whose eventually consistent reads answer `stale` and strongly consistent ones `current`. */
function store(versions: { stale: Webhook | undefined; current: Webhook | undefined }) {
  const reads: ("eventual" | "consistent")[] = [];
  return {
    reads,
    versions,
    get: async (_tenantId: string, _webhookId: string, consistent = false) => {
      reads.push(consistent ? "consistent" : "eventual");
      return consistent ? versions.current : versions.stale;
    },
  };
}

describe("cachedWebhookReader", () => {
  it("confirms a miss with a strongly consistent read, and never caches a miss", async () => {
    const created = webhook("2026-01-01T00:00:00.000Z");
    const reads = store({ stale: undefined, current: created });
    const read = cachedWebhookReader(reads, { ttlMs: 2_000, now: () => 0 });

    expect(await read("t1", "wh_1", false)).toEqual(created);
    expect(reads.reads).toEqual(["eventual", "consistent"]);

    reads.versions.current = undefined;
    const gone = cachedWebhookReader(reads, { ttlMs: 2_000, now: () => 0 });
    expect(await gone("t1", "wh_1", false)).toBeUndefined();
    reads.versions.current = created;
    expect(await gone("t1", "wh_1", false)).toEqual(created);
  });

  it("does not use a cached or stale version older than the one the caller knows of", async () => {
    const before = webhook("2026-01-01T00:00:00.000Z", "https://old.example.com/hooks");
    const after = webhook("2026-01-01T00:00:05.000Z", "https://new.example.com/hooks");
    const reads = store({ stale: before, current: before });
    const read = cachedWebhookReader(reads, { ttlMs: 60_000, now: () => 0 });
    expect((await read("t1", "wh_1", false))?.url).toBe("https://old.example.com/hooks");

    reads.versions.current = after;
    expect((await read("t1", "wh_1", false))?.url).toBe("https://old.example.com/hooks");
    expect((await read("t1", "wh_1", false, after.updatedAt))?.url).toBe("https://new.example.com/hooks");
    expect(reads.reads).toEqual(["eventual", "eventual", "consistent"]);
  });

  it("reads fresh requests strongly consistent, past the cache", async () => {
    const stored = webhook("2026-01-01T00:00:00.000Z");
    const reads = store({ stale: undefined, current: stored });
    const read = cachedWebhookReader(reads, { ttlMs: 60_000, now: () => 0 });
    expect(await read("t1", "wh_1", true)).toEqual(stored);
    expect(reads.reads).toEqual(["consistent"]);
  });

  it("re-reads a failing webhook strongly consistent: a stale read may show its circuit still closed", async () => {
    const failing: Webhook = {
      ...webhook("2026-01-01T00:00:00.000Z"),
      circuit: { ...CLOSED_CIRCUIT, consecutiveFailures: 4 },
    };
    const open: Webhook = {
      ...failing,
      circuit: {
        ...CLOSED_CIRCUIT,
        state: "open",
        consecutiveFailures: 5,
        openedAt: "2026-01-01T00:00:01.000Z",
      },
    };
    const reads = store({ stale: failing, current: open });
    const read = cachedWebhookReader(reads, { ttlMs: 60_000, now: () => 0 });
    expect((await read("t1", "wh_1", false))?.circuit.state).toBe("open");
    expect(reads.reads).toEqual(["eventual", "consistent"]);
  });
});
