import {
  type Admission,
  admit,
  afterAttempt,
  type Circuit,
  type CircuitPolicy,
  type CircuitTransition,
} from "./circuit.ts";
import { customHeaderProblems } from "./custom-headers.ts";
import type { DeliveryMessage } from "./messages.ts";
import type { AttemptRecord, Webhook } from "./model.ts";
import type { Turn } from "./ordering.ts";
import { MAX_SLOT_LATENESS_MS, MAX_SLOT_RESERVATIONS } from "./rate-limit.ts";
import {
  type AttemptClass,
  classifyAttempt,
  nextRetry,
  parseRetryAfter,
  waitSecondsFor,
} from "./retry-schedule.ts";
import { signingSecrets } from "./secret-rotation.ts";
import { signatureHeader } from "./signing.ts";

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
  /** The receiver's `Retry-After` header, if any. */
  readonly retryAfter?: string;
}

export type SendWebhook = (request: OutboundRequest) => Promise<OutboundResult>;

/**
 * Why a webhook's stored headers can never be sent, if they cannot: headers stored before today's
 * checks (a value Node's HTTP client refuses, a framing header) would fail every attempt the same way.
 */
export function unsendableHeaders(webhook: Webhook): string | undefined {
  const problems = customHeaderProblems(webhook.headers ?? {});
  if (problems.length === 0) return undefined;
  return `the webhook's headers cannot be sent (${problems
    .map((problem) => `${problem.path}: ${problem.message}`)
    .join("; ")}); change them with PATCH /v1/webhooks/${webhook.id}`;
}

/**
 * Sends, answering a request that could not be built or sent (the client threw) as a result without
 * a response, so that it is recorded like any other failed attempt; `threw` tells the two apart.
 */
export async function sendRecordingThrows(
  send: SendWebhook,
  request: OutboundRequest,
): Promise<{ readonly result: OutboundResult; readonly threw: boolean }> {
  try {
    return { result: await send(request), threw: false };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      result: { responseBody: "", durationMs: 0, error: `the request could not be sent: ${reason}` },
      threw: true,
    };
  }
}

/** The Standard Webhooks request headers for one attempt. */
export function webhookHeaders(
  secrets: readonly string[],
  deliveryId: string,
  timestampSeconds: number,
  body: string,
  userAgent: string,
): Record<string, string> {
  return standardHeaders(
    deliveryId,
    timestampSeconds,
    userAgent,
    signatureHeader(secrets, deliveryId, timestampSeconds, body),
  );
}

/** The headers Hookline sets on every request, around a `webhook-signature` value made elsewhere. */
export function standardHeaders(
  deliveryId: string,
  timestampSeconds: number,
  userAgent: string,
  signature: string,
): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": userAgent,
    "webhook-id": deliveryId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signature,
  };
}

/**
 * The signed request of one attempt (or test send) at a webhook: its own headers first, so the
 * Standard Webhooks headers always win (validation refuses reserved names anyway); both secrets while
 * a rotation's overlap lasts, so receivers holding either one can verify; its own timeout, if it has one.
 */
export function outboundRequest(
  webhook: Webhook,
  messageId: string,
  sentAt: Date,
  body: string,
  userAgent: string,
  defaultTimeoutMs: number,
): OutboundRequest {
  return {
    url: webhook.url,
    headers: {
      ...webhook.headers,
      ...webhookHeaders(
        signingSecrets(webhook, sentAt),
        messageId,
        Math.floor(sentAt.getTime() / 1000),
        body,
        userAgent,
      ),
    },
    body,
    timeoutMs: attemptTimeoutMs(webhook, defaultTimeoutMs),
  };
}

/** How long an attempt at this webhook waits for its endpoint: its own timeout, or the deployment's. */
function attemptTimeoutMs(webhook: Webhook, defaultTimeoutMs: number): number {
  return webhook.timeoutSeconds === undefined ? defaultTimeoutMs : webhook.timeoutSeconds * 1000;
}

/** What a probe may take beyond its attempt and a rate limit's wait: reads, the record, the circuit. */
const PROBE_BOOKKEEPING_SECONDS = 10;

