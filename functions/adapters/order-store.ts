import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { OrderState } from "../domain/ordering.ts";
import type { DeliveryOrderStore } from "../domain/ports.ts";
import { TableKey } from "../shared/names.ts";
import { deliveryFromItem } from "./delivery-store.ts";
import { expiryEpochSeconds, Keys, webhookDeliveryPartitions } from "./keys.ts";

/** The order record's attributes, always named through placeholders (some are reserved words). */
const NAMES = {
  "#head": "head",
  "#last": "last",
  "#claimedAttempt": "claimed_attempt",
  "#claimedUntil": "claimed_until",
  "#expires": TableKey.expiresAt,
};

/** The placeholders an expression uses: DynamoDB refuses a name an expression does not use. */
function namesIn(...placeholders: (keyof typeof NAMES)[]): Record<string, string> {
  return Object.fromEntries(placeholders.map((placeholder) => [placeholder, NAMES[placeholder]]));
}

/** Deliveries read per query while looking for the next one that waits. */
const NEXT_PAGE_SIZE = 25;

/**
 * Queries per look for the next waiting delivery. Past the head almost every delivery waits, so the
 * first item read is nearly always it; ended ones past the head (failed while the webhook was paused,
 * say) are skipped a bounded number at a time, and a delivery beyond them takes the head itself when
 * the reconciler drives it on.
 */
const NEXT_MAX_READS = 8;

/**
 * Each ordered webhook's order record, in the webhook's own partition of the events table (sort key
 * `ORDER`); the next delivery is found with strongly consistent queries of the webhook's partitions,
 * side by side.
 */
export function dynamoDeliveryOrderStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  retentionDays: number,
): DeliveryOrderStore {
  const key = (tenantId: string, webhookId: string) => ({
    [TableKey.partition]: Keys.webhookDeliveries(tenantId, webhookId),
    [TableKey.sort]: Keys.deliveryOrder,
  });

  async function conditionally(command: UpdateCommand): Promise<boolean> {
    try {
      await client.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The first delivery past `after` in one of the webhook's partitions that is pending or retrying. */
  async function firstWaiting(
    partition: string,
    after: string,
  ): Promise<Record<string, unknown> | undefined> {
    let start: Record<string, unknown> | undefined = {
      [TableKey.partition]: partition,
      [TableKey.sort]: Keys.delivery(after),
    };
    for (let read = 0; read < NEXT_MAX_READS && start !== undefined; read += 1) {
      const page: QueryCommandOutput = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          FilterExpression: "#status IN (:pending, :retrying)",
          ExpressionAttributeNames: {
            "#pk": TableKey.partition,
            "#sk": TableKey.sort,
            "#status": "status",
          },
          ExpressionAttributeValues: {
            ":pk": partition,
            ":prefix": Keys.deliveryPrefix,
            ":pending": "pending",
            ":retrying": "retrying",
          },
          // The order is decided on this read: it must see every step recorded before it.
          ConsistentRead: true,
          Limit: NEXT_PAGE_SIZE,
          ExclusiveStartKey: start,
        }),
      );
      const first = page.Items?.[0];
      if (first) return first;
      start = page.LastEvaluatedKey;
    }
    return undefined;
  }

  return {
    async state(tenantId, webhookId) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: key(tenantId, webhookId), ConsistentRead: true }),
      );
      const text = (name: string) => (typeof Item?.[name] === "string" ? (Item[name] as string) : undefined);
      const number = (name: string) =>
        typeof Item?.[name] === "number" ? (Item[name] as number) : undefined;
      const state: OrderState = {
        ...(text("head") === undefined ? {} : { head: text("head") }),
        ...(text("last") === undefined ? {} : { last: text("last") }),
        ...(number("claimed_attempt") === undefined ? {} : { claimedAttempt: number("claimed_attempt") }),
        ...(number("claimed_until") === undefined ? {} : { claimedUntil: number("claimed_until") }),
      };
      return state;
    },

    claim(tenantId, webhookId, claim, expectedHead) {
      const values: Record<string, unknown> = {
        ":id": claim.deliveryId,
        ":attempt": claim.attempt,
        ":until": claim.until,
        // Kept while the webhook has deliveries: each claim moves the record's expiry on.
        ":expires": expiryEpochSeconds(new Date(claim.now), retentionDays),
      };
      let condition: string;
      if (expectedHead === claim.deliveryId) {
        values[":now"] = claim.now;
        condition =
          "#head = :id AND (attribute_not_exists(#claimedAttempt) OR #claimedAttempt < :attempt OR #claimedUntil <= :now)";
      } else if (expectedHead === undefined) {
        condition = "attribute_not_exists(#head) AND (attribute_not_exists(#last) OR #last < :id)";
      } else {
        values[":expected"] = expectedHead;
        condition = "#head = :expected";
      }
      return conditionally(
        new UpdateCommand({
          TableName: tableName,
          Key: key(tenantId, webhookId),
          UpdateExpression:
            "SET #head = :id, #last = :id, #claimedAttempt = :attempt, #claimedUntil = :until, #expires = :expires",
          ConditionExpression: condition,
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: values,
        }),
      );
    },

    async release(tenantId, webhookId, deliveryId, attempt) {
      await conditionally(
        new UpdateCommand({
          TableName: tableName,
          Key: key(tenantId, webhookId),
          UpdateExpression: "REMOVE #claimedAttempt, #claimedUntil",
          ConditionExpression: "#head = :id AND #claimedAttempt = :attempt",
          ExpressionAttributeNames: namesIn("#head", "#claimedAttempt", "#claimedUntil"),
          ExpressionAttributeValues: { ":id": deliveryId, ":attempt": attempt },
        }),
      );
    },

    advance(tenantId, webhookId, from, to) {
      if (from === undefined) {
        if (to === undefined) return Promise.resolve(true);
        return conditionally(
          new UpdateCommand({
            TableName: tableName,
            Key: key(tenantId, webhookId),
            UpdateExpression: "SET #head = :to, #last = :to REMOVE #claimedAttempt, #claimedUntil",
            ConditionExpression:
              "attribute_not_exists(#head) AND (attribute_not_exists(#last) OR #last < :to)",
            ExpressionAttributeNames: namesIn("#head", "#last", "#claimedAttempt", "#claimedUntil"),
            ExpressionAttributeValues: { ":to": to },
          }),
        );
      }
      return conditionally(
        new UpdateCommand({
          TableName: tableName,
          Key: key(tenantId, webhookId),
          UpdateExpression:
            to === undefined
              ? "REMOVE #head, #claimedAttempt, #claimedUntil"
              : "SET #head = :to, #last = :to REMOVE #claimedAttempt, #claimedUntil",
          ConditionExpression: "#head = :from",
          ExpressionAttributeNames:
            to === undefined
              ? namesIn("#head", "#claimedAttempt", "#claimedUntil")
              : namesIn("#head", "#last", "#claimedAttempt", "#claimedUntil"),
          ExpressionAttributeValues: { ":from": from, ...(to === undefined ? {} : { ":to": to }) },
        }),
      );
    },

    async nextWaiting(tenantId, webhookId, after) {
      // The first waiting delivery past `after` in each of the webhook's partitions; the next is the
      // first of them, ids sorting in order of acceptance.
      const firsts = await Promise.all(
        webhookDeliveryPartitions(tenantId, webhookId).map((partition) => firstWaiting(partition, after)),
      );
      return firsts
        .filter((item) => item !== undefined)
        .map(deliveryFromItem)
        .sort((a, b) => (a.id < b.id ? -1 : 1))[0];
    },
  };
}
