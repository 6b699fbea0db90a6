import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from "@aws-sdk/client-sqs";

/**
 * Approximate number of messages on a queue: those waiting (`ApproximateNumberOfMessages`) and, with
 * `includeHidden`, those not visible yet: received but not yet deleted (so that a dead letter someone
 * is looking at still counts), and sent with a delay (a delivery waiting for its webhook's in-flight
 * slot or rate limit is one, and must not look lost).
 */
export async function queueDepth(
  client: SQSClient,
  queueUrl: string,
  includeHidden = false,
): Promise<number> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  const count = (name: QueueAttributeName) => Number(Attributes?.[name] ?? 0);
  const waiting = count("ApproximateNumberOfMessages");
  if (!includeHidden) return waiting;
  return (
    waiting + count("ApproximateNumberOfMessagesNotVisible") + count("ApproximateNumberOfMessagesDelayed")
  );
}
