/**
 * Services: the use cases several entry points share (a delivery step and a probe here; recovery and
 * the reconciler's run beside it). They import domain code and the ports of domain/ports.ts only,
 * never an adapter, so the handlers, the CLI and tests hand them what they run against.
 */
import { admit, afterAttempt, type CircuitTransition, probeMessageCurrent } from "../domain/circuit.ts";
import {
  type CircuitChange,
  circuitPolicyFor,
  type DeliveryPorts,
  type DeliveryStep,
  deliveryStep,
  type StepResult,
} from "../domain/deliver.ts";
import { IN_FLIGHT_WAIT_SECONDS } from "../domain/in-flight.ts";
import type { DeadLetterMessage, DeliveryMessage, ProbeMessage, QueueMessage } from "../domain/messages.ts";
import { TERMINAL_STATUSES, type Webhook } from "../domain/model.ts";
import type {
  CircuitStore,
  DeliveryKey,
  DeliveryOrderStore,
  DeliveryQueue,
  DeliveryStore,
  InFlightLease,
  InFlightSlots,
  Log,
  MetricsSink,
  QueueSends,
  RetrySlots,
  StoredDelivery,
} from "../domain/ports.ts";
import { continueFanOut } from "../domain/publish.ts";
import { type RetrySlot, releaseDelaySeconds, retrySlotFor } from "../domain/retry-slot.ts";
import { MetricName, retryRunName } from "../shared/names.ts";
import { afterOrderedStep, type OrderingDeps } from "./ordering.ts";

export interface DeliveryServiceDeps {
  readonly ports: DeliveryPorts;
  readonly deliveries: DeliveryStore;
  readonly circuits: CircuitStore;
  readonly queue: DeliveryQueue;
  readonly sendProbe: QueueSends["sendProbe"];
  /** Where a failed delivery waits for its next attempt, with its webhook's others due then. */
  readonly retrySlots: RetrySlots;
  /** Starts (or finds running) the retry workflow execution of a slot. */
  readonly startRetryRun: (slot: RetrySlot) => Promise<void>;
  readonly sendToDeadLetterQueue: QueueSends["sendToDeadLetterQueue"];
  readonly sendLater: QueueSends["sendLater"];
  readonly deliveryKey: (message: DeliveryMessage) => DeliveryKey;
  readonly metrics: MetricsSink;
  readonly log: Log;
  /** Each webhook's cap on deliveries in flight; absent, deliveries are not capped per webhook. */
  readonly inFlight?: { readonly slots: InFlightSlots; readonly limit: number };
  /** What ordered webhooks' deliveries take their turns with (`orderingDeps`); absent, none are ordered. */
  readonly ordering?: OrderingDeps;
}

/** What ordered delivery needs: a waiting delivery whose turn comes is resumed through the queue. */
export function orderingDeps(deps: {
  readonly order: DeliveryOrderStore;
  readonly deliveries: DeliveryStore;
  readonly queue: DeliveryQueue;
  readonly now: () => Date;
}): OrderingDeps {
  return {
    order: deps.order,
    deliveries: deps.deliveries,
    sendNext: (delivery) => deps.queue.enqueue([resumeMessage(delivery, delivery.createdAt)]),
    now: deps.now,
  };
}

/**
 * How long after a look at a webhook's parked deliveries that found none, or released them, a second
 * look is made: longer than a parked index read may lag or a delivery take between reading the circuit
 * and recording its park, and short beside the reconciler's grace, which would otherwise find them.
 */
const SECOND_LOOK_SECONDS = 5;

/** The message that resumes a stored delivery (after a circuit wait, a crash or a manual retry). */
export function resumeMessage(delivery: StoredDelivery, acceptedAt: string): DeliveryMessage {
  return {
    tenantId: delivery.tenantId,
    webhookId: delivery.webhookId,
    deliveryId: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    acceptedAt,
    attempt: delivery.attemptCount + 1,
    scheduleStart: delivery.scheduleStart,
    resumed: true,
  };
}

/**
 * One step of a delivery, arriving from the queue (first attempts, retries its slot released, resumed
 * deliveries): attempt, persist the outcome, update the circuit, and put a failed delivery in its
 * webhook's retry slot or end it.
 */
