import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  admit,
  afterAttempt,
  type Circuit,
  type CircuitPolicy,
  CLOSED_CIRCUIT,
  circuitView,
  DEFAULT_CIRCUIT_POLICY,
  probeMessageCurrent,
} from "../../functions/domain/circuit.ts";

const policy = DEFAULT_CIRCUIT_POLICY;
const t0 = new Date("2024-01-01T00:00:00.000Z");

function at(seconds: number): Date {
  return new Date(t0.getTime() + seconds * 1000);
}

function openCircuit(openedAtSeconds = 0, version = 5): Circuit {
  return {
    state: "open",
    consecutiveFailures: policy.failureThreshold,
    openedAt: at(openedAtSeconds).toISOString(),
    version,
  };
}

function halfOpenCircuit(claimedAtSeconds: number, version = 6): Circuit {
  return {
    ...openCircuit(0, version),
    state: "half_open",
    probeClaimedAt: at(claimedAtSeconds).toISOString(),
  };
}

function failTimes(circuit: Circuit, times: number, now = t0): Circuit {
  let current = circuit;
  for (let i = 0; i < times; i += 1) current = afterAttempt(current, false, policy, now, false).circuit;
  return current;
}

describe("admit", () => {
  it("sends while closed", () => {
    expect(admit(CLOSED_CIRCUIT, policy, t0)).toEqual({ kind: "send" });
  });

  it("waits while open until the cooldown has passed", () => {
    expect(admit(openCircuit(), policy, at(policy.cooldownSeconds - 1))).toEqual({
      kind: "wait",
      until: at(policy.cooldownSeconds).toISOString(),
    });
  });

  it("claims the probe once the cooldown has passed", () => {
    const circuit = openCircuit();
    expect(admit(circuit, policy, at(policy.cooldownSeconds))).toEqual({
      kind: "probe",
      claim: {
        state: "half_open",
        consecutiveFailures: circuit.consecutiveFailures,
        openedAt: circuit.openedAt,
        probeClaimedAt: at(policy.cooldownSeconds).toISOString(),
        version: circuit.version + 1,
      },
    });
  });

  it("makes others wait while a probe's claim is fresh", () => {
    expect(admit(halfOpenCircuit(300), policy, at(300 + policy.probeTimeoutSeconds - 1))).toEqual({
      kind: "wait",
      until: at(300 + policy.probeTimeoutSeconds).toISOString(),
    });
  });

  it("claims the probe again when the prober has not reported within the probe timeout", () => {
    const circuit = halfOpenCircuit(300);
    const now = at(300 + policy.probeTimeoutSeconds);
    expect(admit(circuit, policy, now)).toEqual({
      kind: "probe",
      claim: { ...circuit, probeClaimedAt: now.toISOString(), version: circuit.version + 1 },
    });
  });

  it("gives the probe to an older waiting delivery: the asker waits as long as a probe may take", () => {
    const now = at(policy.cooldownSeconds);
    const behind = {
      kind: "wait",
      until: at(policy.cooldownSeconds + policy.probeTimeoutSeconds).toISOString(),
    };
    expect(admit(openCircuit(), policy, now, true)).toEqual(behind);
    const lapsedClaim = halfOpenCircuit(policy.cooldownSeconds - policy.probeTimeoutSeconds);
    expect(admit(lapsedClaim, policy, now, true)).toEqual(behind);
  });

  it("lets nothing older jump the cooldown or a fresh claim, and changes nothing while closed", () => {
    expect(admit(CLOSED_CIRCUIT, policy, t0, true)).toEqual({ kind: "send" });
    expect(admit(openCircuit(), policy, at(1), true)).toEqual(admit(openCircuit(), policy, at(1)));
    expect(admit(halfOpenCircuit(300), policy, at(301), true)).toEqual(
      admit(halfOpenCircuit(300), policy, at(301)),
    );
  });

  it("lets a probe through when a damaged record has no instant", () => {
    const { openedAt: _, ...noOpenedAt } = openCircuit();
    expect(admit(noOpenedAt, policy, t0).kind).toBe("probe");
    expect(admit({ ...halfOpenCircuit(0), probeClaimedAt: "garbage" }, policy, t0).kind).toBe("probe");
  });
});

