import type { DeliveryStep } from "./deliver.ts";

/**
 * A webhook's delivery statistics are counters, added to as attempts are recorded, never computed by
 * scanning deliveries: one bucket per hour, summed for the totals and for the last-24-hours figures.
 */
export interface StatsCounters {
  /** Attempts made (requests sent or tried). */
  readonly attempts: number;
  readonly attemptDurationMs: number;
  /** Deliveries that ended `delivered`. */
  readonly delivered: number;
  /** Deliveries that ended `failed` or `dead_lettered`. */
  readonly failed: number;
}

export const NO_COUNTS: StatsCounters = { attempts: 0, attemptDurationMs: 0, delivered: 0, failed: 0 };

/** What one recorded step adds to its webhook's counters, or nothing when it changes no counter. */
export function countsOf(step: DeliveryStep): StatsCounters | undefined {
  const attempt = "attempt" in step ? step.attempt : undefined;
  const counts = {
    attempts: attempt ? 1 : 0,
    attemptDurationMs: attempt?.durationMs ?? 0,
    delivered: step.kind === "delivered" ? 1 : 0,
    failed: step.kind === "failed" || step.kind === "dead_letter" ? 1 : 0,
  };
  return counts.attempts + counts.delivered + counts.failed === 0 ? undefined : counts;
}

export function addCounts(a: StatsCounters, b: StatsCounters): StatsCounters {
  return {
    attempts: a.attempts + b.attempts,
    attemptDurationMs: a.attemptDurationMs + b.attemptDurationMs,
    delivered: a.delivered + b.delivered,
    failed: a.failed + b.failed,
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

/** The API's view of a webhook's counters. Rates are fractions between 0 and 1, null with no data. */
export function statsView(total: StatsCounters, last24h: StatsCounters) {
  const ended = total.delivered + total.failed;
  const endedLast24h = last24h.delivered + last24h.failed;
  return {
    total_deliveries: ended,
    successful_deliveries: total.delivered,
    failed_deliveries: total.failed,
    success_rate: ended === 0 ? null : total.delivered / ended,
    total_attempts: total.attempts,
    avg_duration_ms: total.attempts === 0 ? null : Math.round(total.attemptDurationMs / total.attempts),
    last_24h_deliveries: endedLast24h,
    last_24h_success_rate: endedLast24h === 0 ? null : last24h.delivered / endedLast24h,
  };
}
