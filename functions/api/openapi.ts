/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the very zod schemas that validate the
 * requests (`z.toJSONSchema`: OpenAPI 3.1 schemas are JSON Schema 2020-12). Every route key has an
 * operation here; the type below makes a route without one a compile error.
 */
import * as z from "zod";
import {
  CreatePortalLinkBody,
  CreateWebhookBody,
  DELIVERY_STATUSES,
  FilterTestBody,
  ListDeliveriesQuery,
  ListEventsQuery,
  ListWebhooksQuery,
  OrderingSchema,
  PublishEventBody,
  RecoverBody,
  SentRequestShape,
  TestWebhookBody,
  UpdateWebhookBody,
} from "../http/schemas.ts";
import { IngestRoute, type ManagementRouteKey, PublicRoute, type PublicRouteKey } from "../shared/names.ts";

type IngestRouteKey = (typeof IngestRoute)[keyof typeof IngestRoute];
type RouteKey = ManagementRouteKey | IngestRouteKey | PublicRouteKey;

interface Operation {
  readonly summary: string;
  readonly body?: z.ZodType;
  /** The body may be left out (every field of it is optional). */
  readonly optionalBody?: true;
  readonly query?: z.ZodObject;
  /** Status → description, and the response schema's component name if it has a body. */
  readonly responses: Readonly<Record<number, readonly [string, string?]>>;
}

const ErrorShape = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })),
  }),
});