describe("afterAttempt", () => {
  it("returns the identical circuit for a success with no failures counted: nothing to write", () => {
    expect(afterAttempt(CLOSED_CIRCUIT, true, policy, t0, false)).toEqual({ circuit: CLOSED_CIRCUIT });
    expect(afterAttempt(CLOSED_CIRCUIT, true, policy, t0, false).circuit).toBe(CLOSED_CIRCUIT);
  });

  it("resets the failures on a success", () => {
    const result = afterAttempt(failTimes(CLOSED_CIRCUIT, 3), true, policy, t0, false);
    expect(result).toEqual({ circuit: { state: "closed", consecutiveFailures: 0, version: 4 } });
  });

  it("counts failures while closed, and opens at the threshold", () => {
    const before = failTimes(CLOSED_CIRCUIT, policy.failureThreshold - 1);
    expect(before).toEqual({
      state: "closed",
      consecutiveFailures: policy.failureThreshold - 1,
      version: policy.failureThreshold - 1,
    });
    const now = at(42);
    expect(afterAttempt(before, false, policy, now, false)).toEqual({
      circuit: {
        state: "open",
        consecutiveFailures: policy.failureThreshold,
        openedAt: now.toISOString(),
        version: policy.failureThreshold,
      },
      transition: "opened",
    });
  });

  it("closes on the probe's success", () => {
    const result = afterAttempt(halfOpenCircuit(300), true, policy, at(301), true);
    expect(result).toEqual({
      circuit: { state: "closed", consecutiveFailures: 0, version: 7 },
      transition: "closed",
    });
  });

  it("opens again on the probe's failure, with a new cooldown", () => {
    const result = afterAttempt(halfOpenCircuit(300), false, policy, at(301), true);
    expect(result).toEqual({
      circuit: {
        state: "open",
        consecutiveFailures: policy.failureThreshold + 1,
        openedAt: at(301).toISOString(),
        version: 7,
      },
      transition: "reopened",
    });
    expect(admit(result.circuit, policy, at(301 + policy.cooldownSeconds - 1)).kind).toBe("wait");
  });

  it.each([true, false])(
    "ignores an in-flight attempt's result (succeeded: %s) while open or half_open",
    (succeeded) => {
      const open = openCircuit();
      const halfOpen = halfOpenCircuit(300);
      expect(afterAttempt(open, succeeded, policy, at(1), false).circuit).toBe(open);
      expect(afterAttempt(halfOpen, succeeded, policy, at(301), false).circuit).toBe(halfOpen);
    },
  );

  it("does not let a superseded probe close an open circuit", () => {
    const open = openCircuit(400, 8);
    expect(afterAttempt(open, true, policy, at(401), true)).toEqual({ circuit: open });
  });

  it("counts a late probe result on a closed circuit as an ordinary attempt", () => {
    const closed: Circuit = { state: "closed", consecutiveFailures: 0, version: 9 };
    expect(afterAttempt(closed, false, policy, t0, true)).toEqual({
      circuit: { state: "closed", consecutiveFailures: 1, version: 10 },
    });
  });
});

describe("probeMessageCurrent", () => {
  it("keeps the message of the circuit's current opening, claimed or not", () => {
    expect(probeMessageCurrent(openCircuit(), t0.toISOString())).toBe(true);
    expect(probeMessageCurrent(halfOpenCircuit(300), t0.toISOString())).toBe(true);
  });

  it("drops the message of an opening its probe's failure superseded", () => {
    const reopened = afterAttempt(halfOpenCircuit(300), false, policy, at(301), true).circuit;
    expect(probeMessageCurrent(reopened, t0.toISOString())).toBe(false);
    expect(probeMessageCurrent(reopened, reopened.openedAt)).toBe(true);
  });

  it("keeps a message that names no opening", () => {
    expect(probeMessageCurrent(openCircuit(), undefined)).toBe(true);
  });
});

