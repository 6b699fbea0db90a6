import { Metrics } from "@aws-lambda-powertools/metrics";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import type { OutboundResult } from "../../functions/domain/deliver.ts";
import {
  claimOrder,
  freeSlot,
  IN_FLIGHT_LEASE_MS,
  IN_FLIGHT_SHARDS,
  inFlightItems,
  itemOfSlot,
  slotsOfItem,
} from "../../functions/domain/in-flight.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import type { Webhook } from "../../functions/domain/model.ts";
import type { DeliveryStore, InFlightLease, InFlightSlots } from "../../functions/domain/ports.ts";
import { type DeliveryServiceDeps, processDelivery } from "../../functions/services/delivery-step.ts";

const T0 = Date.parse("2026-11-25T12:00:00.000Z");

describe("a webhook's in-flight slots", () => {
  it("hands out a slot never leased or whose lease lapsed, and none when all are held", () => {
    expect(freeSlot([], 2, T0)).toBe(0);
    expect(freeSlot([T0 + 1, undefined], 2, T0)).toBe(1);
    expect(freeSlot([T0 + 1, T0 + 5], 2, T0)).toBeUndefined();
    expect(freeSlot([T0 + 1, T0 - 1], 2, T0)).toBe(1);
    // A slot past a lowered limit does not count.
    expect(freeSlot([T0 + 1, T0 + 1, undefined], 2, T0)).toBeUndefined();
  });
});

describe("a webhook's in-flight slots split over items", () => {
  it("splits the slots over up to four items, never leaving one empty", () => {
    expect(IN_FLIGHT_SHARDS).toBe(4);
    expect([1, 2, 3, 4, 10, 1_000].map(inFlightItems)).toEqual([1, 2, 3, 4, 4, 4]);
    // The default cap of 10: items 0 and 1 hold three slots, items 2 and 3 two.
    expect([0, 1, 2, 3].map((item) => slotsOfItem(item, 10))).toEqual([
      [0, 4, 8],
      [1, 5, 9],
      [2, 6],
      [3, 7],
    ]);
    expect(slotsOfItem(1, 2)).toEqual([1]);
  });

  it("keeps each of the cap's slots in exactly one item, the one a release finds from the slot alone", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), (limit) => {
        const items = Array.from({ length: inFlightItems(limit) }, (_, item) => slotsOfItem(item, limit));
        expect(items.every((slots) => slots.length > 0)).toBe(true);
        expect(items.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: limit }, (_, slot) => slot));
        items.forEach((slots, item) => {
          for (const slot of slots) expect(itemOfSlot(slot)).toBe(item);
        });
      }),
    );
  });

  it("visits every item once, from the one the random draw picks", () => {
    expect(claimOrder(10, () => 0)).toEqual([0, 1, 2, 3]);
    expect(claimOrder(10, () => 0.6)).toEqual([2, 3, 0, 1]);
    expect(claimOrder(10, () => 0.999_999)).toEqual([3, 0, 1, 2]);
    expect(claimOrder(2, () => 0.6)).toEqual([1, 0]);
    expect(claimOrder(1, () => 0.9)).toEqual([0]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (limit, draw) => {
          const order = claimOrder(limit, () => draw);
          expect([...order].sort((a, b) => a - b)).toEqual(
            Array.from({ length: inFlightItems(limit) }, (_, item) => item),
          );
          expect(order[0]).toBe(Math.floor(draw * inFlightItems(limit)));
        },
      ),
    );
  });
});

/** In-memory slots that keep the adapter's contract: a lease holds until released or lapsed. */
function memorySlots(): InFlightSlots & { held: () => number } {
  const leases = new Map<string, (number | undefined)[]>();
  return {
    async claim(tenantId, webhookId, limit, now) {
      const key = `${tenantId}/${webhookId}`;
      const slots = leases.get(key) ?? [];
      const slot = freeSlot(slots, limit, now);
      if (slot === undefined) return undefined;
      slots[slot] = now + IN_FLIGHT_LEASE_MS;
      leases.set(key, slots);
      return { tenantId, webhookId, slot, expiresAt: now + IN_FLIGHT_LEASE_MS };
    },
    async release(lease: InFlightLease) {
      const slots = leases.get(`${lease.tenantId}/${lease.webhookId}`) ?? [];
      if (slots[lease.slot] === lease.expiresAt) slots[lease.slot] = undefined;
    },
    held: () => [...leases.values()].flat().filter((expiry) => expiry !== undefined).length,
  };
}

