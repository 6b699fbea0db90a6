/**
 * The local runtime's model of Lambda's recursive loop detection (local/loop-detection.ts), on the
 * fixture app's relays: each passes a message on to its own queue, hop after hop.
 */
import { randomUUID } from "node:crypto";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clientsFor,
  eventually,
  expectCleanStop,
  type FixtureStack,
  startFixtureStack,
} from "../fixtures/local-stack/harness.ts";

let stack: FixtureStack;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  stack = await startFixtureStack({ name: "loops", env: { HOOKLINE_LOCAL_LOOP_DETECTION: "true" } });
  clients = clientsFor(stack.info);
});

afterAll(async () => {
  if (stack === undefined) return;
  await expectCleanStop(stack);
});

/** Starts a chain of `until` hops at a relay's queue; returns its id. */
async function startChain(relay: "Relay" | "LoopingRelay", until: number): Promise<string> {
  const chain = randomUUID();
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: stack.info.outputs[`${relay}QueueUrl`],
      MessageBody: JSON.stringify({ chain, hop: 1, until }),
    }),
  );
  return chain;
}

async function hopsOf(chain: string): Promise<{ hops: number; lastHop: number } | undefined> {
  const { Item } = await clients.ddb.send(
    new GetItemCommand({
      TableName: stack.info.outputs.TableName,
      Key: { pk: { S: `relay#${chain}` }, sk: { S: "relay" } },
      ConsistentRead: true,
    }),
  );
  return Item ? { hops: Number(Item.hops?.N), lastHop: Number(Item.lastHop?.N) } : undefined;
}

describe("recursive loop detection", () => {
  it("stops a chain of 20 SQS → Lambda invocations at 16 and dead-letters the 17th message", async () => {
    const chain = await startChain("Relay", 20);

    const deadLetter = await eventually(
      "the stopped message in the dead-letter queue",
      async () => {
        const { Messages } = await clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: stack.info.outputs.RelayDlqUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ["All"],
          }),
        );
        return Messages?.find((message) => message.Body?.includes(chain));
      },
      60_000,
    );
    expect(JSON.parse(deadLetter.Body ?? "{}")).toMatchObject({ chain, hop: 17 });
    expect(await hopsOf(chain)).toEqual({ hops: 16, lastHop: 16 });
    expect(stack.output()).toContain("Lambda stopped a recursive loop");
  });

  it("lets a function whose RecursiveLoop is Allow run the whole chain", async () => {
    const chain = await startChain("LoopingRelay", 20);

    const done = await eventually(
      "the 20th hop",
      async () => {
        const hops = await hopsOf(chain);
        return hops?.lastHop === 20 ? hops : undefined;
      },
      60_000,
    );
    expect(done).toEqual({ hops: 20, lastHop: 20 });
  });
});
