import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { loadConfig } from "../adapters/config.ts";
import {
  deliveryLanes,
  laneOf,
  sqsDeliveryQueue,
  sqsFanOutContinuation,
} from "../adapters/delivery-queue.ts";
import { deliveryFromItem, dynamoDeliveryStore } from "../adapters/delivery-store.ts";
import { overdueRecords, postponeDue } from "../adapters/due-records.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { dynamoEventStore, eventFromItem } from "../adapters/event-store.ts";
import { Keys } from "../adapters/keys.ts";
import { logger } from "../adapters/logger.ts";
import { MetricUnit, metrics, publishMetrics } from "../adapters/metrics.ts";
import { queueDepth } from "../adapters/queue-depth.ts";
import { sqs } from "../adapters/sqs.ts";
import { traceHandler } from "../adapters/tracing.ts";
import { dynamoWebhookStore } from "../adapters/webhook-store.ts";
import { resumeMessage } from "../delivery/process.ts";
import { TERMINAL_STATUSES } from "../domain/model.ts";
import { type PublishDeps, resumeFanOut } from "../domain/publish.ts";
import { OPEN_CIRCUIT_COUNT_CAP } from "../shared/limits.ts";
import { MetricName } from "../shared/names.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "deliveryQueueUrl",
  "eventTypes",
  "retentionDays",
  "reconcileGraceSeconds",
  "priorityQueueUrl",
]);
const webhooks = dynamoWebhookStore(dynamodb, config.webhooksTable);
const lanes = deliveryLanes(config);
const queue = sqsDeliveryQueue(sqs, lanes);
const publishDeps: PublishDeps = {
  catalogue: config.eventTypes,
  events: dynamoEventStore(dynamodb, config.eventsTable, config.retentionDays, config.reconcileGraceSeconds),
  subscribers: webhooks,
  deliveries: dynamoDeliveryStore(
    dynamodb,
    config.eventsTable,
    config.retentionDays,
    config.reconcileGraceSeconds,
  ),
  queue,
  continueLater: sqsFanOutContinuation(sqs, deliveryLanes(config)),
  now: () => new Date(),
};

/** Overdue records handled per run; the rest wait for the next run a minute later. */
const RECORDS_PER_RUN = 1000;

/**
 * Self-healing, every minute: every record whose next step is overdue — a fan-out a crash interrupted, a
 * delivery whose message or retry workflow was lost, a parked delivery whose probe never came — is
 * driven on. Each is claimed by moving its deadline first, so concurrent runs never drive one twice.
 */
async function reconcile(): Promise<{ fanOuts: number; deliveries: number }> {
  // The gauge the open-circuit alarm watches: published every run, so "open for 15 minutes" is 15 runs.
  metrics.addMetric(
    MetricName.openCircuits,
    MetricUnit.Count,
    await webhooks.countOpenCircuits(OPEN_CIRCUIT_COUNT_CAP),
  );
  const now = new Date();
  const postponeTo = new Date(now.getTime() + config.reconcileGraceSeconds * 1000).toISOString();
  const overdue = await overdueRecords(dynamodb, config.eventsTable, now, RECORDS_PER_RUN);
  // A pending delivery overdue while its lane still has messages waiting is most likely among them,
  // late rather than lost: sending it again now would send it twice. It waits for the backlog to clear;
  // one whose message really was lost (a crash) finds the queue drained soon after.
  const backlog = new Map(
    overdue.length === 0
      ? []
      : await Promise.all(
          [lanes.queueUrl, lanes.priorityQueueUrl].map(
            async (url) => [url, await queueDepth(sqs, url)] as const,
          ),
        ),
  );
  let fanOuts = 0;
  let waiting = 0;
  const resumed = [];
  for (const record of overdue) {
    if (!(await postponeDue(dynamodb, config.eventsTable, record, postponeTo))) continue;
    if (record.key.sk === Keys.eventSort) {
      const event = eventFromItem(record.item);
      const deliveries = await resumeFanOut(publishDeps, event);
      logger.warn("resumed an interrupted fan-out", {
        tenant_id: event.tenantId,
        event_id: event.id,
        deliveries,
      });
      fanOuts += 1;
      continue;
    }
    const delivery = deliveryFromItem(record.item);
    if (TERMINAL_STATUSES.includes(delivery.status)) continue;
    if (delivery.status === "pending" && (backlog.get(laneOf(lanes, delivery.eventType)) ?? 0) > 0) {
      waiting += 1;
      continue;
    }
    resumed.push(resumeMessage(delivery, delivery.createdAt));
  }
  await queue.enqueue(resumed);
  if (overdue.length > 0) {
    logger.warn("reconciled overdue records", {
      overdue: overdue.length,
      fan_outs: fanOuts,
      deliveries: resumed.length,
      behind_a_backlog: waiting,
    });
  }
  return { fanOuts, deliveries: resumed.length };
}

export const handler = middy(reconcile)
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics());
