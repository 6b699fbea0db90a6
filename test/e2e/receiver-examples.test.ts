import { beforeAll, describe, expect, it } from "vitest";
import { freePort, receiverExamples, startExample } from "../support/examples.ts";
import { answered, api, newTenant, useApiKey } from "../support/local-stack.ts";
import { eventually } from "../support/receiver.ts";

beforeAll(async () => {
  const tenant = await newTenant("receiver-examples");
  useApiKey(tenant.apiKey);
});

// Each example gets its own event type, so that one example never sees the other's event.
const eventTypes = { node: "memory.created", python: "session.started" } as const;

describe.each(receiverExamples)("examples/$name against the local stack", (example) => {
  it("verifies a real delivery and answers 2xx, and the delivery is recorded as delivered", async () => {
    const port = await freePort();
    const webhook = await answered(
      api().POST("/v1/webhooks", {
        body: {
          url: `http://127.0.0.1:${port}/hooks`,
          event_types: [eventTypes[example.name]],
          description: `examples/${example.name}`,
        },
      }),
      201,
    );

    const running = await startExample(example, { port, secret: webhook.secret });
    try {
      const published = await answered(
        api().POST("/v1/events", {
          body: { type: eventTypes[example.name], data: { from: example.name, text: "héllo ✓" } },
        }),
        202,
      );
      expect(published).toMatchObject({ deliveries: 1 });
      const eventId = published.id;

      const line = await eventually(`the ${example.name} example to print the verified event`, () => {
        if (/rejected \(40[01]\)/.test(running.stderr)) {
          throw new Error(`the ${example.name} example rejected the delivery:\n${running.stderr}`);
        }
        return running.lines().find((printed) => printed.includes(eventId));
      });
      expect(line).toMatch(
        new RegExp(`^verified ${eventTypes[example.name]} event ${eventId} \\(webhook-id msg_\\w+\\)$`),
      );

      const delivery = await eventually("the delivery to be recorded as delivered", async () => {
        const page = await answered(
          api().GET("/v1/webhooks/{webhookId}/deliveries", { params: { path: { webhookId: webhook.id } } }),
          200,
        );
        return page.data.find((d) => d.event_id === eventId && d.status !== "pending");
      });
      expect(delivery).toMatchObject({ event_id: eventId, status: "delivered", attempt_count: 1 });
      expect(delivery.last_status_code).toBeGreaterThanOrEqual(200);
      expect(delivery.last_status_code).toBeLessThan(300);
      expect(line).toContain(`(webhook-id ${delivery.id})`);
      expect(running.stderr).not.toMatch(/rejected \(40[01]\)/); // the readiness probe's GET may be a 405
    } finally {
      await running.stop();
    }
  });
});
