import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DeliveryStep } from "../../functions/domain/deliver.ts";
import type { DeliveryStatus } from "../../functions/domain/model.ts";
import {
  addCounts,
  bucketWrite,
  changeCounts,
  countsOf,
  type DeliveryImage,
  type EndedDelivery,
  hourOf,
  last24Hours,
  NO_COUNTS,
  reopenedCounts,
  type StatsCounters,
  type StatsIncrement,
  type StreamChange,
  statsBuckets,
  statsView,
  streamSequence,
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
    const changes: StreamChange[] = [];
    const record = (webhookId: string, step: DeliveryStep, at: Date) => {
      const sequenceNumber = String(changes.length + 1);
      changes.push({
        lane: `TENANT#t1#WEBHOOK#${webhookId}#SHARD#0`,
        sequenceNumber,
        sequence: streamSequence(sequenceNumber),
        increments: changeCounts(imageBefore(step, webhookId), imageAfter(step, at, webhookId), at),
      });
    };
    for (let n = 0; n < 10; n += 1) record("wh_a", delivered, NOW);
    record("wh_a", retry, NOW);
    record("wh_b", deadLetter, NOW);
    record("wh_a", delivered, new Date("2026-11-25T11:00:00.000Z"));
    expect(statsBuckets(changes).map((bucket) => bucketWrite(bucket, {})?.increment)).toEqual([
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
    expect(statsBuckets([])).toEqual([]);
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
 * A delivery record's image just before a step is recorded: pending or retrying, with the attempts before
 * the step's (delivery-store.ts `recordStep` writes only on that condition).
 */
function imageBefore(
  step: DeliveryStep,
  webhookId = "wh_1",
  status: DeliveryStatus = "retrying",
): DeliveryImage {
  const attempt = "attempt" in step ? step.attempt : undefined;
  return { tenantId: "t1", webhookId, status, attemptCount: attempt ? attempt.attempt - 1 : 3 };
}

/** The same record after the step, as delivery-store.ts `stepUpdate` writes it at `at`. */
function imageAfter(step: DeliveryStep, at: Date, webhookId = "wh_1", status: DeliveryStatus = "retrying") {
  const before = imageBefore(step, webhookId, status);
  const attempt = "attempt" in step ? step.attempt : undefined;
  const after: DeliveryImage = {
    ...before,
    updatedAt: at.toISOString(),
    ...(attempt ? { attemptCount: attempt.attempt, durationMs: attempt.durationMs } : {}),
  };
  const ends = { completedAt: at.toISOString() };
  switch (step.kind) {
    case "delivered":
      return { ...after, ...ends, status: "delivered" } satisfies DeliveryImage;
    case "failed":
      return { ...after, ...ends, status: "failed" } satisfies DeliveryImage;
    case "dead_letter":
      return { ...after, ...ends, status: "dead_lettered" } satisfies DeliveryImage;
    case "retry":
      return { ...after, status: "retrying" } satisfies DeliveryImage;
    default:
      return after;
  }
}

/** An ended delivery's record re-opened at `at` (delivery-store.ts `reopen`). */
function reopenedImages(was: EndedDelivery, at: Date): [DeliveryImage, DeliveryImage] {
  const before: DeliveryImage = { ...was, attemptCount: 2 };
  const { completedAt: _completedAt, ...open } = before;
  return [before, { ...open, status: "pending", updatedAt: at.toISOString() }];
}

/**
 * A webhook's hour buckets as the stats store keeps them: what the stats function adds for each change
 * of a delivery record the stream shows it, a step recorded or a delivery re-opened (manual retry,
 * recovery, redrive).
 */
class Ledger {
  readonly #hours = new Map<string, StatsCounters>();

  record(step: DeliveryStep, at: Date): void {
    for (const increment of changeCounts(imageBefore(step), imageAfter(step, at), at)) this.#apply(increment);
  }

  reopen(was: EndedDelivery, at: Date): void {
    const [before, after] = reopenedImages(was, at);
    for (const increment of changeCounts(before, after, at)) this.#apply(increment);
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

const attemptArb = fc.record({
  attempt: fc.integer({ min: 1, max: 30 }),
  at: fc.constant("2026-11-25T10:00:00.000Z"),
  durationMs: fc.integer({ min: 0, max: 30_000 }),
  responseBody: fc.constant(""),
});
const stepArb: fc.Arbitrary<DeliveryStep> = fc.oneof(
  attemptArb.map((attempt) => ({ kind: "delivered" as const, attempt })),
  fc.record({ kind: fc.constant("failed" as const), reason: fc.constant("422"), attempt: attemptArb }),
  fc.constant({ kind: "failed" as const, reason: "webhook_deleted" }),
  attemptArb.map((attempt) => ({
    kind: "retry" as const,
    attempt,
    nextAttemptAt: "2026-11-25T10:01:00.000Z",
    waitSeconds: 60,
  })),
  attemptArb.map((attempt) => ({ kind: "dead_letter" as const, attempt })),
  fc.constant({ kind: "parked" as const, until: "2026-11-25T10:05:00.000Z" }),
  fc.constant({ kind: "queued" as const }),
  fc.constant({ kind: "deferred" as const, until: "2026-11-25T10:00:30.000Z", waitSeconds: 30, slotAt: 0 }),
);
const instantArb = fc
  .integer({ min: Date.parse("2026-01-01T00:00:00.000Z"), max: Date.parse("2027-01-01T00:00:00.000Z") })
  .map((ms) => new Date(ms));
/** Where no `updated_at` says otherwise, the stream record's time: never what decides here. */
const STREAM_TIME = new Date("2020-01-01T00:00:00.000Z");

describe("what a change of a delivery record counts (read from the stream's images)", () => {
  it("agrees with what countsOf counts for the step that made it, for every step kind, in the step's hour", () => {
    fc.assert(
      fc.property(
        stepArb,
        instantArb,
        fc.constantFrom<DeliveryStatus>("pending", "retrying"),
        (step, at, status) => {
          const counts = countsOf(step);
          expect(
            changeCounts(
              imageBefore(step, "wh_1", status),
              imageAfter(step, at, "wh_1", status),
              STREAM_TIME,
            ),
          ).toEqual(
            counts === undefined ? [] : [{ tenantId: "t1", webhookId: "wh_1", hour: hourOf(at), counts }],
          );
        },
      ),
    );
  });

  it("agrees with reopenedCounts when an ended delivery is re-opened, whenever it had ended", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DeliveryStatus>("delivered", "failed", "dead_lettered"),
        fc.option(instantArb, { nil: undefined }),
        instantArb,
        (status, completedAt, at) => {
          const was: EndedDelivery = {
            tenantId: "t1",
            webhookId: "wh_1",
            status,
            ...(completedAt === undefined ? {} : { completedAt: completedAt.toISOString() }),
          };
          const [before, after] = reopenedImages(was, at);
          const takenBack = reopenedCounts(was, at);
          expect(changeCounts(before, after, STREAM_TIME)).toEqual(
            takenBack === undefined ? [] : [takenBack],
          );
        },
      ),
    );
  });

  it("counts nothing for a change that neither records an attempt nor moves the status, nor for a removal", () => {
    const ended: DeliveryImage = {
      tenantId: "t1",
      webhookId: "wh_1",
      status: "dead_lettered",
      attemptCount: 4,
      completedAt: NOW.toISOString(),
    };
    // The dead-letter message sent (settleDeadLetter), a record expiring, a pending record created.
    expect(changeCounts(ended, { ...ended, updatedAt: hoursLater(1).toISOString() }, NOW)).toEqual([]);
    expect(changeCounts(ended, undefined, NOW)).toEqual([]);
    expect(changeCounts(undefined, { ...ended, status: "pending", attemptCount: 0 }, NOW)).toEqual([]);
  });

  it("counts a delivery failed by the reconciler without an attempt, as a failure, and its re-opening as one taken back", () => {
    const stalled: DeliveryImage = { tenantId: "t1", webhookId: "wh_1", status: "retrying", attemptCount: 2 };
    const failed = {
      ...stalled,
      status: "failed" as const,
      completedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    };
    expect(changeCounts(stalled, failed, NOW)).toEqual([
      { tenantId: "t1", webhookId: "wh_1", hour: "2026-11-25T10", counts: { ...NO_COUNTS, failed: 1 } },
    ]);
  });
});

describe("stream sequence numbers", () => {
  it("compare as the numbers they are once padded", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 40n - 1n }),
        fc.bigInt({ min: 0n, max: 10n ** 40n - 1n }),
        (a, b) => {
          expect(streamSequence(String(a)) < streamSequence(String(b))).toBe(a < b);
        },
      ),
    );
    // Unpadded, "9" would sort after "10".
    expect(streamSequence("9") < streamSequence("10")).toBe(true);
  });

  it("refuse what is not one", () => {
    expect(() => streamSequence("12a")).toThrow();
    expect(() => streamSequence("1".repeat(41))).toThrow();
  });
});