describe("circuitView", () => {
  it("shows the state and when it opened", () => {
    expect(circuitView(CLOSED_CIRCUIT)).toEqual({ circuit_state: "closed", circuit_opened_at: null });
    expect(circuitView(openCircuit())).toEqual({
      circuit_state: "open",
      circuit_opened_at: t0.toISOString(),
    });
    expect(circuitView(halfOpenCircuit(300))).toEqual({
      circuit_state: "half_open",
      circuit_opened_at: t0.toISOString(),
    });
  });
});

/**
 * One thing that happens to a webhook's circuit, after `advance` seconds:
 * - `attempt` — a delivery asks `admit`, and sends (or probes) if allowed;
 * - `crash` — a delivery asks `admit`; if admitted as the probe, its claim is written but it never reports;
 * - `late` — the result of an attempt that was already in flight arrives (no admission asked).
 */
type Step = { readonly kind: "attempt" | "crash" | "late"; readonly ok: boolean; readonly advance: number };

const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom("attempt", "attempt", "attempt", "crash", "late"),
  ok: fc.boolean(),
  advance: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 700 })),
});

const randomPolicy: fc.Arbitrary<CircuitPolicy> = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 6 }),
  cooldownSeconds: fc.integer({ min: 1, max: 600 }),
  probeTimeoutSeconds: fc.integer({ min: 1, max: 120 }),
});

const steps = fc.array(step, { maxLength: 80 });

interface Observer {
  /** Called with every circuit change and its cause, after the invariants common to all are checked. */
  onChange?(before: Circuit, after: Circuit, transition: string | undefined, cause: "claim" | "result"): void;
  onAdmit?(circuit: Circuit, now: Date, kind: string): void;
  onResult?(
    before: Circuit,
    ok: boolean,
    wasProbe: boolean,
    after: Circuit,
    transition: string | undefined,
  ): void;
}

/**
 * Drives a sequence of steps through admit/afterAttempt, applying every claim as if its conditional
 * write succeeded, and checks the invariants that hold at every step.
 */
function drive(circuitPolicy: CircuitPolicy, sequence: readonly Step[], observer: Observer = {}): Circuit {
  let circuit = CLOSED_CIRCUIT;
  let seconds = 0;
  const change = (next: Circuit, transition: string | undefined, cause: "claim" | "result") => {
    if (next === circuit) {
      expect(transition).toBeUndefined();
      return;
    }
    expect(next).not.toEqual(circuit);
    expect(next.version).toBe(circuit.version + 1);
    observer.onChange?.(circuit, next, transition, cause);
    circuit = next;
  };
  const result = (ok: boolean, wasProbe: boolean, now: Date) => {
    const before = circuit;
    const outcome = afterAttempt(circuit, ok, circuitPolicy, now, wasProbe);
    observer.onResult?.(before, ok, wasProbe, outcome.circuit, outcome.transition);
    change(outcome.circuit, outcome.transition, "result");
  };

  for (const { kind, ok, advance } of sequence) {
    seconds += advance;
    const now = at(seconds);
    if (kind === "late") {
      result(ok, false, now);
      continue;
    }
    const admission = admit(circuit, circuitPolicy, now);
    observer.onAdmit?.(circuit, now, admission.kind);
    if (admission.kind === "wait") {
      expect(Date.parse(admission.until)).toBeGreaterThan(now.getTime());
      continue;
    }
    if (admission.kind === "send") {
      if (kind === "attempt") result(ok, false, now);
      continue;
    }
    change(admission.claim, undefined, "claim");
    // Anyone else asking at the same instant, once the claim is written, waits.
    expect(admit(circuit, circuitPolicy, now).kind).toBe("wait");
    if (kind === "attempt") result(ok, true, now);
  }
  return circuit;
}

