import { Metrics } from "@aws-lambda-powertools/metrics";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { deliveryKey } from "../../functions/adapters/delivery-store.ts";
import { type Circuit, CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import type { OutboundResult } from "../../functions/domain/deliver.ts";
import type { DeadLetterMessage, DeliveryMessage, ProbeMessage } from "../../functions/domain/messages.ts";
import { TERMINAL_STATUSES, type Webhook } from "../../functions/domain/model.ts";
import type { CircuitStore, DeliveryStore, StoredDelivery } from "../../functions/domain/ports.ts";
import type { RetrySlot } from "../../functions/domain/retry-slot.ts";
import {
  type DeliveryServiceDeps,
  orderingDeps,
  processDelivery,
  processProbe,
  releaseRetrySlot,
} from "../../functions/services/delivery-step.ts";
import { takeTurn } from "../../functions/services/ordering.ts";
import { MetricName, retryRunName } from "../../functions/shared/names.ts";
import { memoryOrderStore, pendingDelivery } from "../support/memory-order-store.ts";

const T0 = Date.parse("2026-11-25T12:00:00.000Z");
const FIRST_WAIT = 1;
const SECOND_WAIT = 5;
const SCHEDULE = [FIRST_WAIT, SECOND_WAIT, 30];
const POLICY = { failureThreshold: 3, cooldownSeconds: 300 };

type Outcome = "2xx" | "5xx" | "timeout" | "429" | "410" | "4xx";

const ANSWERS: Record<Outcome, OutboundResult> = {
  "2xx": { statusCode: 200, responseBody: "ok", durationMs: 12 },
  "5xx": { statusCode: 503, responseBody: "busy", durationMs: 15 },
  timeout: { responseBody: "", durationMs: 10_000, error: "timed out after 10000 ms" },
  "429": { statusCode: 429, responseBody: "slow down", durationMs: 9 },
  "410": { statusCode: 410, responseBody: "gone", durationMs: 8 },
  "4xx": { statusCode: 400, responseBody: "bad", durationMs: 7 },
};

interface Scheduled {
  readonly dueAt: number;
  readonly run: () => Promise<void>;
}

interface WorldOptions {
  readonly outcomes?: readonly Outcome[];
  readonly schedule?: readonly number[];
  readonly policy?: typeof POLICY;
  readonly circuit?: Circuit;
  /** Another process's write that lands just before each of this process's circuit writes. */
  readonly interfere?: (stored: Circuit, round: number) => Circuit | undefined;
  /** The webhook has `ordering: "fifo"`, with an in-memory order record. */
  readonly ordered?: boolean;
  /** How far behind the table the parked index is read, as a GSI may be (0: it is current). */
  readonly indexLagSeconds?: number;
}

/**
 * In-memory ports that keep the stores' contracts: a step is recorded only while the delivery is
 * pending or retrying and holds the attempt count it expects, circuits are written only at the
 * version that was read, a parked delivery is taken once. Queue, workflow and probe sends are put on
 * an agenda that `drain` runs in time order, as SQS and Step Functions would.
 */
function world(options: WorldOptions = {}) {
  let clock = T0;
  const outcomes = [...(options.outcomes ?? [])];
  let webhook: Webhook = {
    id: "wh_1",
    tenantId: "t1",
    url: "https://receiver.example/hook",
    eventTypes: ["*"],
    description: "",
    active: true,
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    circuit: options.circuit ?? CLOSED_CIRCUIT,
    ...(options.ordered ? { ordering: "fifo" as const } : {}),
  };
  const records = new Map<string, StoredDelivery>();
  const sent: string[] = [];
  /** Each delivery put in a retry slot, with the slot. */
  const retriesStarted: { message: DeliveryMessage; slot: RetrySlot }[] = [];
  const slots = new Map<string, { members: DeliveryMessage[]; released: boolean; running: boolean }>();
  const slotOf = (slot: RetrySlot) => {
    const name = retryRunName(slot.webhookId, slot.at);
    const entry = slots.get(name) ?? { members: [], released: false, running: false };
    slots.set(name, entry);
    return entry;
  };
  const deadLetters: DeadLetterMessage[] = [];
  const probes: { probe: ProbeMessage; delaySeconds: number }[] = [];
  const enqueued: DeliveryMessage[] = [];
  /** The delay each delivery last went to the queue with, by delivery id. */
  const enqueuedAfter = new Map<string, number>();
  /** What went back to the queue with a delay. */
  const later: { message: DeliveryMessage; delaySeconds: number }[] = [];
  const settled: string[] = [];
  const consistentReads: string[] = [];
  const metricsSink = new Metrics({ namespace: "HooklineTest" });
  const addMetric = vi.spyOn(metricsSink, "addMetric");
  const circuitWrites: { from: Circuit; to: Circuit; won: boolean }[] = [];
  const agenda: Scheduled[] = [];
  /** Another process's work that lands between a listing of the parked deliveries and its use. */
  let crossing: (() => Promise<void>) | undefined;
  /** Parked records held back, by delivery id, until the test lets them land. */
  const heldParks = new Map<string, { readonly reached: () => void; readonly landing: Promise<void> }>();
  /** When each delivery entered or left the parked index (epoch ms), for reads of it that lag. */
  const parkedChanges = new Map<string, { readonly at: number; readonly parked: boolean }[]>();
  let probesSent = 0;

  function put(record: StoredDelivery): void {
    if ((records.get(record.id)?.parked ?? false) !== record.parked) {
      const changes = parkedChanges.get(record.id) ?? [];
      parkedChanges.set(record.id, [...changes, { at: clock, parked: record.parked }]);
    }
    records.set(record.id, record);
  }

  /** The parked index as a read sees it: as it was `indexLagSeconds` ago, so it may miss or keep one. */
  function parkedIndex(): StoredDelivery[] {
    const horizon = clock - (options.indexLagSeconds ?? 0) * 1000;
    return [...records.values()].filter((record) => {
      const seen = (parkedChanges.get(record.id) ?? []).filter((change) => change.at <= horizon).at(-1);
      return seen?.parked ?? false;
    });
  }

  const conditionHolds = (record: StoredDelivery | undefined, attemptCount: number) =>
    record !== undefined &&
    (record.status === "pending" || record.status === "retrying") &&
    record.attemptCount === attemptCount;

  const deliveries: DeliveryStore = {
    async recordStep(message, step, now, options) {
      const held = step.kind === "parked" ? heldParks.get(message.deliveryId) : undefined;
      if (held) {
        heldParks.delete(message.deliveryId);
        held.reached();
        await held.landing;
      }
      const record = records.get(message.deliveryId);
      if (!record || !conditionHolds(record, message.attempt - 1)) return false;
      if (step.kind === "parked" || step.kind === "deferred") {
        put({ ...record, parked: step.kind === "parked", nextAttemptAt: step.until });
        return true;
      }
      const attempt = "attempt" in step ? step.attempt : undefined;
      const { nextAttemptAt: _previous, ...rest } = record;
      put({
        ...rest,
        parked: false,
        ...(attempt
          ? { attemptCount: attempt.attempt, attempts: [...(record.attempts ?? []), attempt] }
          : {}),
        status:
          step.kind === "delivered" || step.kind === "failed"
            ? step.kind
            : step.kind === "dead_letter"
              ? "dead_lettered"
              : step.kind === "retry"
                ? "retrying"
                : record.status,
        ...(step.kind === "retry" ? { nextAttemptAt: step.nextAttemptAt } : {}),
        ...(options?.startsRetryRun === undefined ? {} : { retryRun: options.startsRetryRun }),
        ...(step.kind === "delivered" || step.kind === "failed" || step.kind === "dead_letter"
          ? { completedAt: now.toISOString() }
          : {}),
      });
      return true;
    },
    async settleDeadLetter(key) {
      const record = [...records.values()].find(
        (candidate) => deliveryKey(candidate.tenantId, candidate.webhookId, candidate.id).sk === key.sk,
      );
      if (record?.status !== "dead_lettered") return false;
      settled.push(record.id);
      return true;
    },
    async get(_tenantId, _webhookId, deliveryId) {
      consistentReads.push(deliveryId);
      return records.get(deliveryId);
    },
    async *parked() {
      const listed = parkedIndex().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      const landing = crossing;
      crossing = undefined;
      await landing?.();
      yield listed;
    },
    async parkedBefore(_tenantId, _webhookId, deliveryId) {
      return parkedIndex().some((record) => record.id < deliveryId);
    },
    async unpark(delivery) {
      const record = records.get(delivery.id);
      if (!record?.parked || !conditionHolds(record, delivery.attemptCount)) return false;
      put({ ...record, parked: false });
      return true;
    },
    createPending: notUsed,
    failStalled: notUsed,
    deliveryPage: notUsed,
    deliveriesOfEvent: notUsed,
    list: notUsed,
    reopen: notUsed,
  };

  let round = 0;
  const circuits: CircuitStore = {
    async saveCircuit(_tenantId, _webhookId, from, to) {
      const interfered = options.interfere?.(webhook.circuit, round);
      round += 1;
      if (interfered) webhook = { ...webhook, circuit: interfered };
      const won = webhook.circuit.version === from.version;
      circuitWrites.push({ from, to, won });
      if (won) webhook = { ...webhook, circuit: to };
      return won;
    },
    async deactivate(_tenantId, _webhookId, reason) {
      webhook = { ...webhook, active: false, disabledReason: reason };
    },
  };

  const at = (seconds: number) => clock + seconds * 1000;
  const deps: DeliveryServiceDeps = {
    ports: {
      webhook: async () => webhook,
      eventPayload: async () => '{"id":"evt_1"}',
      async claimProbe(_webhook, from, claim) {
        if (webhook.circuit.version !== from.version) return false;
        webhook = { ...webhook, circuit: claim };
        return true;
      },
      olderWaiting: (message) =>
        deliveries.parkedBefore(message.tenantId, message.webhookId, message.deliveryId),
      async send(request) {
        sent.push(request.headers["webhook-id"] ?? "");
        if (webhook.circuit.state === "half_open") probesSent += 1;
        const outcome = outcomes.shift();
        if (outcome === undefined) throw new Error("the test gave no answer for this attempt");
        return ANSWERS[outcome];
      },
      reserveSlot: notUsed,
      maxSlotWaitMs: 5_000,
      sleep: async () => {},
      now: () => new Date(clock),
      random: () => 0.5,
      timeoutMs: 10_000,
      userAgent: "Hookline/test",
      defaultSchedule: options.schedule ?? SCHEDULE,
      circuitPolicy: options.policy ?? POLICY,
    },
    deliveries,
    circuits,
    queue: {
      async enqueue(messages, delaySeconds = 0) {
        enqueued.push(...messages);
        for (const message of messages) {
          enqueuedAfter.set(message.deliveryId, delaySeconds);
          agenda.push({ dueAt: at(delaySeconds), run: () => fromQueue(message) });
        }
      },
    },
    async sendProbe(probe, delaySeconds) {
      probes.push({ probe, delaySeconds });
      agenda.push({ dueAt: at(delaySeconds), run: () => processProbe(deps, probe) });
    },
    retrySlots: {
      async join(slot, next) {
        retriesStarted.push({ message: next, slot });
        const entry = slotOf(slot);
        entry.members.push(next);
        return { released: entry.released };
      },
      async *release(slot) {
        const entry = slotOf(slot);
        entry.released = true;
        yield [...entry.members];
      },
    },
    async startRetryRun(slot) {
      const entry = slotOf(slot);
      if (entry.running || entry.released) return;
      entry.running = true;
      agenda.push({
        dueAt: Date.parse(slot.at),
        run: async () => {
          await releaseRetrySlot(deps, slot);
        },
      });
    },
    async sendToDeadLetterQueue(message) {
      deadLetters.push(message);
    },
    async sendLater(message, delaySeconds) {
      later.push({ message, delaySeconds });
      agenda.push({ dueAt: at(delaySeconds), run: () => fromQueue(message) });
    },
    deliveryKey: (message) => deliveryKey(message.tenantId, message.webhookId, message.deliveryId),
    metrics: metricsSink,
    log: { info: () => {}, warn: () => {}, error: () => {} },
  };
  if (options.ordered) {
    const ordering = orderingDeps({
      order: memoryOrderStore(() => records.values()).store,
      deliveries,
      queue: deps.queue,
      now: deps.ports.now,
    });
    Object.assign(deps, {
      ordering,
      ports: { ...deps.ports, takeTurn: (message: DeliveryMessage) => takeTurn(ordering, message) },
    });
  }

  async function fromQueue(message: DeliveryMessage): Promise<void> {
    await processDelivery(deps, message);
  }

  /** Runs everything the agenda holds, earliest first, moving the clock; fails on a runaway loop. */
  async function drain(limit = 100): Promise<void> {
    for (let steps = 0; agenda.length > 0; steps += 1) {
      if (steps >= limit) throw new Error(`the delivery was still going after ${limit} steps`);
      agenda.sort((a, b) => a.dueAt - b.dueAt);
      const [first] = agenda.splice(0, 1);
      if (!first) return;
      clock = Math.max(clock, first.dueAt);
      await first.run();
    }
  }

  /** A stored pending delivery and the queue message that fans out to it. */
  function pending(id: string, extra: Partial<StoredDelivery> = {}): DeliveryMessage {
    put({ ...pendingDelivery(id, new Date(clock).toISOString()), ...extra });
    return {
      tenantId: "t1",
      webhookId: "wh_1",
      deliveryId: id,
      eventId: `evt_${id}`,
      eventType: "memory.created",
      acceptedAt: new Date(clock).toISOString(),
      payload: `{"id":"evt_${id}"}`,
      attempt: 1,
      scheduleStart: 0,
    };
  }

  return {
    deps,
    pending,
    drain,
    fromQueue,
    slots,
    record: (id: string) => records.get(id),
    webhook: () => webhook,
    advance: (seconds: number) => {
      clock = at(seconds);
    },
    /** A new delivery whose first message arrives `seconds` from now. */
    arrive: (id: string, seconds: number) => {
      agenda.push({ dueAt: at(seconds), run: () => fromQueue(pending(id)) });
    },
    /** Requests sent as a circuit's probe. */
    probesSent: () => probesSent,
    /** Holds `id`'s next parked record back until `land()`; `reached` settles once it is held. */
    holdPark: (id: string) => {
      let reached = () => {};
      let land = () => {};
      const isHeld = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const landing = new Promise<void>((resolve) => {
        land = resolve;
      });
      heldParks.set(id, { reached, landing });
      return { reached: isHeld, land };
    },
    /** Runs `work` once, just after the next listing of the parked deliveries has been read. */
    crossNextListing: (work: () => Promise<void>) => {
      crossing = work;
    },
    sent,
    retriesStarted,
    deadLetters,
    probes,
    enqueued,
    enqueuedAfter,
    later,
    settled,
    consistentReads,
    /** The names of the metrics counted so far. */
    metrics: () => addMetric.mock.calls.map(([name]) => name),
    circuitWrites,
  };
}

async function notUsed(): Promise<never> {
  throw new Error("a delivery step does not call this");
}

const attemptNumbers = (record: StoredDelivery | undefined) =>
  (record?.attempts ?? []).map((attempt) => attempt.attempt);

describe("processDelivery", () => {
  it("records a first attempt that succeeds as delivered and starts no retry", async () => {
    const w = world({ outcomes: ["2xx"] });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.record("d1")).toMatchObject({ status: "delivered", attemptCount: 1 });
    expect(w.record("d1")?.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200 })]);
    expect(w.retriesStarted).toEqual([]);
    expect(w.metrics()).toContain(MetricName.deliveriesSucceeded);
  });

  it("puts a failed first attempt in its webhook's retry slot at the schedule's first wait", async () => {
    const w = world({ outcomes: ["5xx"] });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.record("d1")).toMatchObject({ status: "retrying", attemptCount: 1 });
    const slotAt = new Date(T0 + FIRST_WAIT * 1000).toISOString();
    expect(w.retriesStarted).toEqual([
      {
        message: expect.objectContaining({ deliveryId: "d1", attempt: 2 }),
        slot: { tenantId: "t1", webhookId: "wh_1", at: slotAt },
      },
    ]);
    expect(w.retriesStarted[0]?.message).not.toHaveProperty("payload");
    // The record names the slot's execution, so the reconciler can ask whether it still runs, and says
    // when the slot is released.
    expect(w.record("d1")).toMatchObject({ retryRun: retryRunName("wh_1", slotAt), nextAttemptAt: slotAt });
  });

  it("sends a released slot's deliveries back to the queue, and a failed retry joins the next slot", async () => {
    const w = world({
      outcomes: ["5xx", "5xx", "timeout", "2xx", "2xx"],
      policy: { ...POLICY, failureThreshold: 10 },
    });
    await processDelivery(w.deps, w.pending("d1"));
    await processDelivery(w.deps, w.pending("d2"));
    expect(w.slots.size).toBe(1);

    await w.drain();

    const second = new Date(T0 + FIRST_WAIT * 1000).toISOString();
    const third = new Date(T0 + (FIRST_WAIT + SECOND_WAIT) * 1000).toISOString();
    expect(
      w.retriesStarted.map(({ message, slot }) => [message.deliveryId, message.attempt, slot.at]),
    ).toEqual([
      ["d1", 2, second],
      ["d2", 2, second],
      ["d1", 3, third],
    ]);
    // Each release sent its deliveries back as resumed messages of their next attempt: one for both.
    expect(w.enqueued.map(({ deliveryId, attempt, resumed }) => [deliveryId, attempt, resumed])).toEqual([
      ["d1", 2, true],
      ["d2", 2, true],
      ["d1", 3, true],
    ]);
    expect(w.record("d1")).toMatchObject({ status: "delivered", attemptCount: 3 });
    expect(w.record("d1")?.attempts?.[1]).toMatchObject({ attempt: 2, error: "timed out after 10000 ms" });
    expect(w.record("d2")).toMatchObject({ status: "delivered", attemptCount: 2 });
  });

  it("releases a slot as many deliveries a second as its webhook takes in flight, not all at once", async () => {
    const w = world();
    const slot = { tenantId: "t1", webhookId: "wh_1", at: new Date(T0 + 60_000).toISOString() };
    const ids = Array.from({ length: 25 }, (_, n) => `d${String(n).padStart(2, "0")}`);
    for (const id of ids) await w.deps.retrySlots.join(slot, { ...w.pending(id), attempt: 2 });
    const inFlight = { slots: { claim: async () => undefined, release: async () => {} }, limit: 10 };

    expect(await releaseRetrySlot({ ...w.deps, inFlight }, slot)).toBe(25);

    expect(ids.map((id) => w.enqueuedAfter.get(id))).toEqual([
      ...Array.from({ length: 10 }, () => 0),
      ...Array.from({ length: 10 }, () => 1),
      ...Array.from({ length: 5 }, () => 2),
    ]);
  });

  it("sends a delivery that joins a slot already released back to its lane, not into a wait that is over", async () => {
    const w = world({ outcomes: ["5xx"] });
    const slotAt = new Date(T0 + FIRST_WAIT * 1000).toISOString();
    const slot = { tenantId: "t1", webhookId: "wh_1", at: slotAt };
    await releaseRetrySlot(w.deps, slot);

    await processDelivery(w.deps, w.pending("d1"));

    expect(w.slots.get(retryRunName("wh_1", slotAt))?.running).toBe(false);
    expect(w.later).toEqual([
      { message: expect.objectContaining({ deliveryId: "d1", attempt: 2, resumed: true }), delaySeconds: 1 },
    ]);
  });

  it("dead-letters the delivery once the schedule is exhausted", async () => {
    const w = world({ outcomes: ["5xx", "5xx", "5xx", "5xx"], policy: { ...POLICY, failureThreshold: 10 } });
    await w.fromQueue(w.pending("d1"));
    await w.drain();

    expect(w.sent).toHaveLength(SCHEDULE.length + 1);
    expect(w.record("d1")).toMatchObject({ status: "dead_lettered", attemptCount: 4 });
    expect(w.deadLetters).toEqual([
      expect.objectContaining({ deliveryId: "d1", attempt: 4, lastError: "receiver answered HTTP 503" }),
    ]);
  });

  it("dead-letters at once when the schedule ends on a first attempt from the queue", async () => {
    const w = world({ outcomes: ["5xx"], schedule: [] });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.deadLetters).toEqual([expect.objectContaining({ deliveryId: "d1", attempt: 1 })]);
    expect(w.record("d1")?.status).toBe("dead_lettered");
  });

  it("fails a delivery at once on a 4xx, without a retry", async () => {
    const w = world({ outcomes: ["4xx"] });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.record("d1")).toMatchObject({ status: "failed", attemptCount: 1 });
    expect(w.retriesStarted).toEqual([]);
    expect(w.deadLetters).toEqual([]);
    expect(w.webhook().active).toBe(true);
  });

  it("fails the delivery and deactivates the webhook when its endpoint answers 410 Gone", async () => {
    const w = world({ outcomes: ["410"] });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.record("d1")).toMatchObject({ status: "failed" });
    expect(w.webhook()).toMatchObject({ active: false, disabledReason: "endpoint answered 410 Gone" });
    expect(w.retriesStarted).toEqual([]);

    // The next delivery for the webhook is not sent at all.
    await processDelivery(w.deps, w.pending("d2"));
    expect(w.sent).toEqual(["d1"]);
    expect(w.record("d2")).toMatchObject({ status: "failed", attemptCount: 0 });
  });

  it("opens the circuit at the threshold, schedules a probe and parks later deliveries unsent", async () => {
    const w = world({ outcomes: ["5xx", "5xx", "5xx"] });
    for (const id of ["d1", "d2", "d3"]) await processDelivery(w.deps, w.pending(id));

    expect(w.webhook().circuit).toMatchObject({ state: "open", consecutiveFailures: 3 });
    const openedAt = w.webhook().circuit.openedAt;
    expect(w.probes).toEqual([
      {
        probe: { kind: "probe", tenantId: "t1", webhookId: "wh_1", openedAt },
        delaySeconds: POLICY.cooldownSeconds,
      },
    ]);
    expect(w.metrics()).toContain(MetricName.circuitOpened);

    await processDelivery(w.deps, w.pending("d4"));
    expect(w.sent).toEqual(["d1", "d2", "d3"]);
    expect(w.record("d4")).toMatchObject({ status: "pending", parked: true, attemptCount: 0 });
  });

  it("keeps the record as it was when a duplicate message arrives for a delivered delivery", async () => {
    const w = world({ outcomes: ["2xx", "2xx"] });
    const message = w.pending("d1");
    await processDelivery(w.deps, message);
    const before = w.record("d1");
    const metricsBefore = w.metrics().length;

    await processDelivery(w.deps, message);

    expect(w.record("d1")).toEqual(before);
    expect(w.metrics()).toHaveLength(metricsBefore);
    expect(w.retriesStarted).toEqual([]);
  });

  it("does not send again a message SQS delivers a second time after its attempt was recorded", async () => {
    const w = world({ outcomes: ["2xx", "2xx"] });
    const message = w.pending("d1");
    await processDelivery(w.deps, message);

    await processDelivery(w.deps, message, 2);

    expect(w.sent).toEqual(["d1"]);
    expect(w.consistentReads).toEqual(["d1"]);
  });

  it("does not send a resumed message whose delivery ended meanwhile, and reads nothing on a first try", async () => {
    const w = world({ outcomes: ["2xx", "2xx"] });
    const first = w.pending("d1");
    await processDelivery(w.deps, first);
    expect(w.consistentReads).toEqual([]);

    // The reconciler's copy of a delivery whose own message got there first.
    await processDelivery(w.deps, { ...first, resumed: true });

    expect(w.sent).toEqual(["d1"]);
    expect(w.record("d1")).toMatchObject({ status: "delivered", attemptCount: 1 });
  });

  it("marks a delivery dead-lettered before its dead-letter message is sent, then settles it", async () => {
    const w = world({ outcomes: ["5xx"], schedule: [] });
    let statusWhenSent: string | undefined;
    const deps = {
      ...w.deps,
      sendToDeadLetterQueue: async () => {
        statusWhenSent = w.record("d1")?.status;
      },
    };

    await processDelivery(deps, w.pending("d1"));

    // A crash after the send can neither attempt again (the record is terminal) nor dead-letter twice.
    expect(statusWhenSent).toBe("dead_lettered");
    expect(w.settled).toEqual(["d1"]);
  });
});

