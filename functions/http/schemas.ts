import * as z from "zod";
import { circuitView } from "../domain/circuit.ts";
import {
  customHeaderProblems,
  HEADER_NAME,
  HEADER_VALUE,
  MAX_CUSTOM_HEADERS,
  MAX_HEADER_NAME_LENGTH,
  MAX_HEADER_VALUE_LENGTH,
  MAX_METADATA_ENTRIES,
  MAX_METADATA_KEY_LENGTH,
  MAX_METADATA_VALUE_LENGTH,
} from "../domain/custom-headers.ts";
import {
  type EventPattern,
  MAX_PATTERN_BYTES,
  MAX_PATTERN_DEPTH,
  MAX_PATTERN_VALUES,
  patternProblem,
} from "../domain/event-pattern.ts";
import { type AttemptRecord, type Delivery, ORDERINGS, type Webhook } from "../domain/model.ts";
import {
  DEFAULT_PORTAL_LINK_SECONDS,
  MAX_PORTAL_LINK_SECONDS,
  MAX_PORTAL_WEBHOOKS,
  MIN_PORTAL_LINK_SECONDS,
} from "../domain/portal-token.ts";
import type { EventSummary } from "../domain/ports.ts";
import type { SentRequest, SentView } from "../domain/sent-request.ts";
import type { TestSendResult } from "../domain/test-event.ts";
import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { exampleEventData } from "../shared/event-example.ts";
import { MAX_ATTEMPT_TIMEOUT_SECONDS } from "../shared/limits.ts";

/** Request and response shapes of the HTTP API. Field names are snake_case. */

const url = z.string().min(1, "url is required").max(2048, "url is longer than 2048 characters");

const eventTypes = z
  .array(z.string().min(1).max(200))
  .min(1, "subscribe to at least one event type")
  .max(100, "at most 100 event types")
  .describe("event type names, `prefix.*` patterns or `*`");

const description = z.string().max(1000);

const retrySchedule = z
  .array(z.number())
  .describe("delays in seconds after each failed attempt: at most 15, at most 3 days in all");

// zod's record skips a `__proto__` key without a word (it cannot be an own key of the object it builds),
// so a map holding one is refused here rather than stored with that entry silently gone.
function refusingPrototypeKey<Map extends z.ZodType>(map: Map) {
  return z.preprocess((value, context) => {
    if (value !== null && typeof value === "object" && Object.hasOwn(value, "__proto__")) {
      context.addIssue({
        code: "custom",
        message: "`__proto__` is not allowed as a name",
        path: ["__proto__"],
      });
    }
    return value;
  }, map);
}

// customHeaderProblems checks names and values, one problem per header; the limits are only described
// here, for the OpenAPI document.
const headers = refusingPrototypeKey(
  z
    .record(
      z.string().meta({ minLength: 1, maxLength: MAX_HEADER_NAME_LENGTH, pattern: HEADER_NAME.source }),
      z.string().meta({ maxLength: MAX_HEADER_VALUE_LENGTH, pattern: HEADER_VALUE.source }),
    )
    .superRefine((value, context) => {
      for (const problem of customHeaderProblems(value, "")) {
        context.addIssue({
          code: "custom",
          message: problem.message,
          path: problem.path === "" ? [] : [problem.path.slice(1)],
        });
      }
    })
    .meta({ maxProperties: MAX_CUSTOM_HEADERS })
    .describe(
      "request headers sent with every delivery: values of visible ASCII, spaces and tabs; not webhook-*, proxy-*, content-*, host, user-agent or the hop-by-hop headers",
    ),
);

const timeoutSeconds = z
  .number()
  .int("timeout_seconds must be a whole number")
  .min(1)
  .max(MAX_ATTEMPT_TIMEOUT_SECONDS)
  .describe("how long an attempt waits for an answer; the deployment's attempt timeout (10 s) by default");