describe("circuit transitions over random histories", () => {
  it("opens exactly when failureThreshold consecutive failures happen while closed", () => {
    fc.assert(
      fc.property(randomPolicy, steps, (circuitPolicy, sequence) => {
        let failuresWhileClosed = 0;
        drive(circuitPolicy, sequence, {
          onResult(before, ok, _wasProbe, after, transition) {
            if (before.state !== "closed") return;
            failuresWhileClosed = ok ? 0 : failuresWhileClosed + 1;
            const shouldOpen = failuresWhileClosed === circuitPolicy.failureThreshold;
            expect(transition === "opened").toBe(shouldOpen);
            expect(after.state === "open").toBe(shouldOpen);
            if (shouldOpen) failuresWhileClosed = 0;
          },
          onChange(_before, after) {
            if (after.state === "closed") expect(after.consecutiveFailures).toBe(failuresWhileClosed);
          },
        });
      }),
    );
  });

  it("never sends or probes while open and within the cooldown", () => {
    fc.assert(
      fc.property(randomPolicy, steps, (circuitPolicy, sequence) => {
        drive(circuitPolicy, sequence, {
          onAdmit(circuit, now, kind) {
            if (circuit.state !== "open") return;
            const cooldownEnds = Date.parse(circuit.openedAt ?? "") + circuitPolicy.cooldownSeconds * 1000;
            if (now.getTime() < cooldownEnds) expect(kind).toBe("wait");
            else expect(kind).toBe("probe");
          },
        });
      }),
    );
  });

  it("never sends unless closed, and admits a new probe only once the last claim has expired", () => {
    fc.assert(
      fc.property(randomPolicy, steps, (circuitPolicy, sequence) => {
        drive(circuitPolicy, sequence, {
          onAdmit(circuit, now, kind) {
            expect(kind === "send").toBe(circuit.state === "closed");
            if (circuit.state === "half_open" && kind === "probe") {
              const claimExpires =
                Date.parse(circuit.probeClaimedAt ?? "") + circuitPolicy.probeTimeoutSeconds * 1000;
              expect(now.getTime()).toBeGreaterThanOrEqual(claimExpires);
            }
          },
        });
      }),
    );
  });

  it("never admits a probe while an older delivery waits, and otherwise answers as if none did", () => {
    fc.assert(
      fc.property(randomPolicy, steps, (circuitPolicy, sequence) => {
        drive(circuitPolicy, sequence, {
          onAdmit(circuit, now, kind) {
            const behind = admit(circuit, circuitPolicy, now, true);
            if (kind !== "probe") {
              expect(behind).toEqual(admit(circuit, circuitPolicy, now));
              return;
            }
            expect(behind).toEqual({
              kind: "wait",
              until: new Date(now.getTime() + circuitPolicy.probeTimeoutSeconds * 1000).toISOString(),
            });
          },
        });
      }),
    );
  });

  it("increases the version by exactly 1 on every change, and only then", () => {
    fc.assert(
      fc.property(randomPolicy, steps, (circuitPolicy, sequence) => {
        let changes = 0;
        const last = drive(circuitPolicy, sequence, {
          onChange() {
            changes += 1;
          },
        });
        expect(last.version).toBe(changes);
      }),
    );
  });

  it("ends closed with 0 failures whenever the probe succeeds", () => {
    fc.assert(
      fc.property(randomPolicy, steps, (circuitPolicy, sequence) => {
        drive(circuitPolicy, sequence, {
          onResult(before, ok, wasProbe, after, transition) {
            if (!wasProbe) return;
            expect(before.state).toBe("half_open");
            if (ok) {
              expect(after).toEqual({ state: "closed", consecutiveFailures: 0, version: before.version + 1 });
              expect(transition).toBe("closed");
            } else {
              expect(after.state).toBe("open");
              expect(transition).toBe("reopened");
            }
          },
        });
      }),
    );
  });

  it("keeps instants consistent with the state", () => {
    fc.assert(
      fc.property(randomPolicy, steps, (circuitPolicy, sequence) => {
        drive(circuitPolicy, sequence, {
          onChange(_before, after) {
            expect(after.openedAt !== undefined).toBe(after.state !== "closed");
            expect(after.probeClaimedAt !== undefined).toBe(after.state === "half_open");
          },
        });
      }),
    );
  });
});
