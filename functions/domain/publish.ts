import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { type ErrorDetail, PayloadTooLargeError, RateLimitedError, ValidationError } from "./errors.ts";
import { matchesPattern } from "./event-pattern.ts";
import { assertKnownEventType, isSubscribed } from "./event-types.ts";
import { deliveryIdFor, newEventId } from "./ids.ts";
import type { FanOutContinuation } from "./messages.ts";
import type { Delivery, EventSource, StoredEvent, Webhook } from "./model.ts";
import { assertDeliverableData, jsonText } from "./payload.ts";
import type {
  DeliveryQueue,
  DeliveryRecorder,
  EventStore,
  PublishRateLimiter,
  SubscriberSnapshot,
  SubscriberSource,
} from "./ports.ts";
import { retryAfterSeconds } from "./rate-limit.ts";

/** Largest event payload (the signed body) Hookline accepts. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Payloads up to this size travel inside the queue message; larger ones are read from the event record. */
export const INLINE_PAYLOAD_BYTES = 64 * 1024;

/** How often a publish reads the subscribers again when they changed under it, before it goes page by page. */
const SNAPSHOT_ATTEMPTS = 2;

export interface PublishDeps {
  readonly catalogue: readonly EventTypeDefinition[];
  readonly events: EventStore;
  readonly subscribers: SubscriberSource;
  readonly deliveries: DeliveryRecorder;
  readonly queue: DeliveryQueue;
  readonly continueLater: (continuation: FanOutContinuation) => Promise<void>;
  readonly now: () => Date;
}

/** The problems of an event's data against its type's schema: none when it matches, or the type has none. */
export type EventDataCheck = (type: string, data: unknown) => readonly ErrorDetail[];

/** What a publish needs beyond a fan-out: the check of the data against its type's schema. */
export interface PublishEventDeps extends PublishDeps {
  readonly checkData: EventDataCheck;
}

/** Problems named in an error's message (the reason an EventBridge event is dead-lettered with); `details` has them all. */
const PROBLEMS_IN_MESSAGE = 5;

/** Throws a ValidationError listing where `data` misses its type's schema; nothing is stored before. */
function assertMatchesSchema(check: EventDataCheck, type: string, data: unknown): void {
  const problems = check(type, data);
  if (problems.length === 0) return;
  const named = problems.slice(0, PROBLEMS_IN_MESSAGE).map((problem) => `${problem.path} ${problem.message}`);
  const more =
    problems.length > PROBLEMS_IN_MESSAGE ? `; and ${problems.length - PROBLEMS_IN_MESSAGE} more` : "";
  throw new ValidationError(
    `data does not match the schema of ${type}: ${named.join("; ")}${more}`,
    problems,
  );
}

/**
 * Takes a token from the tenant's publish bucket, or refuses the publish with how long to wait. Only
 * the API is limited: events from EventBridge come from the operator's own bus, which cannot be answered
 * 429 (a refused event would only be retried by EventBridge, or dropped), so they are not counted.
 */
export async function admitApiPublish(
  limiter: PublishRateLimiter,
  tenantId: string,
  now: number,
): Promise<void> {
  const admission = await limiter.admit(tenantId, now);
  if (admission.admitted) return;
  const wait = retryAfterSeconds(admission.retryAfterMs);
  throw new RateLimitedError(
    `this tenant publishes faster than its limit allows; try again in ${wait} s`,
    wait,
  );
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
  /** False while a large fan-out goes on in later invocations; `deliveryCount` counts those done. */
  readonly fanOutComplete: boolean;
}

/**
 * Whether a webhook takes an event: its event types select, then its filter, if it has one, must match
 * `{"type", "data"}`. The data is asked for only by a filter: a resumed fan-out parses it from the
 * stored payload, which most fan-outs never need.
 */
export function selectsEvent(
  webhook: Pick<Webhook, "eventTypes" | "filter">,
  type: string,
  data: () => unknown,
): boolean {
  if (!isSubscribed(webhook.eventTypes, type)) return false;
  return webhook.filter === undefined || matchesPattern(webhook.filter, { type, data: data() });
}

/** The data of a stored event, parsed from its payload once, when first asked for. */
function storedData(event: StoredEvent): () => unknown {
  let data: { readonly value: unknown } | undefined;
  return () => {
    data ??= { value: (JSON.parse(event.payload) as { data: unknown }).data };
    return data.value;
  };
}