describe("processProbe", () => {
  const openSince = (secondsAgo: number): Circuit => ({
    state: "open",
    consecutiveFailures: POLICY.failureThreshold,
    openedAt: new Date(T0 - secondsAgo * 1000).toISOString(),
    version: 7,
  });

  it("sends the probe again for the rest of the cooldown", async () => {
    const w = world({ circuit: openSince(100) });
    const probe: ProbeMessage = { kind: "probe", tenantId: "t1", webhookId: "wh_1" };
    await processProbe(w.deps, probe);

    expect(w.sent).toEqual([]);
    expect(w.probes).toEqual([{ probe, delaySeconds: POLICY.cooldownSeconds - 100 }]);
  });

  it("attempts the oldest parked delivery; its success closes the circuit and releases the rest", async () => {
    const w = world({ outcomes: ["2xx"], circuit: openSince(POLICY.cooldownSeconds + 1) });
    w.pending("d1", { parked: true, status: "retrying", attemptCount: 2 });
    w.advance(1);
    w.pending("d2", { parked: true });
    w.advance(1);
    w.pending("d3", { parked: true });

    await processProbe(w.deps, { kind: "probe", tenantId: "t1", webhookId: "wh_1" });

    expect(w.sent).toEqual(["d1"]);
    expect(w.record("d1")).toMatchObject({ status: "delivered", attemptCount: 3 });
    expect(w.webhook().circuit).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    expect(w.metrics()).toContain(MetricName.circuitClosed);
    expect(w.enqueued.map((message) => [message.deliveryId, message.attempt, message.resumed])).toEqual([
      ["d2", 1, true],
      ["d3", 1, true],
    ]);
    expect(w.record("d2")?.parked).toBe(false);
  });

  it("drops a probe message sent for an opening since superseded: the reopening sent its own", async () => {
    const w = world({ outcomes: ["2xx"], circuit: openSince(POLICY.cooldownSeconds + 1) });
    w.pending("d1", { parked: true });
    const earlier = new Date(T0 - (POLICY.cooldownSeconds + 100) * 1000).toISOString();

    await processProbe(w.deps, { kind: "probe", tenantId: "t1", webhookId: "wh_1", openedAt: earlier });

    expect(w.sent).toEqual([]);
    expect(w.probes).toEqual([]);
    expect(w.record("d1")?.parked).toBe(true);
  });

  it("does nothing for a deactivated webhook", async () => {
    const w = world({ outcomes: ["410"] });
    await processDelivery(w.deps, w.pending("d1"));
    await processProbe(w.deps, { kind: "probe", tenantId: "t1", webhookId: "wh_1" });

    expect(w.sent).toEqual(["d1"]);
    expect(w.probes).toEqual([]);
  });
});

