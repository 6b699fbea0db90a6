import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetter, DeadLetterSource } from "../domain/ports.ts";

/**
 * The dead-letter queue as a source of letters to redrive. A received message stays hidden for
 * `hideSeconds`, so one drain never reads the same message twice and, if the drain dies, the message
 * comes back.
 */
export function sqsDeadLetterSource(
  client: SQSClient,
  queueUrl: string,
  hideSeconds = 300,
): DeadLetterSource {
  return {
    async receive() {
      const { Messages } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: hideSeconds,
          // Long enough to catch messages a listing hid a moment ago.
          WaitTimeSeconds: 2,
        }),
      );
      return (Messages ?? []).map(
        (message): DeadLetter => ({
          messageId: message.MessageId ?? "",
          body: message.Body ?? "",
          receiptHandle: message.ReceiptHandle ?? "",
        }),
      );
    },
    async remove(letters) {
      if (letters.length === 0) return;
      const { Failed } = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: letters.map((letter, index) => ({
            Id: String(index),
            ReceiptHandle: letter.receiptHandle,
          })),
        }),
      );
      if (Failed && Failed.length > 0) {
        throw new Error(
          `could not delete ${Failed.length} redriven messages: ${Failed[0]?.Message ?? "unknown"}`,
        );
      }
    },
  };
}
