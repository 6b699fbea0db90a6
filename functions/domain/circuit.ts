/**
 * A per-webhook circuit breaker, as pure transitions.
 *
 * - `closed`: deliveries are sent; consecutive failures are counted and, at `failureThreshold`, the
 *   circuit opens.
 * - `open`: nothing is sent until `cooldownSeconds` after it opened; then one delivery is admitted as
 *   the probe, by claiming the circuit (`half_open`). The probe is the delivery that has waited longest:
 *   one that asks while an older delivery waits on the circuit waits behind it, so that a fresh first
 *   attempt does not take the probe from a delivery the endpoint has already been asked for.
 * - `half_open`: one probe is in flight; everything else waits. The probe's success closes the
 *   circuit, its failure opens it again for another cooldown. A claim older than
 *   `probeTimeoutSeconds` is taken to belong to a prober that crashed, and a new probe is admitted.
 *
 * Persistence is not done here: every changed circuit carries `version + 1`, and the caller writes it
 * only if the stored version is still the one it read (a DynamoDB conditional write), so that two
 * workers cannot both claim the probe. A transition that changes nothing returns the very object it
 * was given — `result.circuit === circuit` means there is nothing to write.
 */
import { Setting } from "../shared/settings.ts";

export type CircuitState = "closed" | "open" | "half_open";

export interface Circuit {
  readonly state: CircuitState;
  /** Failed attempts since the last success (probe failures included). */
  readonly consecutiveFailures: number;
  /** ISO instant the circuit last opened; set while open or half_open. */
  readonly openedAt?: string;
  /** ISO instant the current probe was admitted; set while half_open. */
  readonly probeClaimedAt?: string;
  /** Optimistic-concurrency counter, +1 on every change. */
  readonly version: number;
}

/** Every value is expected to be a whole number ≥ 1. */
export interface CircuitPolicy {
  /** Consecutive failures, while closed, that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit sends nothing before admitting a probe. */
  readonly cooldownSeconds: number;
  /** How long a probe claim holds before another probe may be admitted. */
  readonly probeTimeoutSeconds: number;
}

export const DEFAULT_CIRCUIT_POLICY: CircuitPolicy = Object.freeze({
  failureThreshold: Setting.circuitFailureThreshold.default,
  cooldownSeconds: Setting.circuitCooldownSeconds.default,
  probeTimeoutSeconds: 60,
});

/** A webhook with no circuit record yet has this one. */
export const CLOSED_CIRCUIT: Circuit = Object.freeze({ state: "closed", consecutiveFailures: 0, version: 0 });

/**
 * What may happen to a delivery that wants to make an attempt now:
 * - `send` — go ahead;
 * - `probe` — go ahead as the probe, but only once `claim` has been written conditionally on the
 *   version that was read; if that write loses, read again and ask again;
 * - `wait` — try again at `until` (ISO).
 */
export type Admission =
  | { kind: "send" }
  | { kind: "probe"; claim: Circuit }
  | { kind: "wait"; until: string };

export type CircuitTransition = "opened" | "closed" | "reopened";

export interface AttemptResult {
  /** The circuit after the attempt; the very same object when nothing changed (no write needed). */
  readonly circuit: Circuit;
  /** Set when the state changed, for logs, metrics and the delivery record. */
  readonly transition?: CircuitTransition;
}

/**
 * `olderWaiting` says a delivery older than the one asking waits on the circuit: the probe is that
 * one's, and the asker waits for as long as a probe may take (by then the circuit has closed and
 * released it, or the older delivery has reopened it).
 */
export function admit(circuit: Circuit, policy: CircuitPolicy, now: Date, olderWaiting = false): Admission {
  switch (circuit.state) {
    case "closed":
      return { kind: "send" };
    case "open": {
      const probeFrom = instant(circuit.openedAt) + policy.cooldownSeconds * 1000;
      if (now.getTime() < probeFrom) return wait(probeFrom);
      return olderWaiting ? waitBehind(policy, now) : probe(circuit, now);
    }
    case "half_open": {
      const claimExpires = instant(circuit.probeClaimedAt) + policy.probeTimeoutSeconds * 1000;
      if (now.getTime() < claimExpires) return wait(claimExpires);
      return olderWaiting ? waitBehind(policy, now) : probe(circuit, now);
    }
  }
}

/**
 * Whether a probe message sent when the circuit opened at `openedAt` still stands for the open or
 * half_open `circuit`. Each opening sends its own message, so one for an opening since superseded (its
 * probe failed and reopened the circuit) is dropped: kept, the messages would multiply with every
 * reopening. A message without the instant counts as current.
 */
export function probeMessageCurrent(circuit: Circuit, openedAt: string | undefined): boolean {
  return openedAt === undefined || circuit.openedAt === openedAt;
}

/**
 * The circuit after an attempt ended. `wasProbe` says the attempt was admitted as the probe; its result
 * decides a half_open circuit. Any other result that arrives while the circuit is open or half_open (an
 * attempt already in flight when it opened, or a probe whose claim was since superseded and settled)
 * changes nothing: only the current probe may close or reopen the circuit. A probe result that arrives
 * after the circuit has closed counts as an ordinary attempt.
 */
export function afterAttempt(
  circuit: Circuit,
  succeeded: boolean,
  policy: Pick<CircuitPolicy, "failureThreshold">,
  now: Date,
  wasProbe: boolean,
): AttemptResult {
  if (circuit.state === "half_open" && wasProbe) {
    return succeeded
      ? { circuit: closed(circuit, 0), transition: "closed" }
      : { circuit: opened(circuit, now), transition: "reopened" };
  }
  if (circuit.state !== "closed") return { circuit };
  if (succeeded) {
    return circuit.consecutiveFailures === 0 ? { circuit } : { circuit: closed(circuit, 0) };
  }
  if (circuit.consecutiveFailures + 1 >= policy.failureThreshold) {
    return { circuit: opened(circuit, now), transition: "opened" };
  }
  return { circuit: closed(circuit, circuit.consecutiveFailures + 1) };
}

/** The circuit as the API shows it on a webhook. */
export function circuitView(circuit: Circuit): {
  circuit_state: CircuitState;
  circuit_opened_at: string | null;
} {
  return {
    circuit_state: circuit.state,
    circuit_opened_at: circuit.state === "closed" ? null : (circuit.openedAt ?? null),
  };
}

function probe(circuit: Circuit, now: Date): Admission {
  const claim: Circuit = {
    state: "half_open",
    consecutiveFailures: circuit.consecutiveFailures,
    ...(circuit.openedAt === undefined ? {} : { openedAt: circuit.openedAt }),
    probeClaimedAt: now.toISOString(),
    version: circuit.version + 1,
  };
  return { kind: "probe", claim };
}

function waitBehind(policy: CircuitPolicy, now: Date): Admission {
  return wait(now.getTime() + policy.probeTimeoutSeconds * 1000);
}

function wait(untilMs: number): Admission {
  return { kind: "wait", until: new Date(untilMs).toISOString() };
}

function closed(circuit: Circuit, consecutiveFailures: number): Circuit {
  return { state: "closed", consecutiveFailures, version: circuit.version + 1 };
}

function opened(circuit: Circuit, now: Date): Circuit {
  return {
    state: "open",
    consecutiveFailures: circuit.consecutiveFailures + 1,
    openedAt: now.toISOString(),
    version: circuit.version + 1,
  };
}

/**
 * Epoch milliseconds of a stored instant. A missing or unreadable one counts as long past, so that a
 * damaged record lets a probe through rather than holding the webhook's deliveries forever.
 */
function instant(iso: string | undefined): number {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}
