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
