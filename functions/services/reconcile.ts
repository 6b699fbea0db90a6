import type { DeliveryMessage } from "../domain/messages.ts";
import { TERMINAL_STATUSES } from "../domain/model.ts";
import type { DueRecords, LaneBacklogs, Log, MetricsSink, OpenCircuitCount } from "../domain/ports.ts";
import { type PublishDeps, resumeFanOut } from "../domain/publish.ts";
import { MetricName } from "../shared/names.ts";
import { resumeMessage } from "./delivery-step.ts";

/** Overdue records handled per run; the rest wait for the next run a minute later. */
const RECORDS_PER_RUN = 1000;

export interface ReconcileDeps {
  readonly due: DueRecords;
  readonly publish: PublishDeps;
  readonly circuits: OpenCircuitCount;
  /** The open-circuits gauge counts up to this many. */
  readonly openCircuitCountCap: number;
  readonly backlogs: LaneBacklogs;
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
  const overdue = await deps.due.overdue(now, RECORDS_PER_RUN);
  // A pending delivery overdue while its lane still has messages waiting is most likely among them,
  // late rather than lost: sending it again now would send it twice. It waits for the backlog to clear;
  // one whose message really was lost (a crash) finds the queue drained soon after.
  const backlogOf = overdue.length === 0 ? () => 0 : await deps.backlogs();
  let fanOuts = 0;
  let waiting = 0;
  const resumed: DeliveryMessage[] = [];
  for (const record of overdue) {
    if (!(await deps.due.postpone(record, postponeTo))) continue;
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
    if (TERMINAL_STATUSES.includes(delivery.status)) continue;
    if (delivery.status === "pending" && backlogOf(delivery.eventType) > 0) {
      waiting += 1;
      continue;
    }
    resumed.push(resumeMessage(delivery, delivery.createdAt));
  }
  await deps.publish.queue.enqueue(resumed);
  if (overdue.length > 0) {
    deps.log.warn("reconciled overdue records", {
      overdue: overdue.length,
      fan_outs: fanOuts,
      deliveries: resumed.length,
      behind_a_backlog: waiting,
    });
  }
  return { fanOuts, deliveries: resumed.length };
}