describe("the probe of an open circuit", () => {
  const POLICY_1 = { failureThreshold: 1, cooldownSeconds: 30 };

  it("goes to the delivery that has waited longest: a fresh one arriving after the cooldown parks behind it", async () => {
    // d1 fails and opens the circuit; d2 arrives while open and parks; d3 arrives after the cooldown.
    const w = world({ policy: POLICY_1, schedule: [60], outcomes: ["5xx", "2xx", "2xx", "2xx"] });
    await w.fromQueue(w.pending("d1"));
    w.advance(1);
    await w.fromQueue(w.pending("d2"));
    w.advance(POLICY_1.cooldownSeconds);
    await w.fromQueue(w.pending("d3"));

    expect(w.sent).toEqual(["d1"]);
    expect(w.record("d3")).toMatchObject({ parked: true, attemptCount: 0 });
    expect(w.webhook().circuit.state).toBe("open");

    await w.drain();
    // The probe is d2, the oldest waiting; its success closes the circuit and releases d3; d1's retry
    // comes after its schedule's wait.
    expect(w.sent).toEqual(["d1", "d2", "d3", "d1"]);
    for (const id of ["d1", "d2", "d3"]) expect(w.record(id)?.status).toBe("delivered");
  });

  it("sends one probe message per opening, and few one-time looks, however many deliveries ask meanwhile", async () => {
    // Down for good: every probe fails and reopens the circuit, with fresh deliveries arriving throughout.
    const w = world({
      policy: POLICY_1,
      schedule: [1, 1, 1],
      outcomes: Array.from({ length: 40 }, () => "5xx" as const),
    });
    await w.fromQueue(w.pending("d01"));
    for (let n = 2; n <= 9; n += 1) {
      w.advance(POLICY_1.cooldownSeconds / 2);
      await w.deps.queue.enqueue([w.pending(`d0${n}`)]);
    }
    await w.drain(1000);

    const openings = w.metrics().filter((name) => name === MetricName.circuitOpened).length;
    expect(openings).toBeGreaterThan(1);
    const [ofOpenings, onceOnly] = partition(w.probes, ({ probe }) => probe.once === undefined);
    expect(ofOpenings).toHaveLength(openings);
    // Besides those, one-time looks only: at most one second look per opening, and no more hand-overs
    // than there are openings (here only the last opening looks twice, its deliveries all given up).
    const secondLooks = onceOnly.filter(({ probe }) => probe.handedOverBy === undefined);
    expect(new Set(secondLooks.map(({ probe }) => probe.openedAt)).size).toBe(secondLooks.length);
    expect(onceOnly.length).toBeLessThanOrEqual(openings);
    // One request per opening after the first: each cooldown lets a single probe through.
    expect(w.sent).toHaveLength(openings);
  });
});