const WebhookShape = z.object({
  id: z.string(),
  url: z.string(),
  event_types: z.array(z.string()),
  description: z.string(),
  active: z.boolean(),
  disabled_reason: z.string().nullable(),
  retry_schedule_seconds: z.array(z.number()).nullable(),
  headers: z.record(z.string(), z.string()),
  timeout_seconds: z.number().int().nullable(),
  rate_limit_per_second: z.number().int().nullable(),
  metadata: z.record(z.string(), z.string()),
  filter: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe("the EventBridge pattern events must match; null: every event of its types"),
  ordering: OrderingSchema,
  circuit_state: z.enum(["closed", "open", "half_open"]),
  circuit_opened_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

const DeliveryShape = z.object({
  id: z.string(),
  webhook_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempt_count: z.number().int(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  duration_ms: z.number().nullable(),
  next_attempt_at: z.string().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});

const AttemptShape = z.object({
  attempt: z.number().int().describe("1 for the first attempt"),
  at: z.string(),
  status_code: z.number().int().nullable().describe("null when no HTTP answer arrived"),
  duration_ms: z.number(),
  error: z.string().nullable(),
  response_body: z.string().describe("the first 1 KB of the answer (UTF-8 bytes)"),
});

const EventSummaryShape = z.object({
  id: z.string(),
  type: z.string(),
  accepted_at: z.string(),
  source: z.enum(["api", "eventbridge"]),
  deliveries: z
    .number()
    .int()
    .nullable()
    .describe("how many deliveries it fanned out to; null while it fans out"),
});

const components = {
  Error: ErrorShape,
  KeyRefused: z
    .union([ErrorShape, z.object({ message: z.string() })])
    .describe(
      'an unknown, revoked or malformed key: the error shape with code invalid_api_key; no Authorization header at all: API Gateway\'s own {"message": "Unauthorized"}, before any Hookline code runs',
    ),
  CreateWebhook: CreateWebhookBody,
  UpdateWebhook: UpdateWebhookBody,
  PublishEvent: PublishEventBody,
  Webhook: WebhookShape,
  CreatedWebhook: WebhookShape.extend({ secret: z.string().describe("signing secret, shown only here") }),
  WebhookList: z.object({ data: z.array(WebhookShape), next_cursor: z.string().nullable() }),
  EventTypeList: z.object({
    data: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        schema: z
          .record(z.string(), z.unknown())
          .nullable()
          .describe("the JSON Schema (draft 2020-12) the event's `data` must match; null: any object"),
        example: z
          .record(z.string(), z.unknown())
          .describe("data of this type: what a test send or `hookline trigger` sends when given none"),
      }),
    ),
  }),
  TestWebhook: TestWebhookBody,
  FilterTest: FilterTestBody,
  FilterTestResult: z.object({
    matches: z
      .boolean()
      .describe("the event's type is subscribed to and the filter, if any, matches: it would be delivered"),
  }),
  TestResult: z.object({
    success: z.boolean().describe("the endpoint answered 2xx"),
    status_code: z.number().int().nullable().describe("null when no HTTP answer arrived"),
    duration_ms: z.number(),
    response_body: z.string().describe("the first 1 KB of the answer"),
    error: z.string().nullable().describe("why it failed: the HTTP status, or a connection problem"),
  }),
  WebhookStats: z.object({
    total_deliveries: z
      .number()
      .int()
      .describe(
        "deliveries that ended, each counted once by its latest outcome (a retry, manual retry or recovery is another attempt, not another delivery)",
      ),
    successful_deliveries: z.number().int(),
    failed_deliveries: z
      .number()
      .int()
      .describe("deliveries that failed for good (4xx, 410, webhook deleted)"),
    dead_lettered_deliveries: z.number().int().describe("deliveries whose retry schedule ran out"),
    success_rate: z.number().nullable().describe("between 0 and 1; null with no ended delivery"),
    total_attempts: z.number().int().describe("every attempt made, retries and manual retries included"),
    avg_duration_ms: z.number().nullable().describe("mean duration of an attempt"),
    last_24h_deliveries: z.number().int(),
    last_24h_success_rate: z.number().nullable(),
    circuit_state: z.enum(["closed", "open", "half_open"]),
  }),
  Delivery: DeliveryShape,
  SentRequest: SentRequestShape,
  DeliveryWithAttempts: DeliveryShape.extend({
    request: SentRequestShape.nullable().describe(
      "the latest attempt's request as sent; null before the first attempt, when no request was built, or once the event expired",
    ),
    attempts: z
      .array(
        AttemptShape.extend({
          url: z
            .string()
            .optional()
            .describe("where this attempt was sent, given only when not the request's URL"),
        }),
      )
      .describe("the first 5 and the latest 20 attempts, oldest first; manual retries included"),
    attempts_omitted: z.number().int().describe("attempts made between those kept, no longer kept"),
  }),
  DeliveryList: z.object({ data: z.array(DeliveryShape), next_cursor: z.string().nullable() }),
  Recover: RecoverBody,
  Recovering: z.object({
    recovering: z.number().int().describe("deliveries queued again by this request"),
    next_since: z
      .string()
      .nullable()
      .describe("set when the request stopped at its cap of 1,000: recover again with this `since`"),
  }),
  EventList: z.object({ data: z.array(EventSummaryShape), next_cursor: z.string().nullable() }),
  Event: EventSummaryShape.extend({
    data: z.unknown().describe("the data the event was published with"),
    deliveries: z.array(
      z.object({
        id: z.string(),
        webhook_id: z.string(),
        status: z.enum(DELIVERY_STATUSES),
        attempt_count: z.number().int(),
        last_status_code: z.number().int().nullable(),
      }),
    ),
  }),
  PublishedEvent: z.object({
    id: z.string(),
    type: z.string(),
    accepted_at: z.string(),
    deliveries: z.number().int(),
    duplicate: z.boolean(),
    fan_out_complete: z
      .boolean()
      .describe(
        "false while a fan-out to more than one page of webhooks goes on; deliveries counts those made",
      ),
  }),
  Liveness: z.object({ status: z.literal("ok") }),
  Health: z.object({
    status: z.enum(["ok", "degraded"]),
    queue_depth: z.number().int(),
    priority_queue_depth: z.number().int(),
    dead_letter_depth: z.number().int(),
    open_circuits: z.number().int(),
  }),
  CreatePortalLink: CreatePortalLinkBody,
  PortalLink: z.object({
    url: z.string().describe("the console, opened with the link's token in the URL's fragment"),
    expires_at: z.string(),
  }),
  OpenApiDocument: z.looseObject({ openapi: z.string() }),
} satisfies Record<string, z.ZodType>;

type ComponentName = keyof typeof components;

const invalid = ["the request is not valid", "Error"] as const;
const tooLarge = ["the event's data is too large", "Error"] as const;
const missing = ["no such webhook (or it belongs to another tenant)", "Error"] as const;