function setup(send: (url: string) => Promise<OutboundResult>) {
  const webhook = (id: string): Webhook => ({
    id,
    tenantId: "t1",
    url: `https://receiver.example/${id}`,
    eventTypes: ["*"],
    description: "",
    active: true,
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    circuit: CLOSED_CIRCUIT,
  });
  const slots = memorySlots();
  const recorded: string[] = [];
  const sentLater: { message: DeliveryMessage; delaySeconds: number }[] = [];
  const unused = async (): Promise<never> => {
    throw new Error("not used by this test");
  };
  const deliveries: Partial<DeliveryStore> = {
    recordStep: async (message) => {
      recorded.push(message.deliveryId);
      return true;
    },
  };
  const deps: DeliveryServiceDeps = {
    ports: {
      webhook: async (_tenantId, webhookId) => webhook(webhookId),
      eventPayload: async () => "{}",
      claimProbe: async () => true,
      olderWaiting: async () => false,
      send: (request) => send(request.url),
      reserveSlot: async () => T0,
      maxSlotWaitMs: 0,
      sleep: async () => {},
      now: () => new Date(T0),
      random: () => 0.5,
      timeoutMs: 10_000,
      userAgent: "Hookline/test",
      defaultSchedule: [1, 5],
      circuitPolicy: { failureThreshold: 5, cooldownSeconds: 300 },
    },
    deliveries: deliveries as DeliveryStore,
    circuits: { saveCircuit: async () => true, deactivate: unused },
    queue: { enqueue: unused },
    sendProbe: unused,
    retrySlots: {
      join: unused,
      release: () => {
        throw new Error("not used");
      },
    },
    startRetryRun: unused,
    sendToDeadLetterQueue: unused,
    sendLater: async (message, delaySeconds) => {
      sentLater.push({ message, delaySeconds });
    },
    deliveryKey: (message) => ({ pk: message.deliveryId, sk: message.deliveryId }),
    metrics: new Metrics({ namespace: "HooklineTest" }),
    log: { info: () => {}, warn: () => {}, error: () => {} },
    inFlight: { slots, limit: 2 },
  };
  const message = (webhookId: string, n: number): DeliveryMessage => ({
    tenantId: "t1",
    webhookId,
    deliveryId: `dlv_${webhookId}_${n}`,
    eventId: `evt_${n}`,
    eventType: "memory.created",
    acceptedAt: new Date(T0).toISOString(),
    attempt: 1,
    scheduleStart: 0,
    payload: "{}",
  });
  return { deps, slots, recorded, sentLater, message };
}

describe("the cap on a webhook's deliveries in flight", () => {
  it("sends at most the cap to a slow webhook at once; the rest wait in the queue, unrecorded, while another webhook's go out", async () => {
    const answered: (() => void)[] = [];
    const sentTo: string[] = [];
    const world = setup((url) => {
      sentTo.push(url);
      if (url.endsWith("/slow"))
        return new Promise((resolve) =>
          answered.push(() => resolve({ statusCode: 200, responseBody: "", durationMs: 5000 })),
        );
      return Promise.resolve({ statusCode: 200, responseBody: "", durationMs: 5 });
    });
    const slow = Array.from({ length: 5 }, (_, n) => processDelivery(world.deps, world.message("slow", n)));
    // One after another: the fast endpoint never has more than one in flight.
    for (let n = 0; n < 5; n += 1) await processDelivery(world.deps, world.message("fast", n));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sentTo.filter((url) => url.endsWith("/slow"))).toHaveLength(2);
    expect(sentTo.filter((url) => url.endsWith("/fast"))).toHaveLength(5);
    expect(world.sentLater.map(({ message, delaySeconds }) => [message.deliveryId, delaySeconds])).toEqual([
      ["dlv_slow_2", 1],
      ["dlv_slow_3", 1],
      ["dlv_slow_4", 1],
    ]);
    expect(world.recorded.filter((id) => id.startsWith("dlv_slow"))).toEqual([]);

    for (const answer of answered) answer();
    await Promise.all(slow);
    expect(world.recorded.filter((id) => id.startsWith("dlv_slow")).sort()).toEqual([
      "dlv_slow_0",
      "dlv_slow_1",
    ]);
    expect(world.slots.held()).toBe(0);
  });

  it("hands the slot back when the send throws", async () => {
    const world = setup(() => Promise.reject(new Error("socket exploded")));
    await processDelivery(world.deps, world.message("boom", 0)).catch(() => undefined);
    expect(world.slots.held()).toBe(0);
  });

  it("a retry waits for a slot as a first attempt does: the same attempt, back in its lane", async () => {
    const world = setup(() => new Promise(() => {}));
    void processDelivery(world.deps, world.message("slow", 0));
    void processDelivery(world.deps, world.message("slow", 1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await processDelivery(world.deps, { ...world.message("slow", 2), attempt: 3 });
    expect(world.sentLater).toEqual([
      { message: expect.objectContaining({ deliveryId: "dlv_slow_2", attempt: 3 }), delaySeconds: 1 },
    ]);
    expect(world.recorded).toEqual([]);
  });
});
