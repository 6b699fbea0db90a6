import type { DeadLetterMessage, DeliveryMessage } from "../domain/messages.ts";
import { TERMINAL_STATUSES } from "../domain/model.ts";
import type {
  DeliveryStore,
  DueRecords,
  LaneBacklogs,
  Log,
  MetricsSink,
  OpenCircuitCount,
  QueueSends,
  RecordKey,
  RetryRunState,
  StoredDelivery,
} from "../domain/ports.ts";
import { type PublishDeps, resumeFanOut } from "../domain/publish.ts";
import { MAX_REDRIVES } from "../shared/limits.ts";
import { MetricName } from "../shared/names.ts";
import { resumeMessage } from "./delivery-step.ts";

/** Overdue records handled per run; the rest wait for the next run a minute later. */
const RECORDS_PER_RUN = 1000;

/** Resumed messages sent at a time: one `SendMessageBatch`. */
const RESUMED_PER_SEND = 10;

/**
 * How soon a pending delivery that waits behind its lane's backlog is looked at again: at the next run
 * (every minute when deployed), not a grace later, so that it goes out soon after the lane drains. A
 * crash restart measured it: a fan-out's deliveries the crash left unqueued waited a second 50 s grace
 * behind another webhook's retries that had drained in 4 s.
 */
const BACKLOG_RECHECK_SECONDS = 5;

export interface ReconcileDeps {
  readonly due: DueRecords;
  readonly publish: PublishDeps;
  readonly circuits: OpenCircuitCount;
  /** The open-circuits gauge counts up to this many. */
  readonly openCircuitCountCap: number;
  readonly backlogs: LaneBacklogs;
  readonly deliveries: Pick<DeliveryStore, "settleDeadLetter" | "failStalled">;
  readonly sendToDeadLetterQueue: QueueSends["sendToDeadLetterQueue"];
  /** Where the named retry workflow execution is (see `retryRunName`). */
  readonly retryRunState: (runName: string) => Promise<RetryRunState>;
  /** How long a claimed record is left to the run that claimed it before it is overdue again. */
  readonly graceSeconds: number;
  readonly now: () => Date;
  readonly log: Log;
  readonly metrics: MetricsSink;
}

/**
 * Self-healing, every minute: every record whose next step is overdue — a fan-out a crash interrupted, a
 * delivery whose message or retry workflow was lost, a parked delivery whose probe never came — is
 * driven on. Each is claimed by moving its deadline first, so concurrent runs never drive one twice.
 */
export async function reconcile(deps: ReconcileDeps): Promise<{ fanOuts: number; deliveries: number }> {
  // The gauge the open-circuit alarm watches: published every run, so "open for 15 minutes" is 15 runs.
  deps.metrics.addMetric(
    MetricName.openCircuits,
    "Count",
    await deps.circuits.countOpenCircuits(deps.openCircuitCountCap),
  );
  const now = deps.now();
  const postponeTo = new Date(now.getTime() + deps.graceSeconds * 1000).toISOString();
  const recheckAt = new Date(
    now.getTime() + Math.min(BACKLOG_RECHECK_SECONDS, deps.graceSeconds) * 1000,
  ).toISOString();
  const overdue = await deps.due.overdue(now, RECORDS_PER_RUN);
  // A pending delivery overdue while its lane still has messages waiting or in flight is most likely
  // among them, late rather than lost: sending it again now would send it twice. It waits for the
  // backlog to clear; one whose message really was lost (a crash) finds the queue drained soon after.
  const backlogOf = overdue.length === 0 ? () => 0 : await deps.backlogs();
  let fanOuts = 0;
  let waiting = 0;
  let carried = 0;
  let poisoned = 0;
  // Sent as the run goes, a batch at a time: a run that dies part-way has claimed (postponed) only the
  // records whose messages it has not yet sent, so few wait a grace for the next run.
  let resumedCount = 0;
  let resumed: DeliveryMessage[] = [];
  const sendResumed = async () => {
    await deps.publish.queue.enqueue(resumed);
    resumedCount += resumed.length;
    resumed = [];
  };
  for (const record of overdue) {
    // Released from its circuit's waiting list and not moved on since: its message went to its lane
    // (no workflow carries it), unless the releaser died before sending it.
    const released =
      record.kind === "delivery" && record.delivery.releasedAt !== undefined && !record.delivery.parked;
    const run =
      record.kind === "delivery" &&
      record.delivery.status === "retrying" &&
      !record.delivery.parked &&
      !released
        ? await retryRunOf(deps, record.delivery, now)
        : undefined;
    if (run === "running") {
      if (await deps.due.postpone(record, postponeTo, { redrive: false })) carried += 1;
      continue;
    }
    // Only a re-drive into an empty lane counts towards poison: a grace later, its message has surely
    // been processed (the grace exceeds the queue's visibility timeout), so a delivery still overdue
    // then failed for a reason of its own, not for waiting behind others.
    const quiet = record.kind === "delivery" && backlogOf(record.delivery.eventType) === 0;
    const poison = quiet && record.delivery.redrives >= MAX_REDRIVES;
    const counted = quiet && !poison && !TERMINAL_STATUSES.includes(record.delivery.status);
    // A pending delivery, one released from its circuit and one its retry slot released each had a
    // message sent to their lane, unless a crash stopped it.
    const behindBacklog =
      record.kind === "delivery" &&
      (record.delivery.status === "pending" || released || run === "released") &&
      backlogOf(record.delivery.eventType) > 0;
    const until = behindBacklog ? recheckAt : postponeTo;
    if (!(await deps.due.postpone(record, until, { redrive: counted }))) continue;
    if (record.kind === "fan_out") {
      const { event } = record;
      const deliveries = await resumeFanOut(deps.publish, event);
      deps.log.warn("resumed an interrupted fan-out", {
        tenant_id: event.tenantId,
        event_id: event.id,
        deliveries,
      });
      fanOuts += 1;
      continue;
    }
    const { delivery } = record;
    if (delivery.status === "dead_lettered") {
      await finishDeadLetter(deps, record.key, delivery);
      continue;
    }
    if (TERMINAL_STATUSES.includes(delivery.status)) continue;
    if (behindBacklog) {
      waiting += 1;
      continue;
    }
    if (poison) {
      if (await failPoisoned(deps, delivery)) poisoned += 1;
      continue;
    }
    deps.log.info("driving on an overdue delivery", {
      tenant_id: delivery.tenantId,
      webhook_id: delivery.webhookId,
      delivery_id: delivery.id,
      status: delivery.status,
      attempt_count: delivery.attemptCount,
      parked: delivery.parked,
      due_at: record.dueAt,
    });
    resumed.push(resumeMessage(delivery, delivery.createdAt));
    if (resumed.length === RESUMED_PER_SEND) await sendResumed();
  }
  await sendResumed();
  if (overdue.length > 0) {
    deps.log.warn("reconciled overdue records", {
      overdue: overdue.length,
      fan_outs: fanOuts,
      deliveries: resumedCount,
      behind_a_backlog: waiting,
      in_retry_workflows: carried,
      poisoned,
    });
  }
  return { fanOuts, deliveries: resumedCount };
}