/**
 * A bucket store as DynamoDB keeps it for the stats function: counters and, per lane, a watermark; a
 * write is refused unless each of its lanes' watermark is below its `from` (stats-store.ts).
 */
class Buckets {
  readonly items = new Map<
    string,
    { counts: StatsCounters; watermarks: Record<string, string | undefined> }
  >();

  /** What stats-store.ts `addOnce` does: write as if new; refused, read the watermarks and write what is left. */
  addOnce(change: ReturnType<typeof statsBuckets>[number]): void {
    const key = JSON.stringify([change.tenantId, change.webhookId, change.hour]);
    let watermarks: Record<string, string | undefined> = {};
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const write = bucketWrite(change, watermarks);
      if (write === undefined) return;
      const item = this.items.get(key) ?? { counts: NO_COUNTS, watermarks: {} };
      const refused = write.lanes.some((lane) => {
        const watermark = item.watermarks[lane.lane];
        return watermark !== undefined && watermark >= lane.from;
      });
      if (!refused) {
        item.counts = addCounts(item.counts, write.increment.counts);
        for (const lane of write.lanes) item.watermarks[lane.lane] = lane.through;
        this.items.set(key, item);
        return;
      }
      watermarks = item.watermarks;
    }
    throw new Error("the bucket's watermarks refused every write");
  }
}

