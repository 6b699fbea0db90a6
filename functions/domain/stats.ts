import type { DeliveryStep } from "./deliver.ts";
import type { DeliveryStatus } from "./model.ts";

/**
 * A webhook's delivery statistics are counters, never computed by scanning deliveries: one bucket per
 * hour, summed for the totals and for the last-24-hours figures. The stats function adds to them from the
 * events table's stream (`changeCounts` reads what each change of a delivery record counts), a batch of
 * changes at a time, so the counters trail the deliveries by the stream's batching window.
 *
 * Each delivery is counted once, by its latest outcome, in the hour it ended: a retry (automatic or
 * manual) is another attempt of the same delivery. A manual retry, recovery or redrive takes the
 * delivery's earlier outcome back out of the hour it was counted in (see `reopenedCounts`), and the
 * delivery is counted again when it ends. Attempts are never taken back: each was made.
 */
export interface StatsCounters {
  /** Attempts made (requests sent or tried). */
  readonly attempts: number;
  readonly attemptDurationMs: number;
  /** Deliveries whose latest outcome is `delivered`. */
  readonly delivered: number;
  /** Deliveries whose latest outcome is `failed` (a permanent failure, a gone or deleted endpoint). */
  readonly failed: number;
  /** Deliveries whose latest outcome is `dead_lettered` (their retry schedule ran out). */
  readonly deadLettered: number;
}

export const NO_COUNTS: StatsCounters = {
  attempts: 0,
  attemptDurationMs: 0,
  delivered: 0,
  failed: 0,
  deadLettered: 0,
};

/** A step as a delivery record's change shows it: its kind, and its attempt's duration if it made one. */
export interface RecordedStep {
  readonly kind: DeliveryStep["kind"];
  readonly attempt?: { readonly durationMs: number };
}

/**
 * What one recorded step adds to its webhook's counters, or nothing when it changes no counter: its
 * attempt if it made one, and the delivery if it ended it. `changeCounts` reads the step from the
 * delivery record's change.
 */
export function countsOf(step: DeliveryStep | RecordedStep): StatsCounters | undefined {
  const attempt = "attempt" in step ? step.attempt : undefined;
  const counts = {
    attempts: attempt ? 1 : 0,
    attemptDurationMs: attempt?.durationMs ?? 0,
    delivered: step.kind === "delivered" ? 1 : 0,
    failed: step.kind === "failed" ? 1 : 0,
    deadLettered: step.kind === "dead_letter" ? 1 : 0,
  };
  return counts.attempts + counts.delivered + counts.failed + counts.deadLettered === 0 ? undefined : counts;
}

/** The delivery as it was when a manual retry, recovery or redrive re-opened it. */
export interface EndedDelivery {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly status: DeliveryStatus;
  readonly completedAt?: string;
}

/**
 * What re-opening an ended delivery takes back: its outcome, from the hour it was counted in (so the
 * last-24-hours figures never go below zero), until it ends again. Nothing for a delivery that had not
 * ended.
 */
export function reopenedCounts(was: EndedDelivery, now: Date): StatsIncrement | undefined {
  if (was.status !== "failed" && was.status !== "dead_lettered") return undefined;
  return {
    tenantId: was.tenantId,
    webhookId: was.webhookId,
    hour: hourOf(was.completedAt === undefined ? now : new Date(was.completedAt)),
    counts: { ...NO_COUNTS, [was.status === "failed" ? "failed" : "deadLettered"]: -1 },
  };
}

export function addCounts(a: StatsCounters, b: StatsCounters): StatsCounters {
  return {
    attempts: a.attempts + b.attempts,
    attemptDurationMs: a.attemptDurationMs + b.attemptDurationMs,
    delivered: a.delivered + b.delivered,
    failed: a.failed + b.failed,
    deadLettered: a.deadLettered + b.deadLettered,
  };
}

/** The hour bucket an instant counts in, e.g. `2026-11-25T10`. */
export function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/** The 24 hour buckets that make up "the last 24 hours" at `now`, oldest first. */
export function last24Hours(now: Date): string[] {
  return Array.from({ length: 24 }, (_, index) => hourOf(new Date(now.getTime() - (23 - index) * 3_600_000)));
}

