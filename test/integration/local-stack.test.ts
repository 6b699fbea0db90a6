/**
 * The local runtime end to end, on the fixture app (test/fixtures/local-stack/app.ts): synth, emulators,
 * the HTTP API with its Lambda authorizer, an SQS event source with partial batch failures, an
 * EventBridge rule and a state machine, all started by `node local/start.ts` as `npm start` does.
 */
import { randomUUID } from "node:crypto";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ListExecutionsCommand,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { ReceiveMessageCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clientsFor,
  eventually,
  expectCleanStop,
  type FixtureStack,
  request,
  startFixtureStack,
} from "../fixtures/local-stack/harness.ts";

let stack: FixtureStack;
let clients: ReturnType<typeof clientsFor>;
const allow = "allow-acme";

beforeAll(async () => {
  stack = await startFixtureStack({ name: "stack" });
  clients = clientsFor(stack.info);
});

afterAll(async () => {
  if (stack === undefined) return;
  await expectCleanStop(stack);
});

interface Echo {
  event: Record<string, unknown> & {
    requestContext: Record<string, unknown> & {
      http: Record<string, unknown>;
      authorizer?: { lambda: Record<string, string> };
    };
  };
  invocations: number;
  remainingMs: number;
  functionName: string;
  env: Record<string, string>;
}

describe("local.json", () => {
  it("names the API, the emulators and the stack outputs resolved to local values", () => {
    const { info } = stack;
    expect(info.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.outputs.ApiUrl).toBe(`${info.apiUrl}/`);
    expect(info.outputs.JobsQueueUrl).toMatch(new RegExp(`^${info.endpoints.sqs}/000000000000/Jobs`));
    expect(info.outputs.StateMachineArn).toMatch(
      /^arn:aws:states:us-east-1:000000000000:stateMachine:Doubler/,
    );
    // The fixture names its table WebhooksTableName, so the dev tenant's key is seeded into it.
    expect(info.apiKey).toEqual(expect.stringMatching(/^\S{20,}$/));
    expect(info.stackName).toBe("HooklineLocalFixture");
  });
});

