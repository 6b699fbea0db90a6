import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import { TERMINAL_STATUSES } from "../../functions/domain/model.ts";
import { ORDER_CLAIM_LEASE_MS, type OrderState, placeOf } from "../../functions/domain/ordering.ts";
import type { StoredDelivery } from "../../functions/domain/ports.ts";
import { afterOrderedStep, type OrderingDeps, takeTurn } from "../../functions/services/ordering.ts";
import { memoryOrderStore, pendingDelivery } from "../support/memory-order-store.ts";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");

describe("placeOf", () => {
  const cases: [string, OrderState, string, number, ReturnType<typeof placeOf>][] = [
    ["nothing in progress, never ordered: takes the head", {}, "msg_B", 1, { kind: "take" }],
    ["nothing in progress, past the last head: takes it", { last: "msg_A" }, "msg_B", 1, { kind: "take" }],
    [
      "nothing in progress, at or before the last head: passed",
      { last: "msg_B" },
      "msg_B",
      1,
      { kind: "passed" },
    ],
    ["the head, unclaimed: claims", { head: "msg_B", last: "msg_B" }, "msg_B", 1, { kind: "claim" }],
    [
      "the head, an earlier attempt claimed: claims the next",
      { head: "msg_B", last: "msg_B", claimedAttempt: 1, claimedUntil: NOW + 1000 },
      "msg_B",
      2,
      { kind: "claim" },
    ],
    [
      "the head, this attempt claimed by a live process: held",
      { head: "msg_B", last: "msg_B", claimedAttempt: 2, claimedUntil: NOW + 1000 },
      "msg_B",
      2,
      { kind: "held", until: NOW + 1000 },
    ],
    [
      "the head, this attempt's claim lapsed (its process died): claims",
      { head: "msg_B", last: "msg_B", claimedAttempt: 2, claimedUntil: NOW },
      "msg_B",
      2,
      { kind: "claim" },
    ],
    [
      "after the head: behind it",
      { head: "msg_B", last: "msg_B" },
      "msg_C",
      1,
      { kind: "behind", head: "msg_B" },
    ],
    ["before the head: passed", { head: "msg_B", last: "msg_B" }, "msg_A", 1, { kind: "passed" }],
  ];
  it.each(cases)("%s", (_name, state, deliveryId, attempt, expected) => {
    expect(placeOf(state, deliveryId, attempt, NOW)).toEqual(expected);
  });
});

/**
 * An in-memory order record and delivery records that keep the stores' contracts: every order write is
 * conditional exactly as the DynamoDB adapter's, and a step is recorded only at the attempt expected.
 */
function orderWorld(ids: readonly string[]) {
  let clock = NOW;
  const records = new Map<string, StoredDelivery>(
    ids.map((id) => [id, pendingDelivery(id, new Date(NOW).toISOString())]),
  );
  const resumed: DeliveryMessage[] = [];
  const order = memoryOrderStore(() => records.values());
  const deps: OrderingDeps = {
    order: order.store,
    deliveries: { get: async (_t, _w, id) => records.get(id) },
    sendNext: async (delivery) => {
      resumed.push(message(delivery.id, delivery.attemptCount + 1, true));
    },
    now: () => new Date(clock),
  };
  return {
    deps,
    records,
    resumed,
    state: order.state,
    tick: (ms: number) => {
      clock += ms;
    },
    /** Records an attempt's outcome as recordStep would: only at the attempt expected. */
    record(deliveryId: string, attempt: number, ok: boolean): boolean {
      const record = records.get(deliveryId);
      if (!record || TERMINAL_STATUSES.includes(record.status) || record.attemptCount !== attempt - 1)
        return false;
      records.set(deliveryId, { ...record, attemptCount: attempt, status: ok ? "delivered" : "retrying" });
      return true;
    },
  };
}

function message(deliveryId: string, attempt: number, resumed = false): DeliveryMessage {
  return {
    tenantId: "t1",
    webhookId: "wh_1",
    deliveryId,
    eventId: `evt_${deliveryId}`,
    eventType: "memory.created",
    acceptedAt: new Date(NOW).toISOString(),
    attempt,
    scheduleStart: 0,
    ...(resumed ? { resumed } : {}),
  };
}