/** One webhook's increments, ready to be written. */
export interface StatsIncrement {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly hour: string;
  readonly counts: StatsCounters;
}

/** A delivery record as a stream image shows it (unmarshalled): what its webhook's counters depend on. */
export interface DeliveryImage {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  /** The latest attempt's duration. */
  readonly durationMs?: number;
  /** When the record was last changed: the time of the step, re-opening or failure that changed it. */
  readonly updatedAt?: string;
  readonly completedAt?: string;
}

/** The step that ends a delivery with a status. */
const ENDING_STEP: Partial<Record<DeliveryStatus, DeliveryStep["kind"]>> = {
  delivered: "delivered",
  failed: "failed",
  dead_lettered: "dead_letter",
};

function ended(image: DeliveryImage | undefined): boolean {
  return image !== undefined && ENDING_STEP[image.status] !== undefined;
}

/**
 * What one change of a delivery record adds to its webhook's counters, read from the record's images
 * before and after it (a stream record's OldImage and NewImage):
 * - a step recorded: what `countsOf` counts for it. An attempt is an `attempt_count` that went up (the
 *   latest attempt's duration with it); the step ends the delivery when the status became delivered,
 *   failed or dead-lettered, and is then counted in the hour of its `completed_at`, else in the hour of
 *   the change;
 * - an ended delivery re-opened (a manual retry, recovery or redrive took it back to pending or
 *   retrying): exactly what `reopenedCounts` takes back, from the hour it was counted in.
 * Nothing for any other change (a deferral, a park, a release, a record created pending or expired).
 * `at` stands for the change's time on a record that does not carry `updated_at`.
 */
export function changeCounts(
  before: DeliveryImage | undefined,
  after: DeliveryImage | undefined,
  at: Date,
): StatsIncrement[] {
  if (after === undefined) return [];
  const changedAt = after.updatedAt === undefined ? at : new Date(after.updatedAt);
  if (before !== undefined && ended(before) && !ended(after)) {
    const takenBack = reopenedCounts(before, changedAt);
    return takenBack === undefined ? [] : [takenBack];
  }
  const ending = ended(before) ? undefined : ENDING_STEP[after.status];
  const attempted = after.attemptCount > (before?.attemptCount ?? 0);
  const counts = countsOf({
    // A change that ends nothing counts as a retry: its attempt, if it made one.
    kind: ending ?? "retry",
    ...(attempted ? { attempt: { durationMs: after.durationMs ?? 0 } } : {}),
  });
  if (counts === undefined) return [];
  const countedAt =
    ending !== undefined && after.completedAt !== undefined ? new Date(after.completedAt) : changedAt;
  return [{ tenantId: after.tenantId, webhookId: after.webhookId, hour: hourOf(countedAt), counts }];
}

const bucketKey = (increment: Pick<StatsIncrement, "tenantId" | "webhookId" | "hour">) =>
  JSON.stringify([increment.tenantId, increment.webhookId, increment.hour]);

/**
 * Stream sequence numbers are decimal strings of up to 40 digits, compared as numbers: left-padded to
 * that width, they compare as strings, as DynamoDB's condition expressions compare them.
 */
export const STREAM_SEQUENCE_DIGITS = 40;

export function streamSequence(sequenceNumber: string): string {
  if (!/^\d+$/.test(sequenceNumber) || sequenceNumber.length > STREAM_SEQUENCE_DIGITS)
    throw new Error(`not a stream sequence number: ${sequenceNumber}`);
  return sequenceNumber.padStart(STREAM_SEQUENCE_DIGITS, "0");
}

/** One stream record's share of the counters. */
export interface StreamChange {
  /**
   * The lane it came in: records of one lane reach the consumer in the order of their sequence numbers,
   * one batch at a time (the changed record's partition key: all its changes are in one stream shard).
   */
  readonly lane: string;
  /** Its sequence number as the stream gave it: what a partial batch response names it by. */
  readonly sequenceNumber: string;
  /** The same, padded (`streamSequence`): what is compared. */
  readonly sequence: string;
  readonly increments: readonly StatsIncrement[];
}

