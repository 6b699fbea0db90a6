/**
 * Every call the console makes to the Hookline API, in one module, so that moving to the generated
 * client (`hookline/client`) changes this file only. Same origin as the console: no CORS, no API URL to
 * configure. The credential is an API key or a portal link's token; both go as a bearer token.
 */

export const DELIVERY_STATUSES = ["pending", "retrying", "delivered", "failed", "dead_lettered"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly event_types: readonly string[];
  readonly description: string;
  readonly active: boolean;
  readonly disabled_reason: string | null;
  readonly filter: Record<string, unknown> | null;
  readonly circuit_state: "closed" | "open" | "half_open";
  readonly circuit_opened_at: string | null;
  readonly timeout_seconds: number | null;
  readonly rate_limit_per_second: number | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface WebhookWithSecret extends Webhook {
  readonly secret: string;
}

export interface WebhookStats {
  readonly total_deliveries: number;
  readonly success_rate: number | null;
  readonly last_24h_deliveries: number;
  readonly last_24h_success_rate: number | null;
  readonly circuit_state: string;
}

export interface Delivery {
  readonly id: string;
  readonly webhook_id: string;
  readonly event_id: string;
  readonly event_type: string;
  readonly status: DeliveryStatus;
  readonly attempt_count: number;
  readonly last_status_code: number | null;
  readonly last_error: string | null;
  readonly duration_ms: number | null;
  readonly next_attempt_at: string | null;
  readonly created_at: string;
  readonly completed_at: string | null;
}

export interface Attempt {
  readonly attempt: number;
  readonly at: string;
  readonly status_code: number | null;
  readonly duration_ms: number;
  readonly error: string | null;
  readonly response_body: string;
}

/** The request as it was sent, signatures masked; only from API versions that record it. */
export interface SentRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface DeliveryDetail extends Delivery {
  readonly attempts: readonly Attempt[];
  readonly attempts_omitted: number;
  readonly request?: SentRequest;
}

export interface EventSummary {
  readonly id: string;
  readonly type: string;
  readonly accepted_at: string;
  readonly source: string;
  readonly deliveries: number | null;
}

export interface EventWithDeliveries extends Omit<EventSummary, "deliveries"> {
  readonly data: unknown;
  readonly deliveries: readonly {
    readonly id: string;
    readonly webhook_id: string;
    readonly status: DeliveryStatus;
    readonly attempt_count: number;
    readonly last_status_code: number | null;
  }[];
}

export interface EventType {
  readonly name: string;
  readonly description: string;
}

export interface TestResult {
  readonly success: boolean;
  readonly status_code: number | null;
  readonly duration_ms: number;
  readonly response_body: string;
  readonly error: string | null;
}

export interface Page<T> {
  readonly data: readonly T[];
  readonly next_cursor: string | null;
}

export interface WebhookChanges {
  readonly url?: string;
  readonly event_types?: readonly string[];
  readonly description?: string;
  readonly active?: boolean;
  readonly filter?: Record<string, unknown> | null;
}

export interface DeliveryQuery {
  readonly status?: string;
  readonly event_type?: string;
  readonly since?: string;
  readonly until?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

/** An answer other than 2xx, with the API's message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

const id = encodeURIComponent;

export function createApi(credential: string) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${credential}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 204) return undefined as T;
    const parsed: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(
        response.status,
        error?.code ?? "error",
        error?.message ?? `the API answered ${response.status}`,
      );
    }
    return parsed as T;
  }

  return {
    eventTypes: () => call<Page<EventType>>("GET", "/v1/event-types"),
    webhooks: (cursor?: string) => call<Page<Webhook>>("GET", `/v1/webhooks${query({ cursor, limit: 50 })}`),
    webhook: (webhookId: string) => call<Webhook>("GET", `/v1/webhooks/${id(webhookId)}`),
    createWebhook: (body: { url: string; event_types: readonly string[]; description?: string }) =>
      call<WebhookWithSecret>("POST", "/v1/webhooks", body),
    updateWebhook: (webhookId: string, changes: WebhookChanges) =>
      call<Webhook>("PATCH", `/v1/webhooks/${id(webhookId)}`, changes),
    deleteWebhook: (webhookId: string) => call<undefined>("DELETE", `/v1/webhooks/${id(webhookId)}`),
    rotateSecret: (webhookId: string) =>
      call<WebhookWithSecret>("POST", `/v1/webhooks/${id(webhookId)}/rotate-secret`),
    testWebhook: (webhookId: string) => call<TestResult>("POST", `/v1/webhooks/${id(webhookId)}/test`),
    stats: (webhookId: string) => call<WebhookStats>("GET", `/v1/webhooks/${id(webhookId)}/stats`),
    deliveries: (webhookId: string, params: DeliveryQuery) =>
      call<Page<Delivery>>(
        "GET",
        `/v1/webhooks/${id(webhookId)}/deliveries${query({ limit: 25, ...params })}`,
      ),
    delivery: (webhookId: string, deliveryId: string) =>
      call<DeliveryDetail>("GET", `/v1/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}`),
    retryDelivery: (webhookId: string, deliveryId: string) =>
      call<Delivery>("POST", `/v1/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}/retry`),
    recover: (webhookId: string, since: string) =>
      call<{ recovering: number; next_since: string | null }>(
        "POST",
        `/v1/webhooks/${id(webhookId)}/recover`,
        { since },
      ),
    events: (params: { type?: string; cursor?: string }) =>
      call<Page<EventSummary>>("GET", `/v1/events${query({ limit: 25, ...params })}`),
    event: (eventId: string) => call<EventWithDeliveries>("GET", `/v1/events/${id(eventId)}`),
  };
}

export type Api = ReturnType<typeof createApi>;
