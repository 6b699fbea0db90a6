import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as z from "zod";
import { loadConfig } from "../adapters/config.ts";
import {
  deliveryLanes,
  laneOf,
  sqsDeliveryQueue,
  sqsFanOutContinuation,
} from "../adapters/delivery-queue.ts";
import { deliveryKey, dynamoDeliveryStore } from "../adapters/delivery-store.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { dynamoEventStore } from "../adapters/event-store.ts";
import { httpSender } from "../adapters/http-sender.ts";
import { logger } from "../adapters/logger.ts";
import { metrics, publishMetrics } from "../adapters/metrics.ts";
import { queueBody } from "../adapters/queue-body.ts";
import { dynamoRateLimiter } from "../adapters/rate-limiter.ts";
import { startRetryWorkflow } from "../adapters/retry-workflow.ts";
import { sfn } from "../adapters/sfn.ts";
import { sqs } from "../adapters/sqs.ts";
import { dynamoStatsStore } from "../adapters/stats-store.ts";
import { traceHandler } from "../adapters/tracing.ts";
import { dynamoWebhookStore } from "../adapters/webhook-store.ts";
import type { Webhook } from "../domain/model.ts";
import { continueFanOut } from "../domain/publish.ts";
import { StatsBatch } from "../domain/stats.ts";
import { MAX_ATTEMPT_TIMEOUT_SECONDS } from "../shared/retry-policy.ts";
import { type DeliveryServiceDeps, processDelivery, processProbe, type WorkflowAnswer } from "./process.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "deliveryQueueUrl",
  "deadLetterQueueUrl",
  "endpointPolicy",
  "deliveryTimeoutSeconds",
  "retentionDays",
  "reconcileGraceSeconds",
  "version",
  "retryStateMachineArn",
  "retrySchedule",
  "circuitFailureThreshold",
  "circuitCooldownSeconds",
  "priorityQueueUrl",
  "eventTypes",
]);
const webhooks = dynamoWebhookStore(dynamodb, config.webhooksTable);
const events = dynamoEventStore(
  dynamodb,
  config.eventsTable,
  config.retentionDays,
  config.reconcileGraceSeconds,
);

/**
 * A healthy webhook's settings are reused for this long by a warm function, which keeps DynamoDB reads
 * far below one per delivery. Webhooks with failures are always read fresh, so that every instance
 * sees an opening circuit at once.
 */
const WEBHOOK_CACHE_MS = 2_000;
const webhookCache = new Map<string, { readonly webhook: Webhook | undefined; readonly expires: number }>();

async function readWebhook(
  tenantId: string,
  webhookId: string,
  fresh: boolean,
): Promise<Webhook | undefined> {
  const key = `${tenantId}/${webhookId}`;
  const cached = webhookCache.get(key);
  if (!fresh && cached && cached.expires > Date.now()) return cached.webhook;
  const webhook = await webhooks.get(tenantId, webhookId);
  const healthy = webhook?.circuit.state === "closed" && webhook.circuit.consecutiveFailures === 0;
  if (healthy || !webhook) webhookCache.set(key, { webhook, expires: Date.now() + WEBHOOK_CACHE_MS });
  else webhookCache.delete(key);
  return webhook;
}

const lanes = deliveryLanes(config);
const rateLimiter = dynamoRateLimiter(dynamodb, config.webhooksTable);
const statsStore = dynamoStatsStore(dynamodb, config.eventsTable, config.retentionDays);
const stats = new StatsBatch();

/**
 * Writes the invocation's stats counters. A failure here costs only counts, never a delivery, so it is
 * logged rather than failing the batch (which would send every delivery in it again).
 */
async function flushStats(): Promise<void> {
  const increments = stats.drain();
  if (increments.length === 0) return;
  try {
    await statsStore.flush(increments);
  } catch (error) {
    logger.error("webhook stats counters not written", { webhooks: increments.length, error });
  }
}

/**
 * The longest a delivery function waits in-process for a rate-limited webhook's slot; a later slot
 * sends the delivery back to the queue with a delay instead, so a function never idles for long.
 */
const MAX_RATE_LIMIT_WAIT_MS = 5_000;