const operations: Record<
  RouteKey,
  Operation & { responses: Record<number, readonly [string, ComponentName?]> }
> = {
  "GET /v1/event-types": {
    summary: "The event types that may be published and subscribed to",
    responses: { 200: ["the catalogue", "EventTypeList"] },
  },
  "POST /v1/webhooks": {
    summary: "Register a webhook",
    body: CreateWebhookBody,
    responses: {
      201: ["the webhook, with its signing secret", "CreatedWebhook"],
      400: invalid,
      422: ["the tenant has as many webhooks as it may have", "Error"],
    },
  },
  "GET /v1/webhooks": {
    summary: "List webhooks, newest first, a page at a time",
    query: ListWebhooksQuery,
    responses: { 200: ["a page and the cursor of the next one", "WebhookList"], 400: invalid },
  },
  "GET /v1/webhooks/{webhookId}": {
    summary: "One webhook (without its secret)",
    responses: { 200: ["the webhook", "Webhook"], 404: missing },
  },
  "PATCH /v1/webhooks/{webhookId}": {
    summary: "Change some of a webhook's settings; `active: true` re-enables a deactivated webhook",
    body: UpdateWebhookBody,
    responses: { 200: ["the updated webhook", "Webhook"], 400: invalid, 404: missing },
  },
  "DELETE /v1/webhooks/{webhookId}": {
    summary: "Delete a webhook",
    responses: { 204: ["deleted"], 404: missing },
  },
  "POST /v1/webhooks/{webhookId}/rotate-secret": {
    summary:
      "Give a webhook a new signing secret; the old one keeps signing, after the new one, for the deployment's overlap (24 h by default)",
    responses: { 200: ["the webhook, with its new signing secret", "CreatedWebhook"], 404: missing },
  },
  "POST /v1/webhooks/{webhookId}/test": {
    summary:
      "Send a signed test event to the endpoint now (also when the webhook is inactive); no delivery is recorded",
    body: TestWebhookBody,
    optionalBody: true,
    responses: {
      200: ["what the endpoint answered, or why it could not be reached", "TestResult"],
      400: invalid,
      404: missing,
      413: tooLarge,
    },
  },
  "POST /v1/webhooks/{webhookId}/filter-test": {
    summary:
      "Whether an event would be delivered to the webhook, by its event types and filter (a webhook without a filter takes every event of its types); nothing is sent or stored",
    body: FilterTestBody,
    responses: { 200: ["the answer", "FilterTestResult"], 400: invalid, 404: missing },
  },
  "GET /v1/webhooks/{webhookId}/stats": {
    summary: "A webhook's delivery statistics and circuit state",
    responses: { 200: ["the counters", "WebhookStats"], 404: missing },
  },
  "GET /v1/webhooks/{webhookId}/deliveries": {
    summary: "A webhook's deliveries, newest first, filtered, a page at a time",
    query: ListDeliveriesQuery,
    responses: { 200: ["the deliveries", "DeliveryList"], 400: invalid, 404: missing },
  },
  "GET /v1/webhooks/{webhookId}/deliveries/{deliveryId}": {
    summary: "One delivery with its attempts",
    responses: { 200: ["the delivery", "DeliveryWithAttempts"], 404: missing },
  },
  "POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry": {
    summary: "Send a failed or dead-lettered delivery again",
    responses: {
      202: ["queued again", "Delivery"],
      404: missing,
      409: ["the delivery is not failed or dead-lettered", "Error"],
    },
  },
  "POST /v1/webhooks/{webhookId}/recover": {
    summary:
      "Send every failed and dead-lettered delivery created since a time again (up to 1,000 a request)",
    body: RecoverBody,
    responses: {
      202: ["queued again", "Recovering"],
      400: invalid,
      404: missing,
      409: ["the webhook is not active: re-enable it first", "Error"],
    },
  },
  "GET /v1/events": {
    summary: "The tenant's events, newest first, a page at a time (without their data)",
    query: ListEventsQuery,
    responses: { 200: ["a page and the cursor of the next one", "EventList"], 400: invalid },
  },
  "GET /v1/events/{eventId}": {
    summary: "One event with its data and the deliveries it fanned out to",
    responses: {
      200: ["the event", "Event"],
      404: ["no such event (or it belongs to another tenant)", "Error"],
    },
  },
  "POST /v1/portal-links": {
    summary:
      "A link that opens the web console for the tenant, or some of its webhooks, without an API key, for a while (API keys only)",
    body: CreatePortalLinkBody,
    optionalBody: true,
    responses: { 201: ["the link", "PortalLink"], 400: invalid, 404: missing },
  },
  [IngestRoute.publishEvent]: {
    summary: "Publish an event to every subscribed webhook",
    body: PublishEventBody,
    responses: {
      202: ["accepted", "PublishedEvent"],
      400: invalid,
      413: tooLarge,
      429: ["over the tenant's publish rate: try again after `Retry-After` seconds", "Error"],
    },
  },
  [PublicRoute.health]: {
    summary: "Liveness: the API answers (no API key needed)",
    responses: { 200: ["the API is up", "Liveness"] },
  },
  "GET /v1/health/details": {
    summary: "Deployment health: queue depths and open circuits, deployment-wide (any tenant's key)",
    responses: { 200: ["queue depths and open circuits", "Health"] },
  },
  [PublicRoute.openApi]: {
    summary: "This document (no API key needed)",
    responses: { 200: ["the OpenAPI 3.1 document", "OpenApiDocument"] },
  },
};

