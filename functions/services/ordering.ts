/**
 * Ordered delivery as the delivery function runs it (the rules are in domain/ordering.ts): before an
 * ordered webhook's delivery is sent it takes its turn, and once it has ended the next one is sent.
 * Every decision is taken on strongly consistent reads and made with conditional writes.
 */
import type { DeliveryStep } from "../domain/deliver.ts";
import type { DeliveryMessage } from "../domain/messages.ts";
import { TERMINAL_STATUSES } from "../domain/model.ts";
import { ORDER_CLAIM_LEASE_MS, placeOf, type Turn } from "../domain/ordering.ts";
import type { DeliveryOrderStore, DeliveryStore, StoredDelivery } from "../domain/ports.ts";

export interface OrderingDeps {
  readonly order: DeliveryOrderStore;
  readonly deliveries: Pick<DeliveryStore, "get">;
  /** Queues a waiting delivery whose turn it now is. */
  readonly sendNext: (delivery: StoredDelivery) => Promise<void>;
  readonly now: () => Date;
}

/** Rounds of read-then-write before a contended turn counts as not yet (the record stays due). */
const TURN_ROUNDS = 3;

const GO: Turn = { kind: "go" };

/**
 * Whether this attempt of an ordered webhook's delivery may be sent now. When the head ended without
 * being moved on (its process crashed between recording and moving), it is moved on here, so no
 * delivery waits on one that is over.
 */
export async function takeTurn(deps: OrderingDeps, message: DeliveryMessage): Promise<Turn> {
  const { tenantId, webhookId, deliveryId, attempt } = message;
  for (let round = 0; round < TURN_ROUNDS; round += 1) {
    const now = deps.now().getTime();
    const state = await deps.order.state(tenantId, webhookId);
    const place = placeOf(state, deliveryId, attempt, now);
    const claim = { deliveryId, attempt, until: now + ORDER_CLAIM_LEASE_MS, now };
    switch (place.kind) {
      case "passed":
        return (await stillToSend(deps, message)) ? GO : { kind: "wait" };
      case "held":
        return { kind: "wait", until: new Date(place.until).toISOString() };
      case "take": {
        // Queue messages arrive in any order: an earlier delivery whose message is still on its way
        // goes first, and this one waits behind it.
        const next = await deps.order.nextWaiting(tenantId, webhookId, state.last ?? "");
        // None found within the bounded read (many ended ones lie past `last`): this one goes, if it
        // is still to be sent at all.
        const first = next?.id === deliveryId || (next === undefined && (await stillToSend(deps, message)));
        if (first) {
          if (await deps.order.claim(tenantId, webhookId, claim, undefined)) return GO;
          break;
        }
        // Not waiting any more (it ended), or an earlier one is.
        if (next === undefined || next.id > deliveryId) return { kind: "wait" };
        if (await deps.order.advance(tenantId, webhookId, undefined, next.id)) await deps.sendNext(next);
        return { kind: "wait" };
      }
      case "claim":
        if (await deps.order.claim(tenantId, webhookId, claim, deliveryId)) return GO;
        break;
      case "behind": {
        const head = await deps.deliveries.get(tenantId, webhookId, place.head);
        if (head && !TERMINAL_STATUSES.includes(head.status)) {
          return { kind: "wait", ...laterThan(head.nextAttemptAt, now) };
        }
        const next = await deps.order.nextWaiting(tenantId, webhookId, place.head);
        if (next?.id === deliveryId) {
          if (await deps.order.claim(tenantId, webhookId, claim, place.head)) return GO;
          break;
        }
        if ((await deps.order.advance(tenantId, webhookId, place.head, next?.id)) && next) {
          await deps.sendNext(next);
        }
        // None found within the bounded read: with nothing in progress, the next round takes the head.
        if (next === undefined) break;
        return { kind: "wait" };
      }
    }
  }
  return { kind: "wait" };
}

/**
 * A delivery the order already passed is sent on its own, unless this attempt is already recorded or
 * the delivery ended: a late copy of a message whose delivery went on without it must not send again.
 */
async function stillToSend(deps: OrderingDeps, message: DeliveryMessage): Promise<boolean> {
  const current = await deps.deliveries.get(message.tenantId, message.webhookId, message.deliveryId);
  return (
    current !== undefined &&
    !TERMINAL_STATUSES.includes(current.status) &&
    current.attemptCount < message.attempt
  );
}

function laterThan(at: string | undefined, now: number): { readonly until?: string } {
  return at !== undefined && Date.parse(at) > now ? { until: at } : {};
}

/**
 * After an ordered webhook's delivery recorded a step: once it has ended, the head moves on to the next
 * delivery that waits, which is queued; an attempt that made no request (parked on the circuit,
 * deferred by the rate limit) hands its claim back, to be claimed again when it comes back. Both are
 * conditional on this delivery being the head, so one sent outside the order changes nothing.
 */
export async function afterOrderedStep(
  deps: OrderingDeps,
  message: DeliveryMessage,
  step: DeliveryStep,
): Promise<void> {
  const { tenantId, webhookId, deliveryId } = message;
  switch (step.kind) {
    case "delivered":
    case "failed":
    case "dead_letter": {
      const next = await deps.order.nextWaiting(tenantId, webhookId, deliveryId);
      if ((await deps.order.advance(tenantId, webhookId, deliveryId, next?.id)) && next) {
        await deps.sendNext(next);
      }
      return;
    }
    case "parked":
    case "deferred":
      await deps.order.release(tenantId, webhookId, deliveryId, message.attempt);
      return;
    default:
      return;
  }
}
