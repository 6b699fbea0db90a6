import type { DeliveryStep } from "./deliver.ts";
import type { DeliveryStatus } from "./model.ts";

/**
 * A webhook's delivery statistics are counters, added to as attempts are recorded, never computed by
 * scanning deliveries: one bucket per hour, summed for the totals and for the last-24-hours figures.
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

/** What one recorded step adds to its webhook's counters, or nothing when it changes no counter. */
export function countsOf(step: DeliveryStep): StatsCounters | undefined {
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
    counts: { ...NO_COUNTS, ...(was.status === "failed" ? { failed: -1 } : { deadLettered: -1 }) },
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

/**
 * Counts collected over one invocation of the delivery function and written together at its end:
 * a batch of ten deliveries to one webhook costs two counter writes, not twenty.
 */
export class StatsBatch {
  readonly #increments = new Map<string, StatsIncrement>();

  add(tenantId: string, webhookId: string, step: DeliveryStep, now: Date): void {
    const counts = countsOf(step);
    if (!counts) return;
    const hour = hourOf(now);
    const key = JSON.stringify([tenantId, webhookId, hour]);
    const current = this.#increments.get(key);
    this.#increments.set(key, {
      tenantId,
      webhookId,
      hour,
      counts: addCounts(current?.counts ?? NO_COUNTS, counts),
    });
  }

  /** The increments collected so far; the batch is empty afterwards. */
  drain(): StatsIncrement[] {
    const increments = [...this.#increments.values()];
    this.#increments.clear();
    return increments;
  }
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
