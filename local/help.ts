/**
 * What `npm start -- --help` prints, and the start banner's line of settings that differ from their
 * defaults. The stack settings come from `LOCAL_OVERRIDES`, the one table the CDK app reads them by, so
 * help cannot list a variable the app ignores or miss one it reads.
 */
import { EnvVar } from "../functions/shared/names.ts";
import { LOCAL_OVERRIDES, type LocalOverride } from "../functions/shared/settings.ts";

/** A variable the local runtime itself reads (`local/start.ts`); its default as the variable writes it. */
interface LocalVariable {
  readonly name: string;
  /** Undefined when the default is not a value one could type (e.g. "cdk.json's app"). */
  readonly default: string | undefined;
  readonly about: string;
}

export const LOCAL_VARIABLES: readonly LocalVariable[] = [
  { name: "PORT", default: "3000", about: "HTTP API port; 0 picks a free one" },
  { name: "HOOKLINE_HOST", default: "127.0.0.1", about: "the HTTP API's address" },
  { name: "HOOKLINE_DIR", default: ".hookline", about: "state directory, relative to the project root" },
  {
    name: "HOOKLINE_ALLOW_PRIVATE_TARGETS",
    default: "true",
    about: "false keeps the deployed stack's strict endpoint checks",
  },
  { name: "HOOKLINE_LOCAL_CONCURRENCY", default: "4", about: "execution environments per function, 1 to 64" },
  {
    name: "HOOKLINE_LOCAL_THROTTLING",
    default: "false",
    about: "true models Lambda's reserved and account concurrency limits",
  },
  {
    name: "HOOKLINE_LOCAL_ACCOUNT_CONCURRENCY",
    default: "1000",
    about: "the account's concurrency limit, with throttling on",
  },
  {
    name: "HOOKLINE_LOCAL_SCHEDULE_SECONDS",
    default: undefined,
    about: "run rate(...) scheduled rules this often instead (default: their own rate)",
  },
  {
    name: "HOOKLINE_LOCAL_STALE_READS_MS",
    default: "0",
    about: "model DynamoDB's eventually consistent reads with this lag; 0 is off",
  },
  {
    name: "HOOKLINE_LOCAL_LOOP_DETECTION",
    default: "true",
    about: "false lets SQS → Lambda chains run past 16 invocations",
  },
  { name: "HOOKLINE_LOCAL_REGION", default: "us-east-1", about: "the region the stack runs in" },
  { name: "HOOKLINE_CDK_APP", default: undefined, about: "the app command (default: cdk.json's)" },
  { name: "HOOKLINE_SYNTH", default: "direct", about: "cli synthesizes through `cdk synth`" },
  {
    name: "HOOKLINE_SYNTH_CACHE",
    default: "true",
    about: "false synthesizes every start instead of reusing the app synthesized from the same inputs",
  },
  { name: "HOOKLINE_STACK", default: undefined, about: "which stack, when the app has several" },
  {
    name: EnvVar.countAwsRequests,
    default: "false",
    about: "true: functions print a metric line per AWS request (npm run bench)",
  },
];

const STACK_SETTINGS: readonly LocalOverride<number | readonly number[]>[] = Object.values(LOCAL_OVERRIDES);

const FLAGS = [
  ["--fresh", "wipe the DynamoDB and SQS data first"],
  ["--in-memory", "keep no data on disk at all (faster; nothing survives a stop; implies --fresh)"],
  ["--no-synth", "reuse <stateDir>/cdk.out instead of synthesizing"],
  [
    "--verbose",
    "print the functions' own output (logs, metric lines) instead of one line per event, attempt and circuit change; it always goes to <stateDir>/functions.log",
  ],
  ["--help, -h", "print this and exit"],
] as const;

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ")}`.trimEnd(),
  );
}

export function usage(): string {
  return [
    "Usage: npm start [-- --fresh | --in-memory] [--no-synth] [--verbose]",
    "",
    "Runs the synthesized CDK stack on this machine against emulators.",
    "",
    "Options:",
    ...table(FLAGS),
    "",
    "Local runtime (variable, default, what it does):",
    ...table(LOCAL_VARIABLES.map((v) => [v.name, v.default ?? "-", v.about])),
    "",
    "Stack settings, shortened locally so tests run fast (variable, default, prop it sets, what it takes):",
    ...table(STACK_SETTINGS.map((s) => [s.variable, s.format(s.default), s.prop, s.expected])),
    "",
  ].join("\n");
}

/**
 * `NAME=value` for each setting in `env` that differs from its default: the stack settings compared by
 * value (`HOOKLINE_DELIVERY_TIMEOUT= 10 ` is the default), the local runtime's as written. Throws on a
 * stack setting the app would refuse, as the synth would.
 */
export function nonDefaultSettings(env: NodeJS.ProcessEnv): string[] {
  const stack = STACK_SETTINGS.flatMap((setting) => {
    const text = env[setting.variable];
    if (text === undefined || text === "") return [];
    const value = setting.format(setting.parse(text));
    return value === setting.format(setting.default) ? [] : [`${setting.variable}=${value}`];
  });
  const local = LOCAL_VARIABLES.flatMap(({ name, default: fallback }) => {
    const text = env[name]?.trim();
    return text === undefined || text === "" || text === fallback ? [] : [`${name}=${text}`];
  });
  return [...stack, ...local];
}
