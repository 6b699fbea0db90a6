/**
 * The local runtime's DynamoDB Streams event source mapping (local/dynamodb-stream-source.ts), on the
 * fixture app in test/fixtures/dynamodb-streams/: a function records every batch it is given, and fails
 * the records the test tells it to, so that each test shows one of Lambda's stream behaviours biting.
 */
import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { DynamoDBRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clientsFor,
  eventually,
  expectCleanStop,
  type FixtureStack,
  startFixtureStack,
} from "../fixtures/local-stack/harness.ts";

let stack: FixtureStack;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  stack = await startFixtureStack({
    name: "dynamodb-streams",
    env: { HOOKLINE_CDK_APP: "node test/fixtures/dynamodb-streams/app.ts" },
  });
  clients = clientsFor(stack.info);
});

afterAll(async () => {
  if (stack === undefined) return;
  await expectCleanStop(stack);
});

function output(name: string): string {
  const value = stack.info.outputs[name];
  if (value === undefined) throw new Error(`no output ${name}`);
  return value;
}

/** One invocation as the recording function saw it. */
interface Batch {
  readonly records: DynamoDBRecord[];
  readonly failures: { itemIdentifier: string }[];
  readonly thrown: boolean;
}

const batches: Batch[] = [];
/** The invocation records Lambda sent to the on-failure queue. */
const givenUp: OnFailureRecord[] = [];

interface OnFailureRecord {
  readonly DDBStreamBatchInfo: { readonly streamArn: string; readonly startSequenceNumber: string };
}

