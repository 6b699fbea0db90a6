import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  addCounts,
  last24Hours,
  NO_COUNTS,
  type StatsCounters,
  type StatsIncrement,
} from "../domain/stats.ts";
import { TableKey } from "../shared/names.ts";
import { expiryEpochSeconds, Keys } from "./keys.ts";

/** Hour buckets are kept a day longer than the 24 hours they serve. */
const HOUR_BUCKET_DAYS = 2;

function countsOf(item: Record<string, unknown> | undefined): StatsCounters {
  const number = (key: string) => (typeof item?.[key] === "number" ? (item[key] as number) : 0);
  return {
    attempts: number("attempts"),
    attemptDurationMs: number("attempt_duration_ms"),
    delivered: number("delivered"),
    failed: number("failed"),
  };
}

/** A webhook's counters in the events table, in its deliveries' partition, added to with ADD. */
export function dynamoStatsStore(client: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
  async function add(pk: string, sk: string, counts: StatsCounters, expiresAt: number): Promise<void> {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [TableKey.partition]: pk, [TableKey.sort]: sk },
        UpdateExpression:
          "ADD attempts :attempts, attempt_duration_ms :duration, delivered :delivered, failed :failed SET #expiresAt = :expiresAt",
        ExpressionAttributeNames: { "#expiresAt": TableKey.expiresAt },
        ExpressionAttributeValues: {
          ":attempts": counts.attempts,
          ":duration": counts.attemptDurationMs,
          ":delivered": counts.delivered,
          ":failed": counts.failed,
          ":expiresAt": expiresAt,
        },
      }),
    );
  }

  return {
    /** Writes a batch's increments: per webhook, its running total and its hour bucket. */
    async flush(increments: readonly StatsIncrement[], now: Date): Promise<void> {
      await Promise.all(
        increments.flatMap((increment) => {
          const pk = Keys.webhookDeliveries(increment.tenantId, increment.webhookId);
          return [
            // The total outlives the webhook's last activity by the retention, like its deliveries.
            add(pk, Keys.statsPrefix, increment.counts, expiryEpochSeconds(now, retentionDays)),
            add(
              pk,
              Keys.statsHour(increment.hour),
              increment.counts,
              expiryEpochSeconds(new Date(`${increment.hour}:00:00.000Z`), HOUR_BUCKET_DAYS),
            ),
          ];
        }),
      );
    },

    /** The running total and the sum of the last 24 hour buckets. */
    async read(
      tenantId: string,
      webhookId: string,
      now: Date,
    ): Promise<{ total: StatsCounters; last24h: StatsCounters }> {
      const { Items = [] } = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :stats)",
          ExpressionAttributeNames: { "#pk": TableKey.partition, "#sk": TableKey.sort },
          ExpressionAttributeValues: {
            ":pk": Keys.webhookDeliveries(tenantId, webhookId),
            ":stats": Keys.statsPrefix,
          },
          ConsistentRead: true,
        }),
      );
      const hours = new Set(last24Hours(now).map(Keys.statsHour));
      let last24h = NO_COUNTS;
      let total = NO_COUNTS;
      for (const item of Items) {
        const sort = String(item[TableKey.sort]);
        if (sort === Keys.statsPrefix) total = countsOf(item);
        else if (hours.has(sort)) last24h = addCounts(last24h, countsOf(item));
      }
      return { total, last24h };
    },
  };
}
