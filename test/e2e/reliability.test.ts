import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HooklineSchema } from "../../client/index.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { answered, api, localStack, newTenant, refused, useApiKey } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

// The e2e stack's schedule (see global-setup.ts): retries after 1, 2, 2, 2, 2 s; circuit 5 failures / 3 s;
// attempts time out after 2 s.
const SCHEDULE = [1, 2, 2, 2, 2];
const COOLDOWN_MS = 3000;

let receiver: Receiver;

beforeAll(async () => {
  useApiKey((await newTenant("reliability")).apiKey);
});
afterEach(async () => {
  await receiver?.stop();
});

async function webhookFor(
  target: Receiver,
  eventTypes = ["memory.created"],
  extra: Partial<HooklineSchema<"CreateWebhook">> = {},
) {
  return answered(
    api().POST("/v1/webhooks", { body: { url: target.url, event_types: eventTypes, ...extra } }),
    201,
  );
}

async function publish(type = "memory.created", data: Record<string, unknown> = {}) {
  const published = await answered(api().POST("/v1/events", { body: { type, data } }), 202);
  return published.id;
}

async function deliveriesOf(webhookId: string, status?: HooklineSchema<"Delivery">["status"]) {
  const page = await answered(
    api().GET("/v1/webhooks/{webhookId}/deliveries", { params: { path: { webhookId }, query: { status } } }),
    200,
  );
  return page.data;
}

async function shown(webhookId: string) {
  return answered(api().GET("/v1/webhooks/{webhookId}", { params: { path: { webhookId } } }), 200);
}

async function delivery(webhookId: string, deliveryId: string) {
  return answered(
    api().GET("/v1/webhooks/{webhookId}/deliveries/{deliveryId}", {
      params: { path: { webhookId, deliveryId } },
    }),
    200,
  );
}

async function terminalDelivery(webhookId: string, timeoutMs = 60_000) {
  return eventually(
    "the delivery to reach a terminal state",
    async () => {
      const [only] = await deliveriesOf(webhookId);
      return only && ["delivered", "failed", "dead_lettered"].includes(only.status) ? only : undefined;
    },
    timeoutMs,
  );
}

/** Runs the documented dead-letter command against the test stack; returns what it printed. */
async function dlq(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["bin/hookline-cli.ts", "dlq", ...args], {
    env: { ...process.env, HOOKLINE_DIR: localStack().stateDir },
  });
  return stdout;
}

function gapsSeconds(times: number[]): number[] {
  return times.slice(1).map((time, index) => (time - (times[index] ?? time)) / 1000);
}

