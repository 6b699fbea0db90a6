import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import type { Command } from "commander";
import { Option } from "commander";
import { sqsDeadLetterSource } from "../../functions/adapters/dead-letter-queue.ts";
import { redriveDeadLetters } from "../../functions/services/recovery.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { requireOutput, type Target } from "../target.ts";
import { connect, storesOf, wholeNumber } from "./context.ts";
import { printJson, printLines, tableOrEmpty } from "./output.ts";

export interface Listed {
  readonly delivery_id?: string;
  readonly webhook_id?: string;
  readonly tenant_id?: string;
  readonly attempt?: number;
  readonly dead_lettered_at?: string;
  readonly last_error?: string;
  readonly message_id: string;
  readonly body?: string;
}

/**
 * Reads up to `limit` messages, each hidden while the listing goes on so none is read twice, then
 * makes them visible again a second later, so listing changes nothing. (Not at once: fauxqs loses a
 * message whose visibility is set to 0.)
 */
export async function peek<T>(
  target: Target,
  queueUrl: string,
  limit: number,
  describe: (message: Message) => T,
): Promise<T[]> {
  const seen = new Map<string, T>();
  const handles: string[] = [];
  try {
    while (seen.size < limit) {
      const { Messages = [] } = await target.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, limit - seen.size),
          VisibilityTimeout: 60,
          MessageAttributeNames: ["All"],
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        handles.push(message.ReceiptHandle ?? "");
        seen.set(message.MessageId ?? "", describe(message));
      }
    }
  } finally {
    for (let start = 0; start < handles.length; start += 10) {
      await target.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: handles.slice(start, start + 10).map((handle, index) => ({
            Id: String(index),
            ReceiptHandle: handle,
            VisibilityTimeout: 1,
          })),
        }),
      );
    }
  }
  return [...seen.values()];
}

export function describeDeadLetter(messageId: string, body: string | undefined): Listed {
  try {
    const parsed = JSON.parse(body ?? "") as Record<string, unknown>;
    const text = (key: string) => (typeof parsed[key] === "string" ? (parsed[key] as string) : undefined);
    if (typeof parsed.deliveryId !== "string") return { message_id: messageId, body: body ?? "" };
    return {
      message_id: messageId,
      delivery_id: parsed.deliveryId,
      webhook_id: text("webhookId"),
      tenant_id: text("tenantId"),
      attempt: typeof parsed.attempt === "number" ? parsed.attempt : undefined,
      dead_lettered_at: text("deadLetteredAt"),
      last_error: text("lastError"),
    } as Listed;
  } catch {
    return { message_id: messageId, body: body ?? "" };
  }
}

/** The dead-letter queue as a table: one row per delivery, or per message Hookline did not write. */
export function deadLetterTable(rows: readonly Listed[]): string[] {
  return tableOrEmpty(
    ["DELIVERY", "WEBHOOK", "TENANT", "ATTEMPTS", "DEAD-LETTERED", "LAST ERROR"],
    rows.map((row) =>
      row.delivery_id
        ? [
            row.delivery_id,
            row.webhook_id ?? "",
            row.tenant_id ?? "",
            String(row.attempt ?? ""),
            row.dead_lettered_at ?? "(from the delivery queue)",
            row.last_error ?? "",
          ]
        : [`(message ${row.message_id})`, "", "", "", "", (row.body ?? "").slice(0, 60)],
    ),
    "the dead-letter queue is empty",
  );
}

/**
 * A `list` subcommand that shows the messages of the queue a stack output names, one row each, and
 * leaves them there (`--json` for the rows as data).
 */
export function listCommand<T>(
  parent: Command,
  options: {
    readonly description: string;
    readonly queueOutput: string;
    readonly describe: (message: Message) => T;
    readonly table: (rows: readonly T[]) => string[];
  },
): void {
  parent
    .command("list")
    .description(options.description)
    .addOption(
      new Option("--limit <n>", "at most this many messages").argParser(wholeNumber(1, 10_000)).default(50),
    )
    .action(async ({ limit }: { limit: number }, command: Command) => {
      const { target, json } = await connect(command);
      const rows = await peek(target, requireOutput(target, options.queueOutput), limit, options.describe);
      if (json) printJson({ data: rows });
      else printLines(options.table(rows));
    });
}

export function dlqCommands(program: Command): void {
  const dlq = program.command("dlq").description("inspect and replay the dead-letter queue");

  listCommand(dlq, {
    description: "show what is on the dead-letter queue, and leave it there",
    queueOutput: StackOutput.deadLetterQueueUrl,
    describe: (message) => describeDeadLetter(message.MessageId ?? "", message.Body),
    table: deadLetterTable,
  });

  dlq
    .command("redrive")
    .description(
      "send every delivery on the dead-letter queue again with a fresh schedule (as a manual retry does), " +
        "removing it from the queue",
    )
    .action(async (_options: unknown, command: Command) => {
      const { target, json } = await connect(command);
      const summary = await redriveDeadLetters(
        {
          deliveries: storesOf(target).deliveries(),
          queue: storesOf(target).queue(),
          deadLetters: sqsDeadLetterSource(target.sqs, requireOutput(target, StackOutput.deadLetterQueueUrl)),
          now: () => new Date(),
        },
        (progress) => {
          if (!json && process.stderr.isTTY)
            process.stderr.write(`\rredriving… ${progress.redriven + progress.requeued} sent`);
        },
      );
      if (json) {
        printJson(summary);
        return;
      }
      if (process.stderr.isTTY) process.stderr.write("\r");
      console.log(
        `redrove ${summary.redriven} dead-lettered deliveries on ${target.description}` +
          (summary.requeued ? `; re-queued ${summary.requeued} stuck ones` : "") +
          (summary.settled
            ? `; removed ${summary.settled} that had already ended (delivered or deleted)`
            : "") +
          (summary.probesDropped ? `; dropped ${summary.probesDropped} circuit probes` : ""),
      );
      if (summary.unrecognised > 0) {
        console.log(
          `left ${summary.unrecognised} unrecognised messages on the queue: see "hookline dlq list"`,
        );
      }
    });
}
