import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoInFlightSlots } from "../../functions/adapters/in-flight.ts";
import { IN_FLIGHT_LEASE_MS } from "../../functions/domain/in-flight.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const NOW = 1_000_000;

describe("a webhook's in-flight slots in DynamoDB", () => {
  it("answers a full webhook with one read and no write", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1, slot_1: NOW + 2 } });
    expect(await dynamoInFlightSlots(client, "webhooks").claim("acme", "wh_1", 2, NOW)).toBeUndefined();
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: "TENANT#acme#INFLIGHT#wh_1", sk: "INFLIGHT" },
      ConsistentRead: true,
    });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("takes a lapsed slot only while it is still free, and reads again after losing it", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1, slot_1: NOW - 1 } });
    ddb
      .on(UpdateCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: "taken", $metadata: {} }))
      .resolves({});
    const lease = await dynamoInFlightSlots(client, "webhooks").claim("acme", "wh_1", 2, NOW);
    expect(lease).toEqual({
      tenantId: "acme",
      webhookId: "wh_1",
      slot: 1,
      expiresAt: NOW + IN_FLIGHT_LEASE_MS,
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      ConditionExpression: "attribute_not_exists(#slot) OR #slot <= :now",
      ExpressionAttributeNames: { "#slot": "slot_1" },
    });
  });

  it("hands back only its own lease", async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: "lapsed", $metadata: {} }));
    const lease = { tenantId: "acme", webhookId: "wh_1", slot: 1, expiresAt: NOW };
    await dynamoInFlightSlots(client, "webhooks").release(lease);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: "REMOVE #slot",
      ConditionExpression: "#slot = :expiresAt",
      ExpressionAttributeValues: { ":expiresAt": NOW },
    });
  });

  it("claims the slot it handed back with one write and no read", async () => {
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1 } });
    ddb.on(UpdateCommand).resolves({});
    const slots = dynamoInFlightSlots(client, "webhooks");
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
    ddb.on(GetCommand).resolves({ Item: { slot_0: NOW + 1 } });
    ddb.on(UpdateCommand).resolves({});
    const slots = dynamoInFlightSlots(client, "webhooks");

    const first = await slots.claim("acme", "wh_1", 3, NOW);
    const second = await slots.claim("acme", "wh_1", 3, NOW);

    expect([first?.slot, second?.slot]).toEqual([1, 2]);
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
    const slots = dynamoInFlightSlots(client, "webhooks");
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
    const slots = dynamoInFlightSlots(client, "webhooks");
    const first = await slots.claim("acme", "wh_1", 3, NOW);
    if (!first) throw new Error("expected a lease");
    await slots.release(first);

    expect(await slots.claim("acme", "wh_1", 2, NOW)).toBeUndefined();
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
  });
});
