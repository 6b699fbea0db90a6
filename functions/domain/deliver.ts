import type { DeliveryMessage, DeliveryStatus, Webhook } from "./model.ts";
import { signatureHeader } from "./signing.ts";

/** How much of a receiver's response body is kept on the delivery record. */
export const RESPONSE_BODY_LIMIT_BYTES = 1024;

export interface OutboundRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

export interface OutboundResult {
  /** Absent when no HTTP response arrived (DNS, connection, TLS, timeout, refused address). */
  readonly statusCode?: number;
  readonly responseBody: string;
  readonly durationMs: number;
  readonly error?: string;
}

export type SendWebhook = (request: OutboundRequest) => Promise<OutboundResult>;

export interface AttemptOutcome {
  readonly status: Extract<DeliveryStatus, "delivered" | "failed">;
  /** False when no request was sent (the webhook is gone or disabled). */
  readonly attempted: boolean;
  readonly statusCode?: number;
  readonly error?: string;
  readonly durationMs: number;
  readonly responseBody: string;
  readonly completedAt: string;
}

export interface AttemptDeps {
  readonly webhook: (tenantId: string, webhookId: string) => Promise<Webhook | undefined>;
  readonly eventPayload: (tenantId: string, eventId: string) => Promise<string | undefined>;
  readonly send: SendWebhook;
  readonly now: () => Date;
  readonly timeoutMs: number;
  readonly userAgent: string;
}

/** The Standard Webhooks request headers for one attempt. */
export function webhookHeaders(
  secrets: readonly string[],
  deliveryId: string,
  timestampSeconds: number,
  body: string,
  userAgent: string,
): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": userAgent,
    "webhook-id": deliveryId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatureHeader(secrets, deliveryId, timestampSeconds, body),
  };
}

/** Any 2xx is success; a redirect is not followed and counts as a failure, as the spec asks. */
export function isSuccessStatus(statusCode: number): boolean {
  return statusCode >= 200 && statusCode < 300;
}

/** Makes one signed attempt to deliver a message and says how it went. Never throws for the receiver's faults. */
export async function attemptDelivery(deps: AttemptDeps, message: DeliveryMessage): Promise<AttemptOutcome> {
  const webhook = await deps.webhook(message.tenantId, message.webhookId);
  if (!webhook) return notAttempted(deps, "webhook_deleted");
  if (!webhook.active) return notAttempted(deps, "webhook_disabled");
  const body = message.payload ?? (await deps.eventPayload(message.tenantId, message.eventId));
  if (body === undefined) return notAttempted(deps, "event_expired");

  const timestampSeconds = Math.floor(deps.now().getTime() / 1000);
  const result = await deps.send({
    url: webhook.url,
    headers: webhookHeaders([webhook.secret], message.deliveryId, timestampSeconds, body, deps.userAgent),
    body,
    timeoutMs: deps.timeoutMs,
  });
  const delivered = result.statusCode !== undefined && isSuccessStatus(result.statusCode);
  return {
    status: delivered ? "delivered" : "failed",
    attempted: true,
    ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
    ...(delivered ? {} : { error: result.error ?? `receiver answered HTTP ${result.statusCode}` }),
    durationMs: result.durationMs,
    responseBody: result.responseBody,
    completedAt: deps.now().toISOString(),
  };
}

function notAttempted(deps: AttemptDeps, reason: string): AttemptOutcome {
  return {
    status: "failed",
    attempted: false,
    error: reason,
    durationMs: 0,
    responseBody: "",
    completedAt: deps.now().toISOString(),
  };
}
