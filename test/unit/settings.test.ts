import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/adapters/config.ts";
import { EnvVar } from "../../functions/shared/names.ts";
import { LOCAL_OVERRIDES, rangeProblem, Setting } from "../../functions/shared/settings.ts";

describe("the CDK app's environment (local overrides)", () => {
  it("uses the names the README documents, which are the names the functions read", () => {
    expect(Object.values(LOCAL_OVERRIDES).map((override) => override.variable)).toEqual([
      "HOOKLINE_RETRY_SCHEDULE",
      "HOOKLINE_CIRCUIT_THRESHOLD",
      "HOOKLINE_CIRCUIT_COOLDOWN",
      "HOOKLINE_RECONCILE_GRACE",
      "HOOKLINE_DELIVERY_TIMEOUT",
      "HOOKLINE_TENANT_PUBLISH_RATE",
      "HOOKLINE_TENANT_PUBLISH_BURST",
      "HOOKLINE_TENANT_MAX_WEBHOOKS",
      "HOOKLINE_WEBHOOK_MAX_IN_FLIGHT",
      "HOOKLINE_FANOUT_PAGE_SIZE",
    ]);
    expect(LOCAL_OVERRIDES.circuitFailureThreshold.variable).toBe(EnvVar.circuitFailureThreshold);
    expect(LOCAL_OVERRIDES.retryScheduleSeconds.variable).toBe(EnvVar.retrySchedule);
  });

  it("reads values in range, whitespace around them ignored", () => {
    expect(LOCAL_OVERRIDES.circuitFailureThreshold.parse("5")).toBe(5);
    expect(LOCAL_OVERRIDES.attemptTimeoutSeconds.parse(" 2 ")).toBe(2);
    expect(LOCAL_OVERRIDES.retryScheduleSeconds.parse("1,2,2")).toEqual([1, 2, 2]);
  });

  it.each([
    [
      "circuitFailureThreshold",
      "0",
      'HOOKLINE_CIRCUIT_THRESHOLD="0": must be a whole number, at least 1 and at most 1000',
    ],
    [
      "attemptTimeoutSeconds",
      "45",
      'HOOKLINE_DELIVERY_TIMEOUT="45": must be a whole number, at least 1 s and at most 30 s',
    ],
    [
      "circuitCooldownSeconds",
      "1.5",
      'HOOKLINE_CIRCUIT_COOLDOWN="1.5": must be a whole number, at least 1 s and at most 1 day',
    ],
    [
      "reconcileGraceSeconds",
      "soon",
      'HOOKLINE_RECONCILE_GRACE="soon": must be a whole number, at least 1 s and at most 1 day',
    ],
  ] as const)("refuses %s=%j, naming the variable and the range", (key, text, message) => {
    expect(() => LOCAL_OVERRIDES[key].parse(text)).toThrow(message);
  });

  it("refuses a bad schedule, naming the variable", () => {
    expect(() => LOCAL_OVERRIDES.retryScheduleSeconds.parse("1,0")).toThrow(
      'HOOKLINE_RETRY_SCHEDULE="1,0" is not a valid retry schedule',
    );
  });
});

describe("one range for synth and cold start", () => {
  const ranged = {
    deliveryTimeoutSeconds: Setting.attemptTimeoutSeconds,
    retentionDays: Setting.retentionDays,
    circuitFailureThreshold: Setting.circuitFailureThreshold,
    circuitCooldownSeconds: Setting.circuitCooldownSeconds,
    reconcileGraceSeconds: Setting.reconcileGraceSeconds,
    secretRotationOverlapSeconds: Setting.secretRotationOverlapSeconds,
    tenantPublishRatePerSecond: Setting.tenantPublishRatePerSecond,
    tenantPublishBurst: Setting.tenantPublishBurst,
    maxWebhooksPerTenant: Setting.maxWebhooksPerTenant,
    maxDeliveriesInFlightPerWebhook: Setting.maxDeliveriesInFlightPerWebhook,
    fanOutPageSize: Setting.fanOutPageSize,
  } as const;

  it("a function accepts exactly the whole numbers the CDK props accept", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(ranged) as (keyof typeof ranged)[])),
        fc.integer({ min: -10, max: 4_000_000 }),
        (key, value) => {
          const load = () => loadConfig([key], { [EnvVar[key]]: String(value) });
          if (rangeProblem(ranged[key], value) === undefined) expect(load()).toEqual({ [key]: value });
          else expect(load).toThrow(EnvVar[key]);
        },
      ),
    );
  });

  it("a function reads the retry schedule in the form the CDK writes it", () => {
    expect(loadConfig(["retrySchedule"], { [EnvVar.retrySchedule]: "1,5,30,300,1800" })).toEqual({
      retrySchedule: [1, 5, 30, 300, 1800],
    });
    expect(() => loadConfig(["retrySchedule"], { [EnvVar.retrySchedule]: "[1,5]" })).toThrow(
      EnvVar.retrySchedule,
    );
  });
});
