import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DUE_INDEX, TableKey } from "../shared/names.ts";
import { DUE_SHARDS } from "./keys.ts";

/** A record (event or delivery) whose next step was due before now. */
export interface OverdueRecord {
  readonly key: { readonly pk: string; readonly sk: string };
  readonly dueAt: string;
  readonly item: Record<string, unknown>;
}

/** Records whose deadline passed, oldest first within each shard, at most `limit` in all. */
export async function overdueRecords(
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
      for (const item of page.Items ?? []) {
        found.push({
          key: { pk: String(item[TableKey.partition]), sk: String(item[TableKey.sort]) },
          dueAt: String(item[TableKey.dueAt]),
          item,
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < limit);
  }
  return found;
}

/**
 * Moves a record's deadline, only if it is still the one that was read: of two reconcilers that find
 * the same overdue record, one wins and drives it on.
 */
export async function postponeDue(
  client: DynamoDBDocumentClient,
  tableName: string,
  record: OverdueRecord,
  until: string,
): Promise<boolean> {
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [TableKey.partition]: record.key.pk, [TableKey.sort]: record.key.sk },
        ConditionExpression: "#dueAt = :was",
        UpdateExpression: "SET #dueAt = :until",
        ExpressionAttributeNames: { "#dueAt": TableKey.dueAt },
        ExpressionAttributeValues: { ":was": record.dueAt, ":until": until },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