export async function processDelivery(
  deps: DeliveryServiceDeps,
  message: DeliveryMessage,
  receiveCount = 1,
): Promise<void> {
  const correlation = {
    tenant_id: message.tenantId,
    webhook_id: message.webhookId,
    delivery_id: message.deliveryId,
    event_id: message.eventId,
  };
  if (await alreadyRecorded(deps, message, receiveCount)) {
    deps.log.info("delivery step already recorded; not sent again", {
      ...correlation,
      attempt: message.attempt,
      receive_count: receiveCount,
    });
    return;
  }
  let lease: InFlightLease | undefined;
  if (deps.inFlight) {
    const { slots, limit } = deps.inFlight;
    lease = await slots.claim(message.tenantId, message.webhookId, limit, deps.ports.now().getTime());
    if (!lease) return waitForInFlightSlot(deps, message);
  }
  let result: StepResult;
  try {
    result = await deliveryStep(deps.ports, message);
  } finally {
    if (lease) await deps.inFlight?.slots.release(lease);
  }
  // A retry waits for its webhook's slot, not the exact time the schedule drew: the record says when
  // the slot is released, and which execution carries it.
  const retrySlot =
    result.step.kind === "retry"
      ? retrySlotFor(
          message.tenantId,
          message.webhookId,
          new Date(result.step.nextAttemptAt),
          result.step.waitSeconds,
        )
      : undefined;
  const step: DeliveryStep =
    result.step.kind === "retry" && retrySlot ? { ...result.step, nextAttemptAt: retrySlot.at } : result.step;
  if (result.attemptClass === "gone" && result.webhook) {
    await deps.circuits.deactivate(
      message.tenantId,
      message.webhookId,
      "endpoint answered 410 Gone",
      nowIso(deps),
    );
    deps.log.warn("webhook deactivated: its endpoint answered 410 Gone", correlation);
  }
  // The step is recorded before the circuit moves: closing the circuit releases the parked
  // deliveries, and a probe still recorded as parked would be released and sent a second time.
  const recorded = await deps.deliveries.recordStep(
    message,
    step,
    deps.ports.now(),
    retrySlot ? { startsRetryRun: retryRunName(message.webhookId, retrySlot.at) } : {},
  );
  // Counted once per recorded step: a duplicate message that lost the race adds nothing. The webhook's
  // stats counters come from the record's change, through the events table's stream (stats/handler.ts).
  if (recorded) countStep(deps.metrics, message, step, deps.ports.now());
  if (result.circuitChange) await persistCircuit(deps, message, result, result.circuitChange);
  // Parked first, so that the hand-over finds this delivery too if the older one was taken meanwhile.
  const handingOver = recorded && result.leftProbeToOlder ? result.webhook : undefined;
  if (handingOver) await handOverProbe(deps, message, handingOver);

  deps.log.info(recorded ? `delivery ${step.kind}` : "delivery step already recorded by another process", {
    ...correlation,
    event_type: message.eventType,
    attempt: message.attempt,
    step: step.kind,
    ...(step.kind === "retry" ? { retry_in_seconds: step.waitSeconds, retry_at: step.nextAttemptAt } : {}),
    ...("attempt" in step && step.attempt
      ? {
          status_code: step.attempt.statusCode,
          duration_ms: step.attempt.durationMs,
          error: step.attempt.error,
        }
      : {}),
    ...(step.kind === "failed" ? { reason: step.reason } : {}),
    ...(result.wasProbe ? { probe: true } : {}),
    ...(handingOver ? { probe_handed_over: true } : {}),
  });
  if (!recorded) return;
  if (deps.ordering && result.webhook?.ordering === "fifo")
    await afterOrderedStep(deps.ordering, message, step);

  switch (step.kind) {
    case "deferred":
      await deps.sendLater({ ...message, rateSlotAt: step.slotAt }, step.waitSeconds);
      return;
    case "retry":
      if (retrySlot)
        await joinRetrySlot(deps, { ...withoutPayload(message), attempt: message.attempt + 1 }, retrySlot);
      return;
    case "dead_letter": {
      // Already recorded `dead_lettered` (and still due): the message goes to the dead-letter queue
      // now, then the record is settled. A crash in between leaves the reconciler to send it.
      const deadLetter: DeadLetterMessage = {
        ...withoutPayload(message),
        deadLetteredAt: nowIso(deps),
        ...(step.attempt.error ? { lastError: step.attempt.error } : {}),
      };
      await deps.sendToDeadLetterQueue(deadLetter);
      await deps.deliveries.settleDeadLetter(deps.deliveryKey(message));
      return;
    }
    default:
      return;
  }
}

