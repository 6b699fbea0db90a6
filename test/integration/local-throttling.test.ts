/**
 * The local runtime's throttling model (`HOOKLINE_LOCAL_THROTTLING=true`), on the fixture app in
 * test/fixtures/aws-models/: functions with one unit of reserved concurrency are invoked twice at once, as
 * an SQS event source, a Step Functions task and an EventBridge target, and each path answers the throttle
 * as Lambda's callers do in AWS.
 */
import { randomUUID } from "node:crypto";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DescribeExecutionCommand, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetrySlotField } from "../../functions/shared/names.ts";
import {
  clientsFor,
  eventually,
  type FixtureStack,
  startFixtureStack,
} from "../fixtures/local-stack/harness.ts";

let stack: FixtureStack;
let clients: ReturnType<typeof clientsFor>;
const results = new Map<string, { id: string; receives?: string }>();

beforeAll(async () => {
  stack = await startFixtureStack({
    name: "throttling",
    env: {
      HOOKLINE_CDK_APP: "node test/fixtures/aws-models/app.ts",
      HOOKLINE_LOCAL_THROTTLING: "true",
      HOOKLINE_LOCAL_ACCOUNT_CONCURRENCY: "50",
    },
  });
  clients = clientsFor(stack.info);
});

afterAll(async () => {
  if (stack === undefined) return;
  expect(await stack.stop("SIGTERM"), stack.output().slice(-3000)).toBe(0);
});

function output(name: string): string {
  const value = stack.info.outputs[name];
  if (value === undefined) throw new Error(`no output ${name}`);
  return value;
}

/** Takes every message off a queue into `into`, keyed by `key`. */
async function drain<T>(queueUrl: string, into: Map<string, T>, key: (body: T) => string): Promise<void> {
  const { Messages = [] } = await clients.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  for (const message of Messages) {
    const body = JSON.parse(message.Body ?? "{}") as T;
    into.set(key(body), body);
    await clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
    );
  }
}

async function resultOf(id: string, timeoutMs = 30_000) {
  return eventually(
    `the result of ${id}`,
    async () => {
      await drain(output("ResultsQueueUrl"), results, (body) => body.id);
      return results.get(id);
    },
    timeoutMs,
    100,
  );
}

async function runAll(stateMachineArn: string, inputs: readonly Record<string, unknown>[]) {
  const started = await Promise.all(
    inputs.map((input) =>
      clients.sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) })),
    ),
  );
  return Promise.all(
    started.map(({ executionArn }) =>
      eventually(
        `execution ${executionArn} to end`,
        async () => {
          const execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
          return execution.status === "RUNNING" ? undefined : execution;
        },
        60_000,
        200,
      ),
    ),
  );
}

describe("a Step Functions Lambda task above the function's reserved concurrency", () => {
  it("fails with Lambda.TooManyRequestsException when the task retries only CDK's default errors", async () => {
    const ids = [randomUUID(), randomUUID()];
    const executions = await runAll(
      output("PlainStateMachineArn"),
      ids.map((id) => ({ id, sleepMs: 1_500 })),
    );
    expect(executions.map((execution) => execution.status).sort()).toEqual(["FAILED", "SUCCEEDED"]);
    expect(executions.find((execution) => execution.status === "FAILED")?.error).toBe(
      "Lambda.TooManyRequestsException",
    );
  });

  it("is retried by Hookline's retry workflow until every attempt has run", async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const executions = await runAll(
      output("RetryStateMachineArn"),
      ids.map((id) => ({ [RetrySlotField.at]: new Date().toISOString(), id, sleepMs: 700 })),
    );
    expect(executions.map((execution) => [execution.status, execution.error])).toEqual(
      ids.map(() => ["SUCCEEDED", undefined]),
    );
    for (const id of ids) expect(await resultOf(id)).toMatchObject({ id });
  });
});

describe("an SQS event source above the function's reserved concurrency", () => {
  it("leaves the throttled message on the queue, received again after the visibility timeout", async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) {
      await clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: output("JobsQueueUrl"),
          MessageBody: JSON.stringify({ id, sleepMs: 1_000 }),
        }),
      );
    }
    const received = await Promise.all(ids.map((id) => resultOf(id, 60_000)));
    expect(received.map((result) => result.id).sort()).toEqual([...ids].sort());
    expect(Math.max(...received.map((result) => Number(result.receives)))).toBeGreaterThan(1);
  });
});

describe("an EventBridge target (an asynchronous invocation)", () => {
  const putEvent = (detail: Record<string, unknown>) =>
    clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: output("EventBusName"),
            Source: "fixture.models",
            DetailType: "Work",
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );

  it("runs a throttled event later, with backoff", async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    await putEvent({ id: first, sleepMs: 1_500 });
    await putEvent({ id: second });
    expect(await resultOf(first)).toMatchObject({ id: first });
    expect(await resultOf(second)).toMatchObject({ id: second });
  });

  it("hands an event whose invocations keep failing to the on-failure destination, with the reason", async () => {
    const id = randomUUID();
    await putEvent({ id, fail: true });
    const failures = new Map<string, Record<string, never>>();
    const record = await eventually(
      "the failure record",
      async () => {
        await drain(output("FailuresQueueUrl"), failures, (body) => JSON.stringify(body));
        return [...failures.values()].find((body) => JSON.stringify(body.requestPayload ?? {}).includes(id));
      },
      30_000,
      100,
    );
    expect(record).toMatchObject({
      requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 2 },
      requestPayload: { source: "fixture.models", detail: { id, fail: true } },
      responsePayload: { errorType: "Error", errorMessage: `work ${id} fails on purpose` },
    });
  });
});
