import { randomBytes } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import { loadConfig } from "../adapters/config.ts";
import { dynamoDeliveryStore } from "../adapters/delivery-store.ts";
import { resolveHost } from "../adapters/dns.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { logger } from "../adapters/logger.ts";
import { dynamoWebhookStore } from "../adapters/webhook-store.ts";
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
  CreateWebhookBody,
  deliveryResource,
  ListDeliveriesQuery,
  WebhookPath,
  webhookResource,
} from "./schemas.ts";

const config = loadConfig(["webhooksTable", "eventsTable", "eventTypes", "endpointPolicy", "retentionDays"]);
const webhooks = dynamoWebhookStore(dynamodb, config.webhooksTable);
const deliveries = dynamoDeliveryStore(dynamodb, config.eventsTable, config.retentionDays);

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