/**
 * Puts a failed delivery's next attempt in its webhook's retry slot and has the slot's workflow
 * execution carry it. A slot already released (this delivery failed late for it, say after a long
 * attempt) is not waited for again: the delivery goes back to its lane, delayed until the slot's time.
 */
async function joinRetrySlot(
  deps: DeliveryServiceDeps,
  next: DeliveryMessage,
  slot: RetrySlot,
): Promise<void> {
  const { released } = await deps.retrySlots.join(slot, next);
  if (!released) {
    await deps.startRetryRun(slot);
    return;
  }
  const waitSeconds = Math.max(0, Math.ceil((Date.parse(slot.at) - deps.ports.now().getTime()) / 1000));
  await deps.sendLater({ ...next, resumed: true }, waitSeconds);
}

/**
 * What a retry slot's workflow execution does once its wait is over: every delivery waiting in the
 * slot goes back to its lane for its next attempt, where it takes its turn with the webhook's other
 * deliveries (in-flight cap, rate limit, circuit) like any other. They go as many a second as the
 * webhook takes in flight (`releaseDelaySeconds`), not all at once to wait for a slot one by one. Sent
 * as resumed: one already moved on (driven on by the reconciler meanwhile) is recognised and not sent
 * twice. Answers how many went.
 */
export async function releaseRetrySlot(deps: DeliveryServiceDeps, slot: RetrySlot): Promise<number> {
  const perSecond = deps.inFlight?.limit ?? Number.POSITIVE_INFINITY;
  let released = 0;
  for await (const members of deps.retrySlots.release(slot)) {
    const byDelay = new Map<number, DeliveryMessage[]>();
    members.forEach((member, index) => {
      const delay = releaseDelaySeconds(released + index, perSecond);
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), { ...member, resumed: true }]);
    });
    for (const [delay, messages] of byDelay)
      await deps.queue.enqueue(messages, delay === 0 ? undefined : delay);
    released += members.length;
  }
  deps.log.info("retry slot released", {
    tenant_id: slot.tenantId,
    webhook_id: slot.webhookId,
    slot_at: slot.at,
    deliveries: released,
  });
  return released;
}

/**
 * Whether this message's attempt is already recorded, or its delivery already ended, so that sending
 * would repeat a recorded outcome. Read (strongly consistent) only for the messages likely to be
 * duplicates: resumed ones (the reconciler, a release, a redrive) and ones SQS delivers again. A first
 * attempt on its first receive costs no read; a rare duplicate of it is sent, but recorded only once.
 */
async function alreadyRecorded(
  deps: DeliveryServiceDeps,
  message: DeliveryMessage,
  receiveCount: number,
): Promise<boolean> {
  if (message.resumed !== true && receiveCount <= 1) return false;
  const current = await deps.deliveries.get(message.tenantId, message.webhookId, message.deliveryId);
  if (!current) return false;
  return TERMINAL_STATUSES.includes(current.status) || current.attemptCount >= message.attempt;
}

/**
 * The webhook has as many deliveries in flight as it may: this one goes back to wait its turn, without
 * an attempt and without holding the function, so other webhooks' deliveries go on meanwhile.
 */
async function waitForInFlightSlot(deps: DeliveryServiceDeps, message: DeliveryMessage): Promise<void> {
  deps.metrics.addMetric(MetricName.deliveriesWaitingForSlot, "Count", 1);
  await deps.sendLater(message, IN_FLIGHT_WAIT_SECONDS);
}

