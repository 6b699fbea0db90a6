/**
 * Every call the console makes to the Hookline API, in one module, through the typed client generated
 * from the OpenAPI document (`hookline/client`): a change to the API the document does not describe
 * breaks the console's build. Same origin as the console: no CORS, no API URL to configure. The
 * credential is an API key or a portal link's token; both go as a bearer token.
 */
import { createHooklineClient, type HooklineSchema } from "../client/index.ts";

export const DELIVERY_STATUSES = ["pending", "retrying", "delivered", "failed", "dead_lettered"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export type Webhook = HooklineSchema<"Webhook">;
export type WebhookWithSecret = HooklineSchema<"CreatedWebhook">;
export type WebhookStats = HooklineSchema<"WebhookStats">;
export type Delivery = HooklineSchema<"Delivery">;
export type EventSummary = HooklineSchema<"EventList">["data"][number];
export type EventWithDeliveries = HooklineSchema<"Event">;
export type TestResult = HooklineSchema<"TestResult">;

/** A delivery with its attempts and the request as it was last sent (`null` for attempts recorded before requests were shown). */
export type DeliveryDetail = HooklineSchema<"DeliveryWithAttempts">;

export interface Page<T> {
  readonly data: readonly T[];
  readonly next_cursor: string | null;
}

export interface DeliveryQuery {
  readonly status?: DeliveryStatus;
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

/** The answer's data, or an ApiError with the API's code and message. */
async function answer<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error as { error?: { code?: string; message?: string } } | undefined)?.error;
  throw new ApiError(
    response.status,
    body?.code ?? "error",
    body?.message ?? `the API answered ${response.status}`,
  );
}

export function createApi(credential: string) {
  const client = createHooklineClient({ baseUrl: window.location.origin, apiKey: credential });
  const webhookPath = (webhookId: string) => ({ params: { path: { webhookId } } });
  const deliveryPath = (webhookId: string, deliveryId: string) => ({
    params: { path: { webhookId, deliveryId } },
  });

  return {
    eventTypes: () => answer(client.GET("/v1/event-types")),
    webhooks: (cursor?: string) =>
      answer(client.GET("/v1/webhooks", { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } })),
    webhook: (webhookId: string) => answer(client.GET("/v1/webhooks/{webhookId}", webhookPath(webhookId))),
    createWebhook: (body: { url: string; event_types: string[]; description?: string }) =>
      answer(client.POST("/v1/webhooks", { body })),
    updateWebhook: (
      webhookId: string,
      body: { url?: string; event_types?: string[]; description?: string; active?: boolean },
    ) => answer(client.PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(webhookId), body })),
    deleteWebhook: (webhookId: string) =>
      answer(client.DELETE("/v1/webhooks/{webhookId}", webhookPath(webhookId))),
    rotateSecret: (webhookId: string) =>
      answer(client.POST("/v1/webhooks/{webhookId}/rotate-secret", webhookPath(webhookId))),
    testWebhook: (webhookId: string) =>
      answer(client.POST("/v1/webhooks/{webhookId}/test", { ...webhookPath(webhookId), body: {} })),
    stats: (webhookId: string) =>
      answer(client.GET("/v1/webhooks/{webhookId}/stats", webhookPath(webhookId))),
    deliveries: (webhookId: string, query: DeliveryQuery) =>
      answer(
        client.GET("/v1/webhooks/{webhookId}/deliveries", {
          params: { path: { webhookId }, query: { limit: 25, ...query } },
        }),
      ),
    delivery: (webhookId: string, deliveryId: string): Promise<DeliveryDetail> =>
      answer(
        client.GET("/v1/webhooks/{webhookId}/deliveries/{deliveryId}", deliveryPath(webhookId, deliveryId)),
      ),
    retryDelivery: (webhookId: string, deliveryId: string) =>
      answer(
        client.POST(
          "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry",
          deliveryPath(webhookId, deliveryId),
        ),
      ),
    recover: (webhookId: string, since: string) =>
      answer(client.POST("/v1/webhooks/{webhookId}/recover", { ...webhookPath(webhookId), body: { since } })),
    events: (query: { type?: string; cursor?: string }) =>
      answer(client.GET("/v1/events", { params: { query: { limit: 25, ...query } } })),
    event: (eventId: string) => answer(client.GET("/v1/events/{eventId}", { params: { path: { eventId } } })),
  };
}

export type Api = ReturnType<typeof createApi>;
