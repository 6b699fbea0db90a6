/**
 * The local stack's life cycle: the strict-targets context, data kept across restarts, `--fresh`, `--in-memory`, and the
 * DynamoDB Local JVM never outliving the stack — neither on SIGTERM nor when the stack is SIGKILLed (the
 * watchdog stops it; failing that, the next start kills the stale JVM from its pid file).
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import {
  clientsFor,
  dynamoDbJvms,
  eventually,
  type FixtureStack,
  request,
  startFixtureStack,
} from "../fixtures/local-stack/harness.ts";

const name = "lifecycle";
let stack: FixtureStack | undefined;

afterAll(async () => {
  await stack?.stop("SIGKILL");
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function jvmPid(current: FixtureStack): number {
  const recorded = JSON.parse(readFileSync(path.join(current.stateDir, "dynamodb.pid"), "utf8")) as {
    jvm: number;
  };
  return recorded.jvm;
}

async function itemExists(current: FixtureStack, id: string): Promise<boolean> {
  const { ddb } = clientsFor(current.info);
  const item = await ddb.send(
    new GetItemCommand({
      TableName: current.info.outputs.TableName,
      Key: { pk: { S: `item#${id}` }, sk: { S: "item" } },
    }),
  );
  return item.Item !== undefined;
}

async function queuedBodies(current: FixtureStack): Promise<string[]> {
  const { sqs } = clientsFor(current.info);
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: current.info.outputs.ResultsQueueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
    }),
  );
  return (received.Messages ?? []).map((message) => message.Body ?? "");
}

describe("local stack life cycle", () => {
  const id = randomUUID();
  const kept = `kept-${id}`;
  let firstKey: string | null = null;

  it("synthesizes with the strict-targets context when HOOKLINE_ALLOW_PRIVATE_TARGETS=false", async () => {
    stack = await startFixtureStack({ name, env: { HOOKLINE_ALLOW_PRIVATE_TARGETS: "false" } });
    expect(stack.output()).toContain("strict endpoint checks");
    firstKey = stack.info.apiKey;
    expect(firstKey).toBeTruthy();
    const echo = await request(stack.info, "GET", "/items/1", { token: "allow-acme" });
    expect((echo.json as { env: Record<string, string> }).env).toMatchObject({
      local: "true",
      strictTargets: "true",
    });

    const created = await request(stack.info, "POST", "/items", {
      token: "allow-acme",
      body: JSON.stringify({ id }),
      headers: { "content-type": "application/json" },
    });
    expect(created.status).toBe(201);
    await clientsFor(stack.info).sqs.send(
      new SendMessageCommand({ QueueUrl: stack.info.outputs.ResultsQueueUrl, MessageBody: kept }),
    );
  });

  it("takes the JVM down with it when the stack is SIGKILLed", async () => {
    if (stack === undefined) throw new Error("no stack");
    const jvm = jvmPid(stack);
    expect(alive(jvm)).toBe(true);
    await stack.stop("SIGKILL");
    await eventually("the JVM to exit", () => (alive(jvm) ? undefined : true), 10_000, 100);
    expect(dynamoDbJvms(stack.stateDir)).toEqual([]);
  });

  it("keeps tables, items and queued messages across a restart", async () => {
    stack = await startFixtureStack({ name, args: ["--no-synth"] });
    expect(await itemExists(stack, id)).toBe(true);
    expect(await queuedBodies(stack)).toContain(kept);
    expect(stack.info.apiKey).toBe(firstKey); // the dev key from the previous local.json, still in the table
  });

  it("kills a stale JVM left by a crashed run when it starts again", async () => {
    if (stack === undefined) throw new Error("no stack");
    const stale = jvmPid(stack);
    // Without its watchdog, a SIGKILLed stack leaves its JVM behind.
    const watchdog = execFileSync("pgrep", ["-f", `hookline-dynamodb-watchdog ${stale}$`], {
      encoding: "utf8",
    });
    for (const pid of watchdog.split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
    await stack.stop("SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(alive(stale)).toBe(true);

    stack = await startFixtureStack({ name, args: ["--no-synth"] });
    expect(alive(stale)).toBe(false);
    expect(jvmPid(stack)).not.toBe(stale);
    expect(await itemExists(stack, id)).toBe(true);
  });

  it("wipes DynamoDB and SQS data with --fresh, and leaves no JVM after SIGTERM", async () => {
    await stack?.stop("SIGTERM");
    stack = await startFixtureStack({ name, args: ["--fresh", "--no-synth"] });
    expect(await itemExists(stack, id)).toBe(false);
    expect(await queuedBodies(stack)).toEqual([]);
    expect(stack.info.apiKey).toBeTruthy();
    expect(stack.info.apiKey).not.toBe(firstKey);

    const code = await stack.stop("SIGTERM");
    expect(code, stack.output().slice(-2000)).toBe(0);
    expect(stack.output()).toContain("[hookline] stopped");
    expect(dynamoDbJvms(stack.stateDir)).toEqual([]);
    stack = undefined;
  });

  it("keeps nothing on disk with --in-memory, so nothing survives a restart", async () => {
    const inMemory = `in-memory-${id}`;
    stack = await startFixtureStack({ name, args: ["--in-memory", "--no-synth"] });
    expect(stack.output()).toContain("in memory only");
    const { ddb } = clientsFor(stack.info);
    await ddb.send(
      new PutItemCommand({
        TableName: stack.info.outputs.TableName,
        Item: { pk: { S: `item#${inMemory}` }, sk: { S: "item" } },
      }),
    );
    expect(await itemExists(stack, inMemory)).toBe(true);
    // The files of the earlier on-disk runs are wiped, and none are written.
    expect(existsSync(path.join(stack.stateDir, "dynamodb"))).toBe(false);
    expect(existsSync(path.join(stack.stateDir, "sqs"))).toBe(false);
    expect(await stack.stop("SIGTERM")).toBe(0);

    stack = await startFixtureStack({ name, args: ["--in-memory", "--no-synth"] });
    expect(await itemExists(stack, inMemory)).toBe(false);
    expect(await stack.stop("SIGTERM")).toBe(0);
    expect(dynamoDbJvms(stack.stateDir)).toEqual([]);
    stack = undefined;
  });
});
