import { describe, expect, it } from "vitest";
import { billedUnits, type KeyLoad, KeyLoadCounter, type TableSchema } from "../../bench/key-loads.ts";
import { capacityFacts } from "../../functions/adapters/request-counter.ts";

const events: TableSchema = {
  name: "events",
  partitionKey: "pk",
  sortKey: "sk",
  indexes: {
    "by-time": { partitionKey: "gsi1pk", keysOnly: false },
    due: { partitionKey: "due_shard", keysOnly: false },
  },
};

/** A consumed-capacity answer as DynamoDB Local gives it for `ReturnConsumedCapacity: INDEXES`. */
const consumed = (table: number, indexes: Record<string, number>) => ({
  TableName: "events",
  CapacityUnits: table + Object.values(indexes).reduce((sum, units) => sum + units, 0),
  Table: { CapacityUnits: table },
  GlobalSecondaryIndexes: Object.fromEntries(
    Object.entries(indexes).map(([name, units]) => [name, { CapacityUnits: units }]),
  ),
});

const find = (loads: KeyLoad[], level: KeyLoad["level"], partition: string, index?: string) =>
  loads.find((load) => load.level === level && load.partition === partition && load.index === index);

describe("KeyLoadCounter", () => {
  it("gives a single-item write's table and index units to the item's keys, remembered for later updates", () => {
    // Prepare
    const counter = new KeyLoadCounter([events]);
    const put = capacityFacts(
      "Put",
      {
        TableName: "events",
        Item: {
          pk: "TENANT#t1#WEBHOOK#wh_1",
          sk: "DELIVERY#d1",
          gsi1pk: "TENANT#t1#EVENT#e1",
          due_shard: "DUE#2",
        },
      },
      { ConsumedCapacity: consumed(1, { "by-time": 1, due: 1 }) },
    );
    // The update names neither index key, but leaves the due index (REMOVE) and rewrites by-time.
    const update = capacityFacts(
      "UpdateItem",
      {
        TableName: "events",
        Key: { pk: { S: "TENANT#t1#WEBHOOK#wh_1" }, sk: { S: "DELIVERY#d1" } },
        UpdateExpression: "SET #status = :v0 REMOVE #dueshard",
        ExpressionAttributeNames: { "#status": "status", "#dueshard": "due_shard" },
        ExpressionAttributeValues: { ":v0": { S: "delivered" } },
      },
      { ConsumedCapacity: consumed(1, { "by-time": 1, due: 1 }) },
    );

    // Act
    const loads = counter.count([put, update]);

    // Assess
    expect(find(loads, "partition", "TENANT#t1#WEBHOOK#wh_1")).toMatchObject({
      writeUnits: 2,
      writeRequests: 2,
    });
    expect(find(loads, "item", "TENANT#t1#WEBHOOK#wh_1")).toMatchObject({
      sort: "DELIVERY#d1",
      writeUnits: 2,
    });
    expect(find(loads, "partition", "TENANT#t1#EVENT#e1", "by-time")?.writeUnits).toBe(2);
    expect(find(loads, "partition", "DUE#2", "due")?.writeUnits).toBe(2);
    // Once removed, the item is no longer in the due index: a later write there has no known key.
    const later = counter.count([update]);
    expect(find(later, "partition", "<unknown>", "due")?.writeUnits).toBe(1);
  });

  it("bills a transaction item by item (twice its kilobytes), and counts a query on the key it asks for", () => {
    const counter = new KeyLoadCounter([events]);
    const transaction = capacityFacts(
      "TransactWrite",
      {
        TransactItems: [
          // About 2,480 bytes of names and values: three kilobytes, twice in a transaction; the check counts 1 KB.
          {
            Put: {
              TableName: "events",
              Item: { pk: "TENANT#t1#EVENT#e1", sk: "EVENT", blob: "x".repeat(2_450) },
            },
          },
          { ConditionCheck: { TableName: "events", Key: { pk: "TENANT#t1", sk: "SUBSCRIPTIONS" } } },
        ],
      },
      // What DynamoDB Local answers for it: too few, so the counter does not use it.
      { ConsumedCapacity: [consumed(2, {})] },
    );
    const query = capacityFacts(
      "Query",
      {
        TableName: "events",
        IndexName: "by-time",
        KeyConditionExpression: "#pk = :pk AND #sk > :after",
        ExpressionAttributeNames: { "#pk": "gsi1pk", "#sk": "gsi1sk" },
        ExpressionAttributeValues: { ":pk": "TENANT#t1#EVENTS", ":after": "2026" },
      },
      { ConsumedCapacity: consumed(0, { "by-time": 1.5 }) },
    );

    const loads = counter.count([transaction, query]);

    // One item of the transaction is one request on its key, whatever its units.
    expect(find(loads, "partition", "TENANT#t1#EVENT#e1")).toMatchObject({ writeUnits: 6, writeRequests: 1 });
    expect(find(loads, "item", "TENANT#t1")).toMatchObject({ sort: "SUBSCRIPTIONS", writeUnits: 2 });
    expect(find(loads, "partition", "TENANT#t1#EVENTS", "by-time")).toMatchObject({
      readUnits: 1.5,
      readRequests: 1,
      writeUnits: 0,
      writeRequests: 0,
    });
    // What AWS bills for the two: the transaction's 6 + 2 units where DynamoDB Local said 2, and the query's 1.5.
    expect(billedUnits(loads)).toEqual({ write: 8, read: 1.5 });
  });

  it("bills a plain write as DynamoDB Local reports it, its table and its indexes once each", () => {
    const counter = new KeyLoadCounter([events]);
    const put = capacityFacts(
      "Put",
      {
        TableName: "events",
        Item: { pk: "TENANT#t1#EVENT#e1", sk: "EVENT", gsi1pk: "TENANT#t1#EVENTS", due_shard: "DUE#1" },
      },
      { ConsumedCapacity: consumed(1, { "by-time": 1, due: 1 }) },
    );

    expect(billedUnits(counter.count([put]))).toEqual({ write: 3, read: 0 });
  });
});
