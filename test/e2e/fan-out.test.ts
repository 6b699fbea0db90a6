/**
 * Fan-out at scale: one event to a tenant with 1,000 subscribed webhooks reaches every one of them,
 * the fan-out split across invocations a page of subscribers at a time.
 */
import { beforeAll, expect, it } from "vitest";
import { answered, api, newTenant, useApiKey } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

const WEBHOOKS = 1_000;

let receiver: Receiver;
beforeAll(async () => {
  useApiKey((await newTenant("fan-out")).apiKey);
  receiver = await Receiver.start();
  return () => receiver.stop();
});

it(`delivers one event to all ${WEBHOOKS} webhooks of a tenant`, { timeout: 300_000 }, async () => {
  const ids: string[] = [];
  for (let offset = 0; offset < WEBHOOKS; offset += 25) {
    const created = await Promise.all(
      Array.from({ length: Math.min(25, WEBHOOKS - offset) }, (_, index) =>
        answered(
          api().POST("/v1/webhooks", {
            body: { url: `${receiver.url}/${offset + index}`, event_types: ["session.started"] },
          }),
          201,
        ),
      ),
    );
    ids.push(...created.map((webhook) => webhook.id));
  }

  const started = Date.now();
  const published = await answered(
    api().POST("/v1/events", { body: { type: "session.started", data: { big: true } } }),
    202,
  );
  // The first page goes out with the publish; the rest follows in later invocations.
  expect(published).toMatchObject({ fan_out_complete: false });
  expect(published.deliveries).toBeLessThan(WEBHOOKS);

  await eventually(
    `all ${WEBHOOKS} deliveries to arrive`,
    () => (receiver.requests.length >= WEBHOOKS ? true : undefined),
    240_000,
  );
  const tookMs = Date.now() - started;
  console.log(`fan-out: 1 event to ${WEBHOOKS} webhooks delivered in ${tookMs} ms`);
  const paths = new Set(receiver.requests.map((request) => request.path));
  expect(paths.size).toBe(WEBHOOKS);
  expect(new Set(receiver.requests.map((request) => request.headers["webhook-id"])).size).toBe(WEBHOOKS);
  expect(receiver.requests.every((request) => JSON.parse(request.rawBody).id === published.id)).toBe(true);
});
