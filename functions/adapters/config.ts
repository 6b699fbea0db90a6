import * as z from "zod";
import type { EndpointPolicy } from "../domain/endpoint-url.ts";
import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { EnvVar } from "../shared/names.ts";
import { parseRetrySchedule } from "../shared/retry-policy.ts";
import { type RangeSetting, Setting } from "../shared/settings.ts";

const jsonString = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: "custom", message: "is not valid JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);

const eventTypes = jsonString(
  z
    .array(
      z.object({
        name: z.string().min(1),
        description: z.string(),
        priority: z.literal("high").optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
) satisfies z.ZodType<readonly EventTypeDefinition[]>;

const endpointPolicy = jsonString(
  z.object({
    allowInsecureHttp: z.boolean(),
    allowPrivateTargets: z.boolean(),
    allowedPorts: z.union([z.literal("any"), z.array(z.number().int().min(1).max(65535))]),
    allowlistPattern: z.string().optional(),
  }),
) satisfies z.ZodType<EndpointPolicy>;

const inRange = (setting: RangeSetting) => z.coerce.number().int().min(setting.min).max(setting.max);

/** Every setting a function can receive, each parsed and range-checked once at cold start. */
const settings = {
  webhooksTable: z.string().min(1),
  eventsTable: z.string().min(1),
  deliveryQueueUrl: z.string().url(),
  priorityQueueUrl: z.string().url(),
  eventTypes,
  eventCatalogue: eventTypes,
  endpointPolicy,
  deliveryTimeoutSeconds: inRange(Setting.attemptTimeoutSeconds),
  retentionDays: inRange(Setting.retentionDays),
  version: z.string().min(1),
  retryStateMachineArn: z.string().min(1),
  retrySchedule: z.string().transform((text, context) => {
    try {
      return parseRetrySchedule(text);
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }),
  circuitFailureThreshold: inRange(Setting.circuitFailureThreshold),
  circuitCooldownSeconds: inRange(Setting.circuitCooldownSeconds),
  deadLetterQueueUrl: z.string().url(),
  reconcileGraceSeconds: inRange(Setting.reconcileGraceSeconds),
  secretRotationOverlapSeconds: inRange(Setting.secretRotationOverlapSeconds),
  tenantPublishRatePerSecond: inRange(Setting.tenantPublishRatePerSecond),
  tenantPublishBurst: inRange(Setting.tenantPublishBurst),
  maxWebhooksPerTenant: inRange(Setting.maxWebhooksPerTenant),
  maxDeliveriesInFlightPerWebhook: inRange(Setting.maxDeliveriesInFlightPerWebhook),
  fanOutPageSize: inRange(Setting.fanOutPageSize),
} as const;

type Settings = typeof settings;
export type Config<K extends keyof Settings> = { readonly [P in K]: z.output<Settings[P]> };

/**
 * Settings too large for Lambda's 4 KB environment, which the bundler writes into the code instead
 * (`bundledSettings` in lib/function.ts): it replaces `process.env.<NAME>` where the code spells it
 * out, so each is read here by its literal name. Outside a bundle (tests) they are environment variables.
 */
const bundledSettings = (): Readonly<Record<string, string | undefined>> => ({
  [EnvVar.eventCatalogue]: process.env.HOOKLINE_EVENT_CATALOGUE,
});

/**
 * Reads the named settings from the environment, failing fast with every problem listed, so a
 * misconfigured function fails its first invocation loudly instead of misbehaving later.
 */
export function loadConfig<K extends keyof Settings>(
  keys: readonly K[],
  env: Readonly<Record<string, string | undefined>> = { ...process.env, ...bundledSettings() },
): Config<K> {
  const shape = Object.fromEntries(keys.map((key) => [EnvVar[key], settings[key]]));
  const parsed = z.object(shape).safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  }
  const values = parsed.data as Record<string, unknown>;
  return Object.fromEntries(keys.map((key) => [key, values[EnvVar[key]]])) as Config<K>;
}
