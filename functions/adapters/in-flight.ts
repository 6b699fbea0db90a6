import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { freeSlot, IN_FLIGHT_LEASE_MS } from "../domain/in-flight.ts";
import type { InFlightSlots } from "../domain/ports.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

/** Rounds of read-then-claim before a contended webhook counts as full (the delivery waits a second). */
const CLAIM_ROUNDS = 3;

const slotName = (slot: number) => `slot_${slot}`;

/**
 * Each webhook's in-flight slots, in one item of its own partition: attribute `slot_<n>` holds the expiry
 * of the lease on slot n. A claim reads the item and takes a free slot with a write conditional on its
 * still being free, so a full webhook costs one read and no write.
 */
export function dynamoInFlightSlots(client: DynamoDBDocumentClient, tableName: string): InFlightSlots {
  const key = (tenantId: string, webhookId: string) => ({
    [TableKey.partition]: Keys.inFlight(tenantId, webhookId),
    [TableKey.sort]: Keys.inFlightSort,
  });
  return {
    async claim(tenantId, webhookId, limit, now) {
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
          // Another delivery took the slot between the read and the write: read again.
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
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
      } catch (error) {
        // The lease lapsed and the slot is someone else's now: it is theirs to hand back.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
