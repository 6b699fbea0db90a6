/**
 * The ports: every interface the services and domain code ask of the world outside them (stores,
 * queues, the log and metrics), in one place. Adapters (functions/adapters) implement them; services
 * and domain code see only these, so a test can hand them fakes and no arrow runs back up.
 */
import type { Circuit } from "./circuit.ts";
import type { CursorPosition } from "./cursor.ts";
import type { DeliveryPorts, DeliveryStep } from "./deliver.ts";
import type { DeadLetterMessage, DeliveryMessage, ProbeMessage } from "./messages.ts";
import type { Delivery, DeliveryStatus, StoredEvent, Webhook } from "./model.ts";
import type { OrderState } from "./ordering.ts";
import type { PublishAdmission } from "./rate-limit.ts";
import type { RetrySlot } from "./retry-slot.ts";
import type { SettingsRevision } from "./sent-request.ts";

// ---- Webhooks and their circuits ----

export interface WebhookPageRequest {
  readonly limit: number;
  readonly active?: boolean;
  /** Where the previous page stopped. */
  readonly after?: CursorPosition;
}

export interface WebhookPage {
  readonly webhooks: readonly Webhook[];
  /** Where this page stopped, when there may be more. */
  readonly next?: CursorPosition;
}

export interface WebhookStore {
  /** Returns false, writing nothing, when the tenant has `maxWebhooks` webhooks already. */
  create(webhook: Webhook, maxWebhooks: number): Promise<boolean>;
  /**
   * The webhook as stored. Without `consistent` the read may be stale, as DynamoDB's eventually
   * consistent reads are: it may miss a webhook created or see one deleted within about a second.
   */
  get(tenantId: string, webhookId: string, consistent?: boolean): Promise<Webhook | undefined>;
  /** A tenant's webhooks, newest first (their ids sort by creation time). */
  list(tenantId: string, request: WebhookPageRequest): Promise<WebhookPage>;
  /**
   * Writes `after` over `before` only if the stored webhook is still `before` (its `updatedAt`, and its
   * circuit version when the circuit changes); says whether it did.
   */
  update(before: Webhook, after: Webhook): Promise<boolean>;
  /** Returns false when there was nothing to delete. */
  remove(tenantId: string, webhookId: string): Promise<boolean>;
}

/** The webhook as stored, as a delivery reads it (see `DeliveryPorts`). */
export type WebhookReader = DeliveryPorts["webhook"];

export interface CircuitStore {
  /** Replaces the circuit only if its stored version is still `from.version`; says whether it did. */
  saveCircuit(tenantId: string, webhookId: string, from: Circuit, to: Circuit): Promise<boolean>;
  /** Deactivates a webhook on Hookline's own initiative, with the reason shown on it. */
  deactivate(tenantId: string, webhookId: string, reason: string, at: string): Promise<void>;
}

/** The settings webhook changes and deletions replaced (see sent-request.ts). */
export interface RequestSettingsHistory {
  /** The oldest revision replaced after webhook version `version`, if any. */
  revisionAfter(tenantId: string, webhookId: string, version: string): Promise<SettingsRevision | undefined>;
}

export interface OpenCircuitCount {
  /** How many webhooks have a circuit that is not closed, counted up to `limit`. */
  countOpenCircuits(limit: number): Promise<number>;
}

/** One page of a tenant's active webhooks, and where the next page starts (absent on the last). */
export interface SubscriberPage {
  readonly webhooks: readonly Webhook[];
  readonly next?: string;
}

/** The first page of a tenant's active webhooks, and the version of its subscriptions it was read at. */
export interface SubscriberSnapshot {
  readonly version: number;
  readonly page: SubscriberPage;
}

export interface SubscriberSource {
  /** The tenant's active webhooks, a page at a time, so a large fan-out never loads them all at once. */
  activeWebhookPage(tenantId: string, after?: string): Promise<SubscriberPage>;
  /**
   * A snapshot of the tenant's subscribers. It may come from a cache unless `fresh` is asked for: a
   * publish checks its version (`subscriptionsUnchanged`) before it stores anything, so a stale one is
   * never used.
   */
  subscriberSnapshot(tenantId: string, fresh?: boolean): Promise<SubscriberSnapshot>;
  /**
   * Whether the tenant's subscriptions are still at `version`: a strongly consistent read, so a publish
   * that starts after a webhook change has returned sees that change.
   */
  subscriptionsUnchanged(tenantId: string, version: number): Promise<boolean>;
}

