import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { type DeliveryMessage, DeliveryMessageSchema } from "../domain/messages.ts";
import type { RetrySlots } from "../domain/ports.ts";
import type { RetrySlot } from "../domain/retry-slot.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

/** A slot's items outlive its release by a day: long enough for any late joiner to read the mark. */
const SLOT_ITEMS_KEPT_SECONDS = 86_400;

/** Members read per query of a slot being released; each page goes out as it is read. */
const RELEASE_PAGE_SIZE = 100;

/** The attribute holding a member's message (without its payload, which the attempt reads again). */
const MESSAGE = "message";

/**
 * Retry slots in the events table: each slot is a partition of its own
 * (`TENANT#<t>#RETRY#<webhook>#<epoch seconds>`), holding one item per waiting delivery and, once its
 * workflow released it, the `RELEASED` mark. Both are read strongly consistent, which is what makes a
 * late joiner either read by the release or aware of it (see `RetrySlots`). The items expire by TTL.
 */
export function dynamoRetrySlots(client: DynamoDBDocumentClient, tableName: string): RetrySlots {
  const partition = (slot: RetrySlot) => Keys.retrySlot(slot.tenantId, slot.webhookId, slot.at);
  const expiresAt = (slot: RetrySlot) => Math.floor(Date.parse(slot.at) / 1000) + SLOT_ITEMS_KEPT_SECONDS;
  const markKey = (slot: RetrySlot) => ({
    [TableKey.partition]: partition(slot),
    [TableKey.sort]: Keys.retrySlotReleased,
  });

  return {
    async join(slot, next) {
      const { payload: _payload, ...message } = next;
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            [TableKey.partition]: partition(slot),
            [TableKey.sort]: Keys.delivery(next.deliveryId),
            [MESSAGE]: message,
            [TableKey.expiresAt]: expiresAt(slot),
          },
        }),
      );
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: markKey(slot), ConsistentRead: true }),
      );
      return { released: Item !== undefined };
    },

    async *release(slot) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...markKey(slot), [TableKey.expiresAt]: expiresAt(slot) },
        }),
      );
      let startKey: QueryCommandOutput["LastEvaluatedKey"];
      do {
        const page: QueryCommandOutput = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :member)",
            ExpressionAttributeNames: { "#pk": TableKey.partition, "#sk": TableKey.sort },
            ExpressionAttributeValues: { ":pk": partition(slot), ":member": Keys.deliveryPrefix },
            ConsistentRead: true,
            Limit: RELEASE_PAGE_SIZE,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        const members: DeliveryMessage[] = (page.Items ?? []).map((item) =>
          DeliveryMessageSchema.parse(item[MESSAGE]),
        );
        if (members.length > 0) yield members;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    },
  };
}
