/**
 * Ordered delivery (a webhook's `ordering: "fifo"`): its deliveries are attempted one at a time, in
 * the order of their ids, which start with their event's acceptance time (ids.ts), so the order is the
 * order of acceptance (events accepted in the same millisecond go in the order of their delivery ids).
 *
 * Each ordered webhook has one order record: the `head`, the one delivery that may be attempted now;
 * `last`, the furthest the head has been (a delivery at or before it was passed by the order); and the
 * claim of the attempt in progress. Every change to it is a write conditional on what was read, so two
 * processes never both move the head or both send one attempt.
 */
import { MAX_ATTEMPT_TIMEOUT_SECONDS } from "../shared/limits.ts";

export interface OrderState {
  /** The delivery whose turn it is; absent when the webhook has nothing in progress. */
  readonly head?: string;
  /** The furthest delivery the head has reached; never moves back. */
  readonly last?: string;
  /** The attempt of the head that a process is making, and until when (epoch ms) its claim holds. */
  readonly claimedAttempt?: number;
  readonly claimedUntil?: number;
}

/**
 * How long a claim on an attempt holds: the delivery function's timeout (the longest attempt and ten
 * seconds) and a margin, so a function that crashed mid-send holds the head no longer than that, and a
 * live one is never overtaken by a copy of its own message.
 */
export const ORDER_CLAIM_LEASE_MS = (MAX_ATTEMPT_TIMEOUT_SECONDS + 15) * 1000;

/** Where one delivery's attempt stands in its webhook's order. */
export type Place =
  /** No delivery is in progress and this one is past `last`: it takes the head. */
  | { readonly kind: "take" }
  /** It is the head and this attempt is not claimed: it claims the attempt. */
  | { readonly kind: "claim" }
  /** It is the head and another process holds this attempt's claim, until `until`. */
  | { readonly kind: "held"; readonly until: number }
  /**
   * The order already went past it (a manual retry, a recovery or a redrive of an earlier delivery, or
   * one accepted before the webhook was ordered): it is sent on its own, neither waiting nor holding.
   */
  | { readonly kind: "passed" }
  /** Another delivery, earlier in the order, is the head: this one waits unless that one has ended. */
  | { readonly kind: "behind"; readonly head: string };

/** Where the attempt `attempt` of delivery `deliveryId` stands, given the order as read at `now`. */
export function placeOf(state: OrderState, deliveryId: string, attempt: number, now: number): Place {
  if (state.head === deliveryId) {
    const claimed =
      state.claimedAttempt !== undefined &&
      state.claimedAttempt >= attempt &&
      state.claimedUntil !== undefined &&
      state.claimedUntil > now;
    return claimed ? { kind: "held", until: state.claimedUntil ?? now } : { kind: "claim" };
  }
  if (state.head !== undefined) {
    return deliveryId < state.head ? { kind: "passed" } : { kind: "behind", head: state.head };
  }
  return state.last !== undefined && deliveryId <= state.last ? { kind: "passed" } : { kind: "take" };
}

/** What a delivery's turn comes to: it may be sent now, or it waits (its record says until about when). */
export type Turn = { readonly kind: "go" } | { readonly kind: "wait"; readonly until?: string };
