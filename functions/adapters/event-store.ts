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
import { fanOutSettledSeconds } from "../shared/limits.ts";
import { BY_TIME_INDEX, BY_TIME_PROJECTION, TableKey } from "../shared/names.ts";
import { dueShardOf, EVENT_LIST_SHARDS, expiryEpochSeconds, Keys, shardOf } from "./keys.ts";
import { mergeShardReads, type ShardRead } from "./shard-merge.ts";

interface EventItem {
  readonly id: string;
  readonly tenant_id: string;
  readonly type: string;
  readonly payload: string;
  readonly accepted_at: string;
  readonly source: EventSource;
  readonly delivery_count?: number;
}

/**
 * A listing reads at most this many pages of DynamoDB results from each partition per request; the
 * cursor goes on. A filter that matches few events may leave a page short.
 */
const MAX_PARTITION_READS = 3;

/** A filtered listing reads at least this many items a query, however small the page it fills. */
const FILTERED_READ_BATCH = 100;

/** What a listing reads of an event: everything but its payload, as the by-time index holds it. */
const SUMMARY_ATTRIBUTES = BY_TIME_PROJECTION;

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
    [TableKey.byTimePartition]: Keys.tenantEvents(event.tenantId, shardOf(event.id, EVENT_LIST_SHARDS)),
    [TableKey.byTimeSort]: byTimeSort(event.acceptedAt, event.id),
    [TableKey.expiresAt]: expiryEpochSeconds(new Date(event.acceptedAt), retentionDays),
    id: event.id,
    tenant_id: event.tenantId,
    type: event.type,
    payload: event.payload,
    accepted_at: event.acceptedAt,
    source: event.source,
    ...(event.deliveryCount === undefined ? {} : { delivery_count: event.deliveryCount }),
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
                Date.parse(event.acceptedAt) + fanOutSettledSeconds(reconcileGraceSeconds) * 1000,
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
      const due = "REMOVE #dueShard, #dueAt";
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(tenantId, eventId),
          ExpressionAttributeNames: { "#dueShard": TableKey.dueShard, "#dueAt": TableKey.dueAt },
          // The count is in the by-time index: setting it rewrites the event's entry there.
          ...(deliveryCount === undefined
            ? { UpdateExpression: due }
            : {
                UpdateExpression: `SET delivery_count = :count ${due}`,
                ExpressionAttributeValues: { ":count": deliveryCount },
              }),
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
      // Sort keys are `accepted_at#id`: `since` itself sorts before every key of that millisecond, and
      // `until` before every key of its own, so `>= since` and `< until` are exactly the time range. The
      // cursor's position is an upper bound too, the lower of the two applies.
      const after =
        request.after === undefined ? undefined : byTimeSort(request.after.acceptedAt, request.after.id);
      const upper =
        after === undefined || (request.until !== undefined && request.until < after) ? request.until : after;
      const range = { ...(request.since === undefined ? {} : { lower: request.since }), upper };
      const partitions = [
        Keys.tenantEvents(tenantId),
        ...Array.from({ length: EVENT_LIST_SHARDS }, (_, shard) => Keys.tenantEvents(tenantId, shard)),
      ];
      const reads = await Promise.all(
        partitions.map((partition) => readPartition(partition, range, request.type, request.limit)),
      );
      const { values: events, lastSort } = mergeShardReads(reads, request.limit, "descending");
      if (lastSort === undefined) return { events };
      const separator = lastSort.indexOf("#");
      return {
        events,
        last: { acceptedAt: lastSort.slice(0, separator), id: lastSort.slice(separator + 1) },
      };
    },
  };

  /**
   * Up to `limit` summaries of one partition of the by-time index, newest first, in `range` (`upper`
   * excluded) and of `type` if given, and its frontier: the sort key down to which the partition was
   * read, when it goes on beyond (absent when it was read to its end).
   */
  async function readPartition(
    partition: string,
    range: { readonly lower?: string; readonly upper: string | undefined },
    type: string | undefined,
    limit: number,
  ): Promise<ShardRead<EventSummary>> {
    const names: Record<string, string> = {
      "#gsiPk": TableKey.byTimePartition,
      "#gsiSk": TableKey.byTimeSort,
      ...Object.fromEntries(SUMMARY_ATTRIBUTES.map((attribute) => [`#${attribute}`, attribute])),
    };
    const values: Record<string, unknown> = { ":partition": partition };
    let condition = "#gsiPk = :partition";
    if (range.lower !== undefined) values[":lower"] = range.lower;
    if (range.upper !== undefined) values[":upper"] = range.upper;
    // BETWEEN includes its upper bound: the one key it may find there (the cursor's own) is dropped below.
    if (range.lower !== undefined && range.upper !== undefined)
      condition += " AND #gsiSk BETWEEN :lower AND :upper";
    else if (range.lower !== undefined) condition += " AND #gsiSk >= :lower";
    else if (range.upper !== undefined) condition += " AND #gsiSk < :upper";
    if (type !== undefined) values[":type"] = type;
    const events: { sort: string; value: EventSummary }[] = [];
    let start: Record<string, unknown> | undefined;
    // With a type filter, Limit counts items read, not kept: read batches of at least
    // FILTERED_READ_BATCH, and stop at the last kept event when a batch holds more.
    for (let read = 0; read < MAX_PARTITION_READS; read++) {
      const wanted = limit - events.length;
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: BY_TIME_INDEX,
          KeyConditionExpression: condition,
          ProjectionExpression: ["#gsiSk", ...SUMMARY_ATTRIBUTES.map((attribute) => `#${attribute}`)].join(
            ", ",
          ),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(type === undefined ? {} : { FilterExpression: "#type = :type" }),
          ScanIndexForward: false,
          Limit: type === undefined ? wanted : Math.max(wanted, FILTERED_READ_BATCH),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      const kept = (page.Items ?? [])
        .map((item) => ({ sort: String(item[TableKey.byTimeSort]), value: summaryFromItem(item) }))
        .filter((entry) => range.upper === undefined || entry.sort < range.upper);
      if (kept.length >= wanted) {
        events.push(...kept.slice(0, wanted));
        const last = events[events.length - 1];
        const more = kept.length > wanted || page.LastEvaluatedKey !== undefined;
        return more && last !== undefined ? { entries: events, frontier: last.sort } : { entries: events };
      }
      events.push(...kept);
      start = page.LastEvaluatedKey;
      if (start === undefined) return { entries: events };
    }
    const frontier = start?.[TableKey.byTimeSort];
    return typeof frontier === "string" ? { entries: events, frontier } : { entries: events };
  }
}
