/**
 * `npm start [-- --fresh]`: runs the synthesized CDK stack on this machine against DynamoDB Local and
 * an SQS emulator, prints where it is, and writes `<stateDir>/local.json` for tools and tests.
 *
 * Environment:
 * - `PORT` — HTTP API port (default 3000; 0 picks a free one); `HOOKLINE_HOST` — its address (127.0.0.1)
 * - `HOOKLINE_DIR` — state directory (default `.hookline`, relative to the project root)
 * - `HOOKLINE_ALLOW_PRIVATE_TARGETS=false` — keep the deployed stack's strict endpoint checks
 * - `HOOKLINE_LOCAL_CONCURRENCY` — execution environments per function (default 4)
 * - `HOOKLINE_LOCAL_THROTTLING=true` — Lambda's concurrency limits: reserved concurrency and the account's
 *   limit, `HOOKLINE_LOCAL_ACCOUNT_CONCURRENCY` (default 1000), throttle invocations above them
 * - `HOOKLINE_LOCAL_SCHEDULE_SECONDS` — run `rate(...)` scheduled rules (the reconciler) this often instead
 * - `HOOKLINE_LOCAL_STALE_READS_MS` — model DynamoDB's eventual consistency with this lag (default 0: off)
 * - `HOOKLINE_LOCAL_LOOP_DETECTION=false` — do not stop SQS → Lambda chains after 16 invocations
 * - `HOOKLINE_CDK_APP` — the app command (default: cdk.json's); `HOOKLINE_SYNTH=cli` — synth with `cdk synth`
 * - `HOOKLINE_SYNTH_CACHE=false` — synthesize every start instead of reusing the app synthesized from the same
 *   inputs (`synth-cache.ts`, kept in `.hookline/synth-cache/`)
 * - `HOOKLINE_STACK` — which stack, if the app has several; `HOOKLINE_LOCAL_REGION` — region (us-east-1)
 *
 * Flags: `--fresh` wipes the DynamoDB and SQS data first; `--in-memory` keeps no data on disk at all (faster;
 * nothing survives a stop; implies `--fresh`); `--no-synth` reuses `<stateDir>/cdk.out`; `--verbose` prints
 * the functions' own output instead of one readable line per event, attempt and circuit change
 * (`terminal.ts`; the output always goes to `<stateDir>/functions.log`); `--help` prints these with their
 * defaults (`help.ts`) and the stack settings the app reads, and exits.
 */
import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  CONSOLE_PATH,
  LOCAL_CONTEXT_KEY,
  STRICT_TARGETS_CONTEXT_KEY,
  StackOutput,
} from "../functions/shared/names.ts";
import { assertStateDirFree } from "./emulators.ts";
import { nonDefaultSettings, usage } from "./help.ts";
import type { LogLine } from "./lambda-host.ts";
import { type LocalStack, startLocalStack, statePaths } from "./stack.ts";
import { rawLine, readableLine } from "./terminal.ts";

// fauxqs persists with node:sqlite, which Node 22 flags as experimental on every start; that notice is
// noise here. Other warnings are still printed.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "ExperimentalWarning" && /SQLite/i.test(warning.message)) return;
  console.warn(`${warning.name}: ${warning.message}`);
});

const DEV_TENANT = "dev";
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const say = (message: string) => console.log(`[hookline] ${message}`);

interface Settings {
  readonly fresh: boolean;
  readonly inMemory: boolean;
  readonly skipSynth: boolean;
  /** Reuse an assembly synthesized from the same inputs (local/synth-cache.ts). */
  readonly synthCache: boolean;
  readonly verbose: boolean;
  readonly stateDir: string;
  readonly port: number;
  readonly hostname: string;
  readonly strictTargets: boolean;
  readonly concurrency: number;
  readonly throttling?: { readonly accountConcurrency: number };
  readonly region: string;
  readonly app?: string;
  readonly synthMode: "direct" | "cli";
  readonly stackName?: string;
  readonly schedulePeriodMs?: number;
  readonly staleReadsMs: number;
  readonly loopDetection: boolean;
}