describe("HTTP API", () => {
  it("invokes the route's function with a payload 2.0 event and maps its response", async () => {
    const response = await request(stack.info, "GET", "/items/42?x=1&x=2&y=%20z", {
      token: allow,
      headers: { "X-Custom": "one", cookie: "c1=v1; c2=v2" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-fixture")).toBe("yes");
    expect(response.headers.get("set-cookie")).toBe("a=1, b=2");
    expect(response.headers.get("apigw-requestid")).toBeTruthy();
    const echo = response.json as Echo;
    expect(echo.event).toMatchObject({
      version: "2.0",
      routeKey: "GET /items/{itemId}",
      rawPath: "/items/42",
      rawQueryString: "x=1&x=2&y=%20z",
      queryStringParameters: { x: "1,2", y: " z" },
      pathParameters: { itemId: "42" },
      cookies: ["c1=v1", "c2=v2"],
      isBase64Encoded: false,
      requestContext: {
        accountId: "000000000000",
        routeKey: "GET /items/{itemId}",
        stage: "$default",
        http: { method: "GET", path: "/items/42", protocol: "HTTP/1.1", sourceIp: "127.0.0.1" },
        authorizer: { lambda: { tenant: "acme" } },
      },
    });
    expect(echo.event.headers).toMatchObject({ "x-custom": "one", authorization: `Bearer ${allow}` });
    expect(echo.event.headers).not.toHaveProperty("cookie");
    expect(echo.event).not.toHaveProperty("body");
    expect(echo.env).toMatchObject({ local: "true", strictTargets: "", region: "us-east-1", memory: "128" });
    expect(echo.remainingMs).toBeGreaterThan(0);
    expect(echo.remainingMs).toBeLessThanOrEqual(3_000);
    expect(echo.functionName).toMatch(/^Api/);
  });

  it("keeps module state between invocations, like a warm container", async () => {
    const first = (await request(stack.info, "GET", "/items/1", { token: allow })).json as Echo;
    const second = (await request(stack.info, "GET", "/items/1", { token: allow })).json as Echo;
    expect(second.invocations).toBeGreaterThan(first.invocations);
  });

  it("prefers a literal route over a path parameter, and passes greedy paths decoded", async () => {
    const literal = (await request(stack.info, "GET", "/items/special", { token: allow })).json as Echo;
    expect(literal.event.routeKey).toBe("GET /items/special");
    const greedy = (await request(stack.info, "DELETE", "/files/a/b%20c", { token: allow })).json as Echo;
    expect(greedy.event.routeKey).toBe("ANY /files/{proxy+}");
    expect(greedy.event.pathParameters).toEqual({ proxy: "a/b c" });
  });

  it("base64-encodes binary bodies and passes text bodies as they are", async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const binary = (
      await request(stack.info, "PUT", "/files/blob", {
        token: allow,
        body: bytes,
        headers: { "content-type": "application/octet-stream" },
      })
    ).json as Echo;
    expect(binary.event).toMatchObject({ isBase64Encoded: true, body: bytes.toString("base64") });
    const text = (
      await request(stack.info, "PUT", "/files/doc", {
        token: allow,
        body: '{"héllo":"✓"}',
        headers: { "content-type": "application/json; charset=utf-8" },
      })
    ).json as Echo;
    expect(text.event).toMatchObject({ isBase64Encoded: false, body: '{"héllo":"✓"}' });
  });

  it("answers as API Gateway does when the authorizer says no or has no identity", async () => {
    const missing = await request(stack.info, "GET", "/items/1");
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ message: "Unauthorized" });
    const denied = await request(stack.info, "GET", "/items/1", { token: "deny" });
    expect(denied.status).toBe(403);
    expect(denied.json).toEqual({ message: "Forbidden" });
    const failing = await request(stack.info, "GET", "/items/1", { token: "throw" });
    expect(failing.status).toBe(500);
    expect(failing.json).toEqual({ message: "Internal Server Error" });
  });

  it("caches the authorizer's decision per identity source for the configured TTL", async () => {
    const token = `allow-t${randomUUID().replaceAll("-", "").slice(0, 8)}`;
    const decision = async (value: string) =>
      ((await request(stack.info, "GET", "/items/1", { token: value })).json as Echo).event.requestContext
        .authorizer?.lambda.decisionId;
    const first = await decision(token);
    expect(first).toBeTruthy();
    expect(await decision(token)).toBe(first);
    expect(await decision(`${token}x`)).not.toBe(first);
  });

  it("runs routes without an authorizer, and maps a result without statusCode to a 200 JSON body", async () => {
    const response = await request(stack.info, "GET", "/public/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.json).toEqual({ ok: true });
  });

  it("answers 404 without a route, 500 when the function throws or times out", async () => {
    const none = await request(stack.info, "GET", "/nowhere", { token: allow });
    expect(none.status).toBe(404);
    expect(none.json).toEqual({ message: "Not Found" });
    const thrown = await request(stack.info, "GET", "/boom", { token: allow });
    expect(thrown.status).toBe(500);
    expect(thrown.json).toEqual({ message: "Internal Server Error" });
    const started = Date.now();
    const slow = await request(stack.info, "GET", "/slow", { token: allow });
    expect(slow.status).toBe(500);
    expect(Date.now() - started).toBeLessThan(4_000); // its Timeout is 1 s
    expect(stack.functionLog()).toMatch(/\[Slow\w+\] .*Task timed out after 1\.00 seconds/);
    expect(stack.output()).toMatch(/! Slow\w*: timed out after 1\.00 seconds/);
  });

  it("queues invocations while all of a function's execution environments are busy", async () => {
    const timeouts = () => stack.functionLog().match(/\[Slow\w+\] .*Task timed out/g)?.length ?? 0;
    const before = timeouts();
    const started = Date.now();
    // Six requests, four environments (HOOKLINE_LOCAL_CONCURRENCY's default): two waves of 1 s timeouts.
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => request(stack.info, "GET", "/slow", { token: allow })),
    );
    expect(responses.map((response) => response.status)).toEqual([500, 500, 500, 500, 500, 500]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    // The log file is written as the runtime reads each worker's output, which may trail the answer.
    await eventually("six timeouts in the function log", () => (timeouts() - before >= 6 ? true : undefined));
    expect(timeouts() - before).toBe(6);
  });

  it("refuses a body over 10 MB with 413", async () => {
    const response = await request(stack.info, "POST", "/items", {
      token: allow,
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 97),
      headers: { "content-type": "text/plain" },
    });
    expect(response.status).toBe(413);
  });

  it("writes each function's output to functions.log prefixed with its logical id, not to the terminal", () => {
    expect(stack.functionLog()).toMatch(/\[Authorizer\w+\] \{"level":"INFO","message":"authorizing"/);
    expect(stack.output()).not.toContain('"message":"authorizing"');
    expect(stack.output()).toContain("functions.log (--verbose prints it here)");
  });
});

