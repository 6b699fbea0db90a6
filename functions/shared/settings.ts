/**
 * Every deployment setting that has a range: its default and its limits, defined once. The CDK props
 * default to these and fail `cdk synth` outside them (`lib/`), the functions check the same ranges at
 * cold start (`functions/adapters/config.ts`), and the CDK app and the CLI read them by the names below
 * (`bin/`). The retry schedule's own default and limits are in `retry-policy.ts`.
 */
import { MAX_ATTEMPT_TIMEOUT_SECONDS } from "./limits.ts";
import { EnvVar } from "./names.ts";
import { DEFAULT_RETRY_SCHEDULE_SECONDS, formatRetrySchedule, parseRetrySchedule } from "./retry-policy.ts";

export interface RangeSetting {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** What the number counts, so that messages can say `30 days` rather than `2592000`. */
  readonly unit: "seconds" | "days" | "count";
}

const DAY_SECONDS = 86_400;

/**
 * One setting as a deployment has it, beside its default (Durations in seconds; `unit` says what a
 * number counts): the stack's `Settings` output lists them, and `hookline status` shows those that differ.
 */
export interface SettingInEffect {
  readonly value: unknown;
  readonly default: unknown;
  readonly unit?: RangeSetting["unit"];
}

export const Setting = {
  /** How long an attempt waits for an endpoint (`attemptTimeout`). */
  attemptTimeoutSeconds: { default: 10, min: 1, max: MAX_ATTEMPT_TIMEOUT_SECONDS, unit: "seconds" },
  /** Days event and delivery records are kept before DynamoDB's TTL removes them (`retentionDays`). */
  retentionDays: { default: 30, min: 1, max: 3650, unit: "days" },
  /** Consecutive failed attempts that open a webhook's circuit (`circuitFailureThreshold`). */
  circuitFailureThreshold: { default: 5, min: 1, max: 1000, unit: "count" },
  /** How long an open circuit keeps requests away before one probe is allowed (`circuitCooldown`). */
  circuitCooldownSeconds: { default: 300, min: 1, max: DAY_SECONDS, unit: "seconds" },
  /** How overdue a record's next step must be before the reconciler drives it on (`reconcileGrace`). */
  reconcileGraceSeconds: { default: 50, min: 1, max: DAY_SECONDS, unit: "seconds" },
  /** How long a rotated-out secret keeps signing next to the new one (`secretRotationOverlap`). */
  secretRotationOverlapSeconds: { default: DAY_SECONDS, min: 0, max: 30 * DAY_SECONDS, unit: "seconds" },
  /** Most concurrent delivery function instances per lane (`deliveryConcurrency`): SQS allows 2 to 1,000. */
  deliveryConcurrency: { default: 50, min: 2, max: 1000, unit: "count" },
  /** How long API Gateway caches an authorizer's answer (`authorizerCacheTtl`): at most an hour. */
  authorizerCacheTtlSeconds: { default: 60, min: 0, max: 3600, unit: "seconds" },
  /** Events per second one tenant may publish through the API in the long run (`tenantPublishRateLimit`). */
  tenantPublishRatePerSecond: { default: 1000, min: 1, max: 100_000, unit: "count" },
  /** Events one tenant may publish at once above its rate (`tenantPublishBurstLimit`). */
  tenantPublishBurst: { default: 2000, min: 1, max: 1_000_000, unit: "count" },
  /** Webhooks one tenant may have (`maxWebhooksPerTenant`). */
  maxWebhooksPerTenant: { default: 1000, min: 1, max: 100_000, unit: "count" },
  /** Deliveries one webhook may have in flight at once (`maxDeliveriesInFlightPerWebhook`). */
  maxDeliveriesInFlightPerWebhook: { default: 10, min: 1, max: 1000, unit: "count" },
  /**
   * Webhooks a fan-out reads per page (`fanOutPageSize`); each page after the first is one more hop of
   * the delivery function's chain through its own queue.
   */
  fanOutPageSize: { default: 100, min: 10, max: 100, unit: "count" },
} as const satisfies Record<string, RangeSetting>;

function quantity(setting: RangeSetting, value: number): string {
  const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;
  if (setting.unit === "days") return plural(value, "day");
  if (setting.unit === "count") return String(value);
  return value > 0 && value % DAY_SECONDS === 0 ? plural(value / DAY_SECONDS, "day") : `${value} s`;
}

/** What a setting takes, e.g. `a whole number, at least 1 s and at most 30 s`. */
export function rangeText(setting: RangeSetting): string {
  return `a whole number, at least ${quantity(setting, setting.min)} and at most ${quantity(setting, setting.max)}`;
}