/**
 * The circuit policy for one webhook. Its probe claim lasts as long as that webhook's probe can take —
 * its attempt timeout, a rate limit's in-process wait, the bookkeeping — rather than the longest attempt
 * any webhook may ask for: a claim whose prober crashed holds the webhook's deliveries back until it
 * lapses (a whole local stack killed mid-probe waited a minute for it).
 */
export function circuitPolicyFor(
  ports: Pick<DeliveryPorts, "circuitPolicy" | "timeoutMs" | "maxSlotWaitMs">,
  webhook: Webhook,
): CircuitPolicy {
  const rateLimitWaitMs = webhook.rateLimitPerSecond === undefined ? 0 : ports.maxSlotWaitMs;
  const probeMs = attemptTimeoutMs(webhook, ports.timeoutMs) + rateLimitWaitMs;
  return {
    ...ports.circuitPolicy,
    probeTimeoutSeconds: Math.ceil(probeMs / 1000) + PROBE_BOOKKEEPING_SECONDS,
  };
}

/** Where a delivery goes after one step of the delivery function. */
export type DeliveryStep =
  /** The attempt succeeded. */
  | { readonly kind: "delivered"; readonly attempt: AttemptRecord }
  /** Never to be tried again: a permanent failure, a gone or deleted endpoint. */
  | { readonly kind: "failed"; readonly reason: string; readonly attempt?: AttemptRecord }
  /** Try again after `waitSeconds`. */
  | {
      readonly kind: "retry";
      readonly attempt: AttemptRecord;
      readonly nextAttemptAt: string;
      readonly waitSeconds: number;
    }
  /** The schedule is exhausted. */
  | { readonly kind: "dead_letter"; readonly attempt: AttemptRecord }
  /** The endpoint's circuit is open: no request was made; wait for the circuit. */
  | { readonly kind: "parked"; readonly until: string }
  /**
   * An ordered webhook's earlier delivery is not over: no request was made; this one waits its turn,
   * and is queued when it comes (or driven on by the reconciler after `until`, if given).
   */
  | { readonly kind: "queued"; readonly until?: string }
  /**
   * The webhook's rate limit gave this delivery a slot too far out to wait for here: no request was
   * made; the delivery comes back after `waitSeconds`, shortly before its slot (`slotAt`), and keeps it.
   */
  | {
      readonly kind: "deferred";
      readonly until: string;
      readonly waitSeconds: number;
      readonly slotAt: number;
    };

/** What the circuit needs written after an attempt, if anything. */
export interface CircuitChange {
  readonly from: Circuit;
  readonly to: Circuit;
  readonly transition?: CircuitTransition;
}

export interface DeliveryPorts {
  /**
   * The webhook as stored, undefined only when it is surely gone: `fresh` asks for a strongly consistent
   * read past any cache, `atLeast` for a version no older than that `updatedAt`, and `atVersion` for
   * every change up to that subscriptions version of the tenant (a circuit that opened among them).
   */
  readonly webhook: (
    tenantId: string,
    webhookId: string,
    fresh: boolean,
    atLeast?: string,
    atVersion?: number,
  ) => Promise<Webhook | undefined>;
  /** The stored event's payload: undefined only when it is surely gone (expired). */
  readonly eventPayload: (tenantId: string, eventId: string) => Promise<string | undefined>;
  /** Writes `claim` only if the stored circuit is still `from`; says whether it won. */
  readonly claimProbe: (webhook: Webhook, from: Circuit, claim: Circuit) => Promise<boolean>;
  /**
   * Whether a delivery older than this one waits on its webhook's circuit: the probe is that one's, and
   * this one parks and hands it over (`leftProbeToOlder`). Asked only when the circuit would admit a probe.
   */
  readonly olderWaiting: (message: DeliveryMessage) => Promise<boolean>;
  readonly send: SendWebhook;
  /**
   * Reserves the next slot under the webhook's `rateLimitPerSecond` and returns when it is (epoch ms);
   * only asked for limited webhooks.
   */
  readonly reserveSlot: (webhook: Webhook) => Promise<number>;
  /** The longest a delivery waits in-process for its slot; a later one is deferred. */
  readonly maxSlotWaitMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  readonly random: () => number;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly defaultSchedule: readonly number[];
  /** The probe claim's lifetime is not a deployment setting: `circuitPolicyFor` derives it per webhook. */
  readonly circuitPolicy: Omit<CircuitPolicy, "probeTimeoutSeconds">;
  /**
   * Whether it is this delivery's turn, asked only for webhooks with `ordering: "fifo"` (ordering.ts);
   * absent, no webhook's deliveries are ordered.
   */
  readonly takeTurn?: (message: DeliveryMessage) => Promise<Turn>;
}