describe("a waiting delivery always has something that will admit a probe", () => {
  const POLICY_1 = { failureThreshold: 1, cooldownSeconds: 30 };
  // circuitPolicyFor: the world's 10 s attempt timeout and 10 s of bookkeeping.
  const PROBE_TIMEOUT_SECONDS = 20;
  const opening = new Date(T0).toISOString();
  const openNow: Circuit = { state: "open", consecutiveFailures: 1, openedAt: opening, version: 3 };
  const probeOfOpening: ProbeMessage = {
    kind: "probe",
    tenantId: "t1",
    webhookId: "wh_1",
    openedAt: opening,
  };

  /**
   * d1 was the probe of the last opening; its failure reopened the circuit. d2 (if asked for) has waited
   * since. d1's retry reads the circuit half a second before the cooldown ends, so it waits; the clock
   * is then at the end of the cooldown, and its parked record lands only when `crossing` runs.
   */
  async function afterReopening(outcomes: readonly Outcome[], withD2: boolean) {
    const w = world({ policy: POLICY_1, schedule: [60], circuit: openNow, outcomes });
    const retry: DeliveryMessage = {
      ...w.pending("d1", { status: "retrying", attemptCount: 1 }),
      attempt: 2,
    };
    w.advance(1);
    if (withD2) w.pending("d2", { parked: true });
    w.advance(POLICY_1.cooldownSeconds - 1.5);
    const park = w.holdPark("d1");
    const d1Step = w.fromQueue(retry);
    await park.reached;
    w.advance(0.5);
    const crossing = async () => {
      park.land();
      await d1Step;
    };
    return { w, crossing };
  }

  it("the probe message attempts the delivery it took, though an older one parked just after its listing", async () => {
    const { w, crossing } = await afterReopening(["2xx", "2xx"], true);
    w.crossNextListing(crossing);

    await processProbe(w.deps, probeOfOpening);
    await w.drain();

    // d2 is the probe; its success closes the circuit and releases d1.
    expect(w.sent).toEqual(["d2", "d1"]);
    for (const id of ["d1", "d2"]) expect(w.record(id)?.status).toBe("delivered");
    expect(w.webhook().circuit.state).toBe("closed");
  });

  it("a probe message that finds no one waiting looks once more a few seconds later", async () => {
    const { w, crossing } = await afterReopening(["2xx"], false);
    w.crossNextListing(crossing);

    await processProbe(w.deps, probeOfOpening);
    expect(w.sent).toEqual([]);
    expect(w.probes).toEqual([{ probe: { ...probeOfOpening, once: true }, delaySeconds: 5 }]);
    await w.drain();

    expect(w.sent).toEqual(["d1"]);
    expect(w.record("d1")?.status).toBe("delivered");
    // The second look found d1, whose success closed the circuit: only the release's second look follows.
    expect(w.probes.slice(1)).toEqual([{ probe: { ...probeOfOpening, once: true }, delaySeconds: 5 }]);
  });

  it("a delivery that parks just after the closing probe released the others is released by a second look", async () => {
    const { w, crossing } = await afterReopening(["2xx", "2xx"], true);
    // Not the probe message's listing but the next one, the release when d2's probe closes the circuit.
    w.crossNextListing(async () => w.crossNextListing(crossing));

    await processProbe(w.deps, probeOfOpening);
    expect(w.webhook().circuit.state).toBe("closed");
    expect(w.record("d1")?.parked).toBe(true);
    await w.drain();

    expect(w.sent).toEqual(["d2", "d1"]);
    expect(w.record("d1")?.status).toBe("delivered");
  });

  it("deliveries parked when the closing probe's function dies before releasing them are released by its second look", async () => {
    const w = world({ policy: POLICY_1, circuit: openNow, outcomes: ["2xx", "2xx"] });
    w.pending("d1", { parked: true, status: "retrying", attemptCount: 1 });
    w.advance(1);
    w.pending("d2", { parked: true });
    w.advance(POLICY_1.cooldownSeconds);
    // The probe message's own listing finds d1; the release's listing is where the function dies.
    const listParked = w.deps.deliveries.parked.bind(w.deps.deliveries);
    let listings = 0;
    vi.spyOn(w.deps.deliveries, "parked").mockImplementation((tenantId, webhookId) => {
      listings += 1;
      if (listings === 2) throw new Error("the function died releasing");
      return listParked(tenantId, webhookId);
    });

    await expect(processProbe(w.deps, probeOfOpening)).rejects.toThrow("died releasing");
    expect(w.webhook().circuit.state).toBe("closed");
    expect(w.record("d2")?.parked).toBe(true);
    await w.drain();

    expect(w.sent).toEqual(["d1", "d2"]);
    expect(w.record("d2")?.status).toBe("delivered");
  });

  /** The probe's claim has lapsed (its prober died with the stack), no probe message is left, d1 waits. */
  function afterLapsedClaim(outcomes: readonly Outcome[]) {
    const lapsed: Circuit = {
      ...openNow,
      state: "half_open",
      probeClaimedAt: new Date(T0 + 60_000).toISOString(),
      version: 4,
    };
    const w = world({ policy: POLICY_1, circuit: lapsed, outcomes });
    w.pending("d1", { parked: true, status: "retrying", attemptCount: 1 });
    w.advance(60 + PROBE_TIMEOUT_SECONDS + 1);
    return w;
  }

  it("a delivery that leaves the due probe to an older waiting one has that one attempted at once", async () => {
    const w = afterLapsedClaim(["2xx", "2xx"]);

    await w.fromQueue(w.pending("d2"));
    expect(w.record("d2")).toMatchObject({ parked: true, attemptCount: 0 });
    expect(w.probes).toEqual([
      { probe: { ...probeOfOpening, once: true, handedOverBy: "d2" }, delaySeconds: 0 },
    ]);
    await w.drain();

    expect(w.sent).toEqual(["d1", "d2"]);
    for (const id of ["d1", "d2"]) expect(w.record(id)?.status).toBe("delivered");
  });

  it("deliveries that all find the probe due behind an older one hand it over once each, and one probe goes out", async () => {
    const w = afterLapsedClaim(Array.from({ length: 6 }, () => "2xx" as const));
    const newcomers = ["d2", "d3", "d4", "d5", "d6"];
    await w.deps.queue.enqueue(newcomers.map((id) => w.pending(id)));
    await w.drain();

    const handOvers = w.probes.filter(({ probe }) => probe.handedOverBy !== undefined);
    expect(handOvers.map(({ probe }) => probe.handedOverBy)).toEqual(newcomers);
    expect(w.probesSent()).toBe(1);
    expect(w.sent[0]).toBe("d1");
    for (const id of ["d1", ...newcomers]) expect(w.record(id)?.status).toBe("delivered");
  });

  it("a one-time look that cannot admit a probe then is dropped, not sent again", async () => {
    const claimed: Circuit = {
      ...openNow,
      state: "half_open",
      probeClaimedAt: new Date(T0 + 30_000).toISOString(),
      version: 4,
    };
    const w = world({ policy: POLICY_1, circuit: claimed });
    w.pending("d1", { parked: true });
    w.advance(31);

    await processProbe(w.deps, { ...probeOfOpening, once: true });

    expect(w.sent).toEqual([]);
    expect(w.probes).toEqual([]);
    expect(w.record("d1")?.parked).toBe(true);
  });
});

