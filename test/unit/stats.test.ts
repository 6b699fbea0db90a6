import { describe, expect, it } from "vitest";
import type { DeliveryStep } from "../../functions/domain/deliver.ts";
import {
  addCounts,
  countsOf,
  type EndedDelivery,
  last24Hours,
  NO_COUNTS,
  reopenedCounts,
  StatsBatch,
  type StatsCounters,
  type StatsIncrement,
  statsView,
} from "../../functions/domain/stats.ts";

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
    expect(countsOf(delivered)).toEqual({ ...NO_COUNTS, attempts: 1, attemptDurationMs: 40, delivered: 1 });
    expect(countsOf(retry)).toEqual({ ...NO_COUNTS, attempts: 1, attemptDurationMs: 10 });
    expect(countsOf(deadLetter)).toEqual({
      ...NO_COUNTS,
      attempts: 1,
      attemptDurationMs: 20,
      deadLettered: 1,
    });
    expect(countsOf({ kind: "failed", reason: "webhook_deleted" })).toEqual({ ...NO_COUNTS, failed: 1 });
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
        counts: { ...NO_COUNTS, attempts: 11, attemptDurationMs: 410, delivered: 10 },
      },
      {
        tenantId: "t1",
        webhookId: "wh_b",
        hour: "2026-11-25T10",
        counts: { ...NO_COUNTS, attempts: 1, attemptDurationMs: 20, deadLettered: 1 },
      },
      {
        tenantId: "t1",
        webhookId: "wh_a",
        hour: "2026-11-25T11",
        counts: { ...NO_COUNTS, attempts: 1, attemptDurationMs: 40, delivered: 1 },
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
    const counts = { attempts: 12, attemptDurationMs: 600, delivered: 8, failed: 1, deadLettered: 1 };
    expect(statsView(counts, { ...counts, delivered: 3, failed: 1, deadLettered: 0 })).toEqual({
      total_deliveries: 10,
      successful_deliveries: 8,
      failed_deliveries: 1,
      dead_lettered_deliveries: 1,
      success_rate: 0.8,
      total_attempts: 12,
      avg_duration_ms: 50,
      last_24h_deliveries: 4,
      last_24h_success_rate: 0.75,
    });
    expect(statsView(NO_COUNTS, NO_COUNTS)).toMatchObject({
      success_rate: null,
      avg_duration_ms: null,
      last_24h_success_rate: null,
    });
  });
});

/**
 * A webhook's hour buckets as the stats store keeps them: what the delivery function adds per recorded
 * step, and what re-opening a delivery (manual retry, recovery, redrive) takes back.
 */
class Ledger {
  readonly #hours = new Map<string, StatsCounters>();

  record(step: DeliveryStep, at: Date): void {
    const batch = new StatsBatch();
    batch.add("t1", "wh_1", step, at);
    for (const increment of batch.drain()) this.#apply(increment);
  }

  reopen(was: EndedDelivery, at: Date): void {
    const increment = reopenedCounts(was, at);
    if (increment) this.#apply(increment);
  }

  view(now: Date) {
    const recent = new Set(last24Hours(now));
    let total = NO_COUNTS;
    let last24h = NO_COUNTS;
    for (const [hour, counts] of this.#hours) {
      total = addCounts(total, counts);
      if (recent.has(hour)) last24h = addCounts(last24h, counts);
    }
    return statsView(total, last24h);
  }

  #apply(increment: StatsIncrement): void {
    this.#hours.set(
      increment.hour,
      addCounts(this.#hours.get(increment.hour) ?? NO_COUNTS, increment.counts),
    );
  }
}

const ended = (status: EndedDelivery["status"], completedAt: Date): EndedDelivery => ({
  tenantId: "t1",
  webhookId: "wh_1",
  status,
  completedAt: completedAt.toISOString(),
});
const hoursLater = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000);

describe("stats through retries, manual retries, recoveries and dead letters", () => {
  it("count a manually retried delivery once, by its latest outcome, with every attempt", () => {
    const ledger = new Ledger();
    // Seven deliveries: five delivered first time, one failed for good (a 4xx), one dead-lettered after
    // two retries.
    for (let n = 0; n < 5; n += 1) ledger.record(delivered, NOW);
    ledger.record({ kind: "failed", reason: "422", attempt: attempt(15) }, NOW);
    ledger.record(retry, NOW);
    ledger.record(retry, NOW);
    ledger.record(deadLetter, NOW);
    expect(ledger.view(NOW)).toMatchObject({
      total_deliveries: 7,
      successful_deliveries: 5,
      failed_deliveries: 1,
      dead_lettered_deliveries: 1,
      total_attempts: 9,
    });

    // Both retried by hand (one later, in another hour) and delivered: still seven deliveries, all
    // delivered, with the two new attempts counted.
    ledger.reopen(ended("failed", NOW), hoursLater(2));
    ledger.record(delivered, hoursLater(2));
    ledger.reopen(ended("dead_lettered", NOW), hoursLater(2));
    ledger.record(delivered, hoursLater(2));
    expect(ledger.view(hoursLater(2))).toEqual({
      total_deliveries: 7,
      successful_deliveries: 7,
      failed_deliveries: 0,
      dead_lettered_deliveries: 0,
      success_rate: 1,
      total_attempts: 11,
      avg_duration_ms: expect.any(Number),
      last_24h_deliveries: 7,
      last_24h_success_rate: 1,
    });
  });

  it("count a recovered delivery that fails again once, as failed", () => {
    const ledger = new Ledger();
    ledger.record(deadLetter, NOW);
    ledger.reopen(ended("dead_lettered", NOW), hoursLater(1));
    ledger.record(retry, hoursLater(1));
    ledger.record(deadLetter, hoursLater(1));
    expect(ledger.view(hoursLater(1))).toMatchObject({
      total_deliveries: 1,
      dead_lettered_deliveries: 1,
      success_rate: 0,
      total_attempts: 3,
    });
  });

  it("take a re-opened delivery out of the hour it had ended in, so no bucket goes below zero", () => {
    const ledger = new Ledger();
    ledger.record(deadLetter, NOW);
    // Recovered two days later: it has left the last 24 hours, and the recovery leaves them alone.
    const later = hoursLater(48);
    ledger.reopen(ended("dead_lettered", NOW), later);
    expect(ledger.view(later)).toMatchObject({ total_deliveries: 0, last_24h_deliveries: 0 });
    ledger.record(delivered, later);
    expect(ledger.view(later)).toMatchObject({
      total_deliveries: 1,
      successful_deliveries: 1,
      dead_lettered_deliveries: 0,
      last_24h_deliveries: 1,
      last_24h_success_rate: 1,
    });
  });

  it("take nothing back for a delivery that had not ended", () => {
    expect(reopenedCounts({ tenantId: "t1", webhookId: "wh_1", status: "retrying" }, NOW)).toBeUndefined();
    expect(reopenedCounts({ tenantId: "t1", webhookId: "wh_1", status: "failed" }, NOW)).toMatchObject({
      hour: "2026-11-25T10",
      counts: { failed: -1 },
    });
  });
});