const rateLimit = z
  .number()
  .int("rate_limit_per_second must be a whole number")
  .min(1)
  .max(10_000)
  .describe("most deliveries per second the endpoint accepts");

const metadata = refusingPrototypeKey(
  z
    .record(z.string().min(1).max(MAX_METADATA_KEY_LENGTH), z.string().max(MAX_METADATA_VALUE_LENGTH))
    .refine((value) => Object.keys(value).length <= MAX_METADATA_ENTRIES, {
      message: `at most ${MAX_METADATA_ENTRIES} metadata entries`,
    })
    .meta({ maxProperties: MAX_METADATA_ENTRIES })
    .describe("your own string labels, returned as given"),
);

// Any JSON at first, checked by the domain's validator alone: the API then refuses exactly what the
// matcher could not evaluate, at the path of the first problem. Taken as parsed, like EventData.
const filter = z
  .custom<EventPattern>()
  .superRefine((value, context) => {
    const problem = patternProblem(value);
    if (problem) context.addIssue({ code: "custom", message: problem.message, path: [...problem.path] });
  })
  .meta({ type: "object", additionalProperties: {} })
  .describe(
    `an EventBridge event pattern matched against {"type": <event type>, "data": <event data>}: exact values, prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard, cidr and $or; at most ${MAX_PATTERN_BYTES} bytes of JSON, ${MAX_PATTERN_DEPTH} levels of fields and ${MAX_PATTERN_VALUES} values`,
  );

/** A webhook's `ordering`, as given and as shown. */
export const OrderingSchema = z
  .enum(ORDERINGS)
  .describe(
    "fifo: deliveries are attempted one at a time, in the order their events were accepted, a failing one holding the later ones until it ends; none: each delivery goes on its own",
  );

export const CreateWebhookBody = z.strictObject({
  url,
  event_types: eventTypes,
  description: description.optional(),
  active: z.boolean().default(true),
  headers: headers.optional(),
  timeout_seconds: timeoutSeconds.optional(),
  retry_schedule_seconds: retrySchedule.optional(),
  rate_limit_per_second: rateLimit.optional(),
  metadata: metadata.optional(),
  filter: filter.optional(),
  ordering: OrderingSchema.default("none"),
});

/**
 * A partial update: the fields of a create, each optional, validated the same way. `null` puts
 * `retry_schedule_seconds`, `timeout_seconds` or `rate_limit_per_second` back to the default and
 * removes `filter`; an empty `headers` or `metadata` object removes them all.
 */
export const UpdateWebhookBody = z
  .strictObject({
    url: url.optional(),
    event_types: eventTypes.optional(),
    description: description.optional(),
    active: z.boolean().optional(),
    headers: headers.optional(),
    timeout_seconds: timeoutSeconds.nullable().optional(),
    retry_schedule_seconds: retrySchedule.nullable().optional(),
    rate_limit_per_second: rateLimit.nullable().optional(),
    metadata: metadata.optional(),
    filter: filter.nullable().optional(),
    ordering: OrderingSchema.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: "give at least one field to change" });

