/**
 * `hookline status`: what is running (the local stack, or the deployed stack `--stack` names), where
 * its API and web console answer, the settings in effect that differ from the defaults, and how full its queues are.
 */
import type { Command } from "commander";
import { createHooklineClient } from "../../client/index.ts";
import { queueDepth } from "../../functions/adapters/queue-depth.ts";
import { OPEN_CIRCUIT_COUNT_CAP } from "../../functions/shared/limits.ts";
import { CONSOLE_PATH, StackOutput } from "../../functions/shared/names.ts";
import type { SettingInEffect } from "../../functions/shared/settings.ts";
import { resolveTarget, type Target } from "../target.ts";
import { globalOptions, storesOf } from "./context.ts";
import { formatFields, printJson, printLines } from "./output.ts";

/** How long the API's liveness route may take to answer before it counts as not answering. */
const HEALTH_TIMEOUT_MS = 3_000;

/** JSON text with object keys sorted, so that two settings compare by content. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** The settings of the stack's `Settings` output whose value is not the default, by prop name. */
export function changedSettings(output: string): Record<string, SettingInEffect> {
  const settings = JSON.parse(output) as Record<string, SettingInEffect>;
  return Object.fromEntries(
    Object.entries(settings).filter(([, setting]) => canonical(setting.value) !== canonical(setting.default)),
  );
}

function seconds(value: number): string {
  const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;
  if (value > 0 && value % 86_400 === 0) return plural(value / 86_400, "day");
  if (value > 0 && value % 3_600 === 0) return plural(value / 3_600, "hour");
  if (value > 0 && value % 60 === 0) return plural(value / 60, "minute");
  return plural(value, "second");
}

/** Which webhook URLs the endpoint checks let through, in words. */
function targetsText(safety: Record<string, unknown>): string {
  const ports = safety.allowedPorts;
  return [
    safety.allowInsecureHttp === true ? "http:// and https://" : "https:// only",
    safety.allowPrivateTargets === true ? "private and loopback addresses allowed" : "public addresses only",
    ports === "any" ? "any port" : `ports ${Array.isArray(ports) ? ports.join(", ") : "?"}`,
    ...(typeof safety.allowlistPattern === "string" ? [`URLs matching ${safety.allowlistPattern}`] : []),
  ].join(", ");
}

/** A setting's value with its unit, as a person reads it: `3 seconds`, `1, 2, 2 seconds`, `30 days`. */
export function settingText(value: unknown, unit: SettingInEffect["unit"]): string {
  if (Array.isArray(value) && unit === "seconds") {
    return value.every((item) => typeof item === "number")
      ? `${value.join(", ")} second${value.length === 1 && value[0] === 1 ? "" : "s"}`
      : JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (unit === "seconds") return seconds(value);
    if (unit === "days") return `${value} day${value === 1 ? "" : "s"}`;
    return String(value);
  }
  if (value !== null && typeof value === "object") return targetsText(value as Record<string, unknown>);
  return JSON.stringify(value);
}

/** Why nothing is running there, or undefined when the target looks alive. */
function notRunning(target: Target): string | undefined {
  if ("local" in target.stack) {
    const { pid, file } = target.stack.local;
    if (pid === undefined) return undefined;
    try {
      process.kill(pid, 0);
    } catch (error) {
      // EPERM: the process exists, and belongs to someone else.
      if ((error as NodeJS.ErrnoException).code !== "EPERM") {
        return `the local stack that wrote ${file} (pid ${pid}) has stopped; start one with "npm start"`;
      }
    }
    return undefined;
  }
  // A stack that never finished creating, or is being deleted, runs nothing; one rolled back after
  // an update still runs its previous version.
  const status = target.stack.cloudFormationStatus;
  return /^(CREATE_IN_PROGRESS|CREATE_FAILED|ROLLBACK_|DELETE_)/.test(status)
    ? `stack ${target.stack.name} is ${status}`
    : undefined;
}

