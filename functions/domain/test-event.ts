import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { exampleEventData } from "../shared/event-example.ts";
import { outboundRequest, type SendWebhook, sendRecordingThrows, unsendableHeaders } from "./deliver.ts";
import { PayloadTooLargeError } from "./errors.ts";
import { assertKnownEventType, isEventTypeName } from "./event-types.ts";
import type { Webhook } from "./model.ts";
import { assertDeliverableData } from "./payload.ts";
import { eventPayload, MAX_PAYLOAD_BYTES } from "./publish.ts";
import { classifyAttempt } from "./retry-schedule.ts";

/**
 * A test send: one signed request to a webhook's endpoint, made now, exactly as a delivery would be
 * made (same headers, same signatures, same HTTP client), but outside the delivery machinery: it
 * creates no event or delivery record, and never touches the circuit, the rate limit or the stats.
 * Inactive webhooks and open circuits do not stop it: checking an endpoint after a fix is what it is for.
 */

export interface TestEventRequest {
  /** A catalogue type; see `testEventType` for the default. */
  readonly eventType?: string;
  /**
   * Sent as given, unchecked against the type's schema (a test send stores nothing, and trying a
   * receiver on data the schema would refuse is a fair test); by default the type's example.
   */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface TestSendResult {
  /** The endpoint answered 2xx. */
  readonly success: boolean;
  readonly statusCode?: number;
  readonly durationMs: number;
  /** The first 1 KB of the endpoint's answer. */
  readonly responseBody: string;
  readonly error?: string;
}

export interface TestSendPorts {
  readonly catalogue: readonly EventTypeDefinition[];
  readonly send: SendWebhook;
  readonly now: () => Date;
  readonly newIds: (now: Date) => { readonly eventId: string; readonly messageId: string };
  readonly userAgent: string;
  /** The deployment's attempt timeout, used when the webhook has none of its own. */
  readonly timeoutMs: number;
  /** The longest a test send may wait, whatever the webhook's timeout. */
  readonly maxTimeoutMs: number;
}

/**
 * The type of a test event: the one asked for (which must be in the catalogue), else the first of
 * the webhook's subscriptions that is a plain name, else the catalogue's first type.
 */
export function testEventType(
  catalogue: readonly EventTypeDefinition[],
  subscriptions: readonly string[],
  requested?: string,
): string {
  if (requested !== undefined) {
    assertKnownEventType(catalogue, requested, "event_type");
    return requested;
  }
  const named = subscriptions.find(
    (pattern) => isEventTypeName(pattern) && catalogue.some((definition) => definition.name === pattern),
  );
  const fallback = catalogue[0]?.name;
  if (named !== undefined) return named;
  if (fallback === undefined) throw new Error("the event-type catalogue is empty");
  return fallback;
}

function exampleOf(
  catalogue: readonly EventTypeDefinition[],
  type: string,
): Readonly<Record<string, unknown>> {
  const definition = catalogue.find((candidate) => candidate.name === type);
  if (definition === undefined) throw new Error(`event type ${type} is not in the catalogue`);
  return exampleEventData(definition);
}

/** Signs and sends one test event to the webhook's endpoint now, and says how it went. */
export async function sendTestEvent(
  ports: TestSendPorts,
  webhook: Webhook,
  request: TestEventRequest,
): Promise<TestSendResult> {
  const type = testEventType(ports.catalogue, webhook.eventTypes, request.eventType);
  const sentAt = ports.now();
  const { eventId, messageId } = ports.newIds(sentAt);
  if (request.data !== undefined) assertDeliverableData(request.data);
  const body = eventPayload(eventId, type, sentAt, request.data ?? exampleOf(ports.catalogue, type));
  if (Buffer.byteLength(body) > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(`test event payload is larger than ${MAX_PAYLOAD_BYTES / 1024} KB`);
  }
  const unsendable = unsendableHeaders(webhook);
  if (unsendable !== undefined) return { success: false, durationMs: 0, responseBody: "", error: unsendable };
  const outbound = outboundRequest(webhook, messageId, sentAt, body, ports.userAgent, ports.timeoutMs);
  const { result } = await sendRecordingThrows(ports.send, {
    ...outbound,
    timeoutMs: Math.min(outbound.timeoutMs, ports.maxTimeoutMs),
  });
  const success = classifyAttempt(result.statusCode) === "delivered";
  const error = success ? undefined : (result.error ?? `receiver answered HTTP ${result.statusCode}`);
  return {
    success,
    ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
    durationMs: result.durationMs,
    responseBody: result.responseBody,
    ...(error === undefined ? {} : { error }),
  };
}
