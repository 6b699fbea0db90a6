import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import type { Context, EventBridgeEvent } from "aws-lambda";
import * as z from "zod";
import { loadConfig } from "../adapters/config.ts";
import { deliveryLanes, sqsDeliveryQueue, sqsFanOutContinuation } from "../adapters/delivery-queue.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { logger } from "../adapters/logger.ts";
import { MetricUnit, metrics, publishMetrics } from "../adapters/metrics.ts";
import { dynamoPublishRateLimiter } from "../adapters/rate-limiter.ts";
import { sqs } from "../adapters/sqs.ts";
import { dynamoStores } from "../adapters/stores.ts";
import { cachedSubscriberSnapshots } from "../adapters/subscriber-cache.ts";
import { traceHandler } from "../adapters/tracing.ts";
import { HooklineError } from "../domain/errors.ts";
import {
  admitApiPublish,
  type PublishEventDeps,
  type PublishRequest,
  publishEvent,
} from "../domain/publish.ts";
import {
  type ApiEvent,
  type ApiResult,
  httpErrors,
  json,
  jsonBodies,
  parseWith,
  refuseInvalidKeys,
  tenantOf,
} from "../http/http.ts";
import { EVENT_ID, EventData, PublishEventBody, TENANT_ID } from "../http/schemas.ts";
import { eventDataCheck } from "../shared/event-schemas.ts";
import { MetricName } from "../shared/names.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "deliveryQueueUrl",
  "eventCatalogue",
  "retentionDays",
  "reconcileGraceSeconds",
  "fanOutPageSize",
  "priorityQueueUrl",
  "tenantPublishRatePerSecond",
  "tenantPublishBurst",
]);

const { webhooks, events, deliveries } = dynamoStores(dynamodb, config);
const lanes = deliveryLanes({ ...config, eventTypes: config.eventCatalogue });
const publishRate = dynamoPublishRateLimiter(
  dynamodb,
  config.eventsTable,
  config.tenantPublishRatePerSecond,
  config.tenantPublishBurst,
);

const deps: PublishEventDeps = {
  catalogue: config.eventCatalogue,
  checkData: eventDataCheck(config.eventCatalogue),
  events,
  subscribers: {
    activeWebhookPage: (tenantId, after) => webhooks.activeWebhookPage(tenantId, after),
    subscriberSnapshot: cachedSubscriberSnapshots(webhooks, {
      ttlMs: 5 * 60_000,
      maxTenants: 1_000,
      now: Date.now,
    }),
    subscriptionsUnchanged: (tenantId, version) => webhooks.subscriptionsUnchanged(tenantId, version),
  },
  deliveries,
  queue: sqsDeliveryQueue(sqs, lanes),
  continueLater: sqsFanOutContinuation(sqs, lanes),
  now: () => new Date(),
};

/** `detail` of an EventBridge event addressed to Hookline; `detail-type` is the event type. */
const EventBridgeDetail = z.strictObject({
  tenant_id: z.string().regex(TENANT_ID, "tenant_id must be 1-128 characters of A-Z a-z 0-9 _ . : -"),
  data: EventData,
  id: z.string().regex(EVENT_ID).optional(),
});

type HooklineEventBridgeEvent = EventBridgeEvent<string, unknown>;

async function publish(tenantId: string, request: PublishRequest) {
  logger.appendKeys({ tenant_id: tenantId, ...(request.id ? { event_id: request.id } : {}) });
  const result = await publishEvent(deps, tenantId, request);
  logger.info(result.duplicate ? "event already published" : "event published", {
    event_id: result.event.id,
    event_type: result.event.type,
    deliveries: result.deliveryCount,
  });
  if (!result.duplicate) {
    metrics.addMetric(MetricName.eventsPublished, MetricUnit.Count, 1);
    metrics.addMetric(MetricName.deliveriesCreated, MetricUnit.Count, result.deliveryCount);
  }
  return result;
}

async function publishFromApi(event: ApiEvent): Promise<ApiResult> {
  const body = parseWith(PublishEventBody, event.body, "event");
  await admitApiPublish(publishRate, tenantOf(event), Date.now());
  const result = await publish(tenantOf(event), {
    type: body.type,
    data: body.data,
    source: "api",
    ...(body.id === undefined ? {} : { id: body.id }),
  });
  return json(202, {
    id: result.event.id,
    type: result.event.type,
    accepted_at: result.event.acceptedAt,
    deliveries: result.deliveryCount,
    duplicate: result.duplicate,
    // Above one page of subscribers the fan-out goes on in later invocations; `deliveries` counts
    // those made so far.
    fan_out_complete: result.fanOutComplete,
  });
}

/**
 * EventBridge events cannot be answered with a 4xx: one that can never be accepted is logged and thrown
 * like any other failure, so that after Lambda's retries it lands on the ingest dead-letter queue with its
 * reason (the on-failure record's `responsePayload`) instead of vanishing. EventBridge's own event id is
 * the default idempotency key, since EventBridge may deliver an event twice.
 */
async function publishFromEventBridge(event: HooklineEventBridgeEvent): Promise<void> {
  try {
    const detail = parseWith(EventBridgeDetail, event.detail, "EventBridge detail");
    await publish(detail.tenant_id, {
      type: event["detail-type"],
      data: detail.data,
      source: "eventbridge",
      id: detail.id ?? `evt_eb_${event.id}`,
    });
  } catch (error) {
    if (error instanceof HooklineError) {
      logger.error("EventBridge event rejected", {
        eventbridge_id: event.id,
        detail_type: event["detail-type"],
        reason: error.message,
      });
    }
    throw error;
  }
}

const apiHandler = middy<ApiEvent, ApiResult>(publishFromApi)
  .use(refuseInvalidKeys())
  .use(httpHeaderNormalizer())
  .use(jsonBodies())
  .use(httpErrors());

function isEventBridgeEvent(event: unknown): event is HooklineEventBridgeEvent {
  return typeof event === "object" && event !== null && "detail-type" in event;
}

/** Ingest: the `POST /v1/events` route and the EventBridge rule's target share one function. */
export const handler = middy<ApiEvent | HooklineEventBridgeEvent, ApiResult | undefined>(
  async (event: ApiEvent | HooklineEventBridgeEvent, context: Context): Promise<ApiResult | undefined> => {
    if (!isEventBridgeEvent(event)) return apiHandler(event, context);
    await publishFromEventBridge(event);
    return undefined;
  },
)
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics());