function settings(argv: readonly string[], env: NodeJS.ProcessEnv): Settings {
  const unknown = argv.filter((arg) => !["--fresh", "--in-memory", "--no-synth", "--verbose"].includes(arg));
  if (unknown.length > 0)
    throw new Error(
      `unknown argument ${unknown.join(" ")}; usage: npm start [-- --fresh | --in-memory] [--no-synth] [--verbose]; npm start -- --help lists every option`,
    );
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    const value = raw === undefined || raw === "" ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
  /** A true/false switch; undefined when unset or empty. */
  const flag = (name: string): boolean | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    if (raw !== "true" && raw !== "false") throw new Error(`${name} must be true or false, got "${raw}"`);
    return raw === "true";
  };
  const allowPrivateTargets = flag("HOOKLINE_ALLOW_PRIVATE_TARGETS");
  const throttling = flag("HOOKLINE_LOCAL_THROTTLING");
  const loopDetection = flag("HOOKLINE_LOCAL_LOOP_DETECTION");
  const synthCache = flag("HOOKLINE_SYNTH_CACHE");
  const synthMode = env.HOOKLINE_SYNTH ?? "direct";
  if (synthMode !== "direct" && synthMode !== "cli") throw new Error(`HOOKLINE_SYNTH must be direct or cli`);
  return {
    // Data in memory starts empty; the files of an earlier on-disk run are wiped, so none look current.
    fresh: argv.includes("--fresh") || argv.includes("--in-memory"),
    inMemory: argv.includes("--in-memory"),
    skipSynth: argv.includes("--no-synth"),
    synthCache: synthCache !== false,
    verbose: argv.includes("--verbose"),
    stateDir: path.resolve(projectRoot, env.HOOKLINE_DIR || ".hookline"),
    port: integer("PORT", 3000, 0, 65_535),
    hostname: env.HOOKLINE_HOST || "127.0.0.1",
    strictTargets: allowPrivateTargets === false,
    concurrency: integer("HOOKLINE_LOCAL_CONCURRENCY", 4, 1, 64),
    ...(throttling === true
      ? {
          throttling: { accountConcurrency: integer("HOOKLINE_LOCAL_ACCOUNT_CONCURRENCY", 1000, 1, 100_000) },
        }
      : {}),
    region: env.HOOKLINE_LOCAL_REGION || "us-east-1",
    app: env.HOOKLINE_CDK_APP || undefined,
    synthMode,
    stackName: env.HOOKLINE_STACK || undefined,
    schedulePeriodMs: env.HOOKLINE_LOCAL_SCHEDULE_SECONDS
      ? integer("HOOKLINE_LOCAL_SCHEDULE_SECONDS", 60, 1, 3600) * 1000
      : undefined,
    staleReadsMs: integer("HOOKLINE_LOCAL_STALE_READS_MS", 0, 0, 60_000),
    loopDetection: loopDetection !== false,
  };
}

interface PreviousRun {
  readonly apiKey?: string;
  readonly tenantId?: string;
}

type CreateApiKey = (
  deps: { ddb: DynamoDBDocumentClient; tableName: string },
  tenantId: string,
) => Promise<{ apiKey: string; tenantId: string }>;

/** The dev tenant's API key: the previous run's while its data is still there, else a new one. */
async function devApiKey(
  stack: LocalStack,
  previous: PreviousRun,
  fresh: boolean,
): Promise<string | undefined> {
  const tableName = stack.outputs[StackOutput.webhooksTable];
  if (tableName === undefined) return undefined; // a stack without Hookline's tables (e.g. a test fixture)
  if (!fresh && stack.keptData && previous.tenantId === DEV_TENANT && previous.apiKey) return previous.apiKey;
  // Imported at run time: local/ runs the deployed code, and only borrows this adapter to seed a key.
  const adapter = pathToFileURL(path.join(projectRoot, "functions", "adapters", "api-keys.ts")).href;
  const { createApiKey } = (await import(adapter)) as { createApiKey: CreateApiKey };
  const ddb = DynamoDBDocumentClient.from(stack.ddb);
  return (await createApiKey({ ddb, tableName }, DEV_TENANT)).apiKey;
}

