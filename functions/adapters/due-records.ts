import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
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

/**
 * Shard reads a run has under way at once: below the SDK's 50 sockets, so that a run's 256 queries wait
 * their turn here instead of in the SDK's socket queue, which warns in the logs on every run.
 */
const SHARD_READS_AT_ONCE = 32;

/** An item found on the due index, decoded by what its sort key says it is. */
function overdueRecord(item: Record<string, unknown>): OverdueRecord {
  const key = { pk: String(item[TableKey.partition]), sk: String(item[TableKey.sort]) };
  const dueAt = String(item[TableKey.dueAt]);
  return key.sk === Keys.eventSort
    ? { key, dueAt, kind: "fan_out", event: eventFromItem(item) }
    : { key, dueAt, kind: "delivery", delivery: deliveryFromItem(item) };
}

/**
 * Shares `limit` across the shards in rounds: each shard with records left gets an even share of the
 * budget left, so what a quiet shard does not use goes to the busy ones. Filled shard by shard instead,
 * enough records that stay overdue in one shard would take every run's whole budget, and the other
 * shards would never be reconciled. Every round either spends the budget or exhausts a shard. The
 * shards of a round are read side by side (`SHARD_READS_AT_ONCE` at a time): a run reads every one of
 * the many shards at least once.
 */
async function overdueRecords(
  client: DynamoDBDocumentClient,
  tableName: string,
  now: Date,
  limit: number,
): Promise<OverdueRecord[]> {
  const found: OverdueRecord[] = [];
  const limited = pLimit(SHARD_READS_AT_ONCE);
  let open: { shard: number; startKey: Record<string, unknown> | undefined }[] = Array.from(
    { length: DUE_SHARDS },
    (_, shard) => ({ shard, startKey: undefined }),
  );
  while (open.length > 0 && found.length < limit) {
    const share = Math.ceil((limit - found.length) / open.length);
    const reads = await Promise.all(
      open.map(({ shard, startKey }) =>
        limited(async () => ({
          shard,
          ...(await readShard(client, tableName, now, shard, share, startKey)),
        })),
      ),
    );
    const next: typeof open = [];
    for (const { shard, records, more } of reads) {
      // Past the budget a round's last shards are cut short; the next run finds the rest again.
      found.push(...records.slice(0, limit - found.length));
      if (more) next.push({ shard, startKey: more });
    }
    open = next;
  }
  return found;
}

/**
 * Up to `count` overdue records of one shard, from `from` on, and where the shard's overdue records go
 * on (absent when none are left).
 */
async function readShard(
  client: DynamoDBDocumentClient,
  tableName: string,
  now: Date,
  shard: number,
  count: number,
  from: Record<string, unknown> | undefined,
): Promise<{ records: OverdueRecord[]; more?: Record<string, unknown> }> {
  const records: OverdueRecord[] = [];
  let startKey = from;
  while (records.length < count) {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: "#shard = :shard AND #dueAt <= :now",
        ExpressionAttributeNames: { "#shard": TableKey.dueShard, "#dueAt": TableKey.dueAt },
        ExpressionAttributeValues: { ":shard": `DUE#${shard}`, ":now": now.toISOString() },
        Limit: count - records.length,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) records.push(overdueRecord(item));
    startKey = page.LastEvaluatedKey;
    if (!startKey) return { records };
  }
  return { records, more: startKey };
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