/** Takes every message off a queue into `into`, in the order they were sent. */
async function drain<T>(queueOutput: string, into: T[]): Promise<void> {
  const queueUrl = output(queueOutput);
  for (;;) {
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return;
    for (const message of Messages) {
      into.push(JSON.parse(message.Body ?? "{}") as T);
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

/** The invocation record of the batch given up on that starts at this sequence number. */
async function givenUpRecord(sequenceNumber: string | undefined): Promise<OnFailureRecord> {
  return eventually("the invocation record on the on-failure queue", async () => {
    await drain("GivenUpQueueUrl", givenUp);
    return givenUp.find((record) => record.DDBStreamBatchInfo.startSequenceNumber === sequenceNumber);
  });
}

const keyOf = (record: DynamoDBRecord) => record.dynamodb?.Keys?.pk?.S ?? "";

/** The batches so far that hold a record of one of these keys, in the order they were given. */
function batchesWith(...keys: string[]): Batch[] {
  return batches.filter((batch) => batch.records.some((record) => keys.includes(keyOf(record))));
}

/** Waits (bounded) until the recorded batches satisfy `done`. */
async function untilBatches(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  await eventually(
    what,
    async () => {
      await drain("BatchesQueueUrl", batches);
      return done() ? true : undefined;
    },
    timeoutMs,
    200,
  );
}

async function put(tableOutput: string, pk: string, attributes: Record<string, AttributeValue> = {}) {
  await clients.ddb.send(
    new PutItemCommand({ TableName: output(tableOutput), Item: { pk: { S: pk }, ...attributes } }),
  );
}

/** Makes the function fail the records that name this gate, until it is opened. */
async function closeGate(): Promise<string> {
  const gate = `gate-${randomUUID()}`;
  await clients.ddb.send(
    new PutItemCommand({ TableName: output("ControlTableName"), Item: { pk: { S: gate } } }),
  );
  return gate;
}

async function openGate(gate: string): Promise<void> {
  await clients.ddb.send(
    new DeleteItemCommand({ TableName: output("ControlTableName"), Key: { pk: { S: gate } } }),
  );
}

const sequence = (record: DynamoDBRecord | undefined) => BigInt(record?.dynamodb?.SequenceNumber ?? "0");

describe("a DynamoDB stream event source", () => {
  it("delivers a shard's records in the order they were written, as a DynamoDB Streams event", async () => {
    const run = randomUUID();
    const [first, second] = [`${run}-1`, `${run}-2`];
    await put("OrderedTableName", first, { n: { N: "1" } });
    await put("OrderedTableName", second, { n: { N: "2" } });
    await clients.ddb.send(
      new UpdateItemCommand({
        TableName: output("OrderedTableName"),
        Key: { pk: { S: first } },
        UpdateExpression: "SET n = :n",
        ExpressionAttributeValues: { ":n": { N: "3" } },
      }),
    );
    await clients.ddb.send(
      new DeleteItemCommand({ TableName: output("OrderedTableName"), Key: { pk: { S: second } } }),
    );

    const delivered = () => batchesWith(first, second).flatMap((batch) => batch.records);
    await untilBatches("the four changes", () => delivered().length >= 4);
    const records = delivered();
    expect(records.map((record) => [record.eventName, keyOf(record)])).toEqual([
      ["INSERT", first],
      ["INSERT", second],
      ["MODIFY", first],
      ["REMOVE", second],
    ]);
    for (let index = 1; index < records.length; index++) {
      expect(sequence(records[index])).toBeGreaterThan(sequence(records[index - 1]));
    }
    const streamArn = output("OrderedStreamArn");
    for (const record of records) {
      expect(record).toMatchObject({
        eventID: expect.any(String),
        eventVersion: "1.1",
        eventSource: "aws:dynamodb",
        awsRegion: "us-east-1",
        eventSourceARN: streamArn,
        dynamodb: {
          ApproximateCreationDateTime: expect.any(Number),
          SequenceNumber: expect.stringMatching(/^\d+$/),
          SizeBytes: expect.any(Number),
          StreamViewType: "NEW_AND_OLD_IMAGES",
        },
      });
    }
    expect(records[2]?.dynamodb).toMatchObject({
      Keys: { pk: { S: first } },
      OldImage: { pk: { S: first }, n: { N: "1" } },
      NewImage: { pk: { S: first }, n: { N: "3" } },
    });
    expect(records[3]?.dynamodb?.OldImage).toEqual({ pk: { S: second }, n: { N: "2" } });
    expect(records[3]?.dynamodb).not.toHaveProperty("NewImage");
  });

  it("retries a failing batch until it succeeds, holding back the records written after it", async () => {
    const gate = await closeGate();
    const run = randomUUID();
    const [failing, later] = [`${run}-failing`, `${run}-later`];
    await put("OrderedTableName", failing, { failWhile: { S: gate } });
    await put("OrderedTableName", later);

    await untilBatches(
      "three failed attempts",
      () => batchesWith(failing).filter((b) => b.thrown).length >= 3,
    );
    // Blocked: the later record came, if at all, only behind the failing one, in the batch being retried.
    for (const batch of batchesWith(later)) expect(keyOf(batch.records[0] as DynamoDBRecord)).toBe(failing);
    expect(batchesWith(failing, later).every((batch) => batch.thrown)).toBe(true);

    await openGate(gate);
    const succeeded = () => batchesWith(later).filter((batch) => !batch.thrown);
    await untilBatches("the later record once the failing one succeeds", () => succeeded().length > 0);
    const firstSuccess = batchesWith(failing).findIndex((batch) => !batch.thrown);
    expect(batches.indexOf(succeeded()[0] as Batch)).toBeGreaterThanOrEqual(
      batches.indexOf(batchesWith(failing)[firstSuccess] as Batch),
    );
  });

  it("gives up after MaximumRetryAttempts, sends an invocation record to the on-failure queue and moves on", async () => {
    const gate = await closeGate();
    const run = randomUUID();
    const [failing, next] = [`${run}-failing`, `${run}-next`];
    await put("GivesUpTableName", failing, { failWhile: { S: gate } });
    await put("GivesUpTableName", next);

    await untilBatches("the record after the one given up on", () => batchesWith(next).length > 0);

    const attempts = batchesWith(failing);
    expect(attempts).toHaveLength(3); // the first invocation and two retries
    expect(attempts.every((batch) => batch.records.length === 1 && batch.thrown)).toBe(true);
    const failedSequence = attempts[0]?.records[0]?.dynamodb?.SequenceNumber;
    const record = await givenUpRecord(failedSequence);
    expect(record).toMatchObject({
      requestContext: {
        requestId: expect.any(String),
        functionArn: expect.stringMatching(/^arn:aws:lambda:us-east-1:000000000000:function:Recorder/),
        condition: "RetryAttemptsExhausted",
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: expect.any(String),
      DDBStreamBatchInfo: {
        shardId: expect.stringMatching(/^shardId-/),
        startSequenceNumber: failedSequence,
        endSequenceNumber: failedSequence,
        approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        batchSize: 1,
        streamArn: output("GivesUpStreamArn"),
      },
    });
    // Metadata only: the records themselves are not in it.
    expect(JSON.stringify(record)).not.toContain(failing);
    await openGate(gate);
  });

  it("with ReportBatchItemFailures, retries from the lowest failed item, the successful records after it included", async () => {
    const gate = await closeGate();
    const run = randomUUID();
    const [before, failing, after] = [`${run}-1`, `${run}-2`, `${run}-3`];
    await put("PartialTableName", before);
    await put("PartialTableName", failing, { failWhile: { S: gate }, failAs: { S: "item" } });
    await put("PartialTableName", after);

    const retries = () => batchesWith(failing).slice(1);
    await untilBatches("two retries from the failed item", () => retries().length >= 2);
    await openGate(gate);
    await untilBatches("the failed item to succeed", () =>
      batchesWith(failing).some((batch) => batch.failures.length === 0),
    );

    const [firstBatch] = batchesWith(before, failing, after);
    expect(firstBatch?.records.map(keyOf)).toEqual([before, failing, after]);
    expect(firstBatch?.failures).toEqual([
      { itemIdentifier: firstBatch?.records[1]?.dynamodb?.SequenceNumber },
    ]);
    // Checkpointed before the failed item: the record before it is never delivered again, the one after
    // it, which succeeded, is delivered with every retry.
    expect(batchesWith(before)).toHaveLength(1);
    for (const batch of retries()) expect(batch.records.map(keyOf)).toEqual([failing, after]);
  });

  it("with BisectBatchOnFunctionError, splits a failing batch until the bad record is alone, and gives up on it only", async () => {
    const gate = await closeGate();
    const run = randomUUID();
    const keys = [1, 2, 3, 4].map((n) => `${run}-${n}`);
    for (const key of keys) {
      await put("BisectedTableName", key, key.endsWith("-2") ? { failWhile: { S: gate } } : {});
    }

    await untilBatches("the records after the bad one", () =>
      batchesWith(...keys).some((batch) => !batch.thrown && batch.records.some((r) => keyOf(r) === keys[3])),
    );
    // MaximumRetryAttempts is 0, but a split uses no retry: the bad record is tried once on its own.
    expect(batchesWith(...keys).map((batch) => [batch.records.map(keyOf), batch.thrown])).toEqual([
      [keys, true],
      [keys.slice(0, 2), true],
      [keys.slice(0, 1), false],
      [keys.slice(1, 2), true],
      [keys.slice(2), false],
    ]);
    const bad = batchesWith(...keys)[3]?.records[0]?.dynamodb?.SequenceNumber;
    expect(await givenUpRecord(bad)).toMatchObject({
      requestContext: { condition: "RetryAttemptsExhausted", approximateInvokeCount: 1 },
      DDBStreamBatchInfo: { startSequenceNumber: bad, endSequenceNumber: bad, batchSize: 1 },
    });
    await openGate(gate);
  });

  it("drops the records its filter criteria do not match", async () => {
    const run = randomUUID();
    const [wanted, other, marker] = [`${run}-wanted`, `${run}-other`, `${run}-marker`];
    await put("FilteredTableName", other, { kind: { S: "other" } });
    await put("FilteredTableName", wanted, { kind: { S: "wanted" } });
    await put("FilteredTableName", wanted, { kind: { S: "wanted" }, changed: { BOOL: true } });
    await clients.ddb.send(
      new DeleteItemCommand({ TableName: output("FilteredTableName"), Key: { pk: { S: wanted } } }),
    );
    await put("FilteredTableName", marker, { kind: { S: "wanted" } });

    await untilBatches("the marker", () => batchesWith(marker).length > 0);
    const delivered = batchesWith(wanted, other, marker).flatMap((batch) => batch.records);
    expect(delivered.map((record) => [record.eventName, keyOf(record)])).toEqual([
      ["INSERT", wanted],
      ["INSERT", marker],
    ]);
  });
});