const PUBLIC_ROUTES: ReadonlySet<string> = new Set(Object.values(PublicRoute));

/** What every route that needs a key answers without a valid one. */
const KEY_RESPONSES = {
  401: ["no API key, or one that is unknown, revoked or malformed; or an expired portal link", "KeyRefused"],
  403: ["a portal link's token used beyond its scope (route, webhooks, read-only)", "Error"],
} as const;

/** What every route with a JSON body answers when the body is sent as something else. */
const NOT_JSON = ["the body is not sent as application/json", "Error"] as const;

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const componentOf = (schema: z.ZodType) =>
  (Object.entries(components) as [string, z.ZodType][]).find(([, candidate]) => candidate === schema)?.[0];

function parametersOf(path: string, query: z.ZodObject | undefined) {
  const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const properties = query ? (jsonSchema(query).properties as Record<string, unknown>) : {};
  const inQuery = Object.entries(properties).map(([name, schema]) => ({ name, in: "query", schema }));
  return [...inPath, ...inQuery];
}

/** The document; `serverUrl` is where the API answers. */
export function openApiDocument(version: string, serverUrl?: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [routeKey, operation] of Object.entries(operations) as [
    RouteKey,
    (typeof operations)[RouteKey],
  ][]) {
    const [method = "", path = ""] = routeKey.split(" ");
    const parameters = parametersOf(path, operation.query);
    const body = operation.body === undefined ? undefined : componentOf(operation.body);
    const responses = {
      // Path parameters are checked (their length, above all) before anything is looked up.
      ...(path.includes("{") ? { 400: invalid } : {}),
      ...operation.responses,
      ...(body === undefined ? {} : { 415: NOT_JSON }),
      ...(PUBLIC_ROUTES.has(routeKey) ? {} : KEY_RESPONSES),
    };
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = {
      operationId: routeKey.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, ""),
      summary: operation.summary,
      ...(PUBLIC_ROUTES.has(routeKey) ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body === undefined
        ? {}
        : {
            requestBody: {
              required: operation.optionalBody !== true,
              content: { "application/json": { schema: ref(body) } },
            },
          }),
      responses: Object.fromEntries(
        Object.entries(responses).map(([status, [description, schema]]) => [
          status,
          {
            description,
            ...(schema === undefined ? {} : { content: { "application/json": { schema: ref(schema) } } }),
          },
        ]),
      ),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Hookline",
      version,
      description: "Webhook delivery for AWS. Every route except health and this document needs an API key.",
    },
    ...(serverUrl === undefined ? {} : { servers: [{ url: serverUrl }] }),
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description:
            "a Hookline API key, hk_..., or a portal link's token, hlp_..., on the console's routes",
        },
      },
      schemas: Object.fromEntries(
        Object.entries(components).map(([name, schema]) => [name, jsonSchema(schema)]),
      ),
    },
  };
}