export const ListWebhooksQuery = z.strictObject({
  active: z.enum(["true", "false"]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(100),
  cursor: z.string().min(1).max(2048).optional(),
});

export const WebhookPath = z.object({ webhookId: z.string().min(1).max(64) });

export const DeliveryPath = z.object({
  webhookId: z.string().min(1).max(64),
  deliveryId: z.string().min(1).max(64),
});

export const DELIVERY_STATUSES = ["pending", "retrying", "delivered", "failed", "dead_lettered"] as const;

/** An ISO 8601 time with a zone (`2026-11-25T10:00:00Z`, `...+01:00`), as a Date. */
const isoTime = (what: string) =>
  z.iso
    .datetime({
      offset: true,
      error: `${what} must be an ISO 8601 time with a zone, e.g. 2026-11-25T10:00:00Z`,
    })
    .transform((text) => new Date(text))
    .refine((time) => time.getUTCFullYear() >= 1970 && time.getUTCFullYear() <= 9999, {
      message: `${what} must be between the years 1970 and 9999`,
    });

const timeRange = {
  since: isoTime("since").optional().describe("only what was created at or after this time"),
  until: isoTime("until").optional().describe("only what was created before this time"),
};

const sinceBeforeUntil = (query: { since?: Date | undefined; until?: Date | undefined }) =>
  query.since === undefined || query.until === undefined || query.since < query.until;
const sinceBeforeUntilIssue = { message: "since must be before until", path: ["until"] };

const pageLimit = z.coerce.number().int().min(1).max(100).default(100);
const cursor = z.string().min(1).max(2048).optional();

export const ListDeliveriesQuery = z
  .strictObject({
    status: z.enum(DELIVERY_STATUSES).optional(),
    event_type: z.string().min(1).max(200).optional(),
    ...timeRange,
    limit: pageLimit,
    cursor,
  })
  .refine(sinceBeforeUntil, sinceBeforeUntilIssue);

export const ListEventsQuery = z
  .strictObject({
    type: z.string().min(1).max(200).optional(),
    ...timeRange,
    limit: pageLimit,
    cursor,
  })
  .refine(sinceBeforeUntil, sinceBeforeUntilIssue);

export const EventPath = z.object({ eventId: z.string().min(1).max(128) });

export const RecoverBody = z.strictObject({
  since: isoTime("since").describe(
    "re-send the failed and dead-lettered deliveries created since this time; not in the future, at most the retention period back",
  ),
});

export const CreatePortalLinkBody = z.strictObject({
  webhook_ids: z
    .array(z.string().min(1).max(128))
    .min(1)
    .max(MAX_PORTAL_WEBHOOKS)
    .refine((ids) => new Set(ids).size === ids.length, "list each webhook once")
    .optional()
    .describe("the webhooks the link shows; left out: every webhook of the tenant, and its events"),
  read_only: z.boolean().default(false).describe("no change, test send, retry or recovery through the link"),
  expires_in_seconds: z
    .number()
    .int()
    .min(MIN_PORTAL_LINK_SECONDS)
    .max(MAX_PORTAL_LINK_SECONDS)
    .default(DEFAULT_PORTAL_LINK_SECONDS)
    .describe("how long the link works: 1 hour unless told, at most 24 hours"),
});

/** Caller-chosen event ids double as idempotency keys, so they are restricted to a safe alphabet. */
export const EVENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Tenant ids: the alphabet API keys are created with, so an EventBridge publisher cannot name another. */
export const TENANT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * An event's `data`: any JSON object, passed on exactly as it was parsed. `z.record` would copy it
 * key by key, and the copy silently loses a `__proto__` key.
 */
export const EventData = z
  .custom<Record<string, unknown>>(
    (value) => typeof value === "object" && value !== null && !Array.isArray(value),
    "data must be a JSON object",
  )
  .meta({ type: "object", additionalProperties: {} });

export const PublishEventBody = z.strictObject({
  type: z.string().min(1, "type is required").max(200),
  data: EventData,
  id: z.string().regex(EVENT_ID, "id must be 1-128 characters of A-Z a-z 0-9 _ . : -").optional(),
});

/** A test send: both fields optional, and the body itself may be left out. */
export const TestWebhookBody = z.strictObject({
  event_type: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      "a catalogue type; by default the first of the webhook's subscriptions that is a plain name, else the catalogue's first",
    ),
  data: EventData.optional().describe(
    "the test event's `data`, sent as given; by default the type's `example` (see GET /v1/event-types)",
  ),
});

/** An event to try a webhook's event types and filter on. */
export const FilterTestBody = z.strictObject({
  type: z.string().min(1, "type is required").max(200).describe("a catalogue type"),
  data: EventData,
});