describe("takeTurn and afterOrderedStep", () => {
  it("lets the first delivery go and holds the next until the first has ended, then queues it", async () => {
    const world = orderWorld(["msg_1", "msg_2"]);
    expect(await takeTurn(world.deps, message("msg_1", 1))).toEqual({ kind: "go" });
    expect((await takeTurn(world.deps, message("msg_2", 1))).kind).toBe("wait");
    // msg_1 fails once: msg_2 still waits behind its retry.
    world.record("msg_1", 1, false);
    await afterOrderedStep(world.deps, message("msg_1", 1), retryStep());
    expect((await takeTurn(world.deps, message("msg_2", 1))).kind).toBe("wait");
    expect(await takeTurn(world.deps, message("msg_1", 2))).toEqual({ kind: "go" });
    world.record("msg_1", 2, true);
    await afterOrderedStep(world.deps, message("msg_1", 2), deliveredStep(2));
    expect(world.resumed.map((next) => next.deliveryId)).toEqual(["msg_2"]);
    expect(await takeTurn(world.deps, message("msg_2", 1, true))).toEqual({ kind: "go" });
  });

  it("never lets two copies of one attempt both go while the first is live", async () => {
    const world = orderWorld(["msg_1"]);
    expect(await takeTurn(world.deps, message("msg_1", 1))).toEqual({ kind: "go" });
    expect((await takeTurn(world.deps, message("msg_1", 1))).kind).toBe("wait");
    // Past the lease the first copy's function is surely gone: the attempt may be made again.
    world.tick(ORDER_CLAIM_LEASE_MS);
    expect(await takeTurn(world.deps, message("msg_1", 1))).toEqual({ kind: "go" });
  });

  it("moves on past a head that ended without moving it (its process crashed in between)", async () => {
    const world = orderWorld(["msg_1", "msg_2", "msg_3"]);
    await takeTurn(world.deps, message("msg_1", 1));
    world.record("msg_1", 1, true);
    // No afterOrderedStep: the crash. msg_3 comes first (re-driven), queues msg_2 and waits.
    expect((await takeTurn(world.deps, message("msg_3", 1))).kind).toBe("wait");
    expect(world.state().head).toBe("msg_2");
    expect(world.resumed.map((next) => next.deliveryId)).toEqual(["msg_2"]);
  });

  it("sends a delivery the order passed (a manual retry) on its own, and a late copy of an ended one not at all", async () => {
    const world = orderWorld(["msg_1", "msg_2"]);
    await takeTurn(world.deps, message("msg_1", 1));
    world.record("msg_1", 1, true);
    await afterOrderedStep(world.deps, message("msg_1", 1), deliveredStep(1));
    // A late copy of msg_1's first message: already delivered, not sent again.
    expect((await takeTurn(world.deps, message("msg_1", 1))).kind).toBe("wait");
    // Re-opened by hand: it goes at once, and msg_2 stays the head.
    world.records.set("msg_1", { ...(world.records.get("msg_1") as StoredDelivery), status: "pending" });
    expect(await takeTurn(world.deps, message("msg_1", 2, true))).toEqual({ kind: "go" });
    expect(world.state().head).toBe("msg_2");
  });

  it("hands back the claim of an attempt that made no request, so its return claims it again", async () => {
    const world = orderWorld(["msg_1"]);
    await takeTurn(world.deps, message("msg_1", 1));
    await afterOrderedStep(world.deps, message("msg_1", 1), {
      kind: "parked",
      until: new Date(NOW).toISOString(),
    });
    expect(await takeTurn(world.deps, message("msg_1", 1, true))).toEqual({ kind: "go" });
  });

  it("in any interleaving of arrivals, copies and failures, sends one at a time in id order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        async (count, choices) => {
          const ids = Array.from({ length: count }, (_, index) => `msg_${index}`);
          const world = orderWorld(ids);
          // Messages waiting to arrive (first attempts and copies), and attempts under way.
          const inbox: DeliveryMessage[] = ids.flatMap((id) => [message(id, 1), message(id, 1)]);
          const inFlight: DeliveryMessage[] = [];
          const sent: string[] = [];
          let maxInFlight = 0;
          let choice = 0;
          const pick = (length: number) => (choices[choice++ % choices.length] ?? 0) % length;
          for (
            let step = 0;
            step < 400 && (inbox.length > 0 || inFlight.length > 0 || world.resumed.length > 0);
            step++
          ) {
            inbox.push(...world.resumed.splice(0));
            const finish = inFlight.length > 0 && (inbox.length === 0 || pick(2) === 0);
            if (finish) {
              const [attempt] = inFlight.splice(pick(inFlight.length), 1);
              if (!attempt) continue;
              // Each delivery fails its first attempt once in a while; the retry comes back as a message.
              const ok = attempt.attempt > 1 || pick(3) !== 0;
              if (!world.record(attempt.deliveryId, attempt.attempt, ok)) continue;
              await afterOrderedStep(world.deps, attempt, ok ? deliveredStep(attempt.attempt) : retryStep());
              if (!ok) inbox.push(message(attempt.deliveryId, attempt.attempt + 1));
              continue;
            }
            const [arrived] = inbox.splice(pick(inbox.length), 1);
            if (!arrived) continue;
            const turn = await takeTurn(world.deps, arrived);
            if (turn.kind === "go") {
              sent.push(arrived.deliveryId);
              inFlight.push(arrived);
              maxInFlight = Math.max(maxInFlight, inFlight.length);
            }
          }
          expect(maxInFlight).toBeLessThanOrEqual(1);
          const firstSends = sent.filter((id, index) => sent.indexOf(id) === index);
          expect(firstSends).toEqual(ids);
          expect([...world.records.values()].every((record) => record.status === "delivered")).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

function deliveredStep(attempt: number) {
  return {
    kind: "delivered" as const,
    attempt: { attempt, at: new Date(NOW).toISOString(), durationMs: 1, responseBody: "" },
  };
}

function retryStep() {
  return {
    kind: "retry" as const,
    attempt: { attempt: 1, at: new Date(NOW).toISOString(), durationMs: 1, responseBody: "" },
    nextAttemptAt: new Date(NOW + 1000).toISOString(),
    waitSeconds: 1,
  };
}
