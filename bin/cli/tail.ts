/**
 * `hookline tail`: follows the delivery function's log lines as they are written, the local runtime's
 * `/_local/logs` or the deployed function's CloudWatch log group, and prints one row per delivery step.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import type { Command } from "commander";
import { StackOutput } from "../../functions/shared/names.ts";
import { requireOutput } from "../target.ts";
import { connect, tenantOption } from "./context.ts";
import {
  formatTailRow,
  matchesFilter,
  type TailFilter,
  tailHeader,
  tailRowFromLogLine,
} from "./tail-rows.ts";

const POLL_INTERVAL_MS = 500;
const CLOUDWATCH_POLL_INTERVAL_MS = 2_000;
/** How far back each CloudWatch poll looks again, for events that arrive after newer ones. */
const CLOUDWATCH_LATE_ARRIVAL_MS = 30_000;

/** One log line and when it was written (or received), as a source yields it. */
export interface SourcedLine {
  readonly line: string;
  readonly at: string;
}

/** Calls that wait are cut short by `signal`: the generator then ends. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

interface LocalLogPage {
  readonly lines: readonly {
    readonly line: string;
    readonly at: string;
    readonly function_logical_id: string;
  }[];
  readonly next: number;
  readonly dropped: number;
}

async function readLocal(url: string, signal: AbortSignal): Promise<LocalLogPage> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new Error(`could not reach the local stack at ${new URL(url).origin}: is "npm start" running?`);
  }
  if (response.status === 404) {
    throw new Error('this local stack does not serve /_local/logs: restart it with a current "npm start"');
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as LocalLogPage;
}

/** The local runtime's function log lines from now on, polled from `/_local/logs?after=<seq>`. */
export async function* localLogLines(
  logsUrl: string,
  signal: AbortSignal,
  events: { ready: () => void; warn: (message: string) => void },
): AsyncGenerator<SourcedLine> {
  let { next } = await readLocal(logsUrl, signal);
  events.ready();
  while (!signal.aborted) {
    const page = await readLocal(`${logsUrl}?after=${next}`, signal).catch((error: unknown) => {
      if (signal.aborted) return undefined;
      throw error;
    });
    if (page === undefined) return;
    if (page.dropped > 0)
      events.warn(`missed ${page.dropped} log lines (the local stack keeps the newest 10,000)`);
    for (const entry of page.lines) yield { line: entry.line, at: entry.at };
    next = page.next;
    if (page.lines.length === 0) await pause(POLL_INTERVAL_MS, signal);
  }
}

/** A CloudWatch Logs filter pattern that keeps only the delivery steps of the tenant and webhook asked for. */
export function deliveryFilterPattern(filter: TailFilter): string {
  const terms = ['($.message = "delivery *")'];
  if (filter.tenantId !== undefined) terms.push(`($.tenant_id = "${filter.tenantId}")`);
  if (filter.webhookId !== undefined) terms.push(`($.webhook_id = "${filter.webhookId}")`);
  return `{ ${terms.join(" && ")} }`;
}

/**
 * A deployed function's log lines from `startTime` on, polled with FilterLogEvents. CloudWatch Logs
 * takes in events late and out of order across log streams, so each poll asks again from a while
 * before the newest timestamp seen (`lateArrivalMs`), and skips the events it already yielded.
 */
export async function* cloudWatchLogLines(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  filter: TailFilter,
  signal: AbortSignal,
  options: { ready?: () => void; startTime?: number; intervalMs?: number; lateArrivalMs?: number } = {},
): AsyncGenerator<SourcedLine> {
  const startTime = options.startTime ?? Date.now();
  const lateArrivalMs = options.lateArrivalMs ?? CLOUDWATCH_LATE_ARRIVAL_MS;
  let newest = startTime;
  /** Event ids already yielded, with their timestamps, for as long as a poll can return them again. */
  const seen = new Map<string, number>();
  options.ready?.();
  while (!signal.aborted) {
    const from = Math.max(startTime, newest - lateArrivalMs);
    for (const [id, timestamp] of seen) if (timestamp < from) seen.delete(id);
    let nextToken: string | undefined;
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({
          logGroupName,
          startTime: from,
          filterPattern: deliveryFilterPattern(filter),
          ...(nextToken ? { nextToken } : {}),
        }),
        { abortSignal: signal },
      );
      for (const event of page.events ?? []) {
        const id = event.eventId ?? `${event.logStreamName}/${event.timestamp}/${event.message}`;
        if (seen.has(id)) continue;
        const timestamp = event.timestamp ?? from;
        seen.set(id, timestamp);
        newest = Math.max(newest, timestamp);
        yield { line: event.message ?? "", at: new Date(timestamp).toISOString() };
      }
      nextToken = page.nextToken;
    } while (nextToken && !signal.aborted);
    await pause(options.intervalMs ?? CLOUDWATCH_POLL_INTERVAL_MS, signal);
  }
}

export function tailCommand(program: Command): void {
  program
    .command("tail")
    .description("show deliveries as they happen (Ctrl-C to stop)")
    .addOption(tenantOption(false))
    .option("--webhook <webhook-id>", "only this webhook's deliveries")
    .action(async (options: { tenant?: string; webhook?: string }, command: Command) => {
      const { target, json } = await connect(command);
      const filter: TailFilter = { tenantId: options.tenant, webhookId: options.webhook };
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const warn = (message: string) => console.error(`hookline: ${message}`);
      const ready = () => {
        console.error(`tailing deliveries on ${target.description} (Ctrl-C to stop)`);
        if (!json) console.log(tailHeader());
      };
      const lines =
        "local" in target.logs
          ? localLogLines(target.logs.local, stop.signal, { ready, warn })
          : cloudWatchLogLines(
              target.logs.cloudWatch,
              requireOutput(target, StackOutput.deliveryLogGroupName),
              filter,
              stop.signal,
              { ready },
            );
      try {
        for await (const { line, at } of lines) {
          const row = tailRowFromLogLine(line, at);
          if (!row || !matchesFilter(row, filter)) continue;
          console.log(json ? JSON.stringify(row) : formatTailRow(row));
        }
      } catch (error) {
        if (!stop.signal.aborted) throw error;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
