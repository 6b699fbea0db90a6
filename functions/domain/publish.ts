import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { PayloadTooLargeError } from "./errors.ts";
import { assertKnownEventType, isSubscribed } from "./event-types.ts";
import { deliveryIdFor, newEventId } from "./ids.ts";
import type { Delivery, DeliveryMessage, EventSource, StoredEvent, Webhook } from "./model.ts";

/** Largest event payload (the signed body) Hookline accepts. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Payloads up to this size travel inside the queue message; larger ones are read from the event record. */
export const INLINE_PAYLOAD_BYTES = 64 * 1024;

export interface EventStore {
  /** Stores the event unless one with its id exists; returns the one that is stored. */
  insertIfAbsent(event: StoredEvent): Promise<{ readonly event: StoredEvent; readonly created: boolean }>;
  markFannedOut(tenantId: string, eventId: string, deliveryCount: number): Promise<void>;
}

export interface SubscriberSource {
  /** The tenant's active webhooks, a page at a time, so a large fan-out never loads them all at once. */
  activeWebhooks(tenantId: string): AsyncIterable<readonly Webhook[]>;
}

export interface DeliveryRecorder {
  /**
   * Records new pending deliveries. `resume` says the fan-out may have run before: existing records
   * must then be kept as they are, not reset.
   */
  createPending(deliveries: readonly Delivery[], options: { readonly resume: boolean }): Promise<void>;
}

export interface DeliveryQueue {
  enqueue(messages: readonly DeliveryMessage[]): Promise<void>;
}

export interface PublishDeps {
  readonly catalogue: readonly EventTypeDefinition[];
  readonly events: EventStore;
  readonly subscribers: SubscriberSource;
  readonly deliveries: DeliveryRecorder;
  readonly queue: DeliveryQueue;
  readonly now: () => Date;
}

export interface PublishRequest {
  readonly type: string;
  readonly data: unknown;
  /** Idempotency key: publishing the same id again fans out once. */
  readonly id?: string;
  readonly source: EventSource;
}

export interface PublishResult {
  readonly event: StoredEvent;
  readonly deliveryCount: number;
  /** True when the id had been published before and nothing new was sent. */
  readonly duplicate: boolean;
}

/** The body every delivery of an event carries. */
export function eventPayload(id: string, type: string, acceptedAt: Date, data: unknown): string {
  return JSON.stringify({ id, type, timestamp: acceptedAt.toISOString(), data });
}

/**
 * Stores an event, then records and queues one delivery per subscribed active webhook. The event is
 * persisted before anything is queued, and stays due until its fan-out is marked done, so a crash at
 * any step is repaired by the reconciler: the derived delivery ids make the repeat find the same
 * deliveries. Publishing the same id again never fans out twice.
 */
export async function publishEvent(
  deps: PublishDeps,
  tenantId: string,
  request: PublishRequest,
): Promise<PublishResult> {
  assertKnownEventType(deps.catalogue, request.type);
  const now = deps.now();
  const id = request.id ?? newEventId(now);
  const payload = eventPayload(id, request.type, now, request.data);
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(`event payload is larger than ${MAX_PAYLOAD_BYTES / 1024} KB`);
  }
  const stored = await deps.events.insertIfAbsent({
    id,
    tenantId,
    type: request.type,
    payload,
    acceptedAt: now.toISOString(),
    source: request.source,
  });
  if (!stored.created) {
    // Another publish of this id stored it first, and is fanning it out now or crashed doing so. Fanning
    // out here as well would send every delivery twice; the reconciler finishes a fan-out that stays
    // unfinished past its grace period.
    const deliveryCount = stored.event.deliveryCount ?? (await subscriberCount(deps, stored.event));
    return { event: stored.event, deliveryCount, duplicate: true };
  }
  const deliveryCount = await fanOut(deps, stored.event, { resume: false });
  await deps.events.markFannedOut(tenantId, id, deliveryCount);
  return { event: { ...stored.event, deliveryCount }, deliveryCount, duplicate: false };
}

/** How many active webhooks an event goes to, without writing anything. */
async function subscriberCount(deps: PublishDeps, event: StoredEvent): Promise<number> {
  let count = 0;
  for await (const page of deps.subscribers.activeWebhooks(event.tenantId)) {
    count += page.filter((webhook) => isSubscribed(webhook.eventTypes, event.type)).length;
  }
  return count;
}

/** Finishes the fan-out of a stored event that a crash interrupted; returns its delivery count. */
export async function resumeFanOut(deps: PublishDeps, event: StoredEvent): Promise<number> {
  if (event.deliveryCount !== undefined) return event.deliveryCount;
  const deliveryCount = await fanOut(deps, event, { resume: true });
  await deps.events.markFannedOut(event.tenantId, event.id, deliveryCount);
  return deliveryCount;
}

async function fanOut(deps: PublishDeps, event: StoredEvent, options: { resume: boolean }): Promise<number> {
  const acceptedAt = new Date(event.acceptedAt);
  const inlinePayload = Buffer.byteLength(event.payload) <= INLINE_PAYLOAD_BYTES ? event.payload : undefined;
  let count = 0;
  for await (const page of deps.subscribers.activeWebhooks(event.tenantId)) {
    const subscribed = page.filter((webhook) => isSubscribed(webhook.eventTypes, event.type));
    if (subscribed.length === 0) continue;
    const deliveries = subscribed.map(
      (webhook): Delivery => ({
        id: deliveryIdFor(acceptedAt, event.id, webhook.id),
        tenantId: event.tenantId,
        webhookId: webhook.id,
        eventId: event.id,
        eventType: event.type,
        status: "pending",
        attemptCount: 0,
        createdAt: event.acceptedAt,
      }),
    );
    await deps.deliveries.createPending(deliveries, options);
    await deps.queue.enqueue(
      deliveries.map((delivery) => ({
        tenantId: delivery.tenantId,
        webhookId: delivery.webhookId,
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        eventType: delivery.eventType,
        acceptedAt: event.acceptedAt,
        attempt: 1,
        scheduleStart: 0,
        ...(inlinePayload === undefined ? {} : { payload: inlinePayload }),
      })),
    );
    count += deliveries.length;
  }
  return count;
}