/** A tenant's publish rate (`rate-limit.ts`): whether one more publish is admitted now. */
export interface PublishRateLimiter {
  admit(tenantId: string, now: number): Promise<PublishAdmission>;
}

/** One delivery's hold on one of its webhook's in-flight slots (`in-flight.ts`). */
export interface InFlightLease {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly slot: number;
  /** When the lease lapses by itself, in epoch ms. */
  readonly expiresAt: number;
}

export interface InFlightSlots {
  /** Leases a free slot of the webhook's first `limit`; undefined when all are taken. */
  claim(tenantId: string, webhookId: string, limit: number, now: number): Promise<InFlightLease | undefined>;
  /** Hands the slot back, unless its lease lapsed and another delivery holds it now. */
  release(lease: InFlightLease): Promise<void>;
}

// ---- Events ----

/** Where in a tenant's events (sorted by acceptance time, then id) a page stopped. */
export interface EventPosition {
  readonly acceptedAt: string;
  readonly id: string;
}

export type EventSummary = Omit<StoredEvent, "payload">;

export interface EventPageRequest {
  readonly limit: number;
  readonly type?: string;
  /** Inclusive, an ISO time as `Date.toISOString` writes it. */
  readonly since?: string;
  /** Exclusive, likewise. */
  readonly until?: string;
  readonly after?: EventPosition;
}

export interface EventHistory {
  /** A tenant's events, newest first, without their payloads. */
  eventPage(
    tenantId: string,
    request: EventPageRequest,
  ): Promise<{ readonly events: readonly EventSummary[]; readonly last?: EventPosition }>;
  /** The event record, or undefined when this tenant has no event with this id (or it expired). */
  get(tenantId: string, eventId: string): Promise<StoredEvent | undefined>;
}

export interface EventStore {
  /**
   * Stores the event unless one with its id exists; returns the one that is stored. It is due (to the
   * reconciler) until it is marked fanned out, so a fan-out a crash interrupted is finished.
   */
  insertIfAbsent(event: StoredEvent): Promise<{ readonly event: StoredEvent; readonly created: boolean }>;
  /**
   * Ends an event's deadline once its deliveries are recorded, and stores how many there are, unless
   * `deliveryCount` is left out because the event was stored with it.
   */
  markFannedOut(tenantId: string, eventId: string, deliveryCount?: number): Promise<void>;
  /** Moves an unfinished fan-out's deadline on, so the reconciler leaves a fan-out that is progressing alone. */
  extendFanOut(tenantId: string, eventId: string): Promise<void>;
}

// ---- Deliveries ----

/** Where one record (an event or a delivery) is stored. */
export interface RecordKey {
  readonly pk: string;
  readonly sk: string;
}

export type DeliveryKey = RecordKey;

export interface StoredDelivery extends Delivery {
  readonly scheduleStart: number;
  readonly parked: boolean;
  /** Times the reconciler re-drove it since its last recorded step. */
  readonly redrives: number;
  /** The retry workflow execution that carries its schedule (see `retryRunName`), once one started. */
  readonly retryRun?: string;
  /**
   * When a release took it off its circuit's waiting list (`unpark`), until its next recorded step: the
   * releaser sent its message then, unless it died first.
   */
  readonly releasedAt?: string;
}

export interface DeliveryPageRequest {
  readonly limit: number;
  /** Keep only deliveries in one of these statuses (all when absent). */
  readonly statuses?: readonly DeliveryStatus[];
  readonly eventType?: string;
  /** Inclusive bounds of the ids to read (see `deliveryIdRange`). */
  readonly fromId: string;
  readonly toId: string;
  /** The id the previous page stopped at; this page starts just past it. */
  readonly afterId?: string;
  /** Oldest first instead of newest first. */
  readonly oldestFirst?: boolean;
}

export interface DeliveryPage {
  readonly deliveries: readonly Delivery[];
  /** The last id read, when there may be more. */
  readonly lastId?: string;
}

