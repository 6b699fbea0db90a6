import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoInFlightSlots } from "../../functions/adapters/in-flight.ts";
import { IN_FLIGHT_LEASE_MS } from "../../functions/domain/in-flight.ts";
import type { InFlightLease } from "../../functions/domain/ports.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const NOW = 1_000_000;

describe("a webhook's in-flight slots in DynamoDB", () => {
  it("answers a full webhook with one read of each item and no write", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1, slot_1: NOW + 2 } });
    const slots = dynamoInFlightSlots(client, "webhooks", () => 0.6);
    expect(await slots.claim("acme", "wh_1", 2, NOW)).toBeUndefined();
    // Two slots make two items, one slot each, read from the one the draw picked.
    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input)).toMatchObject([
      { Key: { pk: "TENANT#acme#INFLIGHT#wh_1#SHARD#1", sk: "INFLIGHT" }, ConsistentRead: true },
      { Key: { pk: "TENANT#acme#INFLIGHT#wh_1#SHARD#0", sk: "INFLIGHT" }, ConsistentRead: true },
    ]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("takes a lapsed slot only while it is still free, and reads again after losing it", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1, slot_1: NOW - 1 } });
    ddb
      .on(UpdateCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: "taken", $metadata: {} }))
      .resolves({});
    const lease = await dynamoInFlightSlots(client, "webhooks", () => 0.6).claim("acme", "wh_1", 2, NOW);
    expect(lease).toEqual({
      tenantId: "acme",
      webhookId: "wh_1",
      slot: 1,
      expiresAt: NOW + IN_FLIGHT_LEASE_MS,
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: "TENANT#acme#INFLIGHT#wh_1#SHARD#1" },
      ConditionExpression: "attribute_not_exists(#slot) OR #slot <= :now",
      ExpressionAttributeNames: { "#slot": "slot_1" },
    });
  });

  it("hands back only its own lease", async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: "lapsed", $metadata: {} }));
    const lease = { tenantId: "acme", webhookId: "wh_1", slot: 5, expiresAt: NOW };
    await dynamoInFlightSlots(client, "webhooks").release(lease);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: "TENANT#acme#INFLIGHT#wh_1#SHARD#1", sk: "INFLIGHT" },
      UpdateExpression: "REMOVE #slot",
      ConditionExpression: "#slot = :expiresAt",
      ExpressionAttributeValues: { ":expiresAt": NOW },
    });
  });

  it("claims the slot it handed back with one write and no read", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1 } });
    ddb.on(UpdateCommand).resolves({});
    const slots = dynamoInFlightSlots(client, "webhooks", () => 0.5);
    const first = await slots.claim("acme", "wh_1", 3, NOW);
    if (!first) throw new Error("expected a lease");
    await slots.release(first);

    const second = await slots.claim("acme", "wh_1", 3, NOW + 10);

    expect(second).toMatchObject({ slot: first.slot, expiresAt: NOW + 10 + IN_FLIGHT_LEASE_MS });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand).at(-1)?.args[0].input).toMatchObject({
      ConditionExpression: "attribute_not_exists(#slot) OR #slot <= :now",
      ExpressionAttributeNames: { "#slot": `slot_${first.slot}` },
    });
  });

  it("tries next, without a read, another slot its last read showed free", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_1: NOW + 1 } });
    ddb.on(UpdateCommand).resolves({});
    const slots = dynamoInFlightSlots(client, "webhooks", () => 0.3);

    // Of 10 slots, item 1 holds 1, 5 and 9.
    const first = await slots.claim("acme", "wh_1", 10, NOW);
    const second = await slots.claim("acme", "wh_1", 10, NOW);

    expect([first?.slot, second?.slot]).toEqual([5, 9]);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
  });

  it("reads the item when the slot it remembered was taken meanwhile", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1, slot_1: NOW + 1 } });
    ddb
      .on(UpdateCommand)
      .resolvesOnce({})
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: "taken", $metadata: {} }))
      .resolves({});
    const slots = dynamoInFlightSlots(client, "webhooks", () => 0.7);
    const first = await slots.claim("acme", "wh_1", 3, NOW);
    if (!first) throw new Error("expected a lease");
    await slots.release(first);

    const second = await slots.claim("acme", "wh_1", 3, NOW);

    expect(second).toMatchObject({ slot: 2 });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(4);
  });

  it("does not try a remembered slot beyond a limit lowered since", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1, slot_1: NOW + 1 } });
    ddb.on(UpdateCommand).resolves({});
    const slots = dynamoInFlightSlots(client, "webhooks", () => 0.7);
    const first = await slots.claim("acme", "wh_1", 3, NOW);
    if (!first) throw new Error("expected a lease");
    await slots.release(first);

    expect(first.slot).toBe(2);
    expect(await slots.claim("acme", "wh_1", 2, NOW)).toBeUndefined();
    // One read for the first claim, then one of each of the two items the lowered limit leaves.
    expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(2);
  });
});