describe("retries", () => {
  it("delivers after exactly N+1 attempts to a receiver that fails N times, on the schedule", async () => {
    receiver = await Receiver.start();
    receiver.behave = (_request, previous) => ({ status: previous < 3 ? 500 : 200 });
    const webhook = await webhookFor(receiver);
    await publish();
    const done = await terminalDelivery(webhook.id);
    expect(done).toMatchObject({ status: "delivered", attempt_count: 4, last_status_code: 200 });
    const attempts = receiver.attemptsOf(done.id);
    expect(attempts).toHaveLength(4);
    // Each gap is the scheduled delay within ±20 % jitter, plus what the machine adds (never less).
    gapsSeconds(attempts.map((a) => a.receivedAt)).forEach((gap, index) => {
      const base = SCHEDULE[index] ?? 0;
      expect(gap).toBeGreaterThanOrEqual(Math.max(1, Math.round(base * 0.8)) - 0.3);
      expect(gap).toBeLessThanOrEqual(base * 1.2 + 3);
    });
    const verifier = new StandardWebhook(webhook.secret);
    const signatures = new Set<string>();
    for (const attempt of attempts) {
      expect(attempt.headers["webhook-id"]).toBe(done.id);
      signatures.add(String(attempt.headers["webhook-signature"]));
      verifier.verify(attempt.rawBody, {
        "webhook-id": String(attempt.headers["webhook-id"]),
        "webhook-timestamp": String(attempt.headers["webhook-timestamp"]),
        "webhook-signature": String(attempt.headers["webhook-signature"]),
      });
    }
    const recorded = await delivery(webhook.id, done.id);
    expect(recorded.attempts.map((a) => a.status_code)).toEqual([500, 500, 500, 200]);
  });

  it("dead-letters after 6 attempts at an always-500 receiver, then a manual retry delivers it", async () => {
    receiver = await Receiver.start();
    receiver.status = 500;
    const webhook = await webhookFor(receiver);
    await publish("memory.created", { case: "dead-letter" });
    const dead = await terminalDelivery(webhook.id, 90_000);
    expect(dead).toMatchObject({ status: "dead_lettered", attempt_count: 6 });
    expect(receiver.attemptsOf(dead.id)).toHaveLength(6);

    const stack = localStack();
    const sqs = new SQSClient({
      endpoint: stack.endpoints.sqs,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const queueUrl = stack.outputs[StackOutput.deadLetterQueueUrl];
    const onQueue = await eventually("the dead letter on the DLQ", async () => {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }),
      );
      return Messages?.find((message) => JSON.parse(message.Body ?? "{}").deliveryId === dead.id);
    });
    expect(JSON.parse(onQueue.Body ?? "{}")).toMatchObject({
      webhookId: webhook.id,
      deliveryId: dead.id,
      attempt: 6,
    });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: onQueue.ReceiptHandle }));
    sqs.destroy();

    const listed = await deliveriesOf(webhook.id, "dead_lettered");
    expect(listed.map((d) => d.id)).toEqual([dead.id]);

    receiver.status = 200;
    // The circuit opened on the 5th failure; once its cooldown passes the retry goes through as the probe.
    const retry = () =>
      api().POST("/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry", {
        params: { path: { webhookId: webhook.id, deliveryId: dead.id } },
      });
    await answered(retry(), 202);
    const delivered = await eventually("the manual retry to deliver", async () => {
      const current = await delivery(webhook.id, dead.id);
      return current.status === "delivered" ? current : undefined;
    });
    expect(delivered.attempt_count).toBe(7);
    const attempts = receiver.attemptsOf(dead.id);
    expect(attempts).toHaveLength(7);
    const [first, last] = [attempts[0], attempts[6]];
    expect(last?.headers["webhook-id"]).toBe(first?.headers["webhook-id"]);
    expect(Number(last?.headers["webhook-timestamp"])).toBeGreaterThan(
      Number(first?.headers["webhook-timestamp"]),
    );
    expect(last?.headers["webhook-signature"]).not.toBe(first?.headers["webhook-signature"]);

    expect((await refused(retry(), 409)).code).toBe("conflict");
  });

  it("redrives the whole dead-letter queue with npm run dlq -- redrive", async () => {
    receiver = await Receiver.start();
    receiver.status = 503;
    // Two attempts each: four failures in all, one short of opening the circuit.
    const webhook = await webhookFor(receiver, ["memory.updated"], { retry_schedule_seconds: [1] });
    await publish("memory.updated", { n: 1 });
    await publish("memory.updated", { n: 2 });
    const dead = await eventually(
      "both deliveries to be dead-lettered",
      async () => {
        const all = await deliveriesOf(webhook.id);
        return all.length === 2 && all.every((d) => d.status === "dead_lettered") ? all : undefined;
      },
      60_000,
    );

    const listed = await dlq("list", "--json");
    const onQueue = (JSON.parse(listed) as { data: { delivery_id?: string }[] }).data.map(
      (m) => m.delivery_id,
    );
    expect(onQueue).toEqual(expect.arrayContaining(dead.map((d) => d.id)));

    receiver.status = 200;
    const output = await dlq("redrive");
    expect(output).toMatch(/^redrove \d+ dead-lettered deliveries on the local stack/);
    const delivered = await eventually("the redriven deliveries to be delivered", async () => {
      const all = await deliveriesOf(webhook.id);
      return all.every((d) => d.status === "delivered") ? all : undefined;
    });
    expect(delivered.map((d) => d.attempt_count)).toEqual([3, 3]);
    for (const { id } of dead) expect(receiver.attemptsOf(id)).toHaveLength(3);
    const after = JSON.parse(await dlq("list", "--json")) as { data: { delivery_id?: string }[] };
    expect(after.data.map((m) => m.delivery_id)).not.toEqual(expect.arrayContaining([dead[0]?.id]));
  });

  it("refuses a webhook's own retry schedule beyond 15 entries or 3 days", async () => {
    receiver = await Receiver.start();
    const tooMany = await refused(
      api().POST("/v1/webhooks", {
        body: { url: receiver.url, event_types: ["*"], retry_schedule_seconds: Array(16).fill(1) },
      }),
      400,
    );
    expect(tooMany.details[0]?.path).toBe("retry_schedule_seconds");
    const tooLong = await refused(
      api().POST("/v1/webhooks", {
        body: { url: receiver.url, event_types: ["*"], retry_schedule_seconds: [86_400, 86_400, 86_401] },
      }),
      400,
    );
    expect(tooLong.message).toMatch(/retry_schedule_seconds|schedule/);
  });

  it("fails at once on a 4xx, without retrying", async () => {
    receiver = await Receiver.start();
    receiver.status = 422;
    const webhook = await webhookFor(receiver);
    await publish();
    const done = await terminalDelivery(webhook.id);
    expect(done).toMatchObject({ status: "failed", attempt_count: 1, last_status_code: 422 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(receiver.requests).toHaveLength(1);
  });

  it("deactivates the webhook when its endpoint answers 410 Gone", async () => {
    receiver = await Receiver.start();
    receiver.status = 410;
    const webhook = await webhookFor(receiver, ["concept.discovered"]);
    await publish("concept.discovered");
    expect(await terminalDelivery(webhook.id)).toMatchObject({ status: "failed", attempt_count: 1 });
    expect(await shown(webhook.id)).toMatchObject({
      active: false,
      disabled_reason: "endpoint answered 410 Gone",
    });
    const next = await answered(
      api().POST("/v1/events", { body: { type: "concept.discovered", data: {} } }),
      202,
    );
    expect(next.deliveries).toBe(0);
  });

  it("honours Retry-After on a 429 instead of its own, longer delay", async () => {
    receiver = await Receiver.start();
    receiver.behave = (_request, previous) =>
      previous === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 };
    const webhook = await webhookFor(receiver, ["memory.created"], { retry_schedule_seconds: [20, 20] });
    await publish();
    const done = await terminalDelivery(webhook.id);
    expect(done).toMatchObject({ status: "delivered", attempt_count: 2 });
    const [gap] = gapsSeconds(receiver.attemptsOf(done.id).map((a) => a.receivedAt));
    expect(gap).toBeGreaterThanOrEqual(0.7);
    expect(gap).toBeLessThan(10);
  });

  it("retries dropped connections and timeouts", async () => {
    receiver = await Receiver.start();
    receiver.behave = (_request, previous) =>
      previous === 0 ? "reset" : previous === 1 ? "hang" : { status: 204 };
    const webhook = await webhookFor(receiver);
    await publish();
    const done = await terminalDelivery(webhook.id);
    expect(done).toMatchObject({ status: "delivered", attempt_count: 3, last_status_code: 204 });
    const recorded = await delivery(webhook.id, done.id);
    expect(recorded.attempts[0]?.error).toMatch(/reset|socket hang up/);
    expect(recorded.attempts[1]?.error).toMatch(/timed out/);
  });
});

