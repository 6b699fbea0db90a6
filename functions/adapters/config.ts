import * as z from "zod";
import type { EndpointPolicy } from "../domain/endpoint-url.ts";
import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { EnvVar } from "../shared/names.ts";
import { MAX_SECRET_ROTATION_OVERLAP_SECONDS, retryScheduleProblems } from "../shared/retry-policy.ts";

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
      z.object({ name: z.string().min(1), description: z.string(), priority: z.literal("high").optional() }),
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

/** Every setting a function can receive, each parsed and range-checked once at cold start. */
const settings = {
  webhooksTable: z.string().min(1),
  eventsTable: z.string().min(1),
  deliveryQueueUrl: z.string().url(),
  priorityQueueUrl: z.string().url(),
  eventTypes,
  endpointPolicy,
  deliveryTimeoutSeconds: z.coerce.number().int().min(1).max(30),
  retentionDays: z.coerce.number().int().min(1).max(3650),
  version: z.string().min(1),
  retryStateMachineArn: z.string().min(1),
  retrySchedule: jsonString(z.array(z.number())).superRefine((schedule, context) => {
    for (const problem of retryScheduleProblems(schedule))
      context.addIssue({ code: "custom", message: `${problem.path}: ${problem.message}` });
  }),
  circuitFailureThreshold: z.coerce.number().int().min(1).max(1000),
  circuitCooldownSeconds: z.coerce.number().int().min(1).max(86_400),
  deadLetterQueueUrl: z.string().url(),
  reconcileGraceSeconds: z.coerce.number().int().min(1).max(86_400),
  secretRotationOverlapSeconds: z.coerce.number().int().min(0).max(MAX_SECRET_ROTATION_OVERLAP_SECONDS),
} as const;

type Settings = typeof settings;
export type Config<K extends keyof Settings> = { readonly [P in K]: z.output<Settings[P]> };

/**
 * Reads the named settings from the environment, failing fast with every problem listed, so a
 * misconfigured function fails its first invocation loudly instead of misbehaving later.
 */
export function loadConfig<K extends keyof Settings>(
  keys: readonly K[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config<K> {
  const shape = Object.fromEntries(keys.map((key) => [EnvVar[key], settings[key]]));
  const parsed = z.object(shape).safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  }
  const values = parsed.data as Record<string, unknown>;
  return Object.fromEntries(keys.map((key) => [key, values[EnvVar[key]]])) as Config<K>;
}