const deps: DeliveryServiceDeps = {
  ports: {
    webhook: readWebhook,
    eventPayload: (tenantId, eventId) => events.payload(tenantId, eventId),
    claimProbe: (webhook, from, claim) => webhooks.saveCircuit(webhook.tenantId, webhook.id, from, claim),
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
      // A probe outlives the longest attempt a webhook may ask for, and then some.
      probeTimeoutSeconds: MAX_ATTEMPT_TIMEOUT_SECONDS + 30,
    },
  },
  deliveries: dynamoDeliveryStore(
    dynamodb,
    config.eventsTable,
    config.retentionDays,
    config.reconcileGraceSeconds,
  ),
  circuits: webhooks,
  queue: sqsDeliveryQueue(sqs, lanes),
  sendProbe: async (probe, delaySeconds) => {
    // SQS delays at most 15 minutes; a longer cooldown is covered by sending the probe again.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: config.deliveryQueueUrl,
        MessageBody: queueBody(probe),
        DelaySeconds: Math.min(900, Math.max(0, Math.ceil(delaySeconds))),
      }),
    );
  },
  startRetry: (next, waitSeconds) => startRetryWorkflow(sfn, config.retryStateMachineArn, next, waitSeconds),
  sendToDeadLetterQueue: async (message) => {
    await sqs.send(
      new SendMessageCommand({ QueueUrl: config.deadLetterQueueUrl, MessageBody: queueBody(message) }),
    );
  },
  sendLater: async (message, delaySeconds) => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: laneOf(lanes, message.eventType),
        MessageBody: queueBody(message),
        DelaySeconds: Math.min(900, Math.max(0, Math.ceil(delaySeconds))),
      }),
    );
  },
  deliveryKey: (message) => deliveryKey(message.tenantId, message.webhookId, message.deliveryId),
  metrics,
  stats,
};

const DeliveryMessageSchema = z.object({
  tenantId: z.string().min(1),
  webhookId: z.string().min(1),
  deliveryId: z.string().min(1),
  eventId: z.string().min(1),
  eventType: z.string().min(1),
  acceptedAt: z.string().min(1),
  payload: z.string().optional(),
  attempt: z.number().int().min(1),
  scheduleStart: z.number().int().min(0),
  resumed: z.boolean().optional(),
  rateSlotAt: z.number().optional(),
});

const ProbeMessageSchema = z.object({
  kind: z.literal("probe"),
  tenantId: z.string().min(1),
  webhookId: z.string().min(1),
});

const FanOutMessageSchema = z.object({
  kind: z.literal("fanout"),
  tenantId: z.string().min(1),
  eventId: z.string().min(1),
  eventType: z.string().min(1),
  after: z.string().min(1),
  deliveriesSoFar: z.number().int().min(0),
  resume: z.boolean(),
});

const QueueMessageSchema = z.union([ProbeMessageSchema, FanOutMessageSchema, DeliveryMessageSchema]);

/** What continuing a large fan-out needs: the same stores and queues as ingest. */
const fanOutDeps = {
  catalogue: config.eventTypes,
  events,
  subscribers: webhooks,
  deliveries: deps.deliveries,
  queue: deps.queue,
  continueLater: sqsFanOutContinuation(sqs, lanes),
  now: () => new Date(),
};

async function handleRecord(record: SQSRecord): Promise<void> {
  try {
    const message = QueueMessageSchema.parse(JSON.parse(record.body));
    if (!("kind" in message)) await processDelivery(deps, message, "queue");
    else if (message.kind === "probe") await processProbe(deps, message);
    else await continueFanOut(fanOutDeps, message);
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
 * Delivery. From the queue: first attempts, resumed deliveries and circuit probes, with failed records
 * reported back to SQS one by one. From the retry workflow: one scheduled retry, answering what the
 * workflow does next.
 */
export const handler = middy(
  async (
    event: SQSEvent | Record<string, unknown>,
    context: Context,
  ): Promise<SQSBatchResponse | WorkflowAnswer> => {
    try {
      if (isSqsEvent(event)) return await processPartialResponse(event, handleRecord, processor, { context });
      return await processDelivery(deps, DeliveryMessageSchema.parse(event), "workflow");
    } finally {
      await flushStats();
    }
  },
)
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics());
