#!/usr/bin/env node
import { parseArgs } from "node:util";
import { ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { sqsDeadLetterSource } from "../functions/adapters/dead-letter-queue.ts";
import { sqsDeliveryQueue } from "../functions/adapters/delivery-queue.ts";
import { dynamoDeliveryStore } from "../functions/adapters/delivery-store.ts";
import { redriveDeadLetters } from "../functions/delivery/recovery.ts";
import { StackOutput } from "../functions/shared/names.ts";
import { DEFAULT_RECONCILE_GRACE_SECONDS, DEFAULT_RETENTION_DAYS } from "../functions/shared/retry-policy.ts";
import { requireOutput, resolveTarget, type Target } from "./target.ts";

const USAGE = `usage:
  npm run dlq -- list [--limit N] [--json] [--stack NAME]
  npm run dlq -- redrive [--json] [--stack NAME]

list     shows what is on the dead-letter queue (at most --limit messages, default 50) and leaves it there.
redrive  sends every delivery on the dead-letter queue again with a fresh retry schedule — the same
         webhook-id, a new timestamp and signature, as a manual retry does — and removes it from the queue.

Without --stack it talks to the local stack started by "npm start".`;

interface Listed {
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
async function list(target: Target, queueUrl: string, limit: number): Promise<Listed[]> {
  const seen = new Map<string, Listed>();
  const handles: string[] = [];
  try {
    while (seen.size < limit) {
      const { Messages = [] } = await target.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, limit - seen.size),
          VisibilityTimeout: 60,
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        handles.push(message.ReceiptHandle ?? "");
        seen.set(message.MessageId ?? "", describe(message.MessageId ?? "", message.Body));
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

function describe(messageId: string, body: string | undefined): Listed {
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

function printTable(rows: readonly Listed[]): void {
  if (rows.length === 0) {
    console.log("the dead-letter queue is empty");
    return;
  }
  const header = ["DELIVERY", "WEBHOOK", "TENANT", "ATTEMPTS", "DEAD-LETTERED", "LAST ERROR"];
  const lines = rows.map((row) =>
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
  );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)),
  );
  for (const line of [header, ...lines]) {
    console.log(
      line
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      stack: { type: "string" },
      limit: { type: "string", default: "50" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  if (command !== "list" && command !== "redrive") throw new Error(`unknown command "${command}"\n${USAGE}`);
  const target = await resolveTarget(values.stack);
  const deadLetterQueueUrl = requireOutput(target, StackOutput.deadLetterQueueUrl);

  if (command === "list") {
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new Error("--limit must be a whole number ≥ 1");
    const rows = await list(target, deadLetterQueueUrl, limit);
    if (values.json) console.log(JSON.stringify({ data: rows }, null, 2));
    else printTable(rows);
    return;
  }

  const summary = await redriveDeadLetters(
    {
      deliveries: dynamoDeliveryStore(
        target.ddb,
        requireOutput(target, StackOutput.eventsTable),
        DEFAULT_RETENTION_DAYS,
        DEFAULT_RECONCILE_GRACE_SECONDS,
      ),
      queue: sqsDeliveryQueue(target.sqs, {
        queueUrl: requireOutput(target, StackOutput.deliveryQueueUrl),
        priorityQueueUrl: requireOutput(target, StackOutput.priorityQueueUrl),
        priorityTypes: new Set(JSON.parse(requireOutput(target, StackOutput.priorityEventTypes)) as string[]),
      }),
      deadLetters: sqsDeadLetterSource(target.sqs, deadLetterQueueUrl),
      now: () => new Date(),
    },
    (progress) => {
      if (!values.json && process.stderr.isTTY)
        process.stderr.write(`\rredriving… ${progress.redriven + progress.requeued} sent`);
    },
  );
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  if (process.stderr.isTTY) process.stderr.write("\r");
  console.log(
    `redrove ${summary.redriven} dead-lettered deliveries on ${target.description}` +
      (summary.requeued ? `; re-queued ${summary.requeued} stuck ones` : "") +
      (summary.settled ? `; removed ${summary.settled} that had already ended (delivered or deleted)` : "") +
      (summary.probesDropped ? `; dropped ${summary.probesDropped} circuit probes` : ""),
  );
  if (summary.unrecognised > 0) {
    console.log(`left ${summary.unrecognised} unrecognised messages on the queue: see "npm run dlq -- list"`);
  }
}

main().catch((error: unknown) => {
  console.error(`dlq: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