async function main(): Promise<void> {
  const started = Date.now();
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(usage());
    return;
  }
  const config = settings(process.argv.slice(2), process.env);
  const paths = statePaths(config.stateDir);
  // A stack running on this directory still needs its local.json and cdk.out: refuse before touching either.
  await assertStateDirFree(paths.dynamodbPid);
  const previous: PreviousRun = existsSync(paths.localJson)
    ? (JSON.parse(await readFile(paths.localJson, "utf8")) as PreviousRun)
    : {};
  await rm(paths.localJson, { force: true });
  await mkdir(config.stateDir, { recursive: true });
  const functionsLog = createWriteStream(paths.functionsLog);
  // The stack runs on without its log file rather than stop over it; said once.
  let logFailed = false;
  functionsLog.on("error", (error) => {
    if (!logFailed) say(`note: cannot write ${paths.functionsLog}: ${error.message}`);
    logFailed = true;
  });

  const context: Record<string, string> = { [LOCAL_CONTEXT_KEY]: "true" };
  if (config.strictTargets) context[STRICT_TARGETS_CONTEXT_KEY] = "true";
  const appLabel = config.app ?? "cdk.json app";
  say(
    config.skipSynth
      ? `using the assembly in ${path.relative(projectRoot, paths.cdkOut)}; starting emulators…`
      : `${config.synthCache ? "synthesizing or reusing" : "synthesizing"} (${appLabel}) and starting emulators…${config.fresh ? " (fresh: data wiped)" : ""}`,
  );

  const starting = startLocalStack({
    projectRoot,
    stateDir: config.stateDir,
    port: config.port,
    hostname: config.hostname,
    fresh: config.fresh,
    context,
    app: config.app,
    synthMode: config.synthMode,
    skipSynth: config.skipSynth,
    // Shared by every state directory: a test's stack reuses what `npm start` synthesized, and the reverse.
    ...(config.synthCache ? { synthCacheDir: path.join(projectRoot, ".hookline", "synth-cache") } : {}),
    stackName: config.stackName,
    region: config.region,
    concurrency: config.concurrency,
    ...(config.throttling === undefined ? {} : { throttling: config.throttling }),
    inMemory: config.inMemory,
    ...(config.schedulePeriodMs === undefined ? {} : { schedulePeriodMs: config.schedulePeriodMs }),
    staleReadsMs: config.staleReadsMs,
    loopDetection: config.loopDetection,
    progress: (message) => say(`  ${message}`),
    printLogLine: (line) => printLogLine(line, functionsLog, config.verbose),
  });
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      say(`${signal}: stopping…`);
      const force = setTimeout(() => {
        console.error("[hookline] did not stop within 20 s; exiting");
        process.exit(1);
      }, 20_000);
      // A signal during start-up stops the stack once it is up (or has failed and cleaned up).
      const stack = await starting.catch(() => undefined);
      await stack?.stop();
      await new Promise<void>((resolve) => functionsLog.end(resolve));
      clearTimeout(force);
      say("stopped");
      process.exit(0);
    })();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  const stack = await starting;
  if (stopping !== undefined) return;

  let apiKey: string | undefined;
  try {
    apiKey = await devApiKey(stack, previous, config.fresh);
  } catch (error) {
    await stack.stop();
    throw new Error(`could not create the dev API key: ${(error as Error).message}`);
  }
  for (const warning of stack.warnings) say(`note: ${warning}`);
  banner(stack, config, apiKey, Date.now() - started);
  // Written last, and atomically: tools and tests take its appearance to mean "ready".
  const info = {
    apiUrl: stack.apiUrl,
    consoleUrl: consoleUrl(stack),
    apiKey: apiKey ?? null,
    tenantId: DEV_TENANT,
    endpoints: stack.endpoints,
    outputs: stack.outputs,
    stackName: stack.stackName,
    pid: process.pid,
  };
  await writeFile(`${paths.localJson}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
  await rename(`${paths.localJson}.tmp`, paths.localJson);
}

/** The web console, served by the stack's own HTTP API. */
function consoleUrl(stack: LocalStack): string {
  return new URL(CONSOLE_PATH, stack.apiUrl).href;
}

function banner(stack: LocalStack, config: Settings, apiKey: string | undefined, elapsedMs: number): void {
  const relative = (file: string) => path.relative(process.cwd(), file) || ".";
  const changed = nonDefaultSettings(process.env);
  const lines = [
    "",
    `  Hookline (${stack.stackName}) is running locally — ready in ${(elapsedMs / 1_000).toFixed(1)} s`,
    `  ${stack.summary}`,
    "",
    `  API          ${stack.apiUrl}`,
    `  Console      ${consoleUrl(stack)}   (sign in with the API key below)`,
    apiKey === undefined
      ? "  API key      (none: the stack has no WebhooksTableName output)"
      : `  API key      ${apiKey}   (tenant "${DEV_TENANT}"; send it as "Authorization: Bearer <key>")`,
    config.strictTargets
      ? "  Targets      strict endpoint checks, as deployed: https only, no private or loopback addresses"
      : "  Targets      locally, endpoint checks allow http:// and loopback/private targets (HOOKLINE_ALLOW_PRIVATE_TARGETS=false for the strict checks)",
    `  DynamoDB     ${stack.endpoints.dynamodb}   SQS ${stack.endpoints.sqs}`,
    `  EventBridge, Step Functions  ${stack.endpoints.eventbridge}`,
    stack.dataDirs === undefined
      ? "  Data         in memory only (--in-memory): nothing is kept when the stack stops"
      : `  Data         ${relative(stack.dataDirs.dynamodb)}, ${relative(stack.dataDirs.sqs)} (kept across restarts; npm start -- --fresh wipes it)`,
    `  Info         ${relative(statePaths(config.stateDir).localJson)}`,
    config.verbose
      ? `  Logs         the functions' output below, and in ${relative(statePaths(config.stateDir).functionsLog)}`
      : `  Logs         one line per event, attempt and circuit change below; the functions' own output (logs, metrics) in ${relative(statePaths(config.stateDir).functionsLog)} (--verbose prints it here)`,
    ...(changed.length === 0 ? [] : [`  Settings     ${changed.join(", ")}`]),
    "",
    "  Ctrl+C stops everything.",
    "",
  ];
  console.log(lines.join("\n"));
}

/**
 * Every function line goes to the log file; the terminal gets it too with `--verbose`, else only the
 * readable summary of the lines that have one.
 */
function printLogLine(entry: LogLine, file: WriteStream, verbose: boolean): void {
  const raw = rawLine(entry);
  file.write(`${raw}\n`);
  if (verbose) {
    (entry.stream === "stdout" ? process.stdout : process.stderr).write(`${raw}\n`);
    return;
  }
  const readable = readableLine(entry);
  if (readable !== undefined) console.log(readable);
}

main().catch((error: unknown) => {
  console.error(`[hookline] failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
