/**
 * A webhook's `rate_limit_per_second`, kept as a generic cell rate algorithm (GCRA): one number per
 * webhook, the earliest time the next request may go (its "theoretical arrival time"). Each request
 * reserves the next slot and waits for it, so requests leave in order, evenly spaced, and a burst
 * turns into a queue in time rather than into dropped deliveries.
 *
 * Slots are spaced 20 % wider than `1 / rate`: `limit + 1` requests then span `1000 · 1.2` ms, so a
 * receiver counts more than its limit in a second only if one request arrives 200 ms later, against its
 * slot, than one of the `limit` after it. Half of that is for leaving late (the timers that wake a
 * waiting delivery run late on a busy instance), half for the way there (the network, the receiver's
 * own scheduling), which no sender controls. With 10 %, a run on a busy machine counted 21 requests in
 * a second at a limit of 20.
 */
export const RATE_LIMIT_MARGIN = 0.2;

/**
 * A request that leaves this much after its slot takes a new one instead, since later slots went to
 * requests that leave on time: half the margin, the other half being left for the way to the receiver.
 */
export const MAX_SLOT_LATENESS_MS = (1000 * RATE_LIMIT_MARGIN) / 2;

/**
 * How often a delivery that keeps waking late for its slot takes a new one before it sends anyway: an
 * instance that busy would otherwise hold its deliveries back for as long as it stays busy.
 */
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

/**
 * A tenant's publish rate: a token bucket of `burst` tokens refilled at `ratePerSecond`, kept as GCRA
 * like the webhooks' limits: one number per tenant, the time at which the bucket would be full again
 * (its theoretical arrival time, `tat`). A publish is admitted while the bucket holds a token, that is
 * while `tat` is at most `(burst − 1)` intervals ahead of now; it then moves `tat` on by one interval.
 * A refused publish moves nothing, so a tenant that keeps retrying too early does not lock itself out.
 */
export interface TenantBucket {
  /** One token's worth of time, in ms. */
  readonly intervalMs: number;
  /** How far ahead of now `tat` may be for a publish to be admitted, in ms. */
  readonly toleranceMs: number;
}

export function tenantBucket(ratePerSecond: number, burst: number): TenantBucket {
  if (!(ratePerSecond > 0) || !(burst >= 1)) {
    throw new RangeError(`rate and burst must be positive; got ${ratePerSecond} and ${burst}`);
  }
  const intervalMs = 1000 / ratePerSecond;
  return { intervalMs, toleranceMs: (burst - 1) * intervalMs };
}

/** A tenant's bucket is split in at most this many, so that its publishes spread over as many items. */
export const MAX_PUBLISH_BUCKET_SHARDS = 16;

/** Each part of a split bucket takes at least this many publishes a second. */
const MIN_SHARD_RATE_PER_SECOND = 50;

/**
 * How many equal parts a tenant's bucket is split into, each with its share of the rate and the
 * burst, a publish taking a token from one part at random. One bucket in one item takes a write per
 * publish, which caps a tenant at the 1,000 writes a second DynamoDB gives one item; parts of at least
 * 50 publishes a second each keep a small limit exact (a rate under 100 a second is one bucket), and a
 * publish refused by its part while another still holds tokens is the price above that.
 */
export function publishBucketShards(ratePerSecond: number, burst: number): number {
  const byRate = Math.floor(ratePerSecond / MIN_SHARD_RATE_PER_SECOND);
  return Math.max(1, Math.min(MAX_PUBLISH_BUCKET_SHARDS, byRate, Math.floor(burst)));
}

export type PublishAdmission =
  | { readonly admitted: true; readonly tat: number }
  | { readonly admitted: false; readonly retryAfterMs: number };

/** Whether a publish at `now` is admitted by a bucket at `tat` (undefined: never used), and its new state. */
export function admitPublish(bucket: TenantBucket, tat: number | undefined, now: number): PublishAdmission {
  const from = Math.max(now, tat ?? now);
  if (from - now > bucket.toleranceMs)
    return { admitted: false, retryAfterMs: from - now - bucket.toleranceMs };
  return { admitted: true, tat: from + bucket.intervalMs };
}

/** `Retry-After` in whole seconds for a wait of `ms`: rounded up, and never 0, which would invite a spin. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