/**
 * The webhooks table's in-flight items, answering reads and conditional writes as DynamoDB does, so
 * several instances (each with its own memory of free slots) can contend for one webhook's slots.
 */
function fakeTable() {
  const items = new Map<string, Record<string, number>>();
  const partition = (key: Record<string, unknown> | undefined) => String(key?.pk);
  const refuse = () => {
    throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
  };
  ddb.on(GetCommand).callsFake((input: GetCommandInput) => {
    const item = items.get(partition(input.Key));
    return { Item: item === undefined ? undefined : { ...item } };
  });
  ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
    const item = items.get(partition(input.Key)) ?? {};
    const slot = input.ExpressionAttributeNames?.["#slot"] ?? "";
    const values = input.ExpressionAttributeValues ?? {};
    const held = item[slot];
    if (input.UpdateExpression?.startsWith("SET")) {
      if (held !== undefined && held > values[":now"]) refuse();
      item[slot] = values[":expiresAt"];
    } else {
      if (held !== values[":expiresAt"]) refuse();
      delete item[slot];
    }
    items.set(partition(input.Key), item);
    return {};
  });
  return items;
}

/** A draw that walks through `values` and starts again. */
function draws(...values: number[]): () => number {
  let next = 0;
  return () => values[next++ % values.length] ?? 0;
}

describe("a webhook's in-flight slots split over items", () => {
  it("hands out exactly its cap across the items, and refuses the next claim", async () => {
    const items = fakeTable();
    // Four instances, each starting its claims at a different item.
    const instances = [0, 0.3, 0.6, 0.9].map((draw) => dynamoInFlightSlots(client, "webhooks", () => draw));

    const leases: (InFlightLease | undefined)[] = [];
    for (let claim = 0; claim < 10; claim += 1) {
      leases.push(await instances[claim % 4]?.claim("acme", "wh_1", 10, NOW));
    }
    const refused = await Promise.all(instances.map((slots) => slots.claim("acme", "wh_1", 10, NOW)));

    expect(leases.map((lease) => lease?.slot).sort((a = 0, b = 0) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(refused).toEqual([undefined, undefined, undefined, undefined]);
    expect([...items.keys()].sort()).toEqual(
      [0, 1, 2, 3].map((item) => `TENANT#acme#INFLIGHT#wh_1#SHARD#${item}`),
    );
    expect(Object.keys(items.get("TENANT#acme#INFLIGHT#wh_1#SHARD#2") ?? {}).sort()).toEqual([
      "slot_2",
      "slot_6",
    ]);
  });

  it("gives a slot one delivery hands back to another instance's claim, whatever item it starts at", async () => {
    fakeTable();
    const first = dynamoInFlightSlots(client, "webhooks", draws(0, 0.3, 0.6, 0.9));
    const leases: InFlightLease[] = [];
    for (let claim = 0; claim < 10; claim += 1) {
      const lease = await first.claim("acme", "wh_1", 10, NOW);
      if (lease) leases.push(lease);
    }
    const handedBack = leases.find((lease) => lease.slot === 7);
    if (!handedBack) throw new Error("expected slot 7 among the leases");
    await first.release(handedBack);

    // Another instance, remembering nothing, starts at item 0 and finds item 3's free slot.
    const other = dynamoInFlightSlots(client, "webhooks", () => 0);
    const taken = await other.claim("acme", "wh_1", 10, NOW + 5);

    expect(leases).toHaveLength(10);
    expect(taken).toMatchObject({ slot: 7, expiresAt: NOW + 5 + IN_FLIGHT_LEASE_MS });
    expect(await other.claim("acme", "wh_1", 10, NOW + 5)).toBeUndefined();
  });

  it("spreads the claims of many instances over the items", async () => {
    fakeTable();
    // Instances that remember nothing yet: each claim reads and writes the item its draw picked.
    const draw = draws(0.1, 0.85, 0.4, 0.6, 0.3, 0.05, 0.7, 0.95);
    for (let claim = 0; claim < 8; claim += 1) {
      await dynamoInFlightSlots(client, "webhooks", draw).claim("acme", "wh_1", 10, NOW);
    }

    const written = ddb.commandCalls(UpdateCommand).map((call) => String(call.args[0].input.Key?.pk));
    const perItem = [0, 1, 2, 3].map(
      (item) => written.filter((pk) => pk === `TENANT#acme#INFLIGHT#wh_1#SHARD#${item}`).length,
    );
    expect(perItem).toEqual([2, 2, 2, 2]);
  });

  it("counts a webhook contended on every read as full after three lost claims", async () => {
    ddb.on(GetCommand).resolves({ Item: {} });
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: "taken", $metadata: {} }));

    expect(
      await dynamoInFlightSlots(client, "webhooks", () => 0).claim("acme", "wh_1", 10, NOW),
    ).toBeUndefined();
    expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(3);
  });
});