describe("the stats function's writes under at-least-once delivery", () => {
  const changeArb = fc.record({
    lane: fc.constantFrom(
      "TENANT#t1#WEBHOOK#wh_1#SHARD#0",
      "TENANT#t1#WEBHOOK#wh_1#SHARD#5",
      "TENANT#t1#WEBHOOK#wh_1",
    ),
    increments: fc.array(
      fc.record({
        tenantId: fc.constant("t1"),
        webhookId: fc.constantFrom("wh_1", "wh_2"),
        hour: fc.constantFrom("2026-11-25T10", "2026-11-25T11"),
        counts: fc.record({
          attempts: fc.integer({ min: 0, max: 2 }),
          attemptDurationMs: fc.integer({ min: 0, max: 100 }),
          delivered: fc.integer({ min: -1, max: 1 }),
          failed: fc.integer({ min: -1, max: 1 }),
          deadLettered: fc.integer({ min: -1, max: 1 }),
        }),
      }),
      { maxLength: 2 },
    ),
  });
  /** One invocation: its batch size, which bucket writes land, and whether it fails after writing. */
  const invocationArb = fc.record({
    size: fc.integer({ min: 1, max: 8 }),
    lands: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    crashesAfterWriting: fc.boolean(),
  });

  it("count every record exactly once, whatever is delivered again, split or retried from a checkpoint", () => {
    fc.assert(
      fc.property(
        fc.array(changeArb, { minLength: 1, maxLength: 30 }),
        fc.array(invocationArb, { minLength: 1, maxLength: 60 }),
        (records, invocations) => {
          // One shard: sequence numbers grow with gaps, as the stream's do; every lane's records in order.
          const changes: StreamChange[] = records.map((record, index) => ({
            ...record,
            sequenceNumber: String(100 + index * 7),
            sequence: streamSequence(String(100 + index * 7)),
          }));
          const store = new Buckets();
          let checkpoint = 0;
          for (let turn = 0; checkpoint < changes.length; turn += 1) {
            // After the generated invocations, every write lands: the shard drains.
            const invocation = invocations[turn] ?? {
              size: 8,
              lands: [true, true, true, true],
              crashesAfterWriting: false,
            };
            const batch = changes.slice(checkpoint, checkpoint + invocation.size);
            const failed: StreamChange[] = [];
            statsBuckets(batch).forEach((bucket, index) => {
              if (invocation.lands[index % invocation.lands.length] === false) {
                for (const records of bucket.lanes.values())
                  for (const record of records)
                    failed.push(...batch.filter((change) => change.sequence === record.sequence));
              } else store.addOnce(bucket);
            });
            if (invocation.crashesAfterWriting) {
              // The whole batch comes again, or (bisected) its first part.
              continue;
            }
            const lowestFailed = failed.map((change) => batch.indexOf(change)).sort((a, b) => a - b)[0];
            checkpoint += lowestFailed === undefined ? batch.length : lowestFailed;
          }
          const expected = new Map<string, StatsCounters>();
          for (const change of changes) {
            for (const increment of change.increments) {
              const key = JSON.stringify([increment.tenantId, increment.webhookId, increment.hour]);
              expected.set(key, addCounts(expected.get(key) ?? NO_COUNTS, increment.counts));
            }
          }
          expect(new Map([...store.items].map(([key, item]) => [key, item.counts]))).toEqual(expected);
        },
      ),
    );
  });
});
