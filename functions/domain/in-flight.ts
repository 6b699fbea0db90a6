/**
 * A webhook's cap on deliveries in flight (`maxDeliveriesInFlightPerWebhook`): a slow endpoint waits
 * its turn instead of holding the delivery concurrency every tenant shares. Each delivery leases one of
 * the webhook's `limit` slots before it sends and hands it back after; a lease expires on its own, so
 * a function that crashed mid-send holds its slot no longer than it could have run. That is shorter
 * than the queues' visibility timeout: when the messages of a crashed function come back, the slots
 * it held are free for them.
 */
import { DELIVERY_FUNCTION_TIMEOUT_SECONDS } from "../shared/limits.ts";

export const IN_FLIGHT_LEASE_MS = DELIVERY_FUNCTION_TIMEOUT_SECONDS * 1000;

/**
 * How long a delivery that found its webhook's slots taken waits in the queue before it tries again:
 * not an attempt, so it costs the delivery nothing of its schedule.
 */
export const IN_FLIGHT_WAIT_SECONDS = 1;

/**
 * The first of `limit` slots that is free at `now`: never leased, or its lease expired. `leases` holds
 * each slot's lease expiry in epoch ms (undefined: free); undefined when every slot is taken.
 */
export function freeSlot(
  leases: readonly (number | undefined)[],
  limit: number,
  now: number,
): number | undefined {
  for (let slot = 0; slot < limit; slot += 1) {
    const expiresAt = leases[slot];
    if (expiresAt === undefined || expiresAt <= now) return slot;
  }
  return undefined;
}

/**
 * How many items a webhook's slots are split over, each alone in its partition: every delivery writes
 * its slot's item twice (claim and release), and one partition key takes at most 1,000 write units a
 * second, so one item would cap a webhook at 500 deliveries a second.
 */
export const IN_FLIGHT_SHARDS = 4;

/** How many items hold `limit` slots: never an empty one, so a webhook of 2 slots has 2 items. */
export function inFlightItems(limit: number): number {
  return Math.max(1, Math.min(IN_FLIGHT_SHARDS, limit));
}

/**
 * The item slot `slot` lives in. It does not depend on the limit: below `IN_FLIGHT_SHARDS` slots every
 * slot is its own item's first, so a release, which does not know the limit, finds the item again.
 */
export function itemOfSlot(slot: number): number {
  return slot % IN_FLIGHT_SHARDS;
}

/** The slots of `limit` that live in item `item`, lowest first. */
export function slotsOfItem(item: number, limit: number): number[] {
  const slots: number[] = [];
  for (let slot = item; slot < limit; slot += IN_FLIGHT_SHARDS) slots.push(slot);
  return slots;
}

/**
 * The items a claim visits, each once: from one chosen at random (`random` in [0, 1)), so claims spread
 * over the items, then on in turn, so a claim answers "full" only when every item is.
 */
export function claimOrder(limit: number, random: () => number): number[] {
  const items = inFlightItems(limit);
  const first = Math.min(items - 1, Math.floor(random() * items));
  return Array.from({ length: items }, (_, step) => (first + step) % items);
}
