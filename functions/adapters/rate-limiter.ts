import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { reserveSlot } from "../domain/rate-limit.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

/** Rounds of read-and-claim before giving up on a contended limiter; each round is one read, one write. */
const CLAIM_ROUNDS = 8;

/**
 * Each rate-limited webhook's next free slot, in its own item beside the webhook, claimed with a
 * conditional write on the value that was read, so that concurrent delivery functions queue up
 * behind each other instead of sending at once.
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
        const { Item } = await client.send(
          new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
        );
        const previous = typeof Item?.next_slot_at === "number" ? Item.next_slot_at : undefined;
        const slot = reserveSlot(previous, now(), ratePerSecond);
        try {
          await client.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...key, next_slot_at: slot.nextSlotAt },
              ConditionExpression:
                previous === undefined ? "attribute_not_exists(next_slot_at)" : "next_slot_at = :previous",
              ...(previous === undefined ? {} : { ExpressionAttributeValues: { ":previous": previous } }),
            }),
          );
          return slot.sendAt;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      throw new Error(`the rate limit of webhook ${webhookId} stayed contended for ${CLAIM_ROUNDS} rounds`);
    },
  };
}