export interface DeliveryHistory {
  /** A webhook's deliveries whose ids are in the range, newest first unless asked otherwise. */
  deliveryPage(tenantId: string, webhookId: string, request: DeliveryPageRequest): Promise<DeliveryPage>;
  /** The deliveries an event fanned out to, whether or not their webhooks still exist; up to `limit`. */
  deliveriesOfEvent(tenantId: string, eventId: string, limit: number): Promise<readonly Delivery[]>;
}

export interface DeliveryRecorder {
  /**
   * Records new pending deliveries and returns those it created. `resume` says the fan-out may have
   * run before: existing records must then be kept as they are, not reset (nor returned).
   */
  createPending(
    deliveries: readonly Delivery[],
    options: { readonly resume: boolean },
  ): Promise<readonly Delivery[]>;
}

export interface DeliveryStore extends DeliveryRecorder, DeliveryHistory {
  /**
   * Persists one step of a delivery, unless another process already recorded this attempt (or the
   * delivery is terminal): the write is conditional on the status and the attempt count it expects.
   * `startsRetryRun` names the retry workflow execution this step starts (a failure from the queue),
   * kept on the record so the reconciler can ask whether it still runs.
   */
  recordStep(
    message: DeliveryMessage,
    step: DeliveryStep,
    now: Date,
    options?: { readonly startsRetryRun?: string },
  ): Promise<boolean>;
  /**
   * Says a dead-lettered delivery's message is on the dead-letter queue. `recordStep` marks the
   * delivery `dead_lettered` first and leaves it due, so that the reconciler sends a message a crash
   * left unsent; this ends that.
   */
  settleDeadLetter(key: DeliveryKey): Promise<boolean>;
  /**
   * Ends a delivery the reconciler re-drove `redrives` times without any step being recorded (a
   * message that cannot be processed): `failed` with `reason`, unless it moved on meanwhile.
   */
  failStalled(delivery: StoredDelivery, reason: string, now: Date): Promise<boolean>;
  /** The stored delivery, read strongly consistent: decisions are taken on it. */
  get(tenantId: string, webhookId: string, deliveryId: string): Promise<StoredDelivery | undefined>;
  /** A webhook's deliveries, newest first, up to `limit` (a bounded read; see `deliveryPage`). */
  list(
    tenantId: string,
    webhookId: string,
    options: { status?: DeliveryStatus; limit: number },
  ): Promise<Delivery[]>;
  /** Deliveries parked on a webhook's open circuit, oldest first, a page at a time. */
  parked(tenantId: string, webhookId: string): AsyncIterable<StoredDelivery[]>;
  /**
   * Takes a parked delivery off its circuit, so that exactly one process sends it on: false when it
   * was already taken (released by another process, or moved on). It stays due, in case the taker dies.
   */
  unpark(delivery: StoredDelivery, now: Date): Promise<boolean>;
  /**
   * Whether a delivery older than this one (ids sort by when their event was accepted) is parked on the
   * webhook's circuit. An index read, so it may be a moment stale.
   */
  parkedBefore(tenantId: string, webhookId: string, deliveryId: string): Promise<boolean>;
  /**
   * Re-opens a `failed` or `dead_lettered` delivery for a manual retry, with a fresh schedule.
   * Returns the re-opened delivery, or undefined when it was not in a retryable state.
   */
  reopen(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    now: Date,
  ): Promise<StoredDelivery | undefined>;
}

// ---- Ordered delivery (ordering.ts) ----

/** Claims one attempt of a delivery of an ordered webhook: the attempt `attempt`, held until `until`. */
export interface OrderClaim {
  readonly deliveryId: string;
  readonly attempt: number;
  /** Epoch ms. */
  readonly until: number;
  readonly now: number;
}

export interface DeliveryOrderStore {
  /** The webhook's order record, read strongly consistent (empty when it has none). */
  state(tenantId: string, webhookId: string): Promise<OrderState>;
  /**
   * Claims an attempt, making its delivery the head (and `last`) if it is not yet, only if the head is
   * still `expectedHead`: when that is the delivery itself, only if no live claim holds this attempt;
   * when undefined (nothing in progress), only if `last` is before the delivery. Says whether it did.
   */
  claim(
    tenantId: string,
    webhookId: string,
    claim: OrderClaim,
    expectedHead: string | undefined,
  ): Promise<boolean>;
  /** Hands back the claim of an attempt that made no request (parked, deferred); the head stays. */
  release(tenantId: string, webhookId: string, deliveryId: string, attempt: number): Promise<void>;
  /**
   * Moves the head from `from` on to `to`, unclaimed (absent: nothing in progress), only if the head is
   * still `from`; `from` undefined: only if nothing is in progress and `last` is before `to`. Says
   * whether it did.
   */
  advance(
    tenantId: string,
    webhookId: string,
    from: string | undefined,
    to: string | undefined,
  ): Promise<boolean>;
  /**
   * The first delivery after `after` (in id order; "" for the first of all) that has not ended, read
   * strongly consistent; undefined when none is within a bounded read.
   */
  nextWaiting(tenantId: string, webhookId: string, after: string): Promise<StoredDelivery | undefined>;
}