describe("deliveries waiting on a circuit, over random arrivals, answers and index lag (property)", () => {
  it("leaves none waiting once nothing is left to run, with at most one probe per opening", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 45 }), { minLength: 2, maxLength: 8 }),
        fc.array(fc.constantFrom<Outcome>("2xx", "5xx", "5xx"), { minLength: 30, maxLength: 30 }),
        fc.constantFrom(0, 0.5, 1, 3),
        async (gaps, outcomes, indexLagSeconds) => {
          const w = world({
            policy: { failureThreshold: 2, cooldownSeconds: 30 },
            schedule: [10, 25],
            outcomes,
            indexLagSeconds,
          });
          const ids = gaps.map((_gap, n) => `d${String(n).padStart(2, "0")}`);
          let after = 0;
          for (const [n, gap] of gaps.entries()) {
            after += gap;
            w.arrive(ids[n] ?? "", after);
          }
          await w.drain(1000);

          // No reconciler runs here: a delivery still waiting would be one whose probe was lost.
          for (const id of ids) expect(TERMINAL_STATUSES).toContain(w.record(id)?.status);
          const openings = w.metrics().filter((name) => name === MetricName.circuitOpened).length;
          expect(w.probesSent()).toBeLessThanOrEqual(openings);
          expect(w.probes.filter(({ probe }) => probe.once === undefined)).toHaveLength(openings);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("persistCircuit, through processDelivery", () => {
  const failing = (consecutiveFailures: number, version: number): Circuit => ({
    state: "closed",
    consecutiveFailures,
    version,
  });

  it("applies the attempt again to a circuit another process changed, and opens it", async () => {
    // Another worker's failure lands first: this one's failure is then the third in a row.
    const w = world({
      outcomes: ["5xx"],
      circuit: failing(1, 4),
      interfere: (_stored, round) => (round === 0 ? failing(2, 5) : undefined),
    });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.circuitWrites.map((write) => write.won)).toEqual([false, true]);
    expect(w.webhook().circuit).toMatchObject({ state: "open", consecutiveFailures: 3, version: 6 });
    expect(w.probes).toHaveLength(1);
  });

  it("writes nothing when the fresh circuit already holds the attempt's outcome", async () => {
    const w = world({
      outcomes: ["2xx"],
      circuit: failing(2, 4),
      interfere: (_stored, round) => (round === 0 ? failing(0, 5) : undefined),
    });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.circuitWrites.map((write) => write.won)).toEqual([false]);
    expect(w.webhook().circuit).toEqual(failing(0, 5));
  });

  it("gives up after five lost writes, and the delivery goes on", async () => {
    // Another worker's success lands before every write: the circuit keeps moving under this one.
    const w = world({
      outcomes: ["5xx"],
      interfere: (stored) => failing(0, stored.version + 1),
    });
    await processDelivery(w.deps, w.pending("d1"));

    expect(w.circuitWrites).toHaveLength(5);
    expect(w.circuitWrites.every((write) => !write.won)).toBe(true);
    expect(w.record("d1")).toMatchObject({ status: "retrying", attemptCount: 1 });
    expect(w.retriesStarted).toHaveLength(1);
  });
});