/** The body every delivery of an event carries. */
export function eventPayload(id: string, type: string, acceptedAt: Date, data: unknown): string {
  return jsonText({ id, type, timestamp: acceptedAt.toISOString(), data });
}

/**
 * Stores an event, then records and queues one delivery per subscribed active webhook. Nothing is
 * queued before it is stored, so a crash at any step is repaired by the reconciler, and the derived
 * delivery ids make a repeat find the same deliveries. Publishing the same id again never fans out twice.
 *
 * The event is stored due, and stays due until its deliveries' records are stored, each of them due
 * until it is attempted: a crash at any point leaves what it interrupted to the reconciler. No
 * transaction: it would bill every item twice for an atomicity the deadlines already give. The
 * subscribers may come from a cache, used only when the tenant's subscriptions are still at the version
 * it was read at, so an event published after a webhook change has returned always sees the change. A
 * fan-out larger than one page of subscribers, or whose subscribers keep changing, reads them page by
 * page instead.
 */
export async function publishEvent(
  deps: PublishEventDeps,
  tenantId: string,
  request: PublishRequest,
): Promise<PublishResult> {
  assertKnownEventType(deps.catalogue, request.type);
  assertDeliverableData(request.data);
  assertMatchesSchema(deps.checkData, request.type, request.data);
  const now = deps.now();
  const id = request.id ?? newEventId(now);
  const payload = eventPayload(id, request.type, now, request.data);
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(`event payload is larger than ${MAX_PAYLOAD_BYTES / 1024} KB`);
  }
  const event: StoredEvent = {
    id,
    tenantId,
    type: request.type,
    payload,
    acceptedAt: now.toISOString(),
    source: request.source,
  };
  for (let attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt += 1) {
    const snapshot = await deps.subscribers.subscriberSnapshot(tenantId, attempt > 1);
    if (snapshot.page.next !== undefined) break;
    if (await deps.subscribers.subscriptionsUnchanged(tenantId, snapshot.version)) {
      const deliveries = pendingDeliveries(event, snapshot.page.webhooks, () => request.data);
      return fanOut(deps, event, { snapshot, deliveries });
    }
  }
  return fanOut(deps, event);
}

/** A one-page subscriber snapshot, checked current, and the deliveries of the event to it. */
interface SnapshotFanOut {
  readonly snapshot: SubscriberSnapshot;
  readonly deliveries: Delivery[];
}

/**
 * Stores a new event and fans it out, to `first` when it is given, or else a page at a time. From a
 * snapshot the delivery count is known before anything is stored, so it is stored with the event: the
 * mark that then ends the event's deadline leaves the events listing's entry as it is.
 */
async function fanOut(deps: PublishDeps, event: StoredEvent, first?: SnapshotFanOut): Promise<PublishResult> {
  const stored = await deps.events.insertIfAbsent(
    first === undefined ? event : { ...event, deliveryCount: first.deliveries.length },
  );
  if (!stored.created) return duplicateOf(deps, stored.event);
  const progress = await fanOutPage(
    deps,
    stored.event,
    { after: undefined, deliveriesSoFar: 0, resume: false },
    first,
  );
  return {
    event:
      progress.next === undefined ? { ...stored.event, deliveryCount: progress.deliveryCount } : stored.event,
    deliveryCount: progress.deliveryCount,
    duplicate: false,
    fanOutComplete: progress.next === undefined,
  };
}

/**
 * The answer to a publish of an id stored before. Another publish of it stored it first, and is fanning
 * it out now or crashed doing so; fanning out here as well would send every delivery twice. The
 * reconciler finishes a fan-out that stays unfinished past its grace period.
 */
async function duplicateOf(deps: PublishDeps, event: StoredEvent): Promise<PublishResult> {
  const deliveryCount = event.deliveryCount ?? (await subscriberCount(deps, event));
  return { event, deliveryCount, duplicate: true, fanOutComplete: true };
}

