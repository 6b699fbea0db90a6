import {
  ChangeMessageVisibilityBatchCommand,
  type ChangeMessageVisibilityBatchCommandInput,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { leaseMessages } from "../../functions/adapters/message-lease.ts";
import { LEASE_RENEW_SECONDS, LEASED_MESSAGE_VISIBILITY_SECONDS } from "../../functions/shared/limits.ts";

const QUEUE = "http://127.0.0.1:9324/000000000000/HooklineDeliveryQueue";
const PRIORITY_QUEUE = "http://127.0.0.1:9324/000000000000/HooklinePriorityQueue";
const sqs = mockClient(SQSClient);
const client = new SQSClient({});

function record(n: number, queueName = "HooklineDeliveryQueue") {
  return {
    messageId: `m${n}`,
    receiptHandle: `handle-${n}`,
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueName}`,
  };
}

function leaseCalls(): ChangeMessageVisibilityBatchCommandInput[] {
  return sqs.commandCalls(ChangeMessageVisibilityBatchCommand).map((call) => call.args[0].input);
}

describe("leasing a batch's messages while the delivery function works on them", () => {
  const warnings: unknown[][] = [];
  const log = { warn: (...args: unknown[]) => warnings.push(args) };

  beforeEach(() => {
    vi.useFakeTimers();
    sqs.reset();
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    warnings.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("hides every message for the short lease at once, before any work, and renews it until released", async () => {
    const release = leaseMessages(client, [record(1), record(2)], {
      queueUrls: [QUEUE, PRIORITY_QUEUE],
      log,
    });
    expect(leaseCalls()).toEqual([
      {
        QueueUrl: QUEUE,
        Entries: [
          { Id: "0", ReceiptHandle: "handle-1", VisibilityTimeout: LEASED_MESSAGE_VISIBILITY_SECONDS },
          { Id: "1", ReceiptHandle: "handle-2", VisibilityTimeout: LEASED_MESSAGE_VISIBILITY_SECONDS },
        ],
      },
    ]);
    await vi.advanceTimersByTimeAsync(LEASE_RENEW_SECONDS * 1000 * 3);
    expect(leaseCalls()).toHaveLength(4);

    await release();
    await vi.advanceTimersByTimeAsync(LEASE_RENEW_SECONDS * 1000 * 5);
    expect(leaseCalls()).toHaveLength(4);
    expect(warnings).toEqual([]);
  });

  it("sends each queue's messages to that queue, ten to a request", async () => {
    const records = [...Array.from({ length: 12 }, (_, n) => record(n)), record(99, "HooklinePriorityQueue")];
    const release = leaseMessages(client, records, {
      queueUrls: [QUEUE, PRIORITY_QUEUE],
      log,
    });
    await release();
    const calls = leaseCalls();
    expect(calls.map((call) => [call.QueueUrl, call.Entries?.length])).toEqual([
      [QUEUE, 10],
      [QUEUE, 2],
      [PRIORITY_QUEUE, 1],
    ]);
    expect(calls[2]?.Entries?.[0]?.ReceiptHandle).toBe("handle-99");
  });

  it("logs, without throwing, messages SQS would not keep hidden, and keeps renewing the rest", async () => {
    sqs
      .on(ChangeMessageVisibilityBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: "0" }],
        Failed: [{ Id: "1", Code: "ReceiptHandleIsInvalid", SenderFault: true }],
      })
      .rejectsOnce(new Error("throttled"))
      .resolves({ Successful: [], Failed: [] });
    const release = leaseMessages(client, [record(1), record(2)], {
      queueUrls: [QUEUE],
      log,
    });
    await vi.advanceTimersByTimeAsync(LEASE_RENEW_SECONDS * 1000 * 2);
    await release();
    expect(leaseCalls()).toHaveLength(3);
    expect(warnings.map(([, details]) => (details as { messages: number }).messages)).toEqual([1, 2]);
    expect(JSON.stringify(warnings)).not.toContain("handle-");
  });

  it("leases nothing for records of a queue the function was not given", async () => {
    const release = leaseMessages(client, [record(1, "SomeOtherQueue")], {
      queueUrls: [QUEUE],
      log,
    });
    await release();
    expect(leaseCalls()).toEqual([]);
  });
});
