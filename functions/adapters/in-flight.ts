import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { claimOrder, freeSlot, IN_FLIGHT_LEASE_MS, itemOfSlot, slotsOfItem } from "../domain/in-flight.ts";
import type { InFlightLease, InFlightSlots } from "../domain/ports.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";
import { remember } from "./lru.ts";

/** Claims lost to another delivery (read, then refused) before a contended webhook counts as full. */
const CLAIM_ROUNDS = 3;

/** Webhooks whose likely free slot an instance remembers; past it, the least recently used go. */
const REMEMBERED_WEBHOOKS = 5_000;

const slotName = (slot: number) => `slot_${slot}`;

/**
 * Each webhook's in-flight slots, split over up to `IN_FLIGHT_SHARDS` items, each alone in its partition
 * (slot n lives in item n % `IN_FLIGHT_SHARDS`): attribute `slot_<n>` holds the expiry of the lease on
 * slot n. A claim takes a slot with a write conditional on its being free. The instance
 * remembers, per webhook, a slot it last saw free (the one it handed back, or another free one its last
 * read showed) and tries that one first, without a read: at a webhook below its cap, the common case, a
 * claim is one write. When that write is refused, or nothing is remembered, the claim reads an item
 * chosen at random and takes a free slot of it, moving on to the next item while the one it read has
 * none; a full webhook costs one read per item and no write.
 *
 * Before the split a webhook's slots were one item, `TENANT#<t>#INFLIGHT#<w>` with no shard: leases taken
 * there by the functions a deploy replaces are not seen here, so for up to `IN_FLIGHT_LEASE_MS` after a
 * deploy a webhook may have up to twice its cap in flight, until those leases lapse.
 */
export function dynamoInFlightSlots(
  client: DynamoDBDocumentClient,
  tableName: string,
  random: () => number = Math.random,
): InFlightSlots {
  const key = (tenantId: string, webhookId: string, item: number) => ({
    [TableKey.partition]: Keys.inFlight(tenantId, webhookId, item),
    [TableKey.sort]: Keys.inFlightSort,
  });
  const likelyFree = new Map<string, number>();
  const webhookKey = (tenantId: string, webhookId: string) => JSON.stringify([tenantId, webhookId]);

  async function take(
    tenantId: string,
    webhookId: string,
    slot: number,
    now: number,
  ): Promise<InFlightLease | undefined> {
    const expiresAt = now + IN_FLIGHT_LEASE_MS;
    try {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(tenantId, webhookId, itemOfSlot(slot)),
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

  /** Reads one item and takes a free slot of it: "full" when it has none, "lost" when another took it first. */
  async function claimIn(
    tenantId: string,
    webhookId: string,
    item: number,
    limit: number,
    now: number,
  ): Promise<InFlightLease | "full" | "lost"> {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: key(tenantId, webhookId, item), ConsistentRead: true }),
    );
    const slots = slotsOfItem(item, limit);
    const leases = slots.map((slot) => {
      const value = Item?.[slotName(slot)];
      return typeof value === "number" ? value : undefined;
    });
    const chosen = freeSlot(leases, slots.length, now);
    const slot = chosen === undefined ? undefined : slots[chosen];
    if (slot === undefined) return "full";
    const lease = await take(tenantId, webhookId, slot, now);
    if (!lease) return "lost";
    const another = freeSlot(
      leases.map((expiresAt, index) => (index === chosen ? Number.POSITIVE_INFINITY : expiresAt)),
      slots.length,
      now,
    );
    const anotherSlot = another === undefined ? undefined : slots[another];
    if (anotherSlot !== undefined) {
      remember(likelyFree, webhookKey(tenantId, webhookId), anotherSlot, REMEMBERED_WEBHOOKS);
    }
    return lease;
  }

  return {
    async claim(tenantId, webhookId, limit, now) {
      const remembered = webhookKey(tenantId, webhookId);
      const guess = likelyFree.get(remembered);
      likelyFree.delete(remembered);
      if (guess !== undefined && guess < limit) {
        const lease = await take(tenantId, webhookId, guess, now);
        if (lease) return lease;
      }
      let lost = 0;
      for (const item of claimOrder(limit, random)) {
        let outcome = await claimIn(tenantId, webhookId, item, limit, now);
        // A lost race may leave the item other free slots: read it again, a bounded number of times in all.
        while (outcome === "lost") {
          lost += 1;
          if (lost === CLAIM_ROUNDS) return undefined;
          outcome = await claimIn(tenantId, webhookId, item, limit, now);
        }
        if (outcome !== "full") return outcome;
      }
      return undefined;
    },
    async release(lease) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(lease.tenantId, lease.webhookId, itemOfSlot(lease.slot)),
            UpdateExpression: "REMOVE #slot",
            ConditionExpression: "#slot = :expiresAt",
            ExpressionAttributeNames: { "#slot": slotName(lease.slot) },
            ExpressionAttributeValues: { ":expiresAt": lease.expiresAt },
          }),
        );
        remember(likelyFree, webhookKey(lease.tenantId, lease.webhookId), lease.slot, REMEMBERED_WEBHOOKS);
      } catch (error) {
        // The lease lapsed and the slot is someone else's now: it is theirs to hand back.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