/** The pending deliveries of an event to those of `webhooks` that select it (`selectsEvent`). */
function pendingDeliveries(
  event: StoredEvent,
  webhooks: readonly Webhook[],
  data: () => unknown,
): Delivery[] {
  const acceptedAt = new Date(event.acceptedAt);
  return webhooks
    .filter((webhook) => selectsEvent(webhook, event.type, data))
    .map(
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
}

/**
 * Queues the first attempts of recorded deliveries, with the payload inline when it is small enough,
 * and the version of each webhook as read here, which the delivery will use or a newer one, as it
 * will the tenant's subscriptions version the deliveries were stored under, when there is one.
 */
async function queueDeliveries(
  deps: PublishDeps,
  event: StoredEvent,
  deliveries: readonly Delivery[],
  webhooks: readonly Webhook[],
  subscriptionsVersion?: number,
): Promise<void> {
  if (deliveries.length === 0) return;
  const versions = new Map(webhooks.map((webhook) => [webhook.id, webhook.updatedAt]));
  const inlinePayload = Buffer.byteLength(event.payload) <= INLINE_PAYLOAD_BYTES ? event.payload : undefined;
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
      ...(versions.has(delivery.webhookId) ? { webhookUpdatedAt: versions.get(delivery.webhookId) } : {}),
      ...(subscriptionsVersion === undefined ? {} : { subscriptionsVersion }),
    })),
  );
}

/** How many active webhooks an event goes to, without writing anything. */
async function subscriberCount(deps: PublishDeps, event: StoredEvent): Promise<number> {
  let count = 0;
  let after: string | undefined;
  const data = storedData(event);
  do {
    const page = await deps.subscribers.activeWebhookPage(event.tenantId, after);
    count += page.webhooks.filter((webhook) => selectsEvent(webhook, event.type, data)).length;
    after = page.next;
  } while (after !== undefined);
  return count;
}

/**
 * Finishes the fan-out of a stored event that a crash interrupted (it is still due), from its first
 * page. A delivery count stored with it is what the publish meant to create, not a sign it did.
 */
export async function resumeFanOut(deps: PublishDeps, event: StoredEvent): Promise<number> {
  return (await fanOutPage(deps, event, { after: undefined, deliveriesSoFar: 0, resume: true }))
    .deliveryCount;
}

/** Takes a large fan-out on by one page, in the invocation that received its continuation. */
export async function continueFanOut(
  deps: PublishDeps & {
    readonly events: EventStore & {
      get(tenantId: string, eventId: string): Promise<StoredEvent | undefined>;
    };
  },
  continuation: FanOutContinuation,
): Promise<number> {
  const event = await deps.events.get(continuation.tenantId, continuation.eventId);
  // Gone (expired) or already finished by the reconciler: nothing is left to do.
  if (!event || event.deliveryCount !== undefined) return 0;
  return (await fanOutPage(deps, event, continuation)).deliveryCount;
}

/**
 * Records and queues the deliveries of one page of subscribers (the snapshot's, with its deliveries
 * worked out, when one is given), then hands the next page on, or marks the fan-out done. Until it is
 * marked done the event stays due, so a lost continuation is finished by the reconciler (with
 * conditional writes and derived ids, so nothing is created twice).
 */
async function fanOutPage(
  deps: PublishDeps,
  event: StoredEvent,
  from: { readonly after: string | undefined; readonly deliveriesSoFar: number; readonly resume: boolean },
  first?: SnapshotFanOut,
): Promise<{ readonly deliveryCount: number; readonly next?: string }> {
  const page = first?.snapshot.page ?? (await deps.subscribers.activeWebhookPage(event.tenantId, from.after));
  const deliveries = first?.deliveries ?? pendingDeliveries(event, page.webhooks, storedData(event));
  // A resumed page queues only the deliveries it created: one that existed has its own deadline, so a
  // message lost with it is re-driven by the reconciler, and queueing it again would send it twice.
  const created =
    deliveries.length > 0 ? await deps.deliveries.createPending(deliveries, { resume: from.resume }) : [];
  const queued = queueDeliveries(deps, event, created, page.webhooks, first?.snapshot.version);
  const deliveryCount = from.deliveriesSoFar + deliveries.length;
  if (page.next === undefined) {
    // The records are due until attempted, so the event needs no deadline of its own once they are
    // stored: it is marked done while the messages go out, a round trip less for the publish.
    // A count stored with the event is not written again: the events listing's entry stays as it is.
    const counted = first === undefined ? deliveryCount : undefined;
    await Promise.all([queued, deps.events.markFannedOut(event.tenantId, event.id, counted)]);
    return { deliveryCount };
  }
  await queued;
  await deps.events.extendFanOut(event.tenantId, event.id);
  await deps.continueLater({
    kind: "fanout",
    tenantId: event.tenantId,
    eventId: event.id,
    eventType: event.type,
    after: page.next,
    deliveriesSoFar: deliveryCount,
    resume: from.resume,
  });
  return { deliveryCount, next: page.next };
}