/** A record (event or delivery) whose next step was due before now, decoded. */
export type OverdueRecord = { readonly key: RecordKey; readonly dueAt: string } & (
  | { readonly kind: "fan_out"; readonly event: StoredEvent }
  | { readonly kind: "delivery"; readonly delivery: StoredDelivery }
);

export interface DueRecords {
  /**
   * Records whose deadline passed, oldest first within each shard, at most `limit` in all; the limit is
   * shared across the shards, so that no shard's backlog can keep another's records from being found.
   */
  overdue(now: Date, limit: number): Promise<readonly OverdueRecord[]>;
  /**
   * Moves a record's deadline, only if it is still the one that was read: of two reconcilers that find
   * the same overdue record, one wins and drives it on. With `redrive`, the delivery's count of
   * re-drives goes up by one in the same write.
   */
  postpone(record: OverdueRecord, until: string, options?: { readonly redrive: boolean }): Promise<boolean>;
}

// ---- Queues ----

export interface DeliveryQueue {
  /** Sends the messages to their lanes, after `delaySeconds` when given (at most 15 minutes). */
  enqueue(messages: readonly DeliveryMessage[], delaySeconds?: number): Promise<void>;
}

/** The delivery function's single sends; a delay is rounded up to whole seconds, at most 15 minutes. */
export interface QueueSends {
  /** Queues the same step again after `delaySeconds` (a rate limit's wait; not an attempt). */
  sendLater(message: DeliveryMessage, delaySeconds: number): Promise<void>;
  sendProbe(probe: ProbeMessage, delaySeconds: number): Promise<void>;
  sendToDeadLetterQueue(message: DeadLetterMessage): Promise<void>;
}

/**
 * A webhook's retry slots (see retry-slot.ts): the deliveries that wait in each, and whether its
 * workflow has released it. Releasing marks the slot before it reads the members, and joining reads
 * the mark after it writes the member, so a delivery that joins while the slot is released either is
 * read by the release or sees the mark (and is sent on by its joiner).
 */
export interface RetrySlots {
  /** Adds the message of a delivery's next attempt to the slot; answers whether the slot was released. */
  join(slot: RetrySlot, next: DeliveryMessage): Promise<{ readonly released: boolean }>;
  /** Marks the slot released, then yields its members a page at a time. */
  release(slot: RetrySlot): AsyncIterable<readonly DeliveryMessage[]>;
}

/**
 * A retry slot's workflow execution: still waiting (or releasing), done (its deliveries went to their
 * lane), or stopped without releasing them (it failed, or its start was lost with a crash).
 */
export type RetryRunState = "running" | "released" | "stopped";

/** How many messages wait in the lane a delivery of `eventType` travels in, read once per call. */
export type LaneBacklogs = () => Promise<(eventType: string) => number>;

/** One message as read from the dead-letter queue. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiptHandle: string;
}

export interface DeadLetterSource {
  /** The next messages, hidden from other readers for a while; empty when none are left. */
  receive(): Promise<DeadLetter[]>;
  remove(letters: readonly DeadLetter[]): Promise<void>;
}

// ---- Observability ----

/** What services write to the function's structured log. */
export interface Log {
  info(message: string, attributes: Readonly<Record<string, unknown>>): void;
  warn(message: string, attributes: Readonly<Record<string, unknown>>): void;
  error(message: string, attributes: Readonly<Record<string, unknown>>): void;
}

export type MetricUnitName = "Count" | "Milliseconds";

/** What services need of a metrics sink, so tests can pass their own. */
export interface MetricsSink {
  addMetric(name: string, unit: MetricUnitName, value: number): void;
}
