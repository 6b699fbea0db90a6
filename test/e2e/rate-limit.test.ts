/**
 * rate_limit_per_second is enforced on the delivery path: a burst far above the limit is spread out so
 * that the receiver never gets more requests in any one second than the webhook allows, and nothing
 * is dropped.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { callApi, newTenant, useApiKey } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

const LIMIT = 20;
const BURST = 200;

let receiver: Receiver;
beforeAll(async () => {
  useApiKey((await newTenant("rate-limit")).apiKey);
  receiver = await Receiver.start();
});
afterAll(async () => {
  await receiver.stop();
});

/** The most requests that arrived within any one-second window. */
function busiestSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; start < sorted.length; start += 1) {
    while (end < sorted.length && (sorted[end] ?? 0) < (sorted[start] ?? 0) + 1000) end += 1;
    most = Math.max(most, end - start);
  }
  return most;
}

it(`spreads a burst of ${BURST} events to a webhook limited to ${LIMIT}/s, dropping none`, {
  timeout: 180_000,
}, async () => {
  const created = await callApi("POST", "/v1/webhooks", {
    body: { url: receiver.url, event_types: ["memory.updated"], rate_limit_per_second: LIMIT },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.rate_limit_per_second).toBe(LIMIT);

  for (let offset = 0; offset < BURST; offset += 25) {
    const published = await Promise.all(
      Array.from({ length: 25 }, (_, index) =>
        callApi("POST", "/v1/events", { body: { type: "memory.updated", data: { n: offset + index } } }),
      ),
    );
    for (const response of published) expect(response.status).toBe(202);
  }
  await eventually(
    "every delivery to arrive",
    () => (receiver.requests.length >= BURST ? true : undefined),
    120_000,
  );

  const times = receiver.requests.map((request) => request.receivedAt);
  // When Hookline sent each one, as its attempt records it: the limit holds there too, whatever the way
  // to the receiver added.
  const sentTimes = await Promise.all(
    receiver.requests.map(async (request) => {
      const path = `/v1/webhooks/${created.body.id}/deliveries/${request.headers["webhook-id"]}`;
      const detail = await callApi("GET", path);
      return Date.parse(detail.body.attempts[0].at);
    }),
  );
  const spreadMs = Math.max(...times) - Math.min(...times);
  console.log(
    `rate limit: ${BURST} deliveries at ${LIMIT}/s took ${spreadMs} ms; busiest second held ${busiestSecond(times)} at the receiver, ${busiestSecond(sentTimes)} as sent`,
  );
  expect(busiestSecond(sentTimes)).toBeLessThanOrEqual(LIMIT);
  expect(busiestSecond(times)).toBeLessThanOrEqual(LIMIT);
  expect(new Set(receiver.requests.map((request) => request.headers["webhook-id"])).size).toBe(BURST);
  const delivered = await callApi(
    "GET",
    `/v1/webhooks/${created.body.id}/deliveries?status=delivered&limit=100`,
  );
  expect(delivered.body.data.length).toBe(100);
  // The waits were not attempts: every delivery went out once.
  expect(
    delivered.body.data.every((delivery: { attempt_count: number }) => delivery.attempt_count === 1),
  ).toBe(true);
});
