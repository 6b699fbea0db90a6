import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answered, api, newTenant, useApiKey, webhookPath } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

let first: Receiver;
let second: Receiver;

beforeAll(async () => {
  [first, second] = await Promise.all([Receiver.start(), Receiver.start()]);
  useApiKey((await newTenant("sent-request")).apiKey);
});
afterAll(async () => {
  await Promise.all([first.stop(), second.stop()]);
});

async function detail(webhookId: string, deliveryId: string) {
  return answered(
    api().GET("/v1/webhooks/{webhookId}/deliveries/{deliveryId}", {
      params: { path: { webhookId, deliveryId } },
    }),
    200,
  );
}

describe("a delivery's request as sent", () => {
  it("shows what the receiver got, signature masked, and where each attempt went across a change of URL", async () => {
    // Prepare: the first endpoint fails every request; the webhook moves to the second after one
    first.status = 500;
    second.status = 200;
    const webhook = await answered(
      api().POST("/v1/webhooks", {
        body: { url: first.url, event_types: ["memory.created"], headers: { "X-Team": "blue" } },
      }),
      201,
    );
    const published = await answered(
      api().POST("/v1/events", {
        body: {
          type: "memory.created",
          data: { note: "caf\u00e9 \u2603", amount: 12.5, nested: { list: [1, 2] } },
        },
      }),
      202,
    );
    const eventId = published.id;
    const firstTry = await eventually("the first attempt at the first endpoint", () =>
      first.requests.find((request) => JSON.parse(request.rawBody).id === eventId),
    );
    const deliveryId = String(firstTry.headers["webhook-id"]);
    await answered(
      api().PATCH("/v1/webhooks/{webhookId}", {
        ...webhookPath(webhook.id),
        body: { url: second.url, headers: { "X-Team": "red" } },
      }),
      200,
    );

    // Act: wait for the retry at the second endpoint to be recorded
    const received = await eventually(
      "the delivery at the second endpoint",
      () => second.attemptsOf(deliveryId)[0],
    );
    const shown = await eventually("the delivery recorded as delivered", async () => {
      const current = await detail(webhook.id, deliveryId);
      return current.status === "delivered" ? current : undefined;
    });

    // Assess: the latest attempt's request is the one the second endpoint got, byte for byte
    const request = shown.request;
    if (request === null) throw new Error("a delivered delivery shows no request");
    expect(request.method).toBe("POST");
    expect(request.url).toBe(second.url);
    expect(request.body).toBe(received.rawBody);
    expect(request.headers["X-Team"]).toBe("red");
    expect(received.headers["x-team"]).toBe("red");
    for (const name of ["content-type", "user-agent", "webhook-id", "webhook-timestamp"]) {
      expect(request.headers[name], name).toBe(received.headers[name]);
    }
    // The signature is masked: neither it nor the secret appears anywhere in the answer.
    expect(request.headers["webhook-signature"]).toMatch(/^v1,\*\*\*\*( v1,\*\*\*\*)?$/);
    const answer = JSON.stringify(shown);
    expect(answer).not.toContain(String(received.headers["webhook-signature"]).slice(3));
    expect(answer).not.toContain(webhook.secret.slice("whsec_".length));
    // Attempts made before the change name the endpoint they went to; the latest names none.
    const failed = shown.attempts.filter((attempt) => attempt.status_code === 500);
    expect(failed.length).toBeGreaterThan(0);
    for (const attempt of failed) expect(attempt.url).toBe(first.url);
    expect(shown.attempts.at(-1)).not.toHaveProperty("url");

    // And once the webhook is deleted, its delivery still shows what was sent.
    expect((await api().DELETE("/v1/webhooks/{webhookId}", webhookPath(webhook.id))).response.status).toBe(
      204,
    );
    const afterDeletion = await detail(webhook.id, deliveryId);
    expect(afterDeletion.request).toEqual(request);
  });
});
