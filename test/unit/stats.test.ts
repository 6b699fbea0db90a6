import { describe, expect, it } from "vitest";
import type { DeliveryStep } from "../../functions/domain/deliver.ts";
import { countsOf, last24Hours, StatsBatch, statsView } from "../../functions/domain/stats.ts";

const attempt = (durationMs: number) => ({
  attempt: 1,
  at: "2026-11-25T10:00:00.000Z",
  durationMs,
  responseBody: "",
});
const delivered: DeliveryStep = { kind: "delivered", attempt: attempt(40) };
const retry: DeliveryStep = {
  kind: "retry",
  attempt: { ...attempt(10), statusCode: 500 },
  nextAttemptAt: "2026-11-25T10:00:01.000Z",
  waitSeconds: 1,
};
const deadLetter: DeliveryStep = { kind: "dead_letter", attempt: attempt(20) };
const NOW = new Date("2026-11-25T10:30:00.000Z");

describe("stats counters", () => {
  it("count attempts on every attempt, and outcomes only when a delivery ends", () => {
    expect(countsOf(delivered)).toEqual({ attempts: 1, attemptDurationMs: 40, delivered: 1, failed: 0 });
    expect(countsOf(retry)).toEqual({ attempts: 1, attemptDurationMs: 10, delivered: 0, failed: 0 });
    expect(countsOf(deadLetter)).toEqual({ attempts: 1, attemptDurationMs: 20, delivered: 0, failed: 1 });
    expect(countsOf({ kind: "failed", reason: "webhook_deleted" })).toEqual({
      attempts: 0,
      attemptDurationMs: 0,
      delivered: 0,
      failed: 1,
    });
    expect(countsOf({ kind: "parked", until: "x" })).toBeUndefined();
    expect(countsOf({ kind: "deferred", until: "x", waitSeconds: 1, slotAt: 0 })).toBeUndefined();
  });

  it("add up a batch per webhook and hour, so a batch costs one write per webhook and bucket", () => {
    const batch = new StatsBatch();
    for (let n = 0; n < 10; n += 1) batch.add("t1", "wh_a", delivered, NOW);
    batch.add("t1", "wh_a", retry, NOW);
    batch.add("t1", "wh_b", deadLetter, NOW);
    batch.add("t1", "wh_a", delivered, new Date("2026-11-25T11:00:00.000Z"));
    expect(batch.drain()).toEqual([
      {
        tenantId: "t1",
        webhookId: "wh_a",
        hour: "2026-11-25T10",
        counts: { attempts: 11, attemptDurationMs: 410, delivered: 10, failed: 0 },
      },
      {
        tenantId: "t1",
        webhookId: "wh_b",
        hour: "2026-11-25T10",
        counts: { attempts: 1, attemptDurationMs: 20, delivered: 0, failed: 1 },
      },
      {
        tenantId: "t1",
        webhookId: "wh_a",
        hour: "2026-11-25T11",
        counts: { attempts: 1, attemptDurationMs: 40, delivered: 1, failed: 0 },
      },
    ]);
    expect(batch.drain()).toEqual([]);
  });

  it("cover the last 24 hours with 24 hour buckets ending in the current one", () => {
    const hours = last24Hours(NOW);
    expect(hours).toHaveLength(24);
    expect(hours[0]).toBe("2026-11-24T11");
    expect(hours[23]).toBe("2026-11-25T10");
  });

  it("show rates as fractions, and null before anything ended", () => {
    const counts = { attempts: 12, attemptDurationMs: 600, delivered: 9, failed: 1 };
    expect(statsView(counts, { ...counts, delivered: 3, failed: 1 })).toEqual({
      total_deliveries: 10,
      successful_deliveries: 9,
      failed_deliveries: 1,
      success_rate: 0.9,
      total_attempts: 12,
      avg_duration_ms: 50,
      last_24h_deliveries: 4,
      last_24h_success_rate: 0.75,
    });
    const none = { attempts: 0, attemptDurationMs: 0, delivered: 0, failed: 0 };
    expect(statsView(none, none)).toMatchObject({
      success_rate: null,
      avg_duration_ms: null,
      last_24h_success_rate: null,
    });
  });
});
