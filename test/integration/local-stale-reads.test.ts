/**
 * The local runtime's model of DynamoDB's eventual consistency (local/stale-reads.ts) against DynamoDB
 * Local: reads that may be stale in AWS miss a write made within the lag; strongly consistent ones see it.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/emulators.ts";
import { StaleReadsProxy } from "../../local/stale-reads.ts";

const LAG_MS = 1_500;
const TABLE = "stale-reads";
const stateDir = path.resolve(import.meta.dirname, "../../.hookline/test/stale-reads");

let dynamo: DynamoDbLocal;
let proxy: StaleReadsProxy;
let ddb: DynamoDBDocumentClient;

beforeAll(async () => {
  mkdirSync(stateDir, { recursive: true });
  dynamo = await startDynamoDbLocal({
    dataDir: stateDir,
    pidFile: path.join(stateDir, "dynamodb.pid"),
    inMemory: true,
  });
  const config = {
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  };
  const direct = new DynamoDBClient({ ...config, endpoint: dynamo.endpoint });
  await direct.send(
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
        { AttributeName: "group", AttributeType: "S" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: "byGroup",
          KeySchema: [{ AttributeName: "group", KeyType: "HASH" }],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
  direct.destroy();
  proxy = new StaleReadsProxy({
    target: dynamo.endpoint,
    lagMs: LAG_MS,
    tables: [{ name: TABLE, key: ["pk", "sk"], indexes: { byGroup: ["group"] } }],
  });
  ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ ...config, endpoint: await proxy.listen() }));
});

afterAll(async () => {
  ddb?.destroy();
  await proxy?.close();
  await dynamo?.stop();
});

const key = () => ({ pk: `item-${randomUUID()}`, sk: "v" });
const get = async (itemKey: Record<string, string>, consistent = false) =>
  (await ddb.send(new GetCommand({ TableName: TABLE, Key: itemKey, ConsistentRead: consistent }))).Item;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("stale reads", () => {
  it("a GetItem right after a PutItem misses the item; with ConsistentRead it finds it", async () => {
    const itemKey = key();
    await ddb.send(new PutCommand({ TableName: TABLE, Item: { ...itemKey, colour: "red" } }));

    expect(await get(itemKey)).toBeUndefined();
    expect(await get(itemKey, true)).toMatchObject({ colour: "red" });
    await sleep(LAG_MS + 100);
    expect(await get(itemKey)).toMatchObject({ colour: "red" });
  });

  it("a stale read answers the version before an update, and a deleted item until the lag has passed", async () => {
    const itemKey = key();
    await ddb.send(new PutCommand({ TableName: TABLE, Item: { ...itemKey, colour: "red" } }));
    await sleep(LAG_MS + 100);

    await ddb.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: itemKey,
        UpdateExpression: "SET colour = :blue",
        ExpressionAttributeValues: { ":blue": "blue" },
      }),
    );
    expect(await get(itemKey)).toMatchObject({ colour: "red" });
    expect(await get(itemKey, true)).toMatchObject({ colour: "blue" });

    await ddb.send(new DeleteCommand({ TableName: TABLE, Key: itemKey }));
    expect(await get(itemKey)).toMatchObject({ colour: "red" });
    expect(await get(itemKey, true)).toBeUndefined();
    await sleep(LAG_MS + 100);
    expect(await get(itemKey)).toBeUndefined();
  });

  it("applies to transactions, batch reads (with their projection) and index queries", async () => {
    const group = `group-${randomUUID()}`;
    const older = key();
    await ddb.send(new PutCommand({ TableName: TABLE, Item: { ...older, group, colour: "red" } }));
    await sleep(LAG_MS + 100);
    const newer = key();
    await ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { ...newer, group, colour: "green" } } },
          {
            Update: {
              TableName: TABLE,
              Key: older,
              UpdateExpression: "SET colour = :blue",
              ExpressionAttributeValues: { ":blue": "blue" },
            },
          },
        ],
      }),
    );

    const batch = await ddb.send(
      new BatchGetCommand({
        RequestItems: { [TABLE]: { Keys: [older, newer], ProjectionExpression: "colour" } },
      }),
    );
    expect(batch.Responses?.[TABLE]).toEqual([{ colour: "red" }]);

    const query = { TableName: TABLE, IndexName: "byGroup", KeyConditionExpression: "#g = :g" };
    const names = { ExpressionAttributeNames: { "#g": "group" }, ExpressionAttributeValues: { ":g": group } };
    const stale = await ddb.send(new QueryCommand({ ...query, ...names }));
    expect(stale.Items?.map((item) => item.colour)).toEqual(["red"]);
    expect(stale.Count).toBe(1);

    const table = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": newer.pk },
        ConsistentRead: true,
      }),
    );
    expect(table.Items?.map((item) => item.colour)).toEqual(["green"]);
  });
});
