import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoStores } from "../../functions/adapters/stores.ts";
import { deliveryIdFor, deliveryIdRange } from "../../functions/domain/ids.ts";
import { BY_TIME_INDEX } from "../../functions/shared/names.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const { deliveries, events } = dynamoStores(client, {
  webhooksTable: "webhooks",
  eventsTable: "events",
  retentionDays: 30,
  reconcileGraceSeconds: 300,
  fanOutPageSize: 100,
});

function deliveryItem(n: number, status = "failed") {
  const id = deliveryIdFor(new Date(Date.UTC(2026, 10, 25, 10, n)), `evt_${n}`, "wh_1");
  return {
    pk: "TENANT#t1#WEBHOOK#wh_1",
    sk: `DELIVERY#${id}`,
    id,
    tenant_id: "t1",
    webhook_id: "wh_1",
    event_id: `evt_${n}`,
    event_type: "memory.created",
    status,
    attempt_count: 1,
    created_at: "2026-11-25T10:00:00.000Z",
  };
}

describe("a webhook's delivery pages", () => {
  it("reads only its own partition within the id range, and without a filter exactly the page", async () => {
    ddb
      .on(QueryCommand)
      .resolves({ Items: [deliveryItem(3), deliveryItem(2)], LastEvaluatedKey: { sk: "DELIVERY#x" } });
    const { from, to } = deliveryIdRange();
    const page = await deliveries.deliveryPage("t1", "wh_1", {
      limit: 2,
      fromId: from,
      toId: to,
      afterId: "msg_9",
    });
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
      ExpressionAttributeValues: {
        ":pk": "TENANT#t1#WEBHOOK#wh_1",
        ":from": `DELIVERY#${from}`,
        ":to": `DELIVERY#${to}`,
      },
      ExclusiveStartKey: { pk: "TENANT#t1#WEBHOOK#wh_1", sk: "DELIVERY#msg_9" },
      ScanIndexForward: false,
      Limit: 2,
    });
    expect(input?.FilterExpression).toBeUndefined();
    expect(page.lastId).toBe("x");
  });

  it("reads a filtered page in batches, and ends it at its last kept delivery when a batch holds more", async () => {
    const items = [deliveryItem(5), deliveryItem(4), deliveryItem(3)];
    ddb.on(QueryCommand).resolves({ Items: items, LastEvaluatedKey: { sk: "DELIVERY#later" } });
    const { from, to } = deliveryIdRange();
    const page = await deliveries.deliveryPage("t1", "wh_1", {
      limit: 2,
      fromId: from,
      toId: to,
      statuses: ["failed", "dead_lettered"],
      eventType: "memory.created",
    });
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input?.FilterExpression).toBe("#status IN (:status0, :status1) AND #eventType = :eventType");
    expect(input?.Limit).toBe(100);
    expect(page.deliveries.map((d) => d.id)).toEqual([items[0]?.id, items[1]?.id]);
    expect(page.lastId).toBe(items[1]?.id);
  });

  it("finds an event's deliveries in the by-time index, under the event", async () => {
    ddb.on(QueryCommand).resolves({ Items: [deliveryItem(1, "delivered")] });
    const found = await deliveries.deliveriesOfEvent("t1", "evt_1", 1000);
    expect(found).toHaveLength(1);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: BY_TIME_INDEX,
      ExpressionAttributeValues: { ":event": "TENANT#t1#EVENT#evt_1", ":prefix": "DELIVERY#" },
    });
  });
});

describe("a tenant's event pages", () => {
  const summary = (id: string, at: string, type = "user.created") => ({
    id,
    tenant_id: "t1",
    type,
    accepted_at: at,
    source: "api",
    delivery_count: 2,
  });

  it("reads the tenant's events in the time range, without payloads, resuming inside the tenant", async () => {
    ddb.on(QueryCommand).resolves({ Items: [summary("evt_2", "2026-11-25T10:00:02.000Z")] });
    const page = await events.eventPage("t1", {
      limit: 5,
      since: "2026-11-25T10:00:00.000Z",
      until: "2026-11-25T11:00:00.000Z",
      after: { acceptedAt: "2026-11-25T10:00:05.000Z", id: "evt_5" },
    });
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      IndexName: BY_TIME_INDEX,
      KeyConditionExpression: "#gsiPk = :tenant AND #gsiSk BETWEEN :since AND :until",
      ExpressionAttributeValues: { ":tenant": "TENANT#t1#EVENTS" },
      ExclusiveStartKey: {
        pk: "TENANT#t1#EVENT#evt_5",
        sk: "EVENT",
        gsi1pk: "TENANT#t1#EVENTS",
        gsi1sk: "2026-11-25T10:00:05.000Z#evt_5",
      },
      ScanIndexForward: false,
    });
    expect(input?.ProjectionExpression).not.toContain("payload");
    expect(page).toEqual({
      events: [
        {
          id: "evt_2",
          tenantId: "t1",
          type: "user.created",
          acceptedAt: "2026-11-25T10:00:02.000Z",
          source: "api",
          deliveryCount: 2,
        },
      ],
    });
  });

  it("ends a type-filtered page at its last kept event when a batch holds more", async () => {
    ddb.on(QueryCommand).resolves({
      Items: [summary("evt_3", "2026-11-25T10:00:03.000Z"), summary("evt_2", "2026-11-25T10:00:02.000Z")],
      LastEvaluatedKey: { gsi1sk: "2026-11-25T10:00:00.000Z#evt_0" },
    });
    const page = await events.eventPage("t1", { limit: 1, type: "user.created" });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.Limit).toBe(100);
    expect(page.events.map((e) => e.id)).toEqual(["evt_3"]);
    expect(page.last).toEqual({ acceptedAt: "2026-11-25T10:00:03.000Z", id: "evt_3" });
  });
});
