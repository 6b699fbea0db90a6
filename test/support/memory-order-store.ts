import { TERMINAL_STATUSES } from "../../functions/domain/model.ts";
import type { OrderState } from "../../functions/domain/ordering.ts";
import type { DeliveryOrderStore, StoredDelivery } from "../../functions/domain/ports.ts";

/**
 * An in-memory order record for one webhook, whose every write holds exactly the conditions the
 * DynamoDB adapter's does, over the delivery records `records` gives (read as they are at each call).
 */
export function memoryOrderStore(records: () => Iterable<StoredDelivery>): {
  readonly store: DeliveryOrderStore;
  readonly state: () => OrderState;
} {
  let state: OrderState = {};
  const lastOnly = (): OrderState => (state.last === undefined ? {} : { last: state.last });
  const store: DeliveryOrderStore = {
    async state() {
      return { ...state };
    },
    async claim(_tenantId, _webhookId, claim, expectedHead) {
      const holds =
        expectedHead === claim.deliveryId
          ? state.head === claim.deliveryId &&
            (state.claimedAttempt === undefined ||
              state.claimedAttempt < claim.attempt ||
              (state.claimedUntil ?? 0) <= claim.now)
          : expectedHead === undefined
            ? state.head === undefined && (state.last === undefined || state.last < claim.deliveryId)
            : state.head === expectedHead;
      if (!holds) return false;
      state = {
        head: claim.deliveryId,
        last: claim.deliveryId,
        claimedAttempt: claim.attempt,
        claimedUntil: claim.until,
      };
      return true;
    },
    async release(_tenantId, _webhookId, deliveryId, attempt) {
      if (state.head !== deliveryId || state.claimedAttempt !== attempt) return;
      state = { head: deliveryId, ...lastOnly() };
    },
    async advance(_tenantId, _webhookId, from, to) {
      if (from === undefined) {
        if (to === undefined) return true;
        if (state.head !== undefined || (state.last !== undefined && state.last >= to)) return false;
      } else if (state.head !== from) return false;
      state = to === undefined ? lastOnly() : { head: to, last: to };
      return true;
    },
    async nextWaiting(_tenantId, _webhookId, after) {
      return [...records()]
        .filter((record) => record.id > after && !TERMINAL_STATUSES.includes(record.status))
        .sort((a, b) => a.id.localeCompare(b.id))[0];
    },
  };
  return { store, state: () => state };
}

/** A new pending delivery of webhook `wh_1` of tenant `t1`, as the fan-out stores it. */
export function pendingDelivery(id: string, createdAt: string): StoredDelivery {
  return {
    id,
    tenantId: "t1",
    webhookId: "wh_1",
    eventId: `evt_${id}`,
    eventType: "memory.created",
    status: "pending",
    attemptCount: 0,
    createdAt,
    scheduleStart: 0,
    parked: false,
    redrives: 0,
  };
}
