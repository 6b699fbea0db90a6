import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoDueRecords } from "../../functions/adapters/due-records.ts";
import { DUE_SHARDS } from "../../functions/adapters/keys.ts";
import { TableKey } from "../../functions/shared/names.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

function deliveryItem(shard: number, index: number): Record<string, unknown> {
  const id = `dlv_${shard}_${index}`;
  return {
    [TableKey.partition]: `DELIVERY#${id}`,
    [TableKey.sort]: "DELIVERY",
    [TableKey.dueShard]: `DUE#${shard}`,
    [TableKey.dueAt]: `2024-01-01T00:00:${String(index % 60).padStart(2, "0")}.000Z`,
    id,
    tenant_id: "acme",
    webhook_id: "wh_1",
    event_id: `evt_${index}`,
    event_type: "order.created",
    status: "pending",
    attempt_count: 0,
    created_at: "2024-01-01T00:00:00.000Z",
  };
}

/** A due index holding `counts[shard]` overdue records per shard, paged the way DynamoDB pages a query. */
function dueIndex(counts: readonly number[]): void {
  const shards = counts.map((count, shard) =>
    Array.from({ length: count }, (_, i) => deliveryItem(shard, i)),
  );
  ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const shard = Number(String(input.ExpressionAttributeValues?.[":shard"]).replace("DUE#", ""));
    const items = shards[shard] ?? [];
    const start = input.ExclusiveStartKey === undefined ? 0 : Number(input.ExclusiveStartKey.offset);
    // A page is cut at 1 MB too, which the limit alone would not show.
    const end = Math.min(items.length, start + Math.min(input.Limit ?? items.length, 300));
    return {
      Items: items.slice(start, end),
      ...(end < items.length ? { LastEvaluatedKey: { offset: end } } : {}),
    };
  });
}

function countByShard(records: readonly { key: { pk: string } }[]): number[] {
  const counts = Array.from({ length: DUE_SHARDS }, () => 0);
  for (const record of records) {
    const shard = Number(record.key.pk.split("_")[1]);
    counts[shard] = (counts[shard] ?? 0) + 1;
  }
  return counts;
}

/** Expected counts per shard: those given for the first shards, none in every other shard. */
function shardCounts(first: readonly number[]): number[] {
  return Array.from({ length: DUE_SHARDS }, (_, shard) => first[shard] ?? 0);
}

describe("the overdue records a reconciler run finds", () => {
  it("reconciles every shard even when one shard holds more overdue records than the whole budget", async () => {
    dueIndex([5000, 7, 400, 3]);
    const found = await dynamoDueRecords(client, "events").overdue(new Date("2024-01-02T00:00:00Z"), 1000);
    expect(found).toHaveLength(1000);
    expect(countByShard(found)).toEqual(shardCounts([590, 7, 400, 3]));
  });

  it("gives the budget a quiet shard leaves unused to the busy shards", async () => {
    dueIndex([2000, 0, 2000, 0]);
    const found = await dynamoDueRecords(client, "events").overdue(new Date("2024-01-02T00:00:00Z"), 1000);
    expect(countByShard(found)).toEqual(shardCounts([500, 0, 500, 0]));
  });

  it("finds every overdue record when there are fewer than the budget, each once", async () => {
    dueIndex([10, 20, 0, 650]);
    const found = await dynamoDueRecords(client, "events").overdue(new Date("2024-01-02T00:00:00Z"), 1000);
    expect(new Set(found.map((record) => record.key.pk)).size).toBe(680);
    expect(countByShard(found)).toEqual(shardCounts([10, 20, 0, 650]));
  });

  it("reads the shards 32 at a time, below the SDK's 50 sockets, so no run fills its socket queue", async () => {
    let inFlight = 0;
    let most = 0;
    ddb.on(QueryCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      return { Items: [] };
    });
    const found = await dynamoDueRecords(client, "events").overdue(new Date("2024-01-02T00:00:00Z"), 1000);
    expect(found).toEqual([]);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(DUE_SHARDS);
    expect(most).toBe(32);
  });
});
