import { z } from "zod";
import { circuitView } from "../domain/circuit.ts";
import type { AttemptRecord, Delivery, Webhook } from "../domain/model.ts";

/** Request and response shapes of the HTTP API. Field names are snake_case. */

export const CreateWebhookBody = z.strictObject({
  url: z.string().min(1, "url is required").max(2048, "url is longer than 2048 characters"),
  event_types: z
    .array(z.string().min(1).max(200))
    .min(1, "subscribe to at least one event type")
    .max(100, "at most 100 event types"),
  description: z.string().max(1000).optional(),
  retry_schedule_seconds: z.array(z.number()).optional(),
});

export const WebhookPath = z.object({ webhookId: z.string().min(1).max(64) });

export const DeliveryPath = z.object({
  webhookId: z.string().min(1).max(64),
  deliveryId: z.string().min(1).max(64),
});

export const DELIVERY_STATUSES = ["pending", "retrying", "delivered", "failed", "dead_lettered"] as const;

export const ListDeliveriesQuery = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(100),
});

/** Caller-chosen event ids double as idempotency keys, so they are restricted to a safe alphabet. */
export const EVENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export const PublishEventBody = z.strictObject({
  type: z.string().min(1, "type is required").max(200),
  data: z.record(z.string(), z.unknown(), "data must be a JSON object"),
  id: z.string().regex(EVENT_ID, "id must be 1-128 characters of A-Z a-z 0-9 _ . : -").optional(),
});

export function webhookResource(webhook: Webhook) {
  return {
    id: webhook.id,
    url: webhook.url,
    event_types: webhook.eventTypes,
    description: webhook.description,
    active: webhook.active,
    disabled_reason: webhook.disabledReason ?? null,
    retry_schedule_seconds: webhook.retryScheduleSeconds ?? null,
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