/**
 * Writes a circuit change conditionally on the version that was read. When another process changed
 * the circuit meanwhile, the attempt's result is applied again to the fresh circuit.
 */
async function persistCircuit(
  deps: DeliveryServiceDeps,
  message: DeliveryMessage,
  result: StepResult,
  initial: CircuitChange,
): Promise<void> {
  const succeeded = result.step.kind === "delivered";
  let change: CircuitChange | undefined = initial;
  for (let round = 0; change && round < 5; round += 1) {
    if (await deps.circuits.saveCircuit(message.tenantId, message.webhookId, change.from, change.to)) {
      if (change.transition) await onTransition(deps, message, change.transition, change);
      return;
    }
    const fresh = await deps.ports.webhook(message.tenantId, message.webhookId, true);
    if (!fresh) return;
    const after = afterAttempt(
      fresh.circuit,
      succeeded,
      deps.ports.circuitPolicy,
      deps.ports.now(),
      result.wasProbe,
    );
    change =
      after.circuit === fresh.circuit
        ? undefined
        : {
            from: fresh.circuit,
            to: after.circuit,
            ...(after.transition ? { transition: after.transition } : {}),
          };
  }
}

function countStep(metrics: MetricsSink, message: DeliveryMessage, step: DeliveryStep, now: Date): void {
  if ("attempt" in step && step.attempt) {
    metrics.addMetric(MetricName.deliveryAttempts, "Count", 1);
    metrics.addMetric(MetricName.attemptDuration, "Milliseconds", step.attempt.durationMs);
  }
  if (step.kind === "delivered") {
    metrics.addMetric(MetricName.deliveriesSucceeded, "Count", 1);
    const latency = now.getTime() - Date.parse(message.acceptedAt);
    metrics.addMetric(MetricName.endToEndLatency, "Milliseconds", Math.max(0, latency));
  } else if (step.kind === "failed") {
    metrics.addMetric(MetricName.deliveriesFailed, "Count", 1);
  } else if (step.kind === "dead_letter") {
    metrics.addMetric(MetricName.deliveriesDeadLettered, "Count", 1);
  }
}

async function onTransition(
  deps: DeliveryServiceDeps,
  message: DeliveryMessage,
  transition: CircuitTransition,
  change: CircuitChange,
) {
  const keys = { tenant_id: message.tenantId, webhook_id: message.webhookId };
  const metric = transition === "closed" ? MetricName.circuitClosed : MetricName.circuitOpened;
  deps.metrics.addMetric(metric, "Count", 1);
  if (transition === "closed") {
    // A delivery that read the circuit open just before it closed may park after this release, and the
    // parked index may not show one yet: the second look releases them (unless the circuit has opened
    // again meanwhile, which sent its own message). Sent first, it also releases what this one cannot
    // if the function dies releasing: the parked deliveries would otherwise wait a grace past their
    // probe time (a crash test saw 13 wait 50 s).
    await deps.sendProbe({ ...probeOf(message, change.from.openedAt), once: true }, SECOND_LOOK_SECONDS);
    const released = await releaseParked(deps, message.tenantId, message.webhookId);
    deps.log.info("circuit closed: the endpoint answered the probe", {
      ...keys,
      released_deliveries: released,
    });
    return;
  }
  deps.log.warn(transition === "opened" ? "circuit opened" : "circuit reopened: the probe failed", {
    ...keys,
    cooldown_seconds: deps.ports.circuitPolicy.cooldownSeconds,
  });
  await deps.sendProbe(probeOf(message, change.to.openedAt), deps.ports.circuitPolicy.cooldownSeconds);
}

/** The probe message for a webhook's opening at `openedAt`. */
function probeOf(message: DeliveryMessage, openedAt: string | undefined): ProbeMessage {
  return {
    kind: "probe",
    tenantId: message.tenantId,
    webhookId: message.webhookId,
    ...(openedAt === undefined ? {} : { openedAt }),
  };
}

