import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { EventSource, StoredEvent } from "../domain/model.ts";
import type { EventHistory, EventStore, EventSummary } from "../domain/ports.ts";
import { MAX_DELIVERIES_STORED_WITH_EVENT } from "../domain/publish.ts";
import { BY_TIME_INDEX, TableKey } from "../shared/names.ts";
import { pendingDeliveryItem } from "./delivery-store.ts";
import { dueShardOf, expiryEpochSeconds, Keys } from "./keys.ts";
import { writeTransaction } from "./transactions.ts";
import type { SubscriptionsCheck } from "./webhook-store.ts";

interface EventItem {
  readonly id: string;
  readonly tenant_id: string;
  readonly type: string;
  readonly payload: string;
  readonly accepted_at: string;
  readonly source: EventSource;
  readonly delivery_count?: number;
}

/** A filtered listing reads at most this many pages of DynamoDB results per request; the cursor goes on. */
const MAX_LIST_READS = 10;

/** A filtered listing reads at least this many items a query, however small the page it fills. */
const FILTERED_READ_BATCH = 100;

/** What a listing reads of an event: everything but its payload. */
const SUMMARY_ATTRIBUTES = ["id", "tenant_id", "type", "accepted_at", "source", "delivery_count"] as const;

/** The by-time index's sort key of an event: newest first is descending order. */
const byTimeSort = (acceptedAt: string, eventId: string) => `${acceptedAt}#${eventId}`;

function summaryFromItem(item: Record<string, unknown>): EventSummary {
  const { payload: _, ...summary } = eventFromItem({ ...item, payload: "" });
  return summary;
}

export function eventFromItem(item: Record<string, unknown>): StoredEvent {
  const stored = item as unknown as EventItem;
  return {
    id: stored.id,
    tenantId: stored.tenant_id,
    type: stored.type,
    payload: stored.payload,
    acceptedAt: stored.accepted_at,
    source: stored.source,
    ...(stored.delivery_count === undefined ? {} : { deliveryCount: stored.delivery_count }),
  };
}

const IF_ABSENT = {
  ConditionExpression: "attribute_not_exists(#pk)",
  ExpressionAttributeNames: { "#pk": TableKey.partition },
} as const;