describe("a delivery driven through its steps (property)", () => {
  const outcome = fc.constantFrom<Outcome>("2xx", "5xx", "timeout", "429", "410", "4xx");

  it("never records an attempt twice and ends terminal within schedule length + 1 attempts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(outcome, { minLength: 7, maxLength: 7 }),
        async (schedule, failureThreshold, outcomes) => {
          const w = world({ outcomes, schedule, policy: { ...POLICY, failureThreshold } });
          await w.fromQueue(w.pending("d1"));
          await w.drain();

          const record = w.record("d1");
          const numbers = attemptNumbers(record);
          expect(new Set(numbers).size).toBe(numbers.length);
          expect(numbers).toEqual(numbers.map((_number, index) => index + 1));
          expect(w.sent.length).toBe(numbers.length);
          expect(w.sent.length).toBeLessThanOrEqual(schedule.length + 1);
          expect(TERMINAL_STATUSES).toContain(record?.status);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("an ordered webhook", () => {
  it("sends one delivery at a time in id order, whatever order the messages arrive in, a failing one holding the rest through its retries", async () => {
    const w = world({ ordered: true, outcomes: ["2xx", "2xx", "5xx", "5xx", "2xx", "2xx", "2xx"] });
    const messages = ["d1", "d2", "d3", "d4", "d5"].map((id) => w.pending(id));
    await w.deps.queue.enqueue([...messages].reverse());
    await w.drain();

    expect(w.sent).toEqual(["d1", "d2", "d3", "d3", "d3", "d4", "d5"]);
    for (const id of ["d1", "d2", "d3", "d4", "d5"]) expect(w.record(id)?.status).toBe("delivered");
    expect(attemptNumbers(w.record("d3"))).toEqual([1, 2, 3]);
  });

  it("parks only the delivery whose turn it is on an open circuit, and sends the rest after its probe", async () => {
    const w = world({
      ordered: true,
      policy: { ...POLICY, failureThreshold: 1 },
      outcomes: ["5xx", "2xx", "2xx"],
    });
    await w.deps.queue.enqueue(["d1", "d2"].map((id) => w.pending(id)));
    await w.drain();

    expect(w.sent).toEqual(["d1", "d1", "d2"]);
    expect(w.probes.length).toBeGreaterThan(0);
    expect(w.record("d2")?.status).toBe("delivered");
  });
});

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}
