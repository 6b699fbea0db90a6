import { type DynamoDBDocumentClient, paginateQuery, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  addCounts,
  last24Hours,
  NO_COUNTS,
  type StatsCounters,
  type StatsIncrement,
} from "../domain/stats.ts";
import { TableKey } from "../shared/names.ts";
import { expiryEpochSeconds, Keys, WEBHOOK_DELIVERY_SHARDS, webhookDeliveryPartitions } from "./keys.ts";
import type { TransactItem } from "./transactions.ts";

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

/**
 * The write that adds an increment to its webhook's hour bucket, in one of the webhook's shards (any:
 * the counters are the sum over all of them, so each write goes to one at random and no bucket takes
 * every invocation's write); also used inside the transaction that re-opens a delivery, so that its
 * earlier outcome is taken back exactly when it is re-opened.
 */
export function statsUpdate(
  tableName: string,
  retentionDays: number,
  increment: StatsIncrement,
  random: () => number = Math.random,
): NonNullable<TransactItem["Update"]> {
  const shard = Math.floor(random() * WEBHOOK_DELIVERY_SHARDS);
  return {
    TableName: tableName,
    Key: {
      [TableKey.partition]: Keys.webhookDeliveryShard(increment.tenantId, increment.webhookId, shard),
      [TableKey.sort]: Keys.statsHour(increment.hour),
    },
    UpdateExpression:
      "ADD attempts :attempts, attempt_duration_ms :duration, delivered :delivered, failed :failed, dead_lettered :deadLettered SET #expiresAt = :expiresAt",
    ExpressionAttributeNames: { "#expiresAt": TableKey.expiresAt },
    ExpressionAttributeValues: {
      ":attempts": increment.counts.attempts,
      ":duration": increment.counts.attemptDurationMs,
      ":delivered": increment.counts.delivered,
      ":failed": increment.counts.failed,
      ":deadLettered": increment.counts.deadLettered,
      ":expiresAt": expiryEpochSeconds(new Date(`${increment.hour}:00:00.000Z`), retentionDays),
    },
  };
}

/**
 * A webhook's counters in the events table, beside its deliveries: one item per hour and shard, added to
 * with ADD, and kept for the retention period. The total is the sum of the items, so recording a batch
 * writes one item per webhook, and reading the stats (rare) sums at most the retention's hours in each
 * of the webhook's partitions (its shards, and its own partition, where older counters are).
 */
export function dynamoStatsStore(client: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
  return {
    /** Writes a batch's increments: per webhook, to its hour bucket. */
    async flush(increments: readonly StatsIncrement[]): Promise<void> {
      await Promise.all(
        increments.map((increment) =>
          client.send(new UpdateCommand(statsUpdate(tableName, retentionDays, increment))),
        ),
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