/** Events live in the events table, one partition each, indexed by tenant and time for listings. */
export function dynamoEventStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  retentionDays: number,
  reconcileGraceSeconds: number,
  /** Where the tenants' subscriptions versions are read when a fan-out is stored with its event. */
  subscriptions: SubscriptionsCheck,
): EventStore &
  EventHistory & {
    payload(tenantId: string, eventId: string): Promise<string | undefined>;
  } {
  const key = (tenantId: string, eventId: string) => ({
    [TableKey.partition]: Keys.event(tenantId, eventId),
    [TableKey.sort]: Keys.eventSort,
  });
  const eventItem = (event: StoredEvent) => ({
    ...key(event.tenantId, event.id),
    [TableKey.byTimePartition]: Keys.tenantEvents(event.tenantId),
    [TableKey.byTimeSort]: byTimeSort(event.acceptedAt, event.id),
    [TableKey.expiresAt]: expiryEpochSeconds(new Date(event.acceptedAt), retentionDays),
    id: event.id,
    tenant_id: event.tenantId,
    type: event.type,
    payload: event.payload,
    accepted_at: event.acceptedAt,
    source: event.source,
  });
  /** The event stored under the id of one that was refused as a duplicate. */
  const storedEvent = async (event: StoredEvent, refusal: Error): Promise<StoredEvent> => {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: key(event.tenantId, event.id), ConsistentRead: true }),
    );
    if (!Item) throw refusal;
    return eventFromItem(Item);
  };
  return {
    async insertIfAbsent(event) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...eventItem(event),
              // Due until its fan-out completes, so the reconciler finishes a fan-out a crash interrupted.
              [TableKey.dueShard]: dueShardOf(event.id),
              [TableKey.dueAt]: new Date(
                Date.parse(event.acceptedAt) + reconcileGraceSeconds * 1000,
              ).toISOString(),
            },
            ...IF_ABSENT,
          }),
        );
        return { event, created: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        return { event: await storedEvent(event, error), created: false };
      }
    },
    async insertFannedOut(event, deliveries, subscriptionsVersion) {
      if (deliveries.length > MAX_DELIVERIES_STORED_WITH_EVENT) {
        throw new Error(`at most ${MAX_DELIVERIES_STORED_WITH_EVENT} deliveries are stored with their event`);
      }
      // Read, not checked in the transaction: a check there would put two write units per publish on
      // one tenant item. A change racing this publish may or may not reach it; one that has returned
      // before it started always does.
      if (!(await subscriptions.subscriptionsUnchanged(event.tenantId, subscriptionsVersion))) {
        return "subscribers_changed";
      }
      // Already fanned out: the deliveries' own records keep them due until they are attempted.
      const item = { ...eventItem(event), delivery_count: deliveries.length };
      const result = await writeTransaction(client, [
        { Put: { TableName: tableName, Item: item, ...IF_ABSENT } },
        ...deliveries.map((delivery) => ({
          Put: {
            TableName: tableName,
            Item: pendingDeliveryItem(delivery, retentionDays, reconcileGraceSeconds),
          },
        })),
      ]);
      if (result.written) return { event: { ...event, deliveryCount: deliveries.length }, created: true };
      return { event: await storedEvent(event, new Error(`event ${event.id} vanished`)), created: false };
    },
    async extendFanOut(tenantId, eventId) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(tenantId, eventId),
            UpdateExpression: "SET #dueAt = :dueAt",
            ConditionExpression: "attribute_exists(#dueAt)",
            ExpressionAttributeNames: { "#dueAt": TableKey.dueAt },
            ExpressionAttributeValues: {
              ":dueAt": new Date(Date.now() + reconcileGraceSeconds * 1000).toISOString(),
            },
          }),
        );
      } catch (error) {
        // Already marked fanned out (by the reconciler): there is no deadline left to move.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
    async markFannedOut(tenantId, eventId, deliveryCount) {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(tenantId, eventId),
          UpdateExpression: "SET delivery_count = :count REMOVE #dueShard, #dueAt",
          ExpressionAttributeNames: { "#dueShard": TableKey.dueShard, "#dueAt": TableKey.dueAt },
          ExpressionAttributeValues: { ":count": deliveryCount },
        }),
      );
    },
    async payload(tenantId, eventId) {
      // An eventually consistent read may miss an event stored a moment ago: a miss is confirmed with a
      // strongly consistent read before the delivery is failed as expired.
      for (const consistent of [false, true]) {
        const { Item } = await client.send(
          new GetCommand({
            TableName: tableName,
            Key: key(tenantId, eventId),
            ProjectionExpression: "payload",
            ConsistentRead: consistent,
          }),
        );
        if (typeof Item?.payload === "string") return Item.payload;
      }
      return undefined;
    },
    async get(tenantId, eventId) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: key(tenantId, eventId), ConsistentRead: true }),
      );
      return Item ? eventFromItem(Item) : undefined;
    },
    async eventPage(tenantId, request) {
      const names: Record<string, string> = {
        "#gsiPk": TableKey.byTimePartition,
        ...Object.fromEntries(SUMMARY_ATTRIBUTES.map((attribute) => [`#${attribute}`, attribute])),
      };
      // Sort keys are `accepted_at#id`: `since` itself sorts before every key of that millisecond, and
      // `until` before every key of its own, so `>= since` and `< until` are exactly the time range.
      const bounds: string[] = [];
      const values: Record<string, unknown> = { ":tenant": Keys.tenantEvents(tenantId) };
      if (request.since !== undefined) {
        values[":since"] = request.since;
        bounds.push("#gsiSk >= :since");
      }
      if (request.until !== undefined) {
        values[":until"] = request.until;
        bounds.push("#gsiSk < :until");
      }
      const range =
        bounds.length === 2
          ? " AND #gsiSk BETWEEN :since AND :until"
          : bounds.map((b) => ` AND ${b}`).join("");
      if (bounds.length > 0) names["#gsiSk"] = TableKey.byTimeSort;
      if (request.type !== undefined) values[":type"] = request.type;
      const events: EventSummary[] = [];
      // Only the position is taken from the cursor; the keys around it are always the caller's own.
      let start: Record<string, unknown> | undefined =
        request.after === undefined
          ? undefined
          : {
              ...key(tenantId, request.after.id),
              [TableKey.byTimePartition]: Keys.tenantEvents(tenantId),
              [TableKey.byTimeSort]: byTimeSort(request.after.acceptedAt, request.after.id),
            };
      // With a type filter, Limit counts items read, not kept: read batches of at least
      // FILTERED_READ_BATCH, and stop the page at its last kept event when a batch holds more.
      for (let read = 0; read < MAX_LIST_READS && events.length < request.limit; read++) {
        const wanted = request.limit - events.length;
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: BY_TIME_INDEX,
            KeyConditionExpression: `#gsiPk = :tenant${range}`,
            ProjectionExpression: SUMMARY_ATTRIBUTES.map((attribute) => `#${attribute}`).join(", "),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ...(request.type === undefined ? {} : { FilterExpression: "#type = :type" }),
            ScanIndexForward: false,
            Limit: request.type === undefined ? wanted : Math.max(wanted, FILTERED_READ_BATCH),
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        const kept = (page.Items ?? []).map(summaryFromItem);
        if (kept.length > wanted) {
          events.push(...kept.slice(0, wanted));
          const last = events[events.length - 1];
          return {
            events,
            ...(last === undefined ? {} : { last: { acceptedAt: last.acceptedAt, id: last.id } }),
          };
        }
        events.push(...kept);
        start = page.LastEvaluatedKey;
        if (start === undefined) break;
      }
      const lastSort = start?.[TableKey.byTimeSort];
      if (typeof lastSort !== "string") return { events };
      const separator = lastSort.indexOf("#");
      return {
        events,
        last: { acceptedAt: lastSort.slice(0, separator), id: lastSort.slice(separator + 1) },
      };
    },
  };
}