/** A batch's changes to one webhook's hour bucket, lane by lane, each lane's in sequence order. */
export interface StatsBucketChange {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly hour: string;
  readonly lanes: ReadonlyMap<
    string,
    readonly { readonly sequence: string; readonly counts: StatsCounters }[]
  >;
}

/**
 * A batch of stream changes, in stream order, per webhook and hour: a batch of a thousand deliveries to
 * one webhook costs one counter write, not a thousand.
 */
export function statsBuckets(changes: readonly StreamChange[]): StatsBucketChange[] {
  const buckets = new Map<
    string,
    {
      readonly bucket: StatsIncrement;
      readonly lanes: Map<string, { sequence: string; counts: StatsCounters }[]>;
    }
  >();
  for (const change of changes) {
    for (const increment of change.increments) {
      const key = bucketKey(increment);
      const entry = buckets.get(key) ?? { bucket: increment, lanes: new Map() };
      buckets.set(key, entry);
      const lane = entry.lanes.get(change.lane) ?? [];
      entry.lanes.set(change.lane, lane);
      lane.push({ sequence: change.sequence, counts: increment.counts });
    }
  }
  return [...buckets.values()].map(({ bucket, lanes }) => ({
    tenantId: bucket.tenantId,
    webhookId: bucket.webhookId,
    hour: bucket.hour,
    lanes,
  }));
}

/** One conditional write to a bucket: what it adds, and per lane the records it applies. */
export interface StatsBucketWrite {
  readonly increment: StatsIncrement;
  /**
   * Per lane, the first and last sequence numbers applied: the write may apply only while the lane's
   * watermark in the bucket is below `from`, and moves it to `through`.
   */
  readonly lanes: readonly { readonly lane: string; readonly from: string; readonly through: string }[];
}

/**
 * What a bucket change still adds, given each lane's watermark in the bucket (the last sequence number
 * applied from it; absent, none): only the records past it. Undefined when every record was applied.
 */
export function bucketWrite(
  change: StatsBucketChange,
  watermarks: Readonly<Record<string, string | undefined>>,
): StatsBucketWrite | undefined {
  let counts = NO_COUNTS;
  const lanes: { lane: string; from: string; through: string }[] = [];
  for (const [lane, records] of change.lanes) {
    const watermark = watermarks[lane];
    const pending = records.filter((record) => watermark === undefined || record.sequence > watermark);
    const first = pending[0];
    const last = pending.at(-1);
    if (first === undefined || last === undefined) continue;
    for (const record of pending) counts = addCounts(counts, record.counts);
    lanes.push({ lane, from: first.sequence, through: last.sequence });
  }
  if (lanes.length === 0) return undefined;
  return {
    increment: { tenantId: change.tenantId, webhookId: change.webhookId, hour: change.hour, counts },
    lanes,
  };
}

/** Deliveries counted: each once, by its latest outcome. */
function deliveriesIn(counts: StatsCounters): number {
  return counts.delivered + counts.failed + counts.deadLettered;
}

/**
 * The API's view of a webhook's counters. Deliveries are those that ended (one still being retried is
 * counted when it ends); rates are fractions between 0 and 1, null with no data.
 */
export function statsView(total: StatsCounters, last24h: StatsCounters) {
  const ended = deliveriesIn(total);
  const endedLast24h = deliveriesIn(last24h);
  return {
    total_deliveries: ended,
    successful_deliveries: total.delivered,
    failed_deliveries: total.failed,
    dead_lettered_deliveries: total.deadLettered,
    success_rate: ended === 0 ? null : total.delivered / ended,
    total_attempts: total.attempts,
    avg_duration_ms: total.attempts === 0 ? null : Math.round(total.attemptDurationMs / total.attempts),
    last_24h_deliveries: endedLast24h,
    last_24h_success_rate: endedLast24h === 0 ? null : last24h.delivered / endedLast24h,
  };
}
