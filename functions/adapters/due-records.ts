import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { DueRecords, OverdueRecord } from "../domain/ports.ts";
import { DUE_INDEX, TableKey } from "../shared/names.ts";
import { deliveryFromItem } from "./delivery-store.ts";
import { eventFromItem } from "./event-store.ts";
import { DUE_SHARDS, Keys } from "./keys.ts";

/** The records of the events table that carry a deadline (events mid-fan-out and open deliveries). */
export function dynamoDueRecords(client: DynamoDBDocumentClient, tableName: string): DueRecords {
  return {
    overdue: (now, limit) => overdueRecords(client, tableName, now, limit),
    postpone: (record, until, options) =>
      postponeDue(client, tableName, record, until, options?.redrive === true),
  };
}

/** An item found on the due index, decoded by what its sort key says it is. */
function overdueRecord(item: Record<string, unknown>): OverdueRecord {
  const key = { pk: String(item[TableKey.partition]), sk: String(item[TableKey.sort]) };
  const dueAt = String(item[TableKey.dueAt]);
  return key.sk === Keys.eventSort
    ? { key, dueAt, kind: "fan_out", event: eventFromItem(item) }
    : { key, dueAt, kind: "delivery", delivery: deliveryFromItem(item) };
}

async function overdueRecords(
  client: DynamoDBDocumentClient,
  tableName: string,
  now: Date,
  limit: number,
): Promise<OverdueRecord[]> {
  const found: OverdueRecord[] = [];
  for (let shard = 0; shard < DUE_SHARDS && found.length < limit; shard += 1) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: "#shard = :shard AND #dueAt <= :now",
          ExpressionAttributeNames: { "#shard": TableKey.dueShard, "#dueAt": TableKey.dueAt },
          ExpressionAttributeValues: { ":shard": `DUE#${shard}`, ":now": now.toISOString() },
          Limit: limit - found.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) found.push(overdueRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < limit);
  }
  return found;
}

async function postponeDue(
  client: DynamoDBDocumentClient,
  tableName: string,
  record: OverdueRecord,
  until: string,
  redrive: boolean,
): Promise<boolean> {
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [TableKey.partition]: record.key.pk, [TableKey.sort]: record.key.sk },
        ConditionExpression: "#dueAt = :was",
        UpdateExpression: redrive ? "SET #dueAt = :until ADD redrives :one" : "SET #dueAt = :until",
        ExpressionAttributeNames: { "#dueAt": TableKey.dueAt },
        ExpressionAttributeValues: {
          ":was": record.dueAt,
          ":until": until,
          ...(redrive ? { ":one": 1 } : {}),
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
