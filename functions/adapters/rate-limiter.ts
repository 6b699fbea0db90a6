import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { reserveSlot, slotIntervalMs } from "../domain/rate-limit.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

/** Rounds of claim attempts before giving up; only the moment a limiter turns busy can make one fail. */
const CLAIM_ROUNDS = 8;

/**
 * Each rate-limited webhook's next free slot, in its own item beside the webhook. A busy limiter (the
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
      const key = { [TableKey.partition]: Keys.tenant(tenantId), [TableKey.sort]: Keys.rateLimit(webhookId) };
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
