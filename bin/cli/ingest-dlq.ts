import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { Message } from "@aws-sdk/client-sqs";
import type { Command } from "commander";
import { sqsDeadLetterSource } from "../../functions/adapters/dead-letter-queue.ts";
import type { DeadLetter } from "../../functions/domain/ports.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { requireOutput } from "../target.ts";
import { connect } from "./context.ts";
import { listCommand } from "./dlq.ts";
import { printJson, tableOrEmpty } from "./output.ts";

/** An EventBridge event on the ingest dead-letter queue, and why it is there. */
export interface IngestDeadLetter {
  readonly message_id: string;
  /** Why: Lambda's `condition` (RetriesExhausted, EventAgeExceeded) or EventBridge's `ERROR_CODE`. */
  readonly condition?: string;
  readonly reason?: string;
  readonly event?: EventBridgeEvent;
  /** The body, when it is neither an on-failure record nor an EventBridge event. */
  readonly body?: string;
}

interface EventBridgeEvent {
  readonly id: string;
  readonly source: string;
  readonly "detail-type": string;
  readonly detail: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asEvent(value: unknown): EventBridgeEvent | undefined {
  if (!isRecord(value) || !isRecord(value.detail)) return undefined;
  const { id, source } = value;
  const type = value["detail-type"];
  if (typeof id !== "string" || typeof source !== "string" || typeof type !== "string") return undefined;
  return { id, source, "detail-type": type, detail: value.detail };
}

/**
 * Reads one message of the ingest dead-letter queue: Lambda's on-failure record (the event it was given
 * as `requestPayload`, the error as `responsePayload`), or an event EventBridge could not hand to the
 * function (the reason in its `ERROR_CODE` and `ERROR_MESSAGE` attributes).
 */
export function describeIngestDeadLetter(
  messageId: string,
  body: string | undefined,
  attributes: Message["MessageAttributes"] = {},
): IngestDeadLetter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? "");
  } catch {
    return { message_id: messageId, body: body ?? "" };
  }
  if (isRecord(parsed) && isRecord(parsed.requestContext)) {
    const event = asEvent(parsed.requestPayload);
    const response = isRecord(parsed.responsePayload) ? parsed.responsePayload : {};
    const condition = parsed.requestContext.condition;
    return {
      message_id: messageId,
      ...(typeof condition === "string" ? { condition } : {}),
      reason: `${String(response.errorType ?? "Error")}: ${String(response.errorMessage ?? "")}`,
      ...(event === undefined ? { body: body ?? "" } : { event }),
    };
  }
  const event = asEvent(parsed);
  if (event === undefined) return { message_id: messageId, body: body ?? "" };
  const code = attributes.ERROR_CODE?.StringValue;
  const message = attributes.ERROR_MESSAGE?.StringValue;
  return {
    message_id: messageId,
    ...(code === undefined ? {} : { condition: code }),
    ...(message === undefined ? {} : { reason: message }),
    event,
  };
}

/**
 * The entry that puts a dead-lettered event on the bus again. Its idempotency key is the one ingest gave
 * it the first time (the caller's `id`, or one derived from EventBridge's event id), so an event that was
 * in fact stored is not delivered twice.
 */
export function redriveEntry(event: EventBridgeEvent, eventBusName: string) {
  const id = typeof event.detail.id === "string" ? event.detail.id : `evt_eb_${event.id}`;
  return {
    EventBusName: eventBusName,
    Source: event.source,
    DetailType: event["detail-type"],
    Detail: JSON.stringify({ ...event.detail, id }),
  };
}

export function ingestDeadLetterTable(rows: readonly IngestDeadLetter[]): string[] {
  return tableOrEmpty(
    ["MESSAGE", "TENANT", "TYPE", "SOURCE", "CONDITION", "REASON"],
    rows.map((row) => [
      row.message_id,
      typeof row.event?.detail.tenant_id === "string" ? row.event.detail.tenant_id : "",
      row.event?.["detail-type"] ?? "",
      row.event?.source ?? "",
      row.condition ?? "",
      (row.reason ?? row.body ?? "").slice(0, 120),
    ]),
    "the ingest dead-letter queue is empty",
  );
}

export function ingestDlqCommands(program: Command): void {
  const dlq = program
    .command("ingest-dlq")
    .description("inspect and replay the EventBridge events the ingest function did not take in");

  listCommand(dlq, {
    description: "show each event on the ingest dead-letter queue with its reason, and leave it there",
    queueOutput: StackOutput.ingestDeadLetterQueueUrl,
    describe: (message) =>
      describeIngestDeadLetter(message.MessageId ?? "", message.Body, message.MessageAttributes),
    table: ingestDeadLetterTable,
  });

  dlq
    .command("redrive")
    .description(
      "put every event on the ingest dead-letter queue on the bus again (after fixing what failed), " +
        "removing it from the queue; an event that fails again comes back with its new reason",
    )
    .action(async (_options: unknown, command: Command) => {
      const { target, json } = await connect(command);
      const bus = requireOutput(target, StackOutput.eventBusName);
      const source = sqsDeadLetterSource(
        target.sqs,
        requireOutput(target, StackOutput.ingestDeadLetterQueueUrl),
      );
      let redriven = 0;
      let unrecognised = 0;
      for (let letters = await source.receive(); letters.length > 0; letters = await source.receive()) {
        const done: DeadLetter[] = [];
        for (const letter of letters) {
          const event = describeIngestDeadLetter(letter.messageId, letter.body).event;
          if (event === undefined) {
            unrecognised++;
            continue;
          }
          const { FailedEntryCount = 0, Entries = [] } = await target.eventBridge.send(
            new PutEventsCommand({ Entries: [redriveEntry(event, bus)] }),
          );
          if (FailedEntryCount > 0) {
            throw new Error(
              `EventBridge refused event ${event.id}: ${Entries[0]?.ErrorCode ?? ""} ${Entries[0]?.ErrorMessage ?? ""}`,
            );
          }
          done.push(letter);
          redriven++;
        }
        await source.remove(done);
      }
      if (json) {
        printJson({ redriven, unrecognised });
        return;
      }
      console.log(`put ${redriven} events on ${target.description}'s bus again`);
      if (unrecognised > 0) {
        console.log(
          `left ${unrecognised} unrecognised messages on the queue: see "hookline ingest-dlq list"`,
        );
      }
    });
}
