import { randomBytes } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import { loadConfig } from "../adapters/config.ts";
import { dynamoCursorKey } from "../adapters/cursor-key.ts";
import { deliveryLanes, sqsDeliveryQueue } from "../adapters/delivery-queue.ts";
import { resolveHost } from "../adapters/dns.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { httpSender } from "../adapters/http-sender.ts";
import { logger } from "../adapters/logger.ts";
import { queueDepth } from "../adapters/queue-depth.ts";
import { sqs } from "../adapters/sqs.ts";
import { dynamoStores } from "../adapters/stores.ts";
import { traceHandler } from "../adapters/tracing.ts";
import { circuitView } from "../domain/circuit.ts";
import { NotFoundError } from "../domain/errors.ts";
import { assertKnownEventType } from "../domain/event-types.ts";
import { healthStatus } from "../domain/health.ts";
import { eventDetail, listDeliveries, listEvents } from "../domain/history.ts";
import { newTestIds } from "../domain/ids.ts";
import {
  assertPortalAllows,
  type PortalScope,
  portalKey,
  portalUrl,
  signPortalToken,
} from "../domain/portal-token.ts";
import { selectsEvent } from "../domain/publish.ts";
import { sentView } from "../domain/sent-request.ts";
import { statsView } from "../domain/stats.ts";
import { sendTestEvent } from "../domain/test-event.ts";
import {
  deleteWebhook,
  findWebhook,
  listWebhooks,
  registerWebhook,
  rotateWebhookSecret,
  updateWebhook,
  type WebhookPatch,
} from "../domain/webhooks.ts";
import {
  type ApiEvent,
  type ApiResult,
  type Caller,
  callerOf,
  errorResponse,
  httpErrors,
  json,
  jsonBodies,
  noContent,
  parseWith,
  refuseInvalidKeys,
  requestOrigin,
} from "../http/http.ts";
import {
  CreatePortalLinkBody,
  CreateWebhookBody,
  DeliveryPath,
  deliveryDetailResource,
  deliveryResource,
  EventPath,
  eventDeliveryResource,
  eventSummaryResource,
  eventTypeResource,
  FilterTestBody,
  ListDeliveriesQuery,
  ListEventsQuery,
  ListWebhooksQuery,
  RecoverBody,
  TestWebhookBody,
  testResultResource,
  UpdateWebhookBody,
  WebhookPath,
  webhookResource,
} from "../http/schemas.ts";
import { recoverWebhook, retryDelivery } from "../services/recovery.ts";
import { MAX_TEST_SEND_TIMEOUT_SECONDS, OPEN_CIRCUIT_COUNT_CAP } from "../shared/limits.ts";
import {
  CONSOLE_PATH,
  FALLBACK_ROUTE,
  IngestRoute,
  ManagementRoute,
  type ManagementRouteKey,
  PublicRoute,
  type PublicRouteKey,
} from "../shared/names.ts";
import { openApiDocument } from "./openapi.ts";
import { allowedMethods } from "./route-match.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "eventCatalogue",
  "endpointPolicy",
  "retentionDays",
  "reconcileGraceSeconds",
  "fanOutPageSize",
  "deliveryQueueUrl",
  "priorityQueueUrl",
  "deadLetterQueueUrl",
  "version",
  "deliveryTimeoutSeconds",
  "secretRotationOverlapSeconds",
  "maxWebhooksPerTenant",
]);
const stores = dynamoStores(dynamodb, config);
const { webhooks } = stores;
const cursorKey = dynamoCursorKey(dynamodb, config.webhooksTable);
const endpointChecks = {
  catalogue: config.eventCatalogue,
  endpointPolicy: config.endpointPolicy,
  resolveHost,
};

const KNOWN_ROUTES: readonly string[] = [
  ...Object.values(ManagementRoute),
  ...Object.values(IngestRoute),
  ...Object.values(PublicRoute),
];

