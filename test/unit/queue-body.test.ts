import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { sqsDeliveryQueue, sqsFanOutContinuation } from "../../functions/adapters/delivery-queue.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import { eventPayload } from "../../functions/domain/publish.ts";

/**
 * What SQS accepts in a message body (#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF),
 * checked per UTF-16 code unit as the local emulator checks it, which refuses a surrogate pair too.
 */
const SQS_SAFE = /^[\t\n\r\x20-\uD7FF\uE000-\uFFFD]*$/;

const lanes = { queueUrl: "q", priorityQueueUrl: "p", priorityTypes: new Set<string>() };

/** Data a publisher may send as valid JSON that SQS cannot carry as such. */
const hostileData = {
  nonCharacters: "a\uFFFFb\uFFFEc",
  loneSurrogates: "\uD800 and \uDFFF",
  controls: "\u0001\u0008\u000B\u000C\u001F\u007F",
  fine: "tab\tcr\rlf\n東京 😀 \uFFFD",
};

describe("queue message bodies", () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());

  it("carry a payload SQS would refuse, escaped, and give back the very payload that was signed", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const payload = eventPayload("evt_1", "memory.created", new Date(0), hostileData);
    const message: DeliveryMessage = {
      tenantId: "t1",
      webhookId: "wh_1",
      deliveryId: "msg_1",
      eventId: "evt_1",
      eventType: "memory.created",
      acceptedAt: new Date(0).toISOString(),
      payload,
      attempt: 1,
      scheduleStart: 0,
    };

    await sqsDeliveryQueue(new SQSClient({}), lanes).enqueue([message]);

    const bodies = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .map((entry) => entry.MessageBody ?? "");
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatch(SQS_SAFE);
    const carried = JSON.parse(bodies[0] ?? "") as DeliveryMessage;
    expect(carried).toEqual(message);
    expect(carried.payload).toBe(payload);
    expect(JSON.parse(carried.payload ?? "").data).toEqual(hostileData);
  });

  it("are SQS-safe for a fan-out continuation too", async () => {
    sqs.on(SendMessageCommand).resolves({});
    const continuation = {
      kind: "fanout",
      tenantId: "t\uFFFF",
      eventId: "evt_1",
      eventType: "memory.created",
      after: "cursor\uD800",
      deliveriesSoFar: 98,
      resume: false,
    } as const;
    await sqsFanOutContinuation(new SQSClient({}), lanes)(continuation);
    const body = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
    expect(body).toMatch(SQS_SAFE);
    expect(JSON.parse(body)).toEqual(continuation);
  });

  it("carry the delay a release gives them, on every message of the batch", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const message = (deliveryId: string): DeliveryMessage => ({
      tenantId: "t1",
      webhookId: "wh_1",
      deliveryId,
      eventId: "evt_1",
      eventType: "memory.created",
      acceptedAt: new Date(0).toISOString(),
      attempt: 2,
      scheduleStart: 0,
    });

    await sqsDeliveryQueue(new SQSClient({}), lanes).enqueue([message("msg_1"), message("msg_2")], 3);

    const entries = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    expect(entries.map((entry) => entry.DelaySeconds)).toEqual([3, 3]);
  });
});