/**
 * Where a retrying delivery's retry workflow is. While its execution runs (a slot not yet released, a
 * throttled release) the delivery is looked at again a grace later; one that released its slot sent
 * the delivery to its lane; one that stopped carries nothing on, and the delivery is driven on now. A
 * record that names no execution (written by an older version) is left to its workflow until a grace
 * past its next attempt, as it was then.
 */
async function retryRunOf(deps: ReconcileDeps, delivery: StoredDelivery, now: Date): Promise<RetryRunState> {
  if (delivery.retryRun === undefined) {
    const nextAttempt = Date.parse(delivery.nextAttemptAt ?? delivery.createdAt);
    return now.getTime() - nextAttempt < deps.graceSeconds * 1000 ? "running" : "stopped";
  }
  try {
    return await deps.retryRunState(delivery.retryRun);
  } catch (error) {
    deps.log.warn("could not ask whether a retry workflow still runs; looking again a grace later", {
      tenant_id: delivery.tenantId,
      webhook_id: delivery.webhookId,
      delivery_id: delivery.id,
      error,
    });
    return "running";
  }
}

/**
 * A delivery marked `dead_lettered` whose dead-letter message a crash may have left unsent (it is still
 * due): the message is sent now. Marking first means a crash costs at most this message sent late, or,
 * when the crash fell between the send and the settling, a second letter that a redrive finds settled.
 */
async function finishDeadLetter(
  deps: ReconcileDeps,
  key: RecordKey,
  delivery: StoredDelivery,
): Promise<void> {
  const letter: DeadLetterMessage = {
    tenantId: delivery.tenantId,
    webhookId: delivery.webhookId,
    deliveryId: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    acceptedAt: delivery.createdAt,
    attempt: delivery.attemptCount,
    scheduleStart: delivery.scheduleStart,
    deadLetteredAt: delivery.completedAt ?? deps.now().toISOString(),
    ...(delivery.lastError === undefined ? {} : { lastError: delivery.lastError }),
  };
  await deps.sendToDeadLetterQueue(letter);
  await deps.deliveries.settleDeadLetter(key);
  deps.log.warn("sent the dead-letter message a crash left unsent", {
    tenant_id: delivery.tenantId,
    webhook_id: delivery.webhookId,
    delivery_id: delivery.id,
  });
}

/**
 * Ends a delivery re-driven `MAX_REDRIVES` times with no step recorded since: its message fails for a
 * reason of its own (it cannot be parsed, processed or recorded), and sending it again changes nothing.
 */
async function failPoisoned(deps: ReconcileDeps, delivery: StoredDelivery): Promise<boolean> {
  const reason = `poison: re-driven ${delivery.redrives} times and never processed (${delivery.status}, ${delivery.attemptCount} attempts recorded); see the delivery function's errors for this delivery id`;
  const failed = await deps.deliveries.failStalled(delivery, reason, deps.now());
  if (!failed) return false;
  deps.metrics.addMetric(MetricName.deliveriesPoisoned, "Count", 1);
  deps.metrics.addMetric(MetricName.deliveriesFailed, "Count", 1);
  deps.log.error("delivery failed as a poison message", {
    tenant_id: delivery.tenantId,
    webhook_id: delivery.webhookId,
    delivery_id: delivery.id,
    redrives: delivery.redrives,
  });
  return true;
}
