import type { Log } from "../domain/ports.ts";
import { type StatsBucketChange, type StreamChange, statsBuckets } from "../domain/stats.ts";

export interface StatsStreamDeps {
  /** Adds a bucket's changes exactly once (see `dynamoStatsStore`'s `addOnce`). */
  readonly addOnce: (change: StatsBucketChange) => Promise<void>;
  readonly log: Log;
}

/**
 * Adds a stream batch's changes to the counters, one write per webhook and hour, all at once. Returns
 * the records that must come again: those whose bucket was not written. Lambda retries the batch from
 * the lowest of them, so buckets written meanwhile see some of their records again; their watermarks
 * keep those from being counted twice.
 */
export async function addStreamChanges(
  deps: StatsStreamDeps,
  changes: readonly StreamChange[],
): Promise<StreamChange[]> {
  const buckets = statsBuckets(changes);
  const results = await Promise.allSettled(buckets.map((bucket) => deps.addOnce(bucket)));
  const retried = new Set<string>();
  results.forEach((result, index) => {
    const bucket = buckets[index];
    if (result.status === "fulfilled" || bucket === undefined) return;
    deps.log.error("stats bucket not written; its records come again", {
      tenant_id: bucket.tenantId,
      webhook_id: bucket.webhookId,
      hour: bucket.hour,
      error: result.reason,
    });
    for (const records of bucket.lanes.values()) for (const record of records) retried.add(record.sequence);
  });
  return changes.filter((change) => retried.has(change.sequence));
}
