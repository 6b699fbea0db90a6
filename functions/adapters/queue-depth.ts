import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";

/**
 * Approximate number of messages on a queue: those waiting (`ApproximateNumberOfMessages`) and, with
 * `includeInFlight`, those received but not yet deleted, so that a dead letter someone is looking at
 * still counts.
 */
export async function queueDepth(
  client: SQSClient,
  queueUrl: string,
  includeInFlight = false,
): Promise<number> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  const waiting = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  const inFlight = includeInFlight ? Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) : 0;
  return waiting + inFlight;
}