export interface StepResult {
  readonly step: DeliveryStep;
  /** The webhook as read for this step (undefined when it is gone). */
  readonly webhook?: Webhook;
  /** Whether this attempt was the circuit's probe. */
  readonly wasProbe: boolean;
  /**
   * The probe was due, and this delivery left it to an older one waiting on the circuit: it parked, and
   * the caller must see that the older one is attempted, for nothing else may be about to.
   */
  readonly leftProbeToOlder?: true;
  /** A circuit change to persist, computed from the circuit as read. */
  readonly circuitChange?: CircuitChange;
  readonly attemptClass?: AttemptClass;
}

/**
 * Decides and makes one step of a delivery: checks the webhook and its circuit, makes the signed
 * attempt when allowed, and says what comes next. It writes nothing but a probe claim; persisting the
 * step is the caller's job, so this stays testable without AWS.
 */
export async function deliveryStep(ports: DeliveryPorts, message: DeliveryMessage): Promise<StepResult> {
  // Past the first attempt the circuit may have moved since a cached read; a wrong "closed" would
  // send a request to an endpoint the circuit protects.
  const webhook = await ports.webhook(
    message.tenantId,
    message.webhookId,
    message.attempt > 1 || message.resumed === true,
    message.webhookUpdatedAt,
    message.subscriptionsVersion,
  );
  if (!webhook) return { step: { kind: "failed", reason: "webhook_deleted" }, wasProbe: false };
  if (!webhook.active)
    return { step: { kind: "failed", reason: "webhook_disabled" }, webhook, wasProbe: false };
  // Checked before the circuit is asked: this is no fault of the endpoint's, and no probe is spent on it.
  const unsendable = unsendableHeaders(webhook);
  if (unsendable !== undefined) {
    const attempt: AttemptRecord = {
      attempt: message.attempt,
      at: ports.now().toISOString(),
      durationMs: 0,
      error: unsendable,
      responseBody: "",
    };
    return { step: { kind: "failed", reason: unsendable, attempt }, webhook, wasProbe: false };
  }
  // Before the circuit: a delivery that waits its turn neither spends a probe nor parks on the circuit.
  if (webhook.ordering === "fifo" && ports.takeTurn) {
    const turn = await ports.takeTurn(message);
    if (turn.kind === "wait") {
      const step: DeliveryStep = {
        kind: "queued",
        ...(turn.until === undefined ? {} : { until: turn.until }),
      };
      return { step, webhook, wasProbe: false };
    }
  }

  const { admission, behindOlder } = await admitted(ports, webhook, message);
  if (admission.kind === "wait") {
    return {
      step: { kind: "parked", until: admission.until },
      webhook,
      wasProbe: false,
      ...(behindOlder ? { leftProbeToOlder: true as const } : {}),
    };
  }
  const wasProbe = admission.kind === "probe";
  const circuit = wasProbe ? admission.claim : webhook.circuit;

  const body = message.payload ?? (await ports.eventPayload(message.tenantId, message.eventId));
  if (body === undefined) return { step: { kind: "failed", reason: "event_expired" }, webhook, wasProbe };

  if (webhook.rateLimitPerSecond !== undefined) {
    // A delivery deferred earlier comes back with its slot; it reserves another only if it is late for it.
    let slotAt = message.rateSlotAt ?? (await ports.reserveSlot(webhook));
    for (let reservations = 1; ; reservations += 1) {
      const waitMs = slotAt - ports.now().getTime();
      if (waitMs > ports.maxSlotWaitMs) {
        // Back a couple of seconds before the slot: queue delays are whole seconds and not exact.
        const waitSeconds = Math.max(1, Math.floor(waitMs / 1000) - 2);
        const until = new Date(slotAt).toISOString();
        return { step: { kind: "deferred", until, waitSeconds, slotAt }, webhook, wasProbe };
      }
      if (waitMs > 0) await ports.sleep(waitMs);
      const late = ports.now().getTime() - slotAt >= MAX_SLOT_LATENESS_MS;
      if (!late || reservations >= MAX_SLOT_RESERVATIONS) break;
      slotAt = await ports.reserveSlot(webhook);
    }
  }

  const sentAt = ports.now();
  const { result, threw } = await sendRecordingThrows(
    ports.send,
    outboundRequest(webhook, message.deliveryId, sentAt, body, ports.userAgent, ports.timeoutMs),
  );
  const attemptClass = classifyAttempt(result.statusCode);
  const attempt: AttemptRecord = {
    attempt: message.attempt,
    at: sentAt.toISOString(),
    ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
    durationMs: result.durationMs,
    ...(attemptClass === "delivered"
      ? {}
      : { error: result.error ?? `receiver answered HTTP ${result.statusCode}` }),
    responseBody: result.responseBody,
    webhookVersion: webhook.updatedAt,
  };
  const now = ports.now();
  // A request that was never sent says nothing about the endpoint: the circuit stays as it was.
  const afterwards = threw
    ? { circuit }
    : afterAttempt(circuit, attemptClass === "delivered", ports.circuitPolicy, now, wasProbe);
  const circuitChange =
    afterwards.circuit === circuit
      ? undefined
      : {
          from: circuit,
          to: afterwards.circuit,
          ...(afterwards.transition ? { transition: afterwards.transition } : {}),
        };
  const common = { webhook, wasProbe, attemptClass, ...(circuitChange ? { circuitChange } : {}) };

  switch (attemptClass) {
    case "delivered":
      return { ...common, step: { kind: "delivered", attempt } };
    case "gone":
      return { ...common, step: { kind: "failed", reason: "endpoint answered 410 Gone", attempt } };
    case "permanent":
      return { ...common, step: { kind: "failed", reason: attempt.error ?? "permanent failure", attempt } };
    case "retryable": {
      const schedule = webhook.retryScheduleSeconds ?? ports.defaultSchedule;
      const retryAfter = parseRetryAfter(result.retryAfter, now);
      const next = nextRetry(schedule, message.attempt - message.scheduleStart, ports.random, retryAfter);
      if (!next) return { ...common, step: { kind: "dead_letter", attempt } };
      return {
        ...common,
        step: {
          kind: "retry",
          attempt,
          nextAttemptAt: new Date(now.getTime() + next.delaySeconds * 1000).toISOString(),
          waitSeconds: waitSecondsFor(next.delaySeconds),
        },
      };
    }
  }
}

/**
 * Asks the circuit for admission; a probe goes to the delivery that has waited longest, and must first
 * win its conditional claim, or it waits.
 */
async function admitted(
  ports: DeliveryPorts,
  webhook: Webhook,
  message: DeliveryMessage,
): Promise<{ readonly admission: Admission; readonly behindOlder: boolean }> {
  const now = ports.now();
  const policy = circuitPolicyFor(ports, webhook);
  const admission = admit(webhook.circuit, policy, now);
  if (admission.kind !== "probe") return { admission, behindOlder: false };
  if (await ports.olderWaiting(message)) {
    return { admission: admit(webhook.circuit, policy, now, true), behindOlder: true };
  }
  if (await ports.claimProbe(webhook, webhook.circuit, admission.claim)) {
    return { admission, behindOlder: false };
  }
  const until = new Date(now.getTime() + policy.probeTimeoutSeconds * 1000).toISOString();
  return { admission: { kind: "wait", until }, behindOlder: false };
}
