import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { freeSlot, IN_FLIGHT_LEASE_MS } from "../domain/in-flight.ts";
import type { InFlightSlots } from "../domain/ports.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";
import { remember } from "./lru.ts";

/** Rounds of read-then-claim before a contended webhook counts as full (the delivery waits a second). */
const CLAIM_ROUNDS = 3;

/** Webhooks whose likely free slot an instance remembers; past it, the least recently used go. */
const REMEMBERED_WEBHOOKS = 5_000;

const slotName = (slot: number) => `slot_${slot}`;

/**
 * Each webhook's in-flight slots, in one item of its own partition: attribute `slot_<n>` holds the expiry
 * of the lease on slot n. A claim takes a slot with a write conditional on its being free. The instance
 * remembers, per webhook, a slot it last saw free (the one it handed back, or another free one its last
 * read showed) and tries that one first, without a read: at a webhook below its cap, the common case, a
 * claim is one write. When that write is refused, or nothing is remembered, the claim reads the item
 * and takes a free slot, so a full webhook costs one read and no write.
 */
export function dynamoInFlightSlots(client: DynamoDBDocumentClient, tableName: string): InFlightSlots {
  const key = (tenantId: string, webhookId: string) => ({
    [TableKey.partition]: Keys.inFlight(tenantId, webhookId),
    [TableKey.sort]: Keys.inFlightSort,
  });
  const likelyFree = new Map<string, number>();

  async function take(tenantId: string, webhookId: string, slot: number, now: number) {
    const expiresAt = now + IN_FLIGHT_LEASE_MS;
    try {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(tenantId, webhookId),
          UpdateExpression: "SET #slot = :expiresAt",
          ConditionExpression: "attribute_not_exists(#slot) OR #slot <= :now",
          ExpressionAttributeNames: { "#slot": slotName(slot) },
          ExpressionAttributeValues: { ":expiresAt": expiresAt, ":now": now },
        }),
      );
      return { tenantId, webhookId, slot, expiresAt };
    } catch (error) {
      // Another delivery holds the slot: the caller reads the item.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return undefined;
    }
  }

  return {
    async claim(tenantId, webhookId, limit, now) {
      const remembered = Keys.inFlight(tenantId, webhookId);
      const guess = likelyFree.get(remembered);
      likelyFree.delete(remembered);
      if (guess !== undefined && guess < limit) {
        const lease = await take(tenantId, webhookId, guess, now);
        if (lease) return lease;
      }
      for (let round = 0; round < CLAIM_ROUNDS; round += 1) {
        const { Item } = await client.send(
          new GetCommand({ TableName: tableName, Key: key(tenantId, webhookId), ConsistentRead: true }),
        );
        const leases = Array.from({ length: limit }, (_, slot) => {
          const value = Item?.[slotName(slot)];
          return typeof value === "number" ? value : undefined;
        });
        const slot = freeSlot(leases, limit, now);
        if (slot === undefined) return undefined;
        const lease = await take(tenantId, webhookId, slot, now);
        if (lease) {
          const another = freeSlot(
            leases.map((expiresAt, index) => (index === slot ? Number.POSITIVE_INFINITY : expiresAt)),
            limit,
            now,
          );
          if (another !== undefined) remember(likelyFree, remembered, another, REMEMBERED_WEBHOOKS);
          return lease;
        }
      }
      return undefined;
    },
    async release(lease) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(lease.tenantId, lease.webhookId),
            UpdateExpression: "REMOVE #slot",
            ConditionExpression: "#slot = :expiresAt",
            ExpressionAttributeNames: { "#slot": slotName(lease.slot) },
            ExpressionAttributeValues: { ":expiresAt": lease.expiresAt },
          }),
        );
        remember(likelyFree, Keys.inFlight(lease.tenantId, lease.webhookId), lease.slot, REMEMBERED_WEBHOOKS);
      } catch (error) {
        // The lease lapsed and the slot is someone else's now: it is theirs to hand back.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