/** Why `value` is outside the setting's range, or undefined when it is inside. */
export function rangeProblem(setting: RangeSetting, value: number): string | undefined {
  if (Number.isInteger(value) && value >= setting.min && value <= setting.max) return undefined;
  return `must be ${rangeText(setting)}; found ${quantity(setting, value)}`;
}

/**
 * Reads a whole number in the setting's range from configuration text (an environment variable, a
 * stack output); throws an Error naming `name` and the range, since this runs on start-up input.
 */
export function parseSetting(name: string, setting: RangeSetting, text: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (rangeProblem(setting, value) !== undefined) {
    throw new Error(`${name}=${JSON.stringify(text)}: must be ${rangeText(setting)}`);
  }
  return value;
}

/** A setting the CDK app takes from its environment when it synthesizes for the local runtime. */
export interface LocalOverride<T, P extends string = string> {
  /** The environment variable: the one the functions read the setting from too. */
  readonly variable: string;
  /** The `HooklineProps` prop it sets; a Duration prop gets the number as seconds. */
  readonly prop: P;
  /** What the variable takes, for help and messages. */
  readonly expected: string;
  /** The value the stack has when the variable is unset. */
  readonly default: T;
  /**
   * A value as the variable writes it, so help and the start banner show what a user would type.
   * Method syntax, so that every row is a `LocalOverride<number | readonly number[]>` to whoever lists them.
   */
  format(value: T): string;
  /** The value, or an Error naming the variable and what it takes. */
  readonly parse: (text: string) => T;
}

function rangeOverride<P extends string>(
  variable: string,
  prop: P,
  setting: RangeSetting,
): LocalOverride<number, P> {
  return {
    variable,
    prop,
    expected: rangeText(setting),
    default: setting.default,
    format: String,
    parse: (text) => parseSetting(variable, setting, text),
  };
}

/**
 * The environment variables the CDK app reads (only with the local context, `npm start`), as the
 * README documents them: they shorten the schedule, the circuit breaker, the grace and the attempt
 * timeout so that tests run in seconds, and lower the fairness limits so that tests can reach them.
 */
export const LOCAL_OVERRIDES = {
  retryScheduleSeconds: {
    variable: EnvVar.retrySchedule,
    prop: "retryScheduleSeconds" as const,
    expected: "comma-separated whole seconds, e.g. 1,5,30,300,1800",
    default: DEFAULT_RETRY_SCHEDULE_SECONDS,
    format: formatRetrySchedule,
    parse: (text: string) => parseRetrySchedule(text, EnvVar.retrySchedule),
  },
  circuitFailureThreshold: rangeOverride(
    EnvVar.circuitFailureThreshold,
    "circuitFailureThreshold",
    Setting.circuitFailureThreshold,
  ),
  circuitCooldownSeconds: rangeOverride(
    EnvVar.circuitCooldownSeconds,
    "circuitCooldown",
    Setting.circuitCooldownSeconds,
  ),
  reconcileGraceSeconds: rangeOverride(
    EnvVar.reconcileGraceSeconds,
    "reconcileGrace",
    Setting.reconcileGraceSeconds,
  ),
  attemptTimeoutSeconds: rangeOverride(
    EnvVar.deliveryTimeoutSeconds,
    "attemptTimeout",
    Setting.attemptTimeoutSeconds,
  ),
  tenantPublishRatePerSecond: rangeOverride(
    EnvVar.tenantPublishRatePerSecond,
    "tenantPublishRateLimit",
    Setting.tenantPublishRatePerSecond,
  ),
  tenantPublishBurst: rangeOverride(
    EnvVar.tenantPublishBurst,
    "tenantPublishBurstLimit",
    Setting.tenantPublishBurst,
  ),
  maxWebhooksPerTenant: rangeOverride(
    EnvVar.maxWebhooksPerTenant,
    "maxWebhooksPerTenant",
    Setting.maxWebhooksPerTenant,
  ),
  maxDeliveriesInFlightPerWebhook: rangeOverride(
    EnvVar.maxDeliveriesInFlightPerWebhook,
    "maxDeliveriesInFlightPerWebhook",
    Setting.maxDeliveriesInFlightPerWebhook,
  ),
  fanOutPageSize: rangeOverride(EnvVar.fanOutPageSize, "fanOutPageSize", Setting.fanOutPageSize),
} as const satisfies Record<string, LocalOverride<number | readonly number[]>>;
