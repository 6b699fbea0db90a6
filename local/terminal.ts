/**
 * What `npm start` shows while it runs: one readable line per published event, delivery attempt and
 * circuit change, read from the structured logs the functions already write (Powertools JSON), and one
 * line per function failure. Everything the functions print goes to `<stateDir>/functions.log` as well
 * (with `--verbose`, to the terminal instead of these lines). Pure: no I/O.
 */
import type { LogLine } from "./lambda-host.ts";

type Fields = Readonly<Record<string, unknown>>;

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const number = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

/** The line as the terminal shows it, or undefined for a line that is not worth one there. */
export function readableLine(entry: LogLine): string | undefined {
  const line = entry.line.trim();
  if (line.startsWith("{")) {
    const fields = parseObject(line);
    return fields === undefined ? undefined : fromStructured(entry, fields);
  }
  return fromRuntime(entry, line);
}

/** `[LogicalId] line`: the function's output as it would appear in its log group, one line each. */
export function rawLine(entry: LogLine): string {
  return `[${entry.functionLogicalId}] ${entry.line}`;
}

function parseObject(line: string): Fields | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Fields)
      : undefined;
  } catch {
    return undefined;
  }
}

function fromStructured(entry: LogLine, fields: Fields): string | undefined {
  const message = text(fields.message);
  if (message === undefined) return undefined; // a metric (EMF) line
  const time = clock(text(fields.timestamp));
  const webhook = text(fields.webhook_id) ?? "";
  if (message.startsWith("delivery ")) {
    const attempt = attemptLine(fields, message.slice("delivery ".length));
    return attempt === undefined ? undefined : `${time} ${attempt}`;
  }
  if (message === "event published") {
    const deliveries = number(fields.deliveries) ?? 0;
    const type = text(fields.event_type) ?? "";
    const event = text(fields.event_id) ?? "";
    return `${time} ● ${type} ${event} published: ${deliveries} ${deliveries === 1 ? "delivery" : "deliveries"}`;
  }
  if (message === "circuit opened" || message.startsWith("circuit reopened")) {
    const cooldown = number(fields.cooldown_seconds);
    const probe = cooldown === undefined ? "" : ` (probe in ${duration(cooldown)})`;
    const again = message === "circuit opened" ? "" : " again: the probe failed";
    return `${time} circuit ${webhook} open${again}${probe}`;
  }
  if (message.startsWith("circuit closed")) {
    const released = number(fields.released_deliveries) ?? 0;
    return `${time} circuit ${webhook} closed (${released} waiting ${released === 1 ? "delivery" : "deliveries"} released)`;
  }
  if (message.startsWith("webhook deactivated")) return `${time} webhook ${webhook} deactivated: ${message}`;
  if (fields.level === "ERROR") return `${time} ! ${shortName(entry)}: ${message}`;
  return undefined;
}

/**
 * `→ memory.created evt_… wh_… 200 34 ms` for a success, `✗ …` for a failure with what happens next;
 * undefined for a step without an attempt that is not an outcome (parked, deferred, duplicates).
 */
function attemptLine(fields: Fields, step: string): string | undefined {
  const ids = [text(fields.event_type), text(fields.event_id), text(fields.webhook_id)].filter(
    (value) => value !== undefined,
  );
  const status = number(fields.status_code);
  const ms = number(fields.duration_ms);
  const error = text(fields.error);
  const attempt = number(fields.attempt) ?? 1;
  const probe = fields.probe === true ? "probe, " : "";
  if (step === "failed" && ms === undefined) {
    return ["✗", ...ids, `not sent: ${text(fields.reason) ?? "failed"}`].join(" ");
  }
  let outcome: string;
  switch (step) {
    case "delivered":
      outcome = attempt > 1 || probe !== "" ? `(${probe}attempt ${attempt})` : "";
      break;
    case "retry": {
      const wait = number(fields.retry_in_seconds);
      outcome = `(${probe}attempt ${attempt}; ${wait === undefined ? "will retry" : `retry in ${duration(wait)}`})`;
      break;
    }
    case "dead_letter":
      outcome = `(${probe}attempt ${attempt}; schedule spent: dead-lettered)`;
      break;
    case "failed":
      outcome = `(${probe}attempt ${attempt}; failed, not retried)`;
      break;
    default:
      return undefined;
  }
  const answer = status === undefined ? "---" : String(status);
  // An HTTP status says what went wrong; without one (a timeout, a refused connection) the error does.
  const why = status === undefined && error !== undefined ? error : undefined;
  return [step === "delivered" ? "→" : "✗", ...ids, answer, formatMs(ms ?? 0), outcome, why]
    .filter((part) => part !== undefined && part !== "")
    .join(" ");
}

/** The local runtime's own lines about an invocation that failed or timed out (lambda-host.ts). */
function fromRuntime(entry: LogLine, line: string): string | undefined {
  const timedOut = /Task timed out after ([\d.]+) seconds/.exec(line);
  if (timedOut) return `${clock(undefined)} ! ${shortName(entry)}: timed out after ${timedOut[1]} seconds`;
  const invokeError = /\tERROR\tInvoke Error \t(\{.*\})$/.exec(line);
  if (invokeError?.[1] !== undefined) {
    const error = parseObject(invokeError[1]);
    const what = [text(error?.errorType), text(error?.errorMessage)].filter(Boolean).join(": ");
    return `${clock(undefined)} ! ${shortName(entry)} failed: ${what || "unknown error"}`;
  }
  const initFailed = /^INIT_REPORT Status: error Error Type: (.*)$/.exec(line);
  if (initFailed) return `${clock(undefined)} ! ${shortName(entry)}: init failed: ${initFailed[1]}`;
  if (line.startsWith("uncaught ")) return `${clock(undefined)} ! ${shortName(entry)}: ${line}`;
  return undefined;
}

/** `HooklineDeliveryFunctionC67697EE` → `HooklineDeliveryFunction`: CDK's hash suffix tells a person nothing. */
function shortName(entry: LogLine): string {
  return entry.functionLogicalId.replace(/[0-9A-F]{8}$/, "");
}

/** Local time of day, `HH:MM:SS`, of an ISO timestamp (or now). */
function clock(iso: string | undefined): string {
  const at = iso === undefined ? new Date() : new Date(iso);
  const shown = Number.isNaN(at.getTime()) ? new Date() : at;
  return shown.toTimeString().slice(0, 8);
}

function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/** Whole seconds as a person says them: `10 s`, `5 min`, `2 h`. */
function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 2 * 3_600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3_600)} h`;
}