describe("functions reach the emulators through AWS_ENDPOINT_URL_*", () => {
  it("writes to DynamoDB Local and sends to SQS, whose consumer then runs", async () => {
    const id = randomUUID();
    const created = await request(stack.info, "POST", "/items", {
      token: allow,
      body: JSON.stringify({ id }),
      headers: { "content-type": "application/json" },
    });
    expect(created.status).toBe(201);
    const item = await clients.ddb.send(
      new GetItemCommand({
        TableName: stack.info.outputs.TableName,
        Key: { pk: { S: `item#${id}` }, sk: { S: "item" } },
      }),
    );
    expect(item.Item?.gsi1sk?.S).toBe(id);

    const job = randomUUID();
    const queued = await request(stack.info, "POST", "/jobs", {
      token: allow,
      body: JSON.stringify({ id: job }),
    });
    expect(queued.status).toBe(202);
    const attempts = await eventually("the consumer to process the job", () => jobAttempts(job));
    expect(attempts).toBe(1);
  });
});

async function jobAttempts(id: string): Promise<number | undefined> {
  const item = await clients.ddb.send(
    new GetItemCommand({
      TableName: stack.info.outputs.TableName,
      Key: { pk: { S: `job#${id}` }, sk: { S: "job" } },
      ConsistentRead: true,
    }),
  );
  return item.Item?.attempts?.N === undefined ? undefined : Number(item.Item.attempts.N);
}

describe("SQS event source", () => {
  it("deletes the batch's successes, redelivers only the reported failure, then dead-letters it", async () => {
    const good = randomUUID();
    const bad = randomUUID();
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.info.outputs.JobsQueueUrl,
        Entries: [
          { Id: "good", MessageBody: JSON.stringify({ id: good }) },
          { Id: "bad", MessageBody: JSON.stringify({ id: bad, fail: true }) },
        ],
      }),
    );
    // maxReceiveCount is 2 and the visibility timeout 3 s: two attempts, then the dead-letter queue.
    const deadLettered = await eventually(
      "the failing job on the dead-letter queue",
      async () => {
        const received = await clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: stack.info.outputs.DeadLetterQueueUrl,
            MaxNumberOfMessages: 10,
          }),
        );
        return received.Messages?.find((message) => message.Body?.includes(bad));
      },
      30_000,
      500,
    );
    expect(JSON.parse(deadLettered.Body ?? "{}")).toEqual({ id: bad, fail: true });
    expect(await jobAttempts(bad)).toBe(2);
    expect(await jobAttempts(good)).toBe(1);
  });
});

describe("EventBridge", () => {
  it("accepts PutEvents from the real SDK client and invokes the targets of matching rules", async () => {
    const big = randomUUID();
    const small = randomUUID();
    const bus = stack.info.outputs.EventBusName;
    const result = await clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: bus,
            Source: "fixture.orders",
            DetailType: "OrderPlaced",
            Detail: JSON.stringify({ orderId: small, amount: 50 }),
          },
          {
            EventBusName: bus,
            Source: "fixture.orders",
            DetailType: "OrderPlaced",
            Detail: JSON.stringify({ orderId: big, amount: 150 }),
          },
          { EventBusName: "no-such-bus", Source: "fixture.orders", DetailType: "OrderPlaced", Detail: "{}" },
          { EventBusName: bus, Source: "fixture.orders", DetailType: "OrderPlaced", Detail: "not json" },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.[2]?.ErrorCode).toBe("ResourceNotFoundException");
    expect(result.Entries?.[3]?.ErrorCode).toBe("MalformedDetail");
    const bigEventId = result.Entries?.[1]?.EventId;

    const recorded = await eventually("the rule's target to record the order", async () => {
      const item = await clients.ddb.send(
        new GetItemCommand({
          TableName: stack.info.outputs.TableName,
          Key: { pk: { S: `order#${big}` }, sk: { S: "event" } },
        }),
      );
      return item.Item;
    });
    expect(recorded).toMatchObject({
      source: { S: "fixture.orders" },
      detailType: { S: "OrderPlaced" },
      eventId: { S: bigEventId },
    });
    const unmatched = await clients.ddb.send(
      new GetItemCommand({
        TableName: stack.info.outputs.TableName,
        Key: { pk: { S: `order#${small}` }, sk: { S: "event" } },
      }),
    );
    expect(unmatched.Item).toBeUndefined();
  });
});

