import { randomInt } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { PublishRateLimiter } from "../domain/ports.ts";
import {
  admitPublish,
  publishBucketShards,
  reserveSlot,
  slotIntervalMs,
  tenantBucket,
} from "../domain/rate-limit.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

/** Rounds of claim attempts before giving up; only the moment a limiter turns busy can make one fail. */
const CLAIM_ROUNDS = 8;

/**
 * Each rate-limited webhook's next free slot, in its own item and partition. A busy limiter (the
 * next slot is still ahead) hands its slot out and moves it on in one atomic update, so concurrent
 * delivery functions queue up behind each other without losing rounds to each other; an idle one is
 * claimed with a write conditional on its still being idle.
 */
export function dynamoRateLimiter(client: DynamoDBDocumentClient, tableName: string) {
  return {
    /** Reserves the webhook's next slot; returns when it is (epoch ms). */
    async reserve(
      tenantId: string,
      webhookId: string,
      ratePerSecond: number,
      now: () => number,
    ): Promise<number> {
      const key = {
        [TableKey.partition]: Keys.rateLimit(tenantId, webhookId),
        [TableKey.sort]: Keys.rateLimitSort,
      };
      for (let round = 0; round < CLAIM_ROUNDS; round += 1) {
        const at = now();
        try {
          const { Attributes } = await client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key,
              UpdateExpression: "SET next_slot_at = next_slot_at + :interval",
              ConditionExpression: "next_slot_at > :now",
              ExpressionAttributeValues: { ":interval": slotIntervalMs(ratePerSecond), ":now": at },
              ReturnValues: "UPDATED_OLD",
            }),
          );
          if (typeof Attributes?.next_slot_at === "number") return Attributes.next_slot_at;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
        const idle = reserveSlot(undefined, at, ratePerSecond);
        try {
          await client.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...key, next_slot_at: idle.nextSlotAt },
              ConditionExpression: "attribute_not_exists(next_slot_at) OR next_slot_at <= :now",
              ExpressionAttributeValues: { ":now": at },
            }),
          );
          return idle.sendAt;
        } catch (error) {
          // Another delivery made it busy meanwhile: take the next slot from it.
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      throw new Error(`the rate limit of webhook ${webhookId} stayed contended for ${CLAIM_ROUNDS} rounds`);
    },
  };
}

/**
 * Each tenant's publish bucket (`admitPublish`), split into `publishBucketShards` parts, each in its
 * own item and partition of the events table, so that a busy tenant's publishes crowd neither the
 * partition of its webhooks nor one item; a publish takes its token from one part at random. A bucket in use is moved on in one
 * update conditional on its still having a token; a failed condition returns the bucket as it was,
 * which tells a full bucket (refused, no write) from an idle one (claimed with a write conditional on
 * its still being idle). Only the moment a bucket turns busy can make a round fail.
 */
export function dynamoPublishRateLimiter(
  client: DynamoDBDocumentClient,
  tableName: string,
  ratePerSecond: number,
  burst: number,
): PublishRateLimiter {
  const shards = publishBucketShards(ratePerSecond, burst);
  const bucket = tenantBucket(ratePerSecond / shards, burst / shards);
  return {
    async admit(tenantId, now) {
      const key = {
        [TableKey.partition]: Keys.publishRate(tenantId, shards === 1 ? undefined : randomInt(shards)),
        [TableKey.sort]: Keys.publishRateSort,
      };
      for (let round = 0; round < CLAIM_ROUNDS; round += 1) {
        let tat: number | undefined;
        try {
          const { Attributes } = await client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key,
              UpdateExpression: "SET tat = tat + :interval, #expires = :expires",
              ConditionExpression: "tat > :now AND tat <= :latest",
              ExpressionAttributeNames: { "#expires": TableKey.expiresAt },
              ExpressionAttributeValues: {
                ":interval": bucket.intervalMs,
                ":now": now,
                ":latest": now + bucket.toleranceMs,
                ":expires": expiresAt(now + bucket.toleranceMs),
              },
              ReturnValues: "UPDATED_NEW",
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
          );
          return { admitted: true, tat: Number(Attributes?.tat) };
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          tat = bucketTat(error.Item?.tat);
        }
        const admission = admitPublish(bucket, tat, now);
        if (!admission.admitted) return admission;
        try {
          await client.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...key, tat: admission.tat, [TableKey.expiresAt]: expiresAt(admission.tat) },
              ConditionExpression: "attribute_not_exists(tat) OR tat <= :now",
              ExpressionAttributeValues: { ":now": now },
            }),
          );
          return admission;
        } catch (error) {
          // Another publish made the bucket busy meanwhile: take a token from it.
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      throw new Error(`the publish rate of tenant ${tenantId} stayed contended for ${CLAIM_ROUNDS} rounds`);
    },
  };
}

/** The bucket a failed condition returned: as DynamoDB's own attribute value, which the document client leaves as it is. */
function bucketTat(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  const text = (value as { N?: unknown } | undefined)?.N;
  return typeof text === "string" ? Number(text) : undefined;
}

/** An idle bucket is full again a moment after `tat`; its item is left to DynamoDB's TTL a day later. */
function expiresAt(tat: number): number {
  return Math.ceil(tat / 1000) + 86_400;
}
