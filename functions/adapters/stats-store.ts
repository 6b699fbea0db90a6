import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, paginateQuery, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  addCounts,
  bucketWrite,
  last24Hours,
  NO_COUNTS,
  type StatsBucketChange,
  type StatsBucketWrite,
  type StatsCounters,
  type StatsIncrement,
} from "../domain/stats.ts";
import { TableKey } from "../shared/names.ts";
import {
  expiryEpochSeconds,
  Keys,
  shardOf,
  WEBHOOK_DELIVERY_SHARDS,
  webhookDeliveryPartitions,
} from "./keys.ts";

function countsOf(item: Record<string, unknown> | undefined): StatsCounters {
  const number = (key: string) => (typeof item?.[key] === "number" ? (item[key] as number) : 0);
  return {
    attempts: number("attempts"),
    attemptDurationMs: number("attempt_duration_ms"),
    delivered: number("delivered"),
    failed: number("failed"),
    deadLettered: number("dead_lettered"),
  };
}

/** The attribute of a bucket that holds one lane's watermark: the last stream sequence number applied. */
export function watermarkAttribute(tenantId: string, webhookId: string, lane: string): string {
  // A lane is a delivery record's partition: one of the webhook's shards, or its own partition.
  const own = Keys.webhookDeliveries(tenantId, webhookId);
  return `${STREAM_WATERMARK}${lane.startsWith(own) ? lane.slice(own.length) : lane}`;
}

const STREAM_WATERMARK = "stream_seq";

/** How many times a bucket write refused because its watermark moved is read and tried again. */
const BUCKET_WRITE_ATTEMPTS = 3;

/** Where a webhook's hour bucket is: in one of its shards, the same for every write to that hour. */
function bucketKey(increment: StatsIncrement) {
  return {
    [TableKey.partition]: Keys.webhookDeliveryShard(
      increment.tenantId,
      increment.webhookId,
      shardOf(increment.hour, WEBHOOK_DELIVERY_SHARDS),
    ),
    [TableKey.sort]: Keys.statsHour(increment.hour),
  };
}

/**
 * The write that adds to a webhook's hour bucket what a batch's records add, if no lane's watermark has
 * reached the first record it applies from that lane, and moves each lane's watermark to its last.
 */
function bucketUpdate(tableName: string, retentionDays: number, write: StatsBucketWrite) {
  const { increment } = write;
  const names: Record<string, string> = { "#expiresAt": TableKey.expiresAt };
  const values: Record<string, unknown> = {
    ":attempts": increment.counts.attempts,
    ":duration": increment.counts.attemptDurationMs,
    ":delivered": increment.counts.delivered,
    ":failed": increment.counts.failed,
    ":deadLettered": increment.counts.deadLettered,
    ":expiresAt": expiryEpochSeconds(new Date(`${increment.hour}:00:00.000Z`), retentionDays),
  };
  const conditions: string[] = [];
  const sets = ["#expiresAt = :expiresAt"];
  write.lanes.forEach((lane, index) => {
    names[`#w${index}`] = watermarkAttribute(increment.tenantId, increment.webhookId, lane.lane);
    values[`:from${index}`] = lane.from;
    values[`:through${index}`] = lane.through;
    conditions.push(`(attribute_not_exists(#w${index}) OR #w${index} < :from${index})`);
    sets.push(`#w${index} = :through${index}`);
  });
  return {
    TableName: tableName,
    Key: bucketKey(increment),
    ConditionExpression: conditions.join(" AND "),
    UpdateExpression: `ADD attempts :attempts, attempt_duration_ms :duration, delivered :delivered, failed :failed, dead_lettered :deadLettered SET ${sets.join(", ")}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * A webhook's counters in the events table, beside its deliveries: one item per hour (in one of the
 * webhook's shards, by hash of the hour), added to with ADD by the stats function, and kept for the
 * retention period. The total is the sum of the items, so a stream batch writes one item per webhook and
 * hour, and reading the stats (rare) sums at most the retention's hours in each of the webhook's
 * partitions (its shards, and its own partition, where older counters are; older counters were spread
 * over the shards at random).
 */
export function dynamoStatsStore(client: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
  return {
    /**
     * Adds a batch's changes to one bucket, each record exactly once: the write applies only the records
     * past each lane's watermark, on condition that the watermark has not moved meanwhile. Tried first as
     * if none were applied (one write, the usual case); refused, the bucket's watermarks are read and
     * what is left is written (nothing, when a batch delivered again was applied whole).
     */
    async addOnce(change: StatsBucketChange): Promise<void> {
      let watermarks: Record<string, string | undefined> = {};
      for (let attempt = 1; attempt <= BUCKET_WRITE_ATTEMPTS; attempt += 1) {
        const write = bucketWrite(change, watermarks);
        if (write === undefined) return;
        try {
          await client.send(new UpdateCommand(bucketUpdate(tableName, retentionDays, write)));
          return;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
        const key = bucketKey(write.increment);
        const { Item } = await client.send(
          new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
        );
        watermarks = Object.fromEntries(
          [...change.lanes.keys()].map((lane) => {
            const value = Item?.[watermarkAttribute(change.tenantId, change.webhookId, lane)];
            return [lane, typeof value === "string" ? value : undefined];
          }),
        );
      }
      throw new Error(
        `the stats bucket ${change.hour} of webhook ${change.webhookId} kept moving under its writes`,
      );
    },

    /** The sum of every hour bucket kept, and that of the last 24. */
    async read(
      tenantId: string,
      webhookId: string,
      now: Date,
    ): Promise<{ total: StatsCounters; last24h: StatsCounters }> {
      const hours = async (partition: string) => {
        const items: Record<string, unknown>[] = [];
        const pages = paginateQuery(
          { client },
          {
            TableName: tableName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :hours)",
            ExpressionAttributeNames: { "#pk": TableKey.partition, "#sk": TableKey.sort },
            ExpressionAttributeValues: { ":pk": partition, ":hours": Keys.statsHour("") },
            ConsistentRead: true,
          },
        );
        for await (const page of pages) items.push(...(page.Items ?? []));
        return items;
      };
      const items = (await Promise.all(webhookDeliveryPartitions(tenantId, webhookId).map(hours))).flat();
      const last24Keys = new Set(last24Hours(now).map(Keys.statsHour));
      let last24h = NO_COUNTS;
      let total = NO_COUNTS;
      for (const item of items) {
        const counts = countsOf(item);
        total = addCounts(total, counts);
        if (last24Keys.has(String(item[TableKey.sort]))) last24h = addCounts(last24h, counts);
      }
      return { total, last24h };
    },
  };
}
