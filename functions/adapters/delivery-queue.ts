import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryMessage, FanOutContinuation } from "../domain/messages.ts";
import type { DeliveryQueue, LaneBacklogs, QueueSends } from "../domain/ports.ts";
import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { queueBody } from "./queue-body.ts";
import { queueDepth } from "./queue-depth.ts";

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

/** Where deliveries go: the ordinary queue, or the priority lane for the catalogue's high-priority types. */
export interface DeliveryLanes {
  readonly queueUrl: string;
  readonly priorityQueueUrl: string;
  readonly priorityTypes: ReadonlySet<string>;
}

/** The lanes as a function's settings describe them. */
export function deliveryLanes(config: {
  readonly deliveryQueueUrl: string;
  readonly priorityQueueUrl: string;
  readonly eventTypes: readonly EventTypeDefinition[];
}): DeliveryLanes {
  return {
    queueUrl: config.deliveryQueueUrl,
    priorityQueueUrl: config.priorityQueueUrl,
    priorityTypes: new Set(
      config.eventTypes.filter((type) => type.priority === "high").map((type) => type.name),
    ),
  };
}

/** The queue a delivery of `eventType` travels in. */
export function laneOf(lanes: DeliveryLanes, eventType: string): string {
  return lanes.priorityTypes.has(eventType) ? lanes.priorityQueueUrl : lanes.queueUrl;
}

/**
 * Sends delivery messages, each to its lane's queue, in batches, re-sending entries SQS reports as
 * failed.
 */
export function sqsDeliveryQueue(client: SQSClient, lanes: DeliveryLanes): DeliveryQueue {
  async function send(queueUrl: string, bodies: readonly string[], delaySeconds?: number): Promise<void> {
    const delay = delaySeconds === undefined ? {} : { DelaySeconds: sqsDelaySeconds(delaySeconds) };
    for (const batch of batchesOf(bodies)) {
      let entries = batch.map((body, index) => ({ Id: String(index), MessageBody: body, ...delay }));
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
  }

  return {
    async enqueue(messages: readonly DeliveryMessage[], delaySeconds?: number) {
      const byQueue = new Map<string, string[]>();
      for (const message of messages) {
        const queueUrl = laneOf(lanes, message.eventType);
        byQueue.set(queueUrl, [...(byQueue.get(queueUrl) ?? []), queueBody(message)]);
      }
      await Promise.all([...byQueue].map(([queueUrl, bodies]) => send(queueUrl, bodies, delaySeconds)));
    },
  };
}

/** SQS delays a message by whole seconds, at most 15 minutes; a longer wait is the caller's to cover. */
function sqsDelaySeconds(seconds: number): number {
  return Math.min(900, Math.max(0, Math.ceil(seconds)));
}

async function sendOne(client: SQSClient, queueUrl: string, message: object, delaySeconds?: number) {
  await client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: queueBody(message),
      ...(delaySeconds === undefined ? {} : { DelaySeconds: sqsDelaySeconds(delaySeconds) }),
    }),
  );
}

/** Hands the rest of a large fan-out to the delivery function, through the event type's lane. */
export function sqsFanOutContinuation(client: SQSClient, lanes: DeliveryLanes) {
  return (continuation: FanOutContinuation): Promise<void> =>
    sendOne(client, laneOf(lanes, continuation.eventType), continuation);
}

/**
 * The delivery function's single sends: a step sent again later goes through its event type's lane, a
 * circuit's probe through the ordinary queue, a given-up delivery to the dead-letter queue.
 */
export function sqsQueueSends(
  client: SQSClient,
  lanes: DeliveryLanes,
  deadLetterQueueUrl: string,
): QueueSends {
  return {
    sendLater: (message, delaySeconds) =>
      sendOne(client, laneOf(lanes, message.eventType), message, delaySeconds),
    sendProbe: (probe, delaySeconds) => sendOne(client, lanes.queueUrl, probe, delaySeconds),
    sendToDeadLetterQueue: (message) => sendOne(client, deadLetterQueueUrl, message),
  };
}

/**
 * Reads the depth of both lanes, and answers how many messages wait in an event type's lane, are in
 * flight there or delayed: a message being processed or waiting its turn may be the very one an
 * overdue record waits for.
 */
export function sqsLaneBacklogs(client: SQSClient, lanes: DeliveryLanes): LaneBacklogs {
  return async () => {
    const urls = [lanes.queueUrl, lanes.priorityQueueUrl];
    const depths = new Map(
      await Promise.all(urls.map(async (url) => [url, await queueDepth(client, url, true)] as const)),
    );
    return (eventType) => depths.get(laneOf(lanes, eventType)) ?? 0;
  };
}