export function testResultResource(result: TestSendResult) {
  return {
    success: result.success,
    status_code: result.statusCode ?? null,
    duration_ms: result.durationMs,
    response_body: result.responseBody,
    error: result.error ?? null,
  };
}

export function webhookResource(webhook: Webhook) {
  return {
    id: webhook.id,
    url: webhook.url,
    event_types: webhook.eventTypes,
    description: webhook.description,
    active: webhook.active,
    disabled_reason: webhook.disabledReason ?? null,
    retry_schedule_seconds: webhook.retryScheduleSeconds ?? null,
    headers: webhook.headers ?? {},
    timeout_seconds: webhook.timeoutSeconds ?? null,
    rate_limit_per_second: webhook.rateLimitPerSecond ?? null,
    metadata: webhook.metadata ?? {},
    filter: webhook.filter ?? null,
    ordering: webhook.ordering ?? "none",
    ...circuitView(webhook.circuit),
    created_at: webhook.createdAt,
    updated_at: webhook.updatedAt,
  };
}

export function deliveryResource(delivery: Delivery) {
  return {
    id: delivery.id,
    webhook_id: delivery.webhookId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    status: delivery.status,
    attempt_count: delivery.attemptCount,
    last_status_code: delivery.lastStatusCode ?? null,
    last_error: delivery.lastError ?? null,
    duration_ms: delivery.durationMs ?? null,
    next_attempt_at: delivery.nextAttemptAt ?? null,
    created_at: delivery.createdAt,
    completed_at: delivery.completedAt ?? null,
  };
}

export function attemptResource(attempt: AttemptRecord) {
  return {
    attempt: attempt.attempt,
    at: attempt.at,
    status_code: attempt.statusCode ?? null,
    duration_ms: attempt.durationMs,
    error: attempt.error ?? null,
    response_body: attempt.responseBody,
  };
}

/**
 * The request of a delivery's latest attempt as the receiver got it (the OpenAPI document's
 * `SentRequest`): what the detail's `request` holds, signatures masked.
 */
export const SentRequestShape = z
  .object({
    method: z.literal("POST"),
    url: z.string(),
    headers: z
      .record(z.string(), z.string())
      .describe(
        "the webhook's custom headers and the Standard Webhooks headers, each `webhook-signature` value masked (`v1,****`)",
      ),
    body: z.string().describe("the exact JSON text sent"),
  })
  .describe("the request of the latest attempt, as sent");

export function sentRequestResource(request: SentRequest): z.infer<typeof SentRequestShape> {
  return { method: request.method, url: request.url, headers: { ...request.headers }, body: request.body };
}

/** A delivery's detail: its attempts, each with the URL it went to when that is not the request's. */
export function deliveryDetailResource(delivery: Delivery, sent: SentView) {
  return {
    ...deliveryResource(delivery),
    request: sent.request === undefined ? null : sentRequestResource(sent.request),
    attempts: (delivery.attempts ?? []).map((attempt) => {
      const url = sent.attemptUrls.get(attempt.attempt);
      return { ...attemptResource(attempt), ...(url === undefined ? {} : { url }) };
    }),
    attempts_omitted: delivery.attemptsOmitted ?? 0,
  };
}

export function eventTypeResource(definition: EventTypeDefinition) {
  return {
    name: definition.name,
    description: definition.description,
    schema: definition.schema ?? null,
    example: exampleEventData(definition),
  };
}

export function eventSummaryResource(event: EventSummary) {
  return {
    id: event.id,
    type: event.type,
    accepted_at: event.acceptedAt,
    source: event.source,
    deliveries: event.deliveryCount ?? null,
  };
}

/** One delivery as an event's detail lists it. */
export function eventDeliveryResource(delivery: Delivery) {
  return {
    id: delivery.id,
    webhook_id: delivery.webhookId,
    status: delivery.status,
    attempt_count: delivery.attemptCount,
    last_status_code: delivery.lastStatusCode ?? null,
  };
}