describe("EventBridge to Lambda is an asynchronous invocation", () => {
  it("retries a failed invocation twice, then gives up", async () => {
    const recovers = randomUUID();
    const keepsFailing = randomUUID();
    const detail = (orderId: string, failAttempts: number) =>
      JSON.stringify({ orderId, amount: 500, failAttempts });
    await clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: stack.info.outputs.EventBusName,
            Source: "fixture.orders",
            DetailType: "OrderPlaced",
            Detail: detail(recovers, 2),
          },
          {
            EventBusName: stack.info.outputs.EventBusName,
            Source: "fixture.orders",
            DetailType: "OrderPlaced",
            Detail: detail(keepsFailing, 9),
          },
        ],
      }),
    );
    const attempts = async (orderId: string) => {
      const item = await clients.ddb.send(
        new GetItemCommand({
          TableName: stack.info.outputs.TableName,
          Key: { pk: { S: `order#${orderId}` }, sk: { S: "attempts" } },
          ConsistentRead: true,
        }),
      );
      return Number(item.Item?.attempts?.N ?? 0);
    };
    await eventually(
      "the third attempt to succeed",
      async () => ((await attempts(recovers)) === 3 ? true : undefined),
      15_000,
    );
    await eventually(
      "the invocation to be dropped after three attempts",
      () => (stack.output().includes("failed 3 times, dropping the event") ? true : undefined),
      15_000,
    );
    expect(await attempts(keepsFailing)).toBe(3);
  });
});

describe("Step Functions", () => {
  const machine = () => stack.info.outputs.StateMachineArn ?? "";
  const finished = (executionArn: string) =>
    eventually(
      "the execution to finish",
      async () => {
        const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return described.status === "RUNNING" ? undefined : described;
      },
      20_000,
      200,
    );

  it("runs an execution through a Wait, a Lambda task and an SQS task", async () => {
    const name = `run-${randomUUID()}`;
    const started = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine(), name, input: JSON.stringify({ value: 21 }) }),
    );
    const described = await finished(started.executionArn ?? "");
    expect(described.status).toBe("SUCCEEDED");
    expect(JSON.parse(described.output ?? "{}")).toMatchObject({
      value: 42,
      doubled: true,
      sent: { MessageId: expect.any(String) },
    });
    expect(
      (described.stopDate?.getTime() ?? 0) - (described.startDate?.getTime() ?? 0),
    ).toBeGreaterThanOrEqual(1_000);

    const announced = await eventually("the SQS task's message", async () => {
      const received = await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.info.outputs.ResultsQueueUrl, MaxNumberOfMessages: 10 }),
      );
      return received.Messages?.find(
        (message) => message.Body === JSON.stringify({ value: 42, doubled: true }),
      );
    });
    expect(announced).toBeDefined();

    const listed = await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: machine() }));
    expect(listed.executions?.map((execution) => execution.name)).toContain(name);
    await expect(
      clients.sfn.send(new StartExecutionCommand({ stateMachineArn: machine(), name, input: "{}" })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it("fails an execution whose Lambda task throws, with the function's error type", async () => {
    const started = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine(), input: JSON.stringify({ value: "x" }) }),
    );
    const described = await finished(started.executionArn ?? "");
    expect(described.status).toBe("FAILED");
    expect(described.error).toBe("TypeError");
    expect(JSON.parse(described.cause ?? "{}")).toMatchObject({ errorMessage: "value must be a number" });
  });
});