/** The patch as the domain takes it: only the fields the body has. */
function webhookPatch(body: ReturnType<typeof UpdateWebhookBody.parse>): WebhookPatch {
  return {
    ...(body.url === undefined ? {} : { url: body.url }),
    ...(body.event_types === undefined ? {} : { eventTypes: body.event_types }),
    ...(body.description === undefined ? {} : { description: body.description }),
    ...(body.active === undefined ? {} : { active: body.active }),
    ...(body.headers === undefined ? {} : { headers: body.headers }),
    ...(body.timeout_seconds === undefined ? {} : { timeoutSeconds: body.timeout_seconds }),
    ...(body.retry_schedule_seconds === undefined
      ? {}
      : { retryScheduleSeconds: body.retry_schedule_seconds }),
    ...(body.rate_limit_per_second === undefined ? {} : { rateLimitPerSecond: body.rate_limit_per_second }),
    ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
    ...(body.filter === undefined ? {} : { filter: body.filter }),
    ...(body.ordering === undefined ? {} : { ordering: body.ordering }),
  };
}
const { deliveries, events, stats } = stores;
const queue = sqsDeliveryQueue(sqs, deliveryLanes({ ...config, eventTypes: config.eventCatalogue }));
/** Test sends go through the delivery function's HTTP client: the same address checks, no redirects. */
/** What a delivery's detail rebuilds its request from. */
const sentPorts = {
  webhook: (tenantId: string, webhookId: string) => webhooks.get(tenantId, webhookId, true),
  revisionAfter: (tenantId: string, webhookId: string, version: string) =>
    webhooks.revisionAfter(tenantId, webhookId, version),
  eventPayload: (tenantId: string, eventId: string) => events.payload(tenantId, eventId),
  userAgent: `Hookline/${config.version}`,
};
const testPorts = {
  catalogue: config.eventCatalogue,
  send: httpSender(config.endpointPolicy),
  now: () => new Date(),
  newIds: newTestIds,
  userAgent: `Hookline/${config.version}`,
  timeoutMs: config.deliveryTimeoutSeconds * 1000,
  maxTimeoutMs: MAX_TEST_SEND_TIMEOUT_SECONDS * 1000,
};

/**
 * The webhooks a portal link names that still exist, in its order: the link's whole list, one page.
 * Read one by one: a link names at most MAX_PORTAL_WEBHOOKS.
 */
async function portalWebhooks(scope: PortalScope & { webhookIds: readonly string[] }) {
  const found = await Promise.all(
    scope.webhookIds.map((id) =>
      findWebhook(webhooks, scope.tenantId, id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      }),
    ),
  );
  return found.filter((webhook) => webhook !== undefined);
}

const routes: Record<
  ManagementRouteKey,
  (event: ApiEvent, tenantId: string, caller: Caller) => Promise<ApiResult>