describe("circuit breaker", () => {
  it("opens after 5 failures, sends nothing while open, probes once per cooldown, and releases every waiting delivery", async () => {
    receiver = await Receiver.start();
    receiver.status = 500;
    // A longer schedule than the stack's, so the first delivery outlives the failing probes it serves as.
    const webhook = await webhookFor(receiver, ["sync.*"], {
      retry_schedule_seconds: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    });
    await publish("sync.failed", { n: 0 });

    const opened = await eventually(
      "the circuit to open",
      async () => {
        const current = await shown(webhook.id);
        return current.circuit_state === "open" ? current : undefined;
      },
      30_000,
    );
    expect(receiver.requests).toHaveLength(5);
    const openedAt = Date.parse(opened.circuit_opened_at ?? "");

    // Deliveries published while the circuit is open wait for it, without a request.
    for (let n = 1; n <= 12; n += 1) await publish("sync.completed", { n });
    await eventually("12 more deliveries to be recorded", async () =>
      (await deliveriesOf(webhook.id)).length === 13 ? true : undefined,
    );

    // The first probe comes after the cooldown, alone: the 12 parked deliveries and the retrying one wait.
    const firstProbe = await eventually("the first probe", () => receiver.requests[5], 20_000);
    expect(firstProbe.receivedAt).toBeGreaterThanOrEqual(openedAt + COOLDOWN_MS - 250);
    const secondProbe = await eventually("the second probe", () => receiver.requests[6], 20_000);
    expect(secondProbe.receivedAt - firstProbe.receivedAt).toBeGreaterThanOrEqual(COOLDOWN_MS - 250);
    expect(receiver.requests.filter((r) => r.receivedAt < secondProbe.receivedAt)).toHaveLength(6);

    // The endpoint recovers: the next probe closes the circuit and every waiting delivery goes out.
    receiver.status = 200;
    const all = await eventually(
      "every delivery to be delivered",
      async () => {
        const deliveries = await deliveriesOf(webhook.id);
        return deliveries.every((d) => d.status === "delivered") ? deliveries : undefined;
      },
      60_000,
    );
    expect(all).toHaveLength(13);
    // 5 failures, 2 failed probes, 1 successful probe, then the 12 released deliveries: nothing more.
    expect(receiver.requests).toHaveLength(20);
    expect(await shown(webhook.id)).toMatchObject({ circuit_state: "closed", circuit_opened_at: null });
    // Parked deliveries kept their attempt count: the wait was not an attempt.
    const parkedOnes = all.filter((d) => d.attempt_count === 1);
    expect(parkedOnes.length).toBeGreaterThanOrEqual(11);
  });
});
