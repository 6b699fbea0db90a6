import { describe, expect, it } from "vitest";
import { cachedSubscriberSnapshots } from "../../functions/adapters/subscriber-cache.ts";
import type { SubscriberSnapshot } from "../../functions/domain/ports.ts";

function source() {
  const reads: string[] = [];
  let version = 0;
  return {
    reads,
    bump: () => {
      version += 1;
    },
    subscriberSnapshot: async (tenantId: string): Promise<SubscriberSnapshot> => {
      reads.push(tenantId);
      return { version, page: { webhooks: [] } };
    },
  };
}

describe("cachedSubscriberSnapshots", () => {
  it("reuses a tenant's snapshot until it expires, and reads again when asked for a fresh one", async () => {
    let now = 0;
    const store = source();
    const snapshot = cachedSubscriberSnapshots(store, { ttlMs: 1_000, maxTenants: 10, now: () => now });
    expect((await snapshot("t1")).version).toBe(0);
    store.bump();
    expect((await snapshot("t1")).version).toBe(0);
    expect((await snapshot("t1", true)).version).toBe(1);
    store.bump();
    now = 999;
    expect((await snapshot("t1")).version).toBe(1);
    now = 2_000;
    expect((await snapshot("t1")).version).toBe(2);
    expect(store.reads).toEqual(["t1", "t1", "t1"]);
  });

  it("keeps at most maxTenants, dropping the oldest", async () => {
    const store = source();
    const snapshot = cachedSubscriberSnapshots(store, { ttlMs: 60_000, maxTenants: 2, now: () => 0 });
    for (const tenant of ["a", "b", "c", "b", "a"]) await snapshot(tenant);
    expect(store.reads).toEqual(["a", "b", "c", "a"]);
  });
});
