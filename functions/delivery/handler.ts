import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { z } from "zod";
import { loadConfig } from "../adapters/config.ts";
import { dynamoDeliveryStore } from "../adapters/delivery-store.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { dynamoEventStore } from "../adapters/event-store.ts";
import { httpSender } from "../adapters/http-sender.ts";
import { logger } from "../adapters/logger.ts";
import { dynamoWebhookStore } from "../adapters/webhook-store.ts";
import { type AttemptDeps, attemptDelivery } from "../domain/deliver.ts";
import type { DeliveryMessage, Webhook } from "../domain/model.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "endpointPolicy",
  "deliveryTimeoutSeconds",
  "retentionDays",
  "version",
]);
const webhooks = dynamoWebhookStore(dynamodb, config.webhooksTable);
const events = dynamoEventStore(dynamodb, config.eventsTable, config.retentionDays);
const deliveries = dynamoDeliveryStore(dynamodb, config.eventsTable, config.retentionDays);

/**
 * Webhook settings are read at most once per this many milliseconds per warm function, which keeps
 * DynamoDB reads far below one per delivery; a change (delete, disable) takes effect within it.
 */
const WEBHOOK_CACHE_MS = 10_000;
const webhookCache = new Map<string, { readonly webhook: Webhook | undefined; readonly expires: number }>();

async function cachedWebhook(tenantId: string, webhookId: string): Promise<Webhook | undefined> {
  const key = `${tenantId}/${webhookId}`;
  const cached = webhookCache.get(key);
  if (cached && cached.expires > Date.now()) return cached.webhook;
  const webhook = await webhooks.get(tenantId, webhookId);
  webhookCache.set(key, { webhook, expires: Date.now() + WEBHOOK_CACHE_MS });
  return webhook;
}

const attemptDeps: AttemptDeps = {
  webhook: cachedWebhook,
  eventPayload: (tenantId, eventId) => events.payload(tenantId, eventId),
  send: httpSender(config.endpointPolicy),
  now: () => new Date(),
  timeoutMs: config.deliveryTimeoutSeconds * 1000,
  userAgent: `Hookline/${config.version}`,
};

const DeliveryMessageSchema = z.object({
  tenantId: z.string().min(1),
  webhookId: z.string().min(1),
  deliveryId: z.string().min(1),
  eventId: z.string().min(1),
  eventType: z.string().min(1),
  acceptedAt: z.string().min(1),
  payload: z.string().optional(),
}) satisfies z.ZodType<DeliveryMessage>;

async function deliverRecord(record: SQSRecord): Promise<void> {
  const message = DeliveryMessageSchema.parse(JSON.parse(record.body));
  const correlation = {
    tenant_id: message.tenantId,
    webhook_id: message.webhookId,
    delivery_id: message.deliveryId,
    event_id: message.eventId,
  };
  const outcome = await attemptDelivery(attemptDeps, message);
  const recorded = await deliveries.recordOutcome(message, outcome);
  logger.info(
    recorded ? `delivery ${outcome.status}` : "delivery already completed; outcome not recorded again",
    {
      ...correlation,
      status: outcome.status,
      status_code: outcome.statusCode,
      duration_ms: outcome.durationMs,
      error: outcome.error,
    },
  );
}

const processor = new BatchProcessor(EventType.SQS);

/** Delivery: one signed POST per queued message; failed records are reported back to SQS individually. */
export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, deliverRecord, processor, { context }),
).use(injectLambdaContext(logger, { resetKeys: true }));
