import type { DeliveryStatusName } from "../shared/names.ts";
import type { Circuit } from "./circuit.ts";
import type { EventPattern } from "./event-pattern.ts";

/** The records Hookline keeps, as the domain sees them (camelCase; the API speaks snake_case). */

export interface Webhook {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly description: string;
  readonly active: boolean;
  /**
   * Signing secret, `whsec_...`. Never leaves the service after the create (or rotate-secret)
   * response.
   */
  readonly secret: string;
  /**
   * The secret a rotation replaced, still signed with (after `secret`) until
   * `previousSecretExpiresAt`, so receivers can switch without downtime. Never returned by the API.
   */
  readonly previousSecret?: string;
  readonly previousSecretExpiresAt?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The webhook's own retry schedule; the deployment's default applies when absent. */
  readonly retryScheduleSeconds?: readonly number[];
  /** Why the webhook was deactivated by Hookline (e.g. the endpoint answered 410 Gone). */
  readonly disabledReason?: string;
  /** Extra request headers sent with every delivery; never a reserved name (see custom-headers.ts). */
  readonly headers?: Readonly<Record<string, string>>;
  /** How long an attempt waits for the endpoint; the deployment's attempt timeout applies when absent. */
  readonly timeoutSeconds?: number;
  /** At most this many requests a second go to the endpoint (see rate-limit.ts); absent means no limit. */
  readonly rateLimitPerSecond?: number;
  /** The tenant's own labels, returned as given. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * An EventBridge pattern matched against `{"type", "data"}` of each event its types select; an event
   * it does not match gets no delivery to this webhook. Absent: every event of its types.
   */
  readonly filter?: EventPattern;
  /**
   * `fifo`: the webhook's deliveries are attempted one at a time, in the order their events were
   * accepted (see ordering.ts). Absent: `none`, each delivery goes on its own.
   */
  readonly ordering?: "fifo";
  readonly circuit: Circuit;
}

/** How a webhook's deliveries are sequenced: `fifo` one at a time in acceptance order, `none` freely. */
export type Ordering = "none" | "fifo";

export const ORDERINGS: readonly Ordering[] = ["none", "fifo"];

export type EventSource = "api" | "eventbridge";

export interface StoredEvent {
  readonly id: string;
  readonly tenantId: string;
  readonly type: string;
  /** The exact bytes every delivery of this event sends. */
  readonly payload: string;
  readonly acceptedAt: string;
  readonly source: EventSource;
  /**
   * How many deliveries the event fans out to. A one-page fan-out stores it with the event; a larger
   * one, page by page, once its last page is recorded (its continuations take it as the sign that the
   * fan-out is done). Either way the event is due until its deliveries are recorded (each record then
   * keeps its delivery due until attempted), and the reconciler finishes a fan-out a crash interrupted.
   */
  readonly deliveryCount?: number;
}

export type DeliveryStatus = (typeof DeliveryStatusName)[keyof typeof DeliveryStatusName];

export const TERMINAL_STATUSES: readonly DeliveryStatus[] = ["delivered", "failed", "dead_lettered"];

export interface Delivery {
  readonly id: string;
  readonly tenantId: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly lastStatusCode?: number;
  readonly lastError?: string;
  readonly durationMs?: number;
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly nextAttemptAt?: string;
  /** The first and the latest attempts, oldest first (see attempt-history.ts). */
  readonly attempts?: readonly AttemptRecord[];
  /** Attempts made but no longer kept, between the first and the latest. */
  readonly attemptsOmitted?: number;
}

/** One attempt at an endpoint, as kept on its delivery. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly at: string;
  readonly statusCode?: number;
  readonly durationMs: number;
  readonly error?: string;
  /** The first 1 KB (UTF-8) of the receiver's answer. */
  readonly responseBody: string;
  /**
   * The webhook's `updatedAt` the request was built from, so that the request can be shown as it was
   * sent (see sent-request.ts); absent when no request was built (headers that cannot be sent).
   */
  readonly webhookVersion?: string;
}
