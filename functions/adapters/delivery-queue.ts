import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryMessage } from "../domain/model.ts";
import type { DeliveryQueue } from "../domain/publish.ts";

const BATCH_ENTRIES = 10;
/** SQS caps a whole batch at 256 KiB; stay under it with room for the request envelope. */
const BATCH_BYTES = 240 * 1024;
const SEND_ATTEMPTS = 5;

/** Groups message bodies into SQS batches of at most 10 entries and 240 KiB. */
export function batchesOf(bodies: readonly string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (current.length === BATCH_ENTRIES || (current.length > 0 && bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Sends delivery messages in batches, re-sending entries SQS reports as failed. */
export function sqsDeliveryQueue(client: SQSClient, queueUrl: string): DeliveryQueue {
  return {
    async enqueue(messages: readonly DeliveryMessage[]) {
      for (const batch of batchesOf(messages.map((message) => JSON.stringify(message)))) {
        let entries = batch.map((body, index) => ({ Id: String(index), MessageBody: body }));
        for (let attempt = 1; entries.length > 0; attempt += 1) {
          if (attempt > SEND_ATTEMPTS) {
            throw new Error(`SQS rejected ${entries.length} delivery message(s) ${SEND_ATTEMPTS} times`);
          }
          const { Failed } = await client.send(
            new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
          );
          const failedIds = new Set((Failed ?? []).map((failure) => failure.Id));
          entries = entries.filter((entry) => failedIds.has(entry.Id));
          if (entries.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        }
      }
    },
  };
}
