import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { Log } from "../domain/ports.ts";
import { LEASE_RENEW_SECONDS, LEASED_MESSAGE_VISIBILITY_SECONDS } from "../shared/limits.ts";

const BATCH_ENTRIES = 10;

export interface MessageLeaseOptions {
  /** The queue URLs the function consumes; a record's queue is found by the name its ARN ends with. */
  readonly queueUrls: readonly string[];
  readonly log: Pick<Log, "warn">;
}

/** Stops renewing the lease; resolves when the last renewal has been answered. */
export type ReleaseLease = () => Promise<void>;

/**
 * Keeps a batch's messages hidden a few seconds at a time for as long as the function works on them:
 * at once, then every `LEASE_RENEW_SECONDS`. The queue's own visibility timeout cannot be shorter than the
 * function's (Lambda refuses the event source mapping), so without a lease a message lost with its
 * function — a crash, an out-of-memory kill, a timeout — stayed hidden that long. With it, such a
 * message is back `LEASED_MESSAGE_VISIBILITY_SECONDS` after the last renewal. A renewal that fails is logged, not
 * thrown: at worst a message comes back while its delivery is under way, and the delivery step checks
 * the record before sending.
 */
export function leaseMessages(
  client: SQSClient,
  records: readonly Pick<SQSRecord, "receiptHandle" | "eventSourceARN">[],
  options: MessageLeaseOptions,
): ReleaseLease {
  const byQueue = new Map<string, { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[]>();
  for (const [index, record] of records.entries()) {
    const queueName = record.eventSourceARN.split(":").at(-1) ?? "";
    const queueUrl = options.queueUrls.find((url) => url.endsWith(`/${queueName}`));
    if (queueUrl === undefined) continue;
    const entries = byQueue.get(queueUrl) ?? [];
    entries.push({
      Id: String(index),
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: LEASED_MESSAGE_VISIBILITY_SECONDS,
    });
    byQueue.set(queueUrl, entries);
  }
  if (byQueue.size === 0) return async () => {};

  const batches = [...byQueue].flatMap(([queueUrl, entries]) => {
    const chunks: { queueUrl: string; entries: typeof entries }[] = [];
    for (let start = 0; start < entries.length; start += BATCH_ENTRIES) {
      chunks.push({ queueUrl, entries: entries.slice(start, start + BATCH_ENTRIES) });
    }
    return chunks;
  });

  async function renew(): Promise<void> {
    const answers = await Promise.allSettled(
      batches.map(({ queueUrl, entries }) =>
        client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries })),
      ),
    );
    let failed = 0;
    let error: unknown;
    for (const [index, answer] of answers.entries()) {
      if (answer.status === "fulfilled") failed += answer.value.Failed?.length ?? 0;
      else {
        failed += batches[index]?.entries.length ?? 0;
        error = answer.reason;
      }
    }
    if (failed > 0) {
      options.log.warn("messages not kept hidden; SQS may deliver them again while they are processed", {
        messages: failed,
        ...(error === undefined ? {} : { error }),
      });
    }
  }

  let pending = renew();
  const timer = setInterval(() => {
    pending = pending.then(renew);
  }, LEASE_RENEW_SECONDS * 1000);
  return async () => {
    clearInterval(timer);
    await pending;
  };
}
