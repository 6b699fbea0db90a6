import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { EventSource, StoredEvent } from "../domain/model.ts";
import type { EventStore } from "../domain/publish.ts";
import { TableKey } from "../shared/names.ts";
import { dueShardOf, expiryEpochSeconds, Keys } from "./keys.ts";

interface EventItem {
  readonly id: string;
  readonly tenant_id: string;
  readonly type: string;
  readonly payload: string;
  readonly accepted_at: string;
  readonly source: EventSource;
  readonly delivery_count?: number;
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

/** Events live in the events table, one partition each, indexed by tenant and time for listings. */
export function dynamoEventStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  retentionDays: number,
  reconcileGraceSeconds: number,
): EventStore & {
  payload(tenantId: string, eventId: string): Promise<string | undefined>;
  /** The event record, or undefined when this tenant has no event with this id (or it expired). */
  get(tenantId: string, eventId: string): Promise<StoredEvent | undefined>;
} {
  const key = (tenantId: string, eventId: string) => ({
    [TableKey.partition]: Keys.event(tenantId, eventId),
    [TableKey.sort]: Keys.eventSort,
  });
  return {
    async insertIfAbsent(event) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...key(event.tenantId, event.id),
              [TableKey.byTimePartition]: Keys.tenantEvents(event.tenantId),
              [TableKey.byTimeSort]: `${event.acceptedAt}#${event.id}`,
              [TableKey.expiresAt]: expiryEpochSeconds(new Date(event.acceptedAt), retentionDays),
              // Due until its fan-out completes, so the reconciler finishes a fan-out a crash interrupted.
              [TableKey.dueShard]: dueShardOf(event.id),
              [TableKey.dueAt]: new Date(
                Date.parse(event.acceptedAt) + reconcileGraceSeconds * 1000,
              ).toISOString(),
              id: event.id,
              tenant_id: event.tenantId,
              type: event.type,
              payload: event.payload,
              accepted_at: event.acceptedAt,
              source: event.source,
            },
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": TableKey.partition },
          }),
        );
        return { event, created: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const { Item } = await client.send(
          new GetCommand({ TableName: tableName, Key: key(event.tenantId, event.id), ConsistentRead: true }),
        );
        if (!Item) throw error;
        return { event: eventFromItem(Item), created: false };
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
      const { Item } = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: key(tenantId, eventId),
          ProjectionExpression: "payload",
        }),
      );
      return typeof Item?.payload === "string" ? Item.payload : undefined;
    },
    async get(tenantId, eventId) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: key(tenantId, eventId), ConsistentRead: true }),
      );
      return Item ? eventFromItem(Item) : undefined;
    },
  };
}
