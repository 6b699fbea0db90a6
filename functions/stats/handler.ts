/**
 * Stats: adds each change of a delivery record to its webhook's hour bucket, from the events table's
 * stream (NEW_AND_OLD_IMAGES, filtered to the changes that can move a counter: lib/stats.ts). A batch
 * of up to a thousand changes costs one `UpdateItem` per webhook and hour, where the delivery function
 * used to write one per webhook per invocation; Lambda's reads of the stream are free.
 *
 * Counted exactly once, though Lambda delivers stream records at least once (a failed batch comes
 * again whole, from the checkpoint of a partial batch response, or split in two):
 * - A record's change to the counters is a pure function of its images (`changeCounts`), so a record
 *   delivered twice asks for the same increments twice.
 * - Records are applied per lane: the changed record's partition key. All changes of one partition
 *   key's items are in one stream shard, in order, and Lambda hands a shard's records over in order, one
 *   batch at a time, each batch starting where the last checkpoint left (a child shard after its parent,
 *   with higher sequence numbers). Lambda's event does not name the shard, so the lane stands for it.
 *   (The one case this does not cover: DynamoDB splitting a single, very hot partition key's items over
 *   two partitions, whose child shards Lambda reads side by side. A watermark only ever moves up, so
 *   there a change could be missed, never counted twice.)
 * - Each bucket keeps, per lane, a watermark: the highest sequence number (left-padded to 40 digits so
 *   strings compare as numbers) whose change it holds. A write adds the batch's records of each lane
 *   from `from` through `through`, on condition that every lane's watermark is below its `from`, and
 *   moves it to `through`, in the same `UpdateItem`: the counters and the watermarks move together or
 *   not at all.
 * - Refused, the bucket's watermarks are read (strongly consistent) and only the records past them are
 *   written, on the same condition; nothing, when the batch was applied already. Every record past a
 *   watermark is in this batch (records come in order, and no batch starts past one that is not done),
 *   so none is skipped, and none at or below it is added again.
 * - A bucket whose write fails is reported with `ReportBatchItemFailures`: each of its records, so that
 *   Lambda checkpoints before the lowest and retries from there. Buckets written meanwhile see their
 *   later records again, and their watermarks refuse them.
 * - A record that cannot be read stops the batch there: it is reported, and those after it are left for
 *   the retry, so that no watermark passes it.
 * What Lambda gives up on (after its bounded retries, bisecting to the bad record) goes to the
 * on-failure queue, uncounted; an alarm watches that queue.
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { DynamoDBBatchResponse } from "aws-lambda";
import { loadConfig } from "../adapters/config.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { logger } from "../adapters/logger.ts";
import { dynamoStatsStore } from "../adapters/stats-store.ts";
import { traceHandler } from "../adapters/tracing.ts";
import type { StreamChange } from "../domain/stats.ts";
import { addStreamChanges } from "../services/stats-stream.ts";
import { StreamEventSchema, streamChange } from "./stream-records.ts";

const config = loadConfig(["eventsTable", "retentionDays"]);
const stats = dynamoStatsStore(dynamodb, config.eventsTable, config.retentionDays);

export const handler = middy(async (event: unknown): Promise<DynamoDBBatchResponse> => {
  const { Records } = StreamEventSchema.parse(event);
  const now = new Date();
  const changes: StreamChange[] = [];
  // The batch is applied up to a record that cannot be read, which comes again with all after it: a
  // later record's watermark must never pass a change that was not counted.
  let unreadable: string | undefined;
  for (const record of Records) {
    try {
      changes.push(streamChange(record, now));
    } catch (error) {
      logger.error("stream record not read; it and those after it come again", {
        sequence_number: record.dynamodb.SequenceNumber,
        error,
      });
      unreadable = record.dynamodb.SequenceNumber;
      break;
    }
  }
  const retried = await addStreamChanges({ addOnce: stats.addOnce, log: logger }, changes);
  const failures = retried.map((change) => change.sequenceNumber);
  if (unreadable !== undefined) failures.push(unreadable);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
})
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }));
