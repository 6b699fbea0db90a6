import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { deliveryKey } from "../../functions/adapters/delivery-store.ts";
import { EVENT_LIST_SHARDS, shardOf } from "../../functions/adapters/keys.ts";
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
    pk: deliveryKey("t1", "wh_1", id).pk,
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
  /**
   * The webhook's partitions holding `items`, answering queries as DynamoDB does: the key condition,
   * either order, the cursor, `Limit` counting items read before the filter, and pages.
   */
  function deliveryTable(items: readonly ReturnType<typeof deliveryItem>[]) {
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      const values = input.ExpressionAttributeValues ?? {};
      const ascending = input.ScanIndexForward === true;
      const start = input.ExclusiveStartKey?.sk as string | undefined;
      const statuses = Object.entries(values)
        .filter(([name]) => name.startsWith(":status"))
        .map(([, value]) => value);
      const inRange = items
        .filter((item) => item.pk === values[":pk"])
        .filter((item) => item.sk >= String(values[":from"]) && item.sk <= String(values[":to"]))
        .filter((item) => start === undefined || (ascending ? item.sk > start : item.sk < start))
        .sort((x, y) => (x.sk < y.sk === ascending ? -1 : 1));
      const read = inRange.slice(0, input.Limit ?? inRange.length);
      const kept = read
        .filter((item) => statuses.length === 0 || statuses.includes(item.status))
        .filter((item) => values[":eventType"] === undefined || item.event_type === values[":eventType"]);
      const last = read[read.length - 1];
      return {
        Items: kept,
        ...(read.length < inRange.length && last !== undefined
          ? { LastEvaluatedKey: { pk: last.pk, sk: last.sk } }
          : {}),
      };
    });
  }

  /** `count` deliveries a minute apart, spread over the webhook's shards; every fifth from before them. */
  const storedDeliveries = (count: number) =>
    Array.from({ length: count }, (_, n) => {
      const item = deliveryItem(n, n % 3 === 0 ? "delivered" : "failed");
      return n % 5 === 0 ? { ...item, pk: "TENANT#t1#WEBHOOK#wh_1" } : item;
    });

  async function allDeliveryPages(request: {
    limit: number;
    statuses?: ("failed" | "delivered")[];
    oldestFirst?: boolean;
  }) {
    const { from, to } = deliveryIdRange();
    const ids: string[] = [];
    let afterId: string | undefined;
    for (let page = 0; page < 100; page += 1) {
      const result = await deliveries.deliveryPage("t1", "wh_1", {
        ...request,
        fromId: from,
        toId: to,
        ...(afterId === undefined ? {} : { afterId }),
      });
      expect(result.deliveries.length).toBeLessThanOrEqual(request.limit);
      ids.push(...result.deliveries.map((delivery) => delivery.id));
      if (result.lastId === undefined) return ids;
      afterId = result.lastId;
    }
    throw new Error("the listing never ended");
  }

  it("reads each of the webhook's partitions within the id range from the cursor, and without a filter at most the page", async () => {
    const stored = storedDeliveries(40);
    deliveryTable(stored);
    const { from, to } = deliveryIdRange();
    const cursor = stored[30]?.id ?? "";

    const page = await deliveries.deliveryPage("t1", "wh_1", {
      limit: 2,
      fromId: from,
      toId: to,
      afterId: cursor,
    });

    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries.map((input) => input.ExpressionAttributeValues?.[":pk"]).sort()).toEqual(
      [
        ...Array.from({ length: 8 }, (_, shard) => `TENANT#t1#WEBHOOK#wh_1#SHARD#${shard}`),
        "TENANT#t1#WEBHOOK#wh_1",
      ].sort(),
    );
    for (const input of queries) {
      expect(input).toMatchObject({
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":from": `DELIVERY#${from}`, ":to": `DELIVERY#${to}` },
        ExclusiveStartKey: { pk: input.ExpressionAttributeValues?.[":pk"], sk: `DELIVERY#${cursor}` },
        ScanIndexForward: false,
        Limit: 2,
      });
      expect(input.FilterExpression).toBeUndefined();
    }
    expect(page.deliveries.map((delivery) => delivery.id)).toEqual([stored[29]?.id, stored[28]?.id]);
    expect(page.lastId).toBe(stored[28]?.id);
  });

  it("lists every delivery of the webhook once across its partitions, newest or oldest first, page after page", async () => {
    const stored = storedDeliveries(60);
    deliveryTable(stored);
    const ids = stored.map((item) => item.id);

    expect(await allDeliveryPages({ limit: 7 })).toEqual([...ids].reverse());
    expect(await allDeliveryPages({ limit: 4, oldestFirst: true })).toEqual(ids);
  });

  it("reads a filtered page in batches, and keeps the filter's deliveries only, page after page", async () => {
    const stored = storedDeliveries(60);
    deliveryTable(stored);
    const { from, to } = deliveryIdRange();

    await deliveries.deliveryPage("t1", "wh_1", {
      limit: 2,
      fromId: from,
      toId: to,
      statuses: ["delivered"],
      eventType: "memory.created",
    });
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input?.FilterExpression).toBe("#status IN (:status0) AND #eventType = :eventType");
    expect(input?.Limit).toBe(100);

    const delivered = stored.filter((item) => item.status === "delivered").map((item) => item.id);
    expect(await allDeliveryPages({ limit: 3, statuses: ["delivered"] })).toEqual([...delivered].reverse());
  });

  it("finds an event's deliveries in the by-time index, under the event, and reads each record", async () => {
    const records = [deliveryItem(1, "delivered"), deliveryItem(2, "retrying")];
    ddb.on(QueryCommand).resolves({ Items: records.map(({ pk, sk }) => ({ pk, sk })) });
    ddb.on(GetCommand).callsFake((input: GetCommandInput) => ({
      Item: records.find((record) => record.sk === input.Key?.sk),
    }));
    const found = await deliveries.deliveriesOfEvent("t1", "evt_1", 1000);
    expect(found.map((delivery) => [delivery.id, delivery.status])).toEqual([
      [records[0]?.id, "delivered"],
      [records[1]?.id, "retrying"],
    ]);
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

  /**
   * A by-time index holding `items` (each with its partition), answering queries as DynamoDB does:
   * the key condition, newest first, `Limit` counting items read before the filter, and pages.
   */
  function byTimeIndex(items: readonly (ReturnType<typeof summary> & { gsi1pk: string; gsi1sk: string })[]) {
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      expect(input.IndexName).toBe(BY_TIME_INDEX);
      expect(input.ProjectionExpression).not.toContain("payload");
      const values = input.ExpressionAttributeValues ?? {};
      const condition = input.KeyConditionExpression ?? "";
      const lower = values[":lower"] as string | undefined;
      const upper = values[":upper"] as string | undefined;
      const start = input.ExclusiveStartKey?.gsi1sk as string | undefined;
      const inRange = items
        .filter((item) => item.gsi1pk === values[":partition"])
        .filter((item) => lower === undefined || item.gsi1sk >= lower)
        .filter((item) =>
          upper === undefined
            ? true
            : condition.includes("BETWEEN")
              ? item.gsi1sk <= upper
              : item.gsi1sk < upper,
        )
        .filter((item) => start === undefined || item.gsi1sk < start)
        .sort((x, y) => (x.gsi1sk < y.gsi1sk ? 1 : -1));
      const read = inRange.slice(0, input.Limit ?? inRange.length);
      const kept =
        input.FilterExpression === undefined ? read : read.filter((item) => item.type === values[":type"]);
      const last = read[read.length - 1];
      return {
        Items: kept,
        ...(read.length < inRange.length && last !== undefined
          ? { LastEvaluatedKey: { gsi1pk: last.gsi1pk, gsi1sk: last.gsi1sk, pk: "x", sk: "EVENT" } }
          : {}),
      };
    });
  }

  /** `count` events a second apart, of two types, spread over the tenant's partitions as the store spreads them. */
  function storedEvents(count: number) {
    return Array.from({ length: count }, (_, n) => {
      const at = new Date(Date.UTC(2026, 10, 25, 10, 0, n)).toISOString();
      const id = `evt_${String(n).padStart(3, "0")}`;
      // Some events were stored before the tenant's events were spread, in the unsharded partition.
      const partition =
        n % 9 === 0 ? "TENANT#t1#EVENTS" : `TENANT#t1#EVENTS#${shardOf(id, EVENT_LIST_SHARDS)}`;
      return {
        ...summary(id, at, n % 3 === 0 ? "user.deleted" : "user.created"),
        gsi1pk: partition,
        gsi1sk: `${at}#${id}`,
      };
    });
  }

  /** Every page of a listing, followed by its cursor from the first. */
  async function allPages(request: Omit<Parameters<typeof events.eventPage>[1], "after">) {
    const ids: string[] = [];
    let after: { acceptedAt: string; id: string } | undefined;
    for (let page = 0; page < 100; page += 1) {
      const result = await events.eventPage("t1", { ...request, ...(after === undefined ? {} : { after }) });
      expect(result.events.length).toBeLessThanOrEqual(request.limit);
      ids.push(...result.events.map((event) => event.id));
      if (result.last === undefined) return ids;
      after = result.last;
    }
    throw new Error("the listing never ended");
  }

  const newestFirst = (items: readonly { id: string; gsi1sk: string }[]) =>
    [...items].sort((x, y) => (x.gsi1sk < y.gsi1sk ? 1 : -1)).map((item) => item.id);

  it("lists the tenant's events newest first across its partitions, each once, page after page", async () => {
    const stored = storedEvents(120);
    byTimeIndex(stored);
    const first = await events.eventPage("t1", { limit: 3 });
    expect(first.events.map((event) => event.id)).toEqual(["evt_119", "evt_118", "evt_117"]);
    expect(first.events[0]).toEqual({
      id: "evt_119",
      tenantId: "t1",
      type: "user.created",
      acceptedAt: "2026-11-25T10:01:59.000Z",
      source: "api",
      deliveryCount: 2,
    });
    expect(await allPages({ limit: 7 })).toEqual(newestFirst(stored));
    // Only the caller's own partitions are read, whatever the cursor holds.
    for (const call of ddb.commandCalls(QueryCommand)) {
      expect(String(call.args[0].input.ExpressionAttributeValues?.[":partition"])).toMatch(
        /^TENANT#t1#EVENTS(#\d+)?$/,
      );
    }
  });

  it("keeps to the time range and the type, page after page", async () => {
    const stored = storedEvents(120);
    byTimeIndex(stored);
    const since = "2026-11-25T10:00:30.000Z";
    const until = "2026-11-25T10:01:30.000Z";
    const expected = newestFirst(
      stored.filter(
        (item) => item.accepted_at >= since && item.accepted_at < until && item.type === "user.deleted",
      ),
    );
    expect(expected).toHaveLength(20);
    expect(await allPages({ limit: 6, since, until, type: "user.deleted" })).toEqual(expected);
    expect(await allPages({ limit: 50, since })).toEqual(
      newestFirst(stored.filter((item) => item.accepted_at >= since)),
    );
  });

  it("ends a page short where a sparse type leaves a partition unread, and goes on from there", async () => {
    // 1 in 400 events of the rare type: a page of 2 reads at most 3 batches of 100 in each partition.
    const stored = Array.from({ length: 1200 }, (_, n) => {
      const at = new Date(Date.UTC(2026, 10, 25, 10, 0, 0, n)).toISOString();
      const id = `evt_${String(n).padStart(4, "0")}`;
      return {
        ...summary(id, at, n % 400 === 7 ? "rare" : "user.created"),
        gsi1pk: "TENANT#t1#EVENTS#0",
        gsi1sk: `${at}#${id}`,
      };
    });
    byTimeIndex(stored);
    const first = await events.eventPage("t1", { limit: 2, type: "rare" });
    // The newest 300 events hold none of the type: an empty page, and a cursor past them.
    expect(first.events).toEqual([]);
    expect(first.last).toEqual({ acceptedAt: "2026-11-25T10:00:00.900Z", id: "evt_0900" });
    expect(await allPages({ limit: 2, type: "rare" })).toEqual(["evt_0807", "evt_0407", "evt_0007"]);
  });
});
