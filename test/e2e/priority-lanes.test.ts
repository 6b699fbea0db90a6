/**
 * Priority lanes: with thousands of ordinary deliveries queued behind a slow receiver, a high-priority
 * event still reaches its endpoint at once. Runs on its own stack, so the backlog it builds cannot
 * slow the other end-to-end tests.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { answered, api, newTenant } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";
import { type RunningStack, startStack } from "../support/start-stack.ts";
import { E2E_STACK_ENV } from "./global-setup.ts";

const ORDINARY_EVENTS = 2_000;

let running: RunningStack | undefined;
let slow: Receiver | undefined;
let urgent: Receiver | undefined;

beforeAll(async () => {
  // Attempts may take 30 s here, so that the slow receiver below keeps its deliveries in flight.
  running = await startStack({
    name: "priority",
    env: { ...E2E_STACK_ENV, HOOKLINE_DELIVERY_TIMEOUT: "30" },
  });
});
afterAll(async () => {
  await running?.stop("SIGTERM");
  await Promise.all([slow?.stop(), urgent?.stop()]);
});

it(`delivers a quota.warning within 2 s while ${ORDINARY_EVENTS} ordinary events wait for a slow receiver`, {
  timeout: 300_000,
}, async () => {
  if (!running) throw new Error("the stack did not start");
  const stack = running.info;
  const { apiKey } = await newTenant("priority", stack);
  const hookline = api({ stack, apiKey });
  const publish = (type: string, data: Record<string, unknown>) =>
    answered(hookline.POST("/v1/events", { body: { type, data } }), 202);
  const create = (url: string, eventTypes: string[]) =>
    answered(hookline.POST("/v1/webhooks", { body: { url, event_types: eventTypes } }), 201);

  slow = await Receiver.start();
  // Each ordinary request takes 20 s: the ordinary lane drains about two a second.
  slow.behave = () => ({ status: 200, delayMs: 20_000 });
  urgent = await Receiver.start();
  await create(slow.url, ["memory.created"]);
  await create(urgent.url, ["quota.warning"]);
  // The priority lane's function starts cold on its first message; the first one is sent before the
  // backlog, so the figure below is the lane's queueing under load, not a cold start on a busy machine.
  await publish("quota.warning", { used: 0.5 });
  await eventually("the warm-up quota.warning to arrive", () => urgent?.requests[0], 60_000);

  for (let offset = 0; offset < ORDINARY_EVENTS; offset += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, ORDINARY_EVENTS - offset) }, (_, index) =>
        publish("memory.created", { n: offset + index }),
      ),
    );
  }
  // The backlog is real: most ordinary deliveries are still waiting.
  expect(slow.requests.length).toBeLessThan(ORDINARY_EVENTS / 2);

  const published = await publish("quota.warning", { used: 0.95 });
  const acceptedAt = Date.now();
  const request = await eventually("the quota.warning to arrive", () => urgent?.requests[1], 30_000);
  const waitedMs = request.receivedAt - acceptedAt;
  console.log(
    `priority lane: quota.warning arrived ${waitedMs} ms after its 202, with ${ORDINARY_EVENTS - slow.requests.length} ordinary deliveries still queued`,
  );
  expect(JSON.parse(request.rawBody)).toMatchObject({ id: published.id, type: "quota.warning" });
  expect(waitedMs).toBeLessThanOrEqual(2_000);
  expect(slow.requests.length).toBeLessThan(ORDINARY_EVENTS);
});
