/**
 * The stats function (functions/stats/handler.ts) against DynamoDB Local: delivery records changed by
 * the real delivery store, their stream records read back and handed to the handler as Lambda's event,
 * and the same batch handed over again (a function that failed after writing, whose batch Lambda
 * delivers again), then again from a checkpoint: the counters hold each change exactly once.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context, DynamoDBBatchResponse } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDeliveryStore } from "../../functions/adapters/delivery-store.ts";
import { dynamoStatsStore } from "../../functions/adapters/stats-store.ts";
import type { DeliveryStep } from "../../functions/domain/deliver.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import { statsView } from "../../functions/domain/stats.ts";
import { EnvVar } from "../../functions/shared/names.ts";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/emulators.ts";

const TABLE = "events";
const REGION = "us-east-1";
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const stateDir = path.resolve(import.meta.dirname, "../../.hookline/test/stats-stream");

let dynamo: DynamoDbLocal;
let client: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let handler: (event: unknown, context: Context) => Promise<DynamoDBBatchResponse>;

beforeAll(async () => {
  mkdirSync(stateDir, { recursive: true });
  dynamo = await startDynamoDbLocal({
    dataDir: stateDir,
    pidFile: path.join(stateDir, "dynamodb.pid"),
    inMemory: true,
  });
  client = new DynamoDBClient({ region: REGION, credentials, endpoint: dynamo.endpoint });
  streams = new DynamoDBStreamsClient({ region: REGION, credentials, endpoint: dynamo.endpoint });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
    }),
  );
  // The handler's own client, created at its import, reaches DynamoDB Local through the SDK's endpoint
  // variable, as the local runtime's functions do.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    [EnvVar.eventsTable]: TABLE,
    [EnvVar.retentionDays]: "30",
  });
  ({ handler } = await import("../../functions/stats/handler.ts"));
});

afterAll(async () => {
  client?.destroy();
  streams?.destroy();
  await dynamo?.stop();
});

/** Every record of the table's stream so far, shard by shard, in order. */
async function streamRecords(): Promise<_Record[]> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));
  const streamArn = Table?.LatestStreamArn;
  if (streamArn === undefined) throw new Error("the table has no stream");
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    while (iterator !== undefined) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(page.Records ?? []));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

/** Records as Lambda's event carries them (its creation time in epoch seconds). */
function lambdaEvent(records: readonly _Record[]) {
  return {
    Records: records.map((record) => ({
      ...record,
      dynamodb: {
        ...record.dynamodb,
        ApproximateCreationDateTime: Math.floor(
          (record.dynamodb?.ApproximateCreationDateTime?.getTime() ?? 0) / 1000,
        ),
      },
    })),
  };
}

const context = { functionName: "stats", awsRequestId: "test" } as Context;

describe("the stats function", () => {
  it("counts each delivery record change exactly once when its batch comes again, whole or from a checkpoint", async () => {
    const documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const deliveries = dynamoDeliveryStore(documents, TABLE, 30, 50);
    const stats = dynamoStatsStore(documents, TABLE, 30);
    const now = new Date();
    const at = now.toISOString();
    const ids = ["d1", "d2", "d3"];
    await deliveries.createPending(
      ids.map((id) => ({
        id,
        tenantId: "t1",
        webhookId: "wh_1",
        eventId: `ev_${id}`,
        eventType: "memory.created",
        status: "pending",
        attemptCount: 0,
        createdAt: at,
      })),
      { resume: false },
    );
    const message = (deliveryId: string, attempt: number, scheduleStart = 0): DeliveryMessage => ({
      tenantId: "t1",
      webhookId: "wh_1",
      deliveryId,
      eventId: `ev_${deliveryId}`,
      eventType: "memory.created",
      acceptedAt: at,
      attempt,
      scheduleStart,
    });
    const attempt = (number: number, statusCode: number) => ({
      attempt: number,
      at,
      statusCode,
      durationMs: 40,
      responseBody: "",
    });
    const steps: [DeliveryMessage, DeliveryStep][] = [
      [message("d1", 1), { kind: "delivered", attempt: attempt(1, 200) }],
      [message("d2", 1), { kind: "retry", attempt: attempt(1, 500), nextAttemptAt: at, waitSeconds: 1 }],
      [message("d2", 2), { kind: "failed", reason: "422", attempt: attempt(2, 422) }],
      [message("d3", 1), { kind: "dead_letter", attempt: attempt(1, 500) }],
    ];
    for (const [stepMessage, step] of steps)
      expect(await deliveries.recordStep(stepMessage, step, now)).toBe(true);
    // Retried by hand and delivered: its failure is taken back, and it counts once, as delivered.
    expect(await deliveries.reopen("t1", "wh_1", "d2", now)).toBeDefined();
    expect(
      await deliveries.recordStep(message("d2", 3, 2), { kind: "delivered", attempt: attempt(3, 200) }, now),
    ).toBe(true);

    const records = await streamRecords();
    expect(records.length).toBeGreaterThanOrEqual(ids.length + steps.length + 2);
    const event = lambdaEvent(records);
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    const once = await stats.read("t1", "wh_1", now);
    // The function failed after writing: Lambda delivers the same batch again; then from a checkpoint.
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    expect(await handler(lambdaEvent(records.slice(Math.floor(records.length / 2))), context)).toEqual({
      batchItemFailures: [],
    });
    const again = await stats.read("t1", "wh_1", now);
    expect(again).toEqual(once);
    expect(statsView(again.total, again.last24h)).toEqual({
      total_deliveries: 3,
      successful_deliveries: 2,
      failed_deliveries: 0,
      dead_lettered_deliveries: 1,
      success_rate: 2 / 3,
      total_attempts: 5,
      avg_duration_ms: 40,
      last_24h_deliveries: 3,
      last_24h_success_rate: 2 / 3,
    });
  });
});