/** Sends every delivery parked on a webhook's circuit back to the queue; returns how many. */
export async function releaseParked(
  deps: DeliveryServiceDeps,
  tenantId: string,
  webhookId: string,
): Promise<number> {
  let released = 0;
  for await (const page of deps.deliveries.parked(tenantId, webhookId)) {
    // Each is claimed first: a second release (a late probe, another closing) must not send it twice.
    const now = deps.ports.now();
    const claimed = await Promise.all(page.map((delivery) => deps.deliveries.unpark(delivery, now)));
    const mine = page.filter((_delivery, index) => claimed[index]);
    await deps.queue.enqueue(mine.map((delivery) => resumeMessage(delivery, delivery.createdAt)));
    released += mine.length;
  }
  return released;
}

/**
 * The probe was due and `message`'s delivery, now parked, left it to an older waiting one. That one may
 * have nothing on its way that would admit it (the opening's probe message came and went before it
 * parked, or died with its prober), and every later delivery would wait behind it too: a one-time probe
 * message has the oldest waiting delivery attempted now. Only a delivery that found the probe due sends
 * one, and the first probe claimed ends that, so these stay as few as the deliveries asking meanwhile.
 */
async function handOverProbe(deps: DeliveryServiceDeps, message: DeliveryMessage, webhook: Webhook) {
  await deps.sendProbe(
    { ...probeOf(message, webhook.circuit.openedAt), once: true, handedOverBy: message.deliveryId },
    0,
  );
}

/**
 * A probe message: when the cooldown is over, the oldest parked delivery is attempted as the probe;
 * before that, the message is sent again for the rest of the cooldown or the probe in flight. A message
 * for an opening since superseded is dropped: the reopening sent its own. One that finds no delivery
 * waiting looks once more a little later, for one may have parked just after it looked or not show in
 * the parked index yet; a message with `once` looks only when it arrives.
 */
export async function processProbe(deps: DeliveryServiceDeps, probe: ProbeMessage): Promise<void> {
  const webhook = await deps.ports.webhook(probe.tenantId, probe.webhookId, true);
  if (!webhook?.active) return;
  if (webhook.circuit.state === "closed") {
    await releaseParked(deps, probe.tenantId, probe.webhookId);
    return;
  }
  if (!probeMessageCurrent(webhook.circuit, probe.openedAt)) return;
  const now = deps.ports.now();
  const admission = admit(webhook.circuit, circuitPolicyFor(deps.ports, webhook), now);
  if (admission.kind === "wait") {
    if (probe.once) return;
    const seconds = Math.max(1, Math.ceil((Date.parse(admission.until) - now.getTime()) / 1000));
    await deps.sendProbe(probe, seconds);
    return;
  }
  // The delivery taken here is the oldest this process could take: it is the probe, and does not wait
  // behind an older one the index may still show (taken by another process, or parked after this
  // listing), for that one might have nothing else on its way to admit it.
  const asProbe: DeliveryServiceDeps = { ...deps, ports: { ...deps.ports, olderWaiting: async () => false } };
  for await (const page of deps.deliveries.parked(probe.tenantId, probe.webhookId)) {
    for (const delivery of page) {
      if (!(await deps.deliveries.unpark(delivery, now))) continue;
      await processDelivery(asProbe, resumeMessage(delivery, delivery.createdAt));
      return;
    }
  }
  // None waits that this listing shows: the next delivery that asks will be the probe, and a delivery
  // that parked unseen is found by the second look.
  if (!probe.once) await deps.sendProbe({ ...probe, once: true }, SECOND_LOOK_SECONDS);
}

/** A message from a delivery queue: a delivery step, a circuit's probe, or a large fan-out's next page. */
export async function processQueueMessage(
  deps: DeliveryServiceDeps,
  fanOut: Parameters<typeof continueFanOut>[0],
  message: QueueMessage,
  receiveCount = 1,
): Promise<void> {
  if (!("kind" in message)) await processDelivery(deps, message, receiveCount);
  else if (message.kind === "probe") await processProbe(deps, message);
  else await continueFanOut(fanOut, message);
}

function withoutPayload(message: DeliveryMessage): Omit<DeliveryMessage, "payload"> {
  const { payload: _payload, ...rest } = message;
  return rest;
}

function nowIso(deps: DeliveryServiceDeps): string {
  return deps.ports.now().toISOString();
}