> = {
  [ManagementRoute.listEventTypes]: async () =>
    json(200, { data: config.eventCatalogue.map(eventTypeResource) }),

  [ManagementRoute.createWebhook]: async (event, tenantId) => {
    const body = parseWith(CreateWebhookBody, event.body, "webhook");
    const webhook = await registerWebhook(
      {
        ...endpointChecks,
        store: webhooks,
        now: () => new Date(),
        randomBytes,
        maxWebhooksPerTenant: config.maxWebhooksPerTenant,
      },
      tenantId,
      {
        url: body.url,
        eventTypes: body.event_types,
        active: body.active,
        ...(body.description === undefined ? {} : { description: body.description }),
        ...(body.retry_schedule_seconds === undefined
          ? {}
          : { retryScheduleSeconds: body.retry_schedule_seconds }),
        ...(body.headers === undefined ? {} : { headers: body.headers }),
        ...(body.timeout_seconds === undefined ? {} : { timeoutSeconds: body.timeout_seconds }),
        ...(body.rate_limit_per_second === undefined
          ? {}
          : { rateLimitPerSecond: body.rate_limit_per_second }),
        ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
        ...(body.filter === undefined ? {} : { filter: body.filter }),
        ordering: body.ordering,
      },
    );
    logger.info("webhook registered", { webhook_id: webhook.id });
    return json(201, { ...webhookResource(webhook), secret: webhook.secret });
  },

  [ManagementRoute.listWebhooks]: async (event, tenantId, caller) => {
    const query = parseWith(ListWebhooksQuery, event.queryStringParameters ?? {}, "query");
    const scoped = caller.portal?.webhookIds;
    if (caller.portal !== undefined && scoped !== undefined) {
      const listed = await portalWebhooks({ ...caller.portal, webhookIds: scoped });
      const active = query.active === undefined ? undefined : query.active === "true";
      return json(200, {
        data: listed
          .filter((webhook) => active === undefined || webhook.active === active)
          .map(webhookResource),
        next_cursor: null,
      });
    }
    const page = await listWebhooks({ store: webhooks, cursorKey }, tenantId, {
      limit: query.limit,
      ...(query.active === undefined ? {} : { active: query.active === "true" }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return json(200, { data: page.webhooks.map(webhookResource), next_cursor: page.nextCursor });
  },

  [ManagementRoute.updateWebhook]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    const body = parseWith(UpdateWebhookBody, event.body, "webhook update");
    const webhook = await updateWebhook(
      { ...endpointChecks, store: webhooks, now: () => new Date() },
      tenantId,
      webhookId,
      webhookPatch(body),
    );
    logger.info("webhook updated", { webhook_id: webhookId, fields: Object.keys(body) });
    return json(200, webhookResource(webhook));
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

  [ManagementRoute.rotateSecret]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    const webhook = await rotateWebhookSecret(
      {
        store: webhooks,
        now: () => new Date(),
        randomBytes,
        overlapSeconds: config.secretRotationOverlapSeconds,
      },
      tenantId,
      webhookId,
    );
    // Never a secret in a log line: the new one is in this response only, the old one nowhere.
    logger.info("webhook secret rotated", {
      webhook_id: webhookId,
      previous_secret_expires_at: webhook.previousSecretExpiresAt ?? null,
    });
    return json(200, { ...webhookResource(webhook), secret: webhook.secret });
  },

  [ManagementRoute.testWebhook]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    // Only a body left out means "the defaults": a JSON `null` is a body, and not an object.
    const body = parseWith(TestWebhookBody, event.body === undefined ? {} : event.body, "test request");
    const webhook = await findWebhook(webhooks, tenantId, webhookId);
    const result = await sendTestEvent(testPorts, webhook, {
      ...(body.event_type === undefined ? {} : { eventType: body.event_type }),
      ...(body.data === undefined ? {} : { data: body.data }),
    });
    logger.info("test event sent", {
      webhook_id: webhookId,
      success: result.success,
      status_code: result.statusCode ?? null,
    });
    return json(200, testResultResource(result));
  },

  // The fan-out's own selection, active or not: a webhook without a filter takes every event of its types.
  [ManagementRoute.filterTest]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    const body = parseWith(FilterTestBody, event.body, "filter test");
    assertKnownEventType(config.eventCatalogue, body.type);
    const webhook = await findWebhook(webhooks, tenantId, webhookId);
    return json(200, { matches: selectsEvent(webhook, body.type, () => body.data) });
  },

  [ManagementRoute.webhookStats]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    const webhook = await findWebhook(webhooks, tenantId, webhookId);
    const counters = await stats.read(tenantId, webhookId, new Date());
    return json(200, {
      ...statsView(counters.total, counters.last24h),
      circuit_state: circuitView(webhook.circuit).circuit_state,
    });
  },

  [ManagementRoute.listDeliveries]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    const query = parseWith(ListDeliveriesQuery, event.queryStringParameters ?? {}, "query");
    await findWebhook(webhooks, tenantId, webhookId);
    const page = await listDeliveries({ deliveries, cursorKey }, tenantId, webhookId, {
      limit: query.limit,
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.event_type === undefined ? {} : { eventType: query.event_type }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return json(200, { data: page.deliveries.map(deliveryResource), next_cursor: page.nextCursor });
  },

  [ManagementRoute.getDelivery]: async (event, tenantId) => {
    const { webhookId, deliveryId } = parseWith(DeliveryPath, event.pathParameters, "path");
    const delivery = await deliveries.get(tenantId, webhookId, deliveryId);
    if (!delivery) throw new NotFoundError(`delivery ${deliveryId} not found`);
    return json(200, deliveryDetailResource(delivery, await sentView(sentPorts, delivery)));
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

  [ManagementRoute.recoverWebhook]: async (event, tenantId) => {
    const { webhookId } = parseWith(WebhookPath, event.pathParameters, "path");
    const body = parseWith(RecoverBody, event.body, "recover request");
    const webhook = await findWebhook(webhooks, tenantId, webhookId);
    const summary = await recoverWebhook(
      { deliveries, queue, now: () => new Date(), retentionDays: config.retentionDays },
      webhook,
      body.since,
    );
    logger.info("webhook recovery requested", {
      webhook_id: webhookId,
      since: body.since.toISOString(),
      recovering: summary.recovering,
    });
    return json(202, { recovering: summary.recovering, next_since: summary.nextSince ?? null });
  },

  [ManagementRoute.listEvents]: async (event, tenantId) => {
    const query = parseWith(ListEventsQuery, event.queryStringParameters ?? {}, "query");
    const page = await listEvents({ events, cursorKey }, tenantId, {
      limit: query.limit,
      ...(query.type === undefined ? {} : { type: query.type }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return json(200, { data: page.events.map(eventSummaryResource), next_cursor: page.nextCursor });
  },

  // Any tenant's key will do: the figures are deployment-wide, but a caller must be known, and an
  // unauthenticated request costs three reads.
  [ManagementRoute.healthDetails]: async () => {
    const [queue, priorityQueue, deadLetters, openCircuits] = await Promise.all([
      queueDepth(sqs, config.deliveryQueueUrl),
      queueDepth(sqs, config.priorityQueueUrl),
      queueDepth(sqs, config.deadLetterQueueUrl, true),
      webhooks.countOpenCircuits(OPEN_CIRCUIT_COUNT_CAP),
    ]);
    const figures = {
      queueDepth: queue,
      priorityQueueDepth: priorityQueue,
      deadLetterDepth: deadLetters,
      openCircuits,
    };
    return json(200, {
      status: healthStatus(figures),
      queue_depth: queue,
      priority_queue_depth: priorityQueue,
      dead_letter_depth: deadLetters,
      open_circuits: openCircuits,
    });
  },

  [ManagementRoute.createPortalLink]: async (event, tenantId) => {
    // Only a body left out means "the defaults", as for a test send.
    const body = parseWith(CreatePortalLinkBody, event.body === undefined ? {} : event.body, "portal link");
    // A link never names a webhook the issuing key could not see.
    for (const webhookId of body.webhook_ids ?? []) await findWebhook(webhooks, tenantId, webhookId);
    const expiresAt = Math.floor(Date.now() / 1000) + body.expires_in_seconds;
    const token = signPortalToken(portalKey(await cursorKey()), {
      tenantId,
      readOnly: body.read_only,
      expiresAt,
      ...(body.webhook_ids === undefined ? {} : { webhookIds: body.webhook_ids }),
    });
    logger.info("portal link issued", {
      webhook_ids: body.webhook_ids ?? null,
      read_only: body.read_only,
      expires_at: expiresAt,
    });
    return json(201, {
      url: portalUrl(requestOrigin(event), CONSOLE_PATH, token),
      expires_at: new Date(expiresAt * 1000).toISOString(),
    });
  },

  [ManagementRoute.getEvent]: async (event, tenantId) => {
    const { eventId } = parseWith(EventPath, event.pathParameters, "path");
    const detail = await eventDetail({ events, deliveries }, tenantId, eventId);
    return json(200, {
      ...eventSummaryResource(detail.event),
      data: detail.data,
      deliveries: detail.deliveries.map(eventDeliveryResource),
    });
  },
};

/** Routes without the authorizer: they answer nothing about the deployment's load or any tenant. */
const publicRoutes: Record<PublicRouteKey, (event: ApiEvent) => Promise<ApiResult>> = {
  // Liveness: reaching this answer is the whole check; the figures are at `GET /v1/health/details`.
  [PublicRoute.health]: async () => json(200, { status: "ok" }),

  // No `servers`: the paths are then relative to where the document is served, which is right both
  // behind API Gateway (custom domains, stages) and locally.
  [PublicRoute.openApi]: async () => json(200, openApiDocument(config.version)),
};

/** A request no route took: a 405 naming the path's methods, or a 404. */
function unmatched(event: ApiEvent): ApiResult {
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  const allowed = allowedMethods(KNOWN_ROUTES, path);
  if (allowed.length === 0) return errorResponse(404, "not_found", `no route ${method} ${path}`);
  const response = errorResponse(
    405,
    "method_not_allowed",
    `${method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`,
  );
  return { ...response, headers: { ...response.headers, allow: allowed.join(", ") } };
}

async function route(event: ApiEvent): Promise<ApiResult> {
  if (event.routeKey === FALLBACK_ROUTE) return unmatched(event);
  const publicHandle = publicRoutes[event.routeKey as PublicRouteKey];
  if (publicHandle) return publicHandle(event);
  const caller = callerOf(event);
  logger.appendKeys({
    tenant_id: caller.tenantId,
    ...(caller.portal === undefined ? {} : { via: "portal" }),
  });
  if (caller.portal !== undefined) {
    assertPortalAllows(caller.portal, event.routeKey, event.pathParameters?.webhookId, new Date());
  }
  const handle = routes[event.routeKey as ManagementRouteKey];
  if (!handle) throw new Error(`no handler for route ${event.routeKey}`);
  return handle(event, caller.tenantId, caller);
}

/** The management API: one function behind the webhook routes, dispatching on API Gateway's route key. */
export const handler = middy<ApiEvent, ApiResult>(route)
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(refuseInvalidKeys())
  .use(httpHeaderNormalizer())
  .use(jsonBodies())
  .use(httpErrors());