async function answers(url: string): Promise<boolean> {
  try {
    const { response } = await createHooklineClient({ baseUrl: url }).GET("/v1/health", {
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Approximate messages on each queue the stack names; a queue it lacks is left out. */
async function queueDepths(target: Target): Promise<Record<string, number>> {
  const queues = [
    ["delivery", StackOutput.deliveryQueueUrl, false],
    ["priority", StackOutput.priorityQueueUrl, false],
    // A dead letter someone is looking at (received, not deleted) still counts, as on the health route.
    ["dead_letter", StackOutput.deadLetterQueueUrl, true],
    ["ingest_dead_letter", StackOutput.ingestDeadLetterQueueUrl, true],
  ] as const;
  const depths = await Promise.all(
    queues.map(async ([name, output, inFlight]) => {
      const url = target.outputs[output];
      return url ? ([[name, await queueDepth(target.sqs, url, inFlight)]] as const) : [];
    }),
  );
  return Object.fromEntries(depths.flat());
}

/** A queue's line: its depth in messages, left out when the stack has no such queue. */
function depthField(label: string, depth: number | undefined): readonly [string, string | undefined] {
  return [label, depth === undefined ? undefined : `${depth} message${depth === 1 ? "" : "s"}`];
}

export function statusCommand(program: Command): void {
  program
    .command("status")
    .description(
      "what is running (the local stack, or --stack NAME): its API and console, the settings that differ from the defaults, queue and dead-letter depths",
    )
    .action(async (_options: unknown, command: Command) => {
      const { stack, json } = globalOptions(command);
      let target: Target | undefined;
      let reason: string | undefined;
      try {
        target = await resolveTarget(stack);
        reason = notRunning(target);
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      if (target === undefined || reason !== undefined) {
        if (json) printJson({ running: false, reason });
        else console.log(`nothing is running: ${reason}`);
        process.exitCode = 1;
        return;
      }
      const apiUrl = target.api?.url;
      // Served by the stack's own API (functions/console-assets), so it is wherever the API is.
      const consoleUrl = apiUrl === undefined ? undefined : new URL(CONSOLE_PATH, apiUrl).href;
      const [apiAnswers, queues, openCircuits] = await Promise.all([
        apiUrl === undefined ? Promise.resolve(false) : answers(apiUrl),
        queueDepths(target),
        storesOf(target).webhooks().countOpenCircuits(OPEN_CIRCUIT_COUNT_CAP),
      ]);
      const settingsOutput = target.outputs[StackOutput.settings];
      const changed = settingsOutput === undefined ? undefined : changedSettings(settingsOutput);
      const where =
        "local" in target.stack
          ? {
              kind: "local",
              file: target.stack.local.file,
              ...(target.stack.local.pid === undefined ? {} : { pid: target.stack.local.pid }),
            }
          : { kind: "deployed", cloudformation_status: target.stack.cloudFormationStatus };
      if (json) {
        printJson({
          running: true,
          stack: { name: target.stack.name, ...where },
          api: { url: apiUrl ?? null, answering: apiAnswers },
          console: { url: consoleUrl ?? null },
          settings_changed: changed ?? null,
          queues,
          open_circuits: openCircuits,
        });
        return;
      }
      const running =
        "local" in target.stack
          ? `the local stack ${target.stack.name}${target.stack.local.pid === undefined ? "" : ` (pid ${target.stack.local.pid})`}`
          : `stack ${target.stack.name} (${target.stack.cloudFormationStatus})`;
      printLines([
        `Hookline is running: ${running}`,
        ...formatFields([
          [
            "API",
            apiUrl === undefined
              ? "no ApiUrl output"
              : `${apiUrl} (${apiAnswers ? "answering" : "not answering"})`,
          ],
          ["console", consoleUrl],
          depthField("delivery queue", queues.delivery),
          depthField("priority queue", queues.priority),
          depthField("dead letters", queues.dead_letter),
          depthField("ingest dead letters", queues.ingest_dead_letter),
          ["open circuits", `${openCircuits} webhook${openCircuits === 1 ? "" : "s"}`],
        ]).map((line) => `  ${line}`),
        changed === undefined
          ? "  Settings: unknown (the stack has no Settings output: it was deployed by an older Hookline)"
          : Object.keys(changed).length === 0
            ? "  Settings: all the defaults"
            : "  Settings that differ from the defaults:",
        ...formatFields(
          Object.entries(changed ?? {}).map(([name, setting]) => [
            name,
            `${settingText(setting.value, setting.unit)} (default ${settingText(setting.default, setting.unit)})`,
          ]),
        ).map((line) => `    ${line}`),
      ]);
    });
}
