/**
 * Fairness: nothing one tenant or one endpoint does takes everyone's capacity. The stack runs with low
 * limits so that a test can reach them (the local stack answers only a few publishes a second): 2
 * events/s per tenant in bursts of 60, 3 webhooks per tenant, 2 deliveries in flight per webhook, and a
 * 10 s attempt timeout so that a 5 s receiver succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answered, api, newTenant, reply } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";
import { type RunningStack, startStack } from "../support/start-stack.ts";
import { E2E_STACK_ENV } from "./global-setup.ts";

const FAIR_STACK_ENV = {
  ...E2E_STACK_ENV,
  HOOKLINE_DELIVERY_TIMEOUT: "10",
  HOOKLINE_TENANT_PUBLISH_RATE: "2",
  HOOKLINE_TENANT_PUBLISH_BURST: "60",
  HOOKLINE_TENANT_MAX_WEBHOOKS: "3",
  HOOKLINE_WEBHOOK_MAX_IN_FLIGHT: "2",
};

let stack: RunningStack;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack({ name: "fairness", env: FAIR_STACK_ENV });
}, 180_000);

afterAll(async () => {
  await stack?.stop("SIGTERM");
  await Promise.all(receivers.map((receiver) => receiver.stop()));
});

async function tenant(prefix: string) {
  const { apiKey } = await newTenant(prefix, stack.info);
  return api({ stack: stack.info, apiKey });
}

async function receiver(): Promise<Receiver> {
  const started = await Receiver.start();
  receivers.push(started);
  return started;
}

describe("the cap on a webhook's deliveries in flight", () => {
  it("lets a fast endpoint's deliveries through while a slow endpoint's backlog waits its turn", {
    timeout: 120_000,
  }, async () => {
    const hookline = await tenant("in-flight");
    const publish = (type: string, data: Record<string, unknown>) =>
      answered(hookline.POST("/v1/events", { body: { type, data } }), 202);
    const slow = await receiver();
    slow.behave = () => ({ status: 200, delayMs: 5_000 });
    const fast = await receiver();
    for (const [target, type] of [
      [slow, "memory.created"],
      [fast, "sync.completed"],
    ] as const) {
      await answered(hookline.POST("/v1/webhooks", { body: { url: target.url, event_types: [type] } }), 201);
    }

    // The slow endpoint's backlog first, more than the local stack's delivery concurrency (4 × 10)...
    const SLOW_EVENTS = 50;
    for (let offset = 0; offset < SLOW_EVENTS; offset += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, n) => publish("memory.created", { n: offset + n })));
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    // ...then the fast endpoint's deliveries, queued behind it.
    const FAST_EVENTS = 10;
    for (let n = 0; n < FAST_EVENTS; n += 1) {
      await publish("sync.completed", { n });
    }

    await eventually(
      "every fast delivery to arrive",
      () => (fast.requests.length >= FAST_EVENTS ? true : undefined),
      60_000,
    );
    const slowStarted = slow.requests.length;
    // Without the cap the whole backlog would be taken at once and the fast deliveries would wait for
    // it; with it the slow endpoint has had only a few of its deliveries started.
    expect(slowStarted).toBeLessThan(SLOW_EVENTS / 2);
    expect(slowStarted).toBeGreaterThan(0);
    // And the slow endpoint is never sent more than its cap at once.
    const overlaps = slow.requests.map(
      (request) =>
        slow.requests.filter(
          (other) => other.receivedAt <= request.receivedAt && other.receivedAt > request.receivedAt - 4_500,
        ).length,
    );
    expect(Math.max(...overlaps)).toBeLessThanOrEqual(2);
  });
});

describe("a tenant's publish rate", () => {
  it("answers 429 with Retry-After in the error shape above the burst, stores nothing refused, and admits again after the wait", {
    timeout: 60_000,
  }, async () => {
    const hookline = await tenant("publish-rate");
    const publish = (data: Record<string, unknown>) =>
      reply(hookline.POST("/v1/events", { body: { type: "sync.completed", data } }));
    const responses: Awaited<ReturnType<typeof publish>>[] = [];
    for (let round = 0; round < 6; round += 1) {
      responses.push(...(await Promise.all(Array.from({ length: 20 }, (_, n) => publish({ round, n })))));
    }
    const accepted = responses.filter((response) => response.status === 202);
    const refused = responses.filter((response) => response.status === 429);
    expect(accepted.length + refused.length).toBe(responses.length);
    expect(accepted.length).toBeGreaterThanOrEqual(60);
    expect(refused.length).toBeGreaterThan(0);
    const [first] = refused;
    expect(first?.body).toEqual({
      error: { code: "rate_limited", message: expect.stringContaining("faster than its limit"), details: [] },
    });
    const wait = Number(first?.headers.get("retry-after"));
    expect(wait).toBeGreaterThanOrEqual(1);

    let stored = 0;
    for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
      const query: { cursor?: string } = cursor === null ? {} : { cursor };
      const page = await answered(hookline.GET("/v1/events", { params: { query } }), 200);
      stored += page.data.length;
      cursor = page.next_cursor;
    }
    expect(stored).toBe(accepted.length);

    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    expect((await publish({ after: true })).status).toBe(202);
  });
});

describe("a tenant's webhook limit", () => {
  it("answers 422 with a clear message for one webhook too many, and counts a deleted one out", async () => {
    const hookline = await tenant("webhook-limit");
    const target = await receiver();
    const create = () =>
      hookline.POST("/v1/webhooks", { body: { url: target.url, event_types: ["sync.completed"] } });
    const ids: string[] = [];
    for (let n = 0; n < 3; n += 1) ids.push((await answered(create(), 201)).id);
    const refused = await reply(create());
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({
      error: {
        code: "limit_exceeded",
        message: "this tenant has 3 webhooks, as many as it may have; delete one to register another",
        details: [],
      },
    });
    expect((await answered(hookline.GET("/v1/webhooks"), 200)).data).toHaveLength(3);

    const deleted = await hookline.DELETE("/v1/webhooks/{webhookId}", {
      params: { path: { webhookId: ids[0] ?? "" } },
    });
    expect(deleted.response.status).toBe(204);
    expect((await create()).response.status).toBe(201);
  });
});
