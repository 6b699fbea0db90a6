import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { loadConfig } from "../adapters/config.ts";
import {
  deliveryLanes,
  sqsDeliveryQueue,
  sqsFanOutContinuation,
  sqsQueueSends,
} from "../adapters/delivery-queue.ts";
import { deliveryKey } from "../adapters/delivery-store.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { httpSender } from "../adapters/http-sender.ts";
import { dynamoInFlightSlots } from "../adapters/in-flight.ts";
import { logger } from "../adapters/logger.ts";
import { leaseMessages } from "../adapters/message-lease.ts";
import { metrics, publishMetrics } from "../adapters/metrics.ts";
import { dynamoDeliveryOrderStore } from "../adapters/order-store.ts";
import { dynamoRateLimiter } from "../adapters/rate-limiter.ts";
import { dynamoRetrySlots } from "../adapters/retry-slots.ts";
import { startRetryWorkflow } from "../adapters/retry-workflow.ts";
import { sfn } from "../adapters/sfn.ts";
import { sqs } from "../adapters/sqs.ts";
import { dynamoStores } from "../adapters/stores.ts";
import { traceHandler } from "../adapters/tracing.ts";
import { cachedWebhookReader } from "../adapters/webhook-cache.ts";
import { QueueMessageSchema } from "../domain/messages.ts";
import { RetrySlotSchema } from "../domain/retry-slot.ts";
import {
  type DeliveryServiceDeps,
  orderingDeps,
  processQueueMessage,
  releaseRetrySlot,
} from "../services/delivery-step.ts";
import { takeTurn } from "../services/ordering.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "deliveryQueueUrl",
  "deadLetterQueueUrl",
  "endpointPolicy",
  "deliveryTimeoutSeconds",
  "retentionDays",
  "reconcileGraceSeconds",
  "fanOutPageSize",
  "version",
  "retryStateMachineArn",
  "retrySchedule",
  "circuitFailureThreshold",
  "circuitCooldownSeconds",
  "priorityQueueUrl",
  "eventTypes",
  "maxDeliveriesInFlightPerWebhook",
]);
const stores = dynamoStores(dynamodb, config);
const lanes = deliveryLanes(config);
const queueSends = sqsQueueSends(sqs, lanes, config.deadLetterQueueUrl);
const rateLimiter = dynamoRateLimiter(dynamodb, config.webhooksTable);
const queue = sqsDeliveryQueue(sqs, lanes);
const ordering = orderingDeps({
  order: dynamoDeliveryOrderStore(dynamodb, config.eventsTable, config.retentionDays),
  deliveries: stores.deliveries,
  queue,
  now: () => new Date(),
});

/**
 * The longest a delivery function waits in-process for a rate-limited webhook's slot; a later slot
 * sends the delivery back to the queue with a delay instead, so a function never idles for long.
 */
const MAX_RATE_LIMIT_WAIT_MS = 5_000;

/**
 * A warm function reuses a healthy webhook while its tenant's subscriptions version, read once an
 * invocation, holds: far below one read per delivery, and none of the tenant's partition.
 */
const webhooks = cachedWebhookReader(stores.webhooks, (tenantId) =>
  stores.webhooks.subscriptionsVersion(tenantId),
);

const deps: DeliveryServiceDeps = {
  ports: {
    webhook: webhooks.read,
    eventPayload: (tenantId, eventId) => stores.events.payload(tenantId, eventId),
    claimProbe: (webhook, from, claim) =>
      stores.webhooks.saveCircuit(webhook.tenantId, webhook.id, from, claim),
    olderWaiting: (message) =>
      stores.deliveries.parkedBefore(message.tenantId, message.webhookId, message.deliveryId),
    send: httpSender(config.endpointPolicy),
    reserveSlot: (webhook) =>
      rateLimiter.reserve(
        webhook.tenantId,
        webhook.id,
        webhook.rateLimitPerSecond ?? Number.POSITIVE_INFINITY,
        Date.now,
      ),
    maxSlotWaitMs: MAX_RATE_LIMIT_WAIT_MS,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
    random: Math.random,
    timeoutMs: config.deliveryTimeoutSeconds * 1000,
    userAgent: `Hookline/${config.version}`,
    defaultSchedule: config.retrySchedule,
    circuitPolicy: {
      failureThreshold: config.circuitFailureThreshold,
      cooldownSeconds: config.circuitCooldownSeconds,
    },
    takeTurn: (message) => takeTurn(ordering, message),
  },
  deliveries: stores.deliveries,
  circuits: stores.webhooks,
  queue,
  // SQS delays at most 15 minutes; a longer cooldown is covered by sending the probe again.
  sendProbe: queueSends.sendProbe,
  retrySlots: dynamoRetrySlots(dynamodb, config.eventsTable),
  startRetryRun: (slot) => startRetryWorkflow(sfn, config.retryStateMachineArn, slot),
  sendToDeadLetterQueue: queueSends.sendToDeadLetterQueue,
  sendLater: queueSends.sendLater,
  deliveryKey: (message) => deliveryKey(message.tenantId, message.webhookId, message.deliveryId),
  metrics,
  log: logger,
  inFlight: {
    slots: dynamoInFlightSlots(dynamodb, config.webhooksTable),
    limit: config.maxDeliveriesInFlightPerWebhook,
  },
  ordering,
};

/** What continuing a large fan-out needs: the same stores and queues as ingest. */
const fanOutDeps = {
  catalogue: config.eventTypes,
  events: stores.events,
  subscribers: stores.webhooks,
  deliveries: stores.deliveries,
  queue: deps.queue,
  continueLater: sqsFanOutContinuation(sqs, lanes),
  now: () => new Date(),
};

async function handleRecord(record: SQSRecord): Promise<void> {
  try {
    await processQueueMessage(
      deps,
      fanOutDeps,
      QueueMessageSchema.parse(JSON.parse(record.body)),
      Number(record.attributes.ApproximateReceiveCount),
    );
  } catch (error) {
    logger.error("queue message not processed; SQS will deliver it again", {
      message_id: record.messageId,
      receive_count: record.attributes.ApproximateReceiveCount,
      error,
    });
    throw error;
  }
}

const processor = new BatchProcessor(EventType.SQS);

function isSqsEvent(event: unknown): event is SQSEvent {
  return typeof event === "object" && event !== null && "Records" in event;
}

/**
 * Delivery. From the queue: attempts (first ones, retries, resumed deliveries) and circuit probes, with
 * failed records reported back to SQS one by one. From the retry workflow: a retry slot whose wait is
 * over, whose deliveries go back to the queue.
 */
export const handler = middy(
  async (
    event: SQSEvent | Record<string, unknown>,
    context: Context,
  ): Promise<SQSBatchResponse | { readonly released: number }> => {
    webhooks.newInvocation();
    if (isSqsEvent(event)) {
      const release = leaseMessages(sqs, event.Records, {
        queueUrls: [config.deliveryQueueUrl, config.priorityQueueUrl],
        log: logger,
      });
      try {
        return await processPartialResponse(event, handleRecord, processor, { context });
      } finally {
        await release();
      }
    }
    return { released: await releaseRetrySlot(deps, RetrySlotSchema.parse(event)) };
  },
)
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics());
