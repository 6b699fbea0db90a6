/**
 * A fan-out longer than Lambda's recursive loop limit: with 10 webhooks a page, one event to 200 webhooks
 * is handed on through the delivery queue 19 times after its first page, past the 16 invocations at which
 * Lambda stops an SQS → Lambda chain. The stack models that limit (loop detection on), so every receiver
 * getting its delivery shows that the delivery function's `RecursiveLoop: Allow` carries the chain through.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { answered, api, newTenant } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";
import { type RunningStack, startStack } from "../support/start-stack.ts";
import { E2E_STACK_ENV } from "./global-setup.ts";

const PAGE_SIZE = 10;
const WEBHOOKS = 200;

let stack: RunningStack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack({
    name: "long-fan-out",
    env: { ...E2E_STACK_ENV, HOOKLINE_FANOUT_PAGE_SIZE: String(PAGE_SIZE) },
  });
  receiver = await Receiver.start();
}, 180_000);

afterAll(async () => {
  await stack?.stop("SIGTERM");
  await receiver?.stop();
});

it(`delivers one event to all ${WEBHOOKS} webhooks, ${WEBHOOKS / PAGE_SIZE} pages of ${PAGE_SIZE}, each exactly once`, {
  timeout: 300_000,
}, async () => {
  const { apiKey } = await newTenant("long-fan-out", stack.info);
  const hookline = api({ stack: stack.info, apiKey });
  for (let offset = 0; offset < WEBHOOKS; offset += 25) {
    await Promise.all(
      Array.from({ length: 25 }, (_, index) =>
        answered(
          hookline.POST("/v1/webhooks", {
            body: { url: `${receiver.url}/${offset + index}`, event_types: ["session.started"] },
          }),
          201,
        ),
      ),
    );
  }

  const published = await answered(
    hookline.POST("/v1/events", { body: { type: "session.started", data: { pages: true } } }),
    202,
  );
  // Only the first page goes out with the publish: the other 19 follow one invocation after another.
  expect(published).toMatchObject({ fan_out_complete: false, deliveries: PAGE_SIZE });

  await eventually(
    `all ${WEBHOOKS} receivers' paths to be called`,
    () => (new Set(receiver.requests.map((request) => request.path)).size >= WEBHOOKS ? true : undefined),
    240_000,
  );
  const callsPerPath = new Map<string, number>();
  for (const request of receiver.requests) {
    expect(JSON.parse(request.rawBody).id).toBe(published.id);
    callsPerPath.set(request.path, (callsPerPath.get(request.path) ?? 0) + 1);
  }
  expect(callsPerPath.size).toBe(WEBHOOKS);
  expect([...callsPerPath].filter(([, calls]) => calls !== 1)).toEqual([]);
  expect(stack.output()).not.toContain("stopped a recursive loop");
});
