/**
 * A webhook's `rate_limit_per_second`, kept as a generic cell rate algorithm (GCRA): one number per
 * webhook, the earliest time the next request may go (its "theoretical arrival time"). Each request
 * reserves the next slot and waits for it, so requests leave in order, evenly spaced, and a burst
 * turns into a queue in time rather than into dropped deliveries.
 *
 * Slots are spaced 10 % wider than `1 / rate`: requests leave from several delivery functions, and the
 * timers that wake them and the network that carries them add jitter of their own, which the margin
 * absorbs so that a receiver never counts more than its limit in any one second.
 */
export const RATE_LIMIT_MARGIN = 0.1;

/**
 * A request that leaves this much after its slot takes a new one instead. Later slots went to requests
 * that leave on time, so a late one would crowd them: `limit + 1` requests at slots spaced by the
 * margin span `1000 · (1 + margin)` ms, which still exceeds a second only while the first is less than
 * `1000 · margin` ms late.
 */
export const MAX_SLOT_LATENESS_MS = 1000 * RATE_LIMIT_MARGIN;

/** How often a delivery that keeps arriving late for its slot takes a new one before it sends anyway. */
export const MAX_SLOT_RESERVATIONS = 3;

export interface SlotReservation {
  /** When the reserved request may be sent, in epoch ms. */
  readonly sendAt: number;
  /** The limiter's new state: the earliest time of the next slot, in epoch ms. */
  readonly nextSlotAt: number;
}

/** The spacing of two requests to a webhook limited to `ratePerSecond`, in ms. */
export function slotIntervalMs(ratePerSecond: number): number {
  if (!(ratePerSecond > 0)) throw new RangeError(`rate must be positive; got ${ratePerSecond}`);
  return (1000 / ratePerSecond) * (1 + RATE_LIMIT_MARGIN);
}

/** Reserves the next slot after `nextSlotAt` (undefined: never used) for a request made at `now`. */
export function reserveSlot(
  nextSlotAt: number | undefined,
  now: number,
  ratePerSecond: number,
): SlotReservation {
  const sendAt = Math.max(now, nextSlotAt ?? now);
  return { sendAt, nextSlotAt: sendAt + slotIntervalMs(ratePerSecond) };
}
