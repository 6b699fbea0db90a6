import { randomBytes } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import { loadConfig } from "../adapters/config.ts";
import { deliveryLanes, sqsDeliveryQueue } from "../adapters/delivery-queue.ts";
import { dynamoDeliveryStore } from "../adapters/delivery-store.ts";
import { resolveHost } from "../adapters/dns.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { logger } from "../adapters/logger.ts";
import { sqs } from "../adapters/sqs.ts";
import { dynamoWebhookStore } from "../adapters/webhook-store.ts";
import { retryDelivery } from "../delivery/recovery.ts";
import { NotFoundError } from "../domain/errors.ts";
import { deleteWebhook, findWebhook, registerWebhook } from "../domain/webhooks.ts";
import { ManagementRoute, type ManagementRouteKey } from "../shared/names.ts";
import {
  type ApiEvent,
  type ApiResult,
  httpErrors,
  json,
  jsonBodies,
  noContent,
  parseWith,
  tenantOf,
} from "./http.ts";
import {
  attemptResource,
  CreateWebhookBody,
  DeliveryPath,
  deliveryResource,
  ListDeliveriesQuery,
  WebhookPath,
  webhookResource,
} from "./schemas.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "eventTypes",
  "endpointPolicy",
  "retentionDays",
  "reconcileGraceSeconds",
  "deliveryQueueUrl",
  "priorityQueueUrl",
]);
const webhooks = dynamoWebhookStore(dynamodb, config.webhooksTable);
const deliveries = dynamoDeliveryStore(
  dynamodb,
  config.eventsTable,
  config.retentionDays,
  config.reconcileGraceSeconds,
);
const queue = sqsDeliveryQueue(sqs, deliveryLanes(config));

const routes: Record<ManagementRouteKey, (event: ApiEvent, tenantId: string) => Promise<ApiResult>> = {
  [ManagementRoute.createWebhook]: async (event, tenantId) => {
    const body = parseWith(CreateWebhookBody, event.body, "webhook");
    const webhook = await registerWebhook(
      {
        store: webhooks,
        catalogue: config.eventTypes,
        endpointPolicy: config.endpointPolicy,
        resolveHost,
        now: () => new Date(),
        randomBytes,
      },
      tenantId,
      {
        url: body.url,
        eventTypes: body.event_types,
        ...(body.description === undefined ? {} : { description: body.description }),
        ...(body.retry_schedule_seconds === undefined
          ? {}
          : { retryScheduleSeconds: body.retry_schedule_seconds }),
      },
    );
    logger.info("webhook registered", { webhook_id: webhook.id });
    return json(201, { ...webhookResource(webhook), secret: webhook.secret });
  },

  [ManagementRoute.getWebhook]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    return json(200, webhookResource(await findWebhook(webhooks, tenantId, webhookId)));
  },

  [ManagementRoute.deleteWebhook]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    await deleteWebhook(webhooks, tenantId, webhookId);
    logger.info("webhook deleted", { webhook_id: webhookId });
    return noContent();
  },

  [ManagementRoute.listDeliveries]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    const query = parseWith(ListDeliveriesQuery, event.queryStringParameters ?? {}, "query");
    await findWebhook(webhooks, tenantId, webhookId);
    const page = await deliveries.list(tenantId, webhookId, {
      limit: query.limit,
      ...(query.status === undefined ? {} : { status: query.status }),
    });
    return json(200, { data: page.map(deliveryResource) });
  },

  [ManagementRoute.getDelivery]: async (event, tenantId) => {
    const { webhookId, deliveryId } = parseWith(DeliveryPath, event.pathParameters, "path");
    const delivery = await deliveries.get(tenantId, webhookId, deliveryId);
    if (!delivery) throw new NotFoundError(`delivery ${deliveryId} not found`);
    return json(200, {
      ...deliveryResource(delivery),
      attempts: (delivery.attempts ?? []).map(attemptResource),
    });
  },

  [ManagementRoute.retryDelivery]: async (event, tenantId) => {
    const { webhookId, deliveryId } = parseWith(DeliveryPath, event.pathParameters, "path");
    const reopened = await retryDelivery(
      { deliveries, queue, now: () => new Date() },
      tenantId,
      webhookId,
      deliveryId,
    );
    logger.info("delivery retry requested", { webhook_id: webhookId, delivery_id: deliveryId });
    return json(202, deliveryResource(reopened));
  },
};

async function route(event: ApiEvent): Promise<ApiResult> {
  const tenantId = tenantOf(event);
  logger.appendKeys({ tenant_id: tenantId });
  const handle = routes[event.routeKey as ManagementRouteKey];
  if (!handle) throw new Error(`no handler for route ${event.routeKey}`);
  return handle(event, tenantId);
}

/** The management API: one function behind the webhook routes, dispatching on API Gateway's route key. */
export const handler = middy<ApiEvent, ApiResult>(route)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpHeaderNormalizer())
  .use(jsonBodies())
  .use(httpErrors());
