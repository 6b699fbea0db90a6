import { describe, expect, it } from "vitest";
import { type AttemptDeps, attemptDelivery, type OutboundRequest } from "../../functions/domain/deliver.ts";
import type { DeliveryMessage, Webhook } from "../../functions/domain/model.ts";
import { sign } from "../../functions/domain/signing.ts";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const hook: Webhook = {
  id: "wh_1",
  tenantId: "t1",
  url: "https://example.com/hook",
  eventTypes: ["*"],
  description: "",
  active: true,
  secret,
  createdAt: "",
  updatedAt: "",
};
const message: DeliveryMessage = {
  tenantId: "t1",
  webhookId: "wh_1",
  deliveryId: "msg_1",
  eventId: "evt_1",
  eventType: "memory.created",
  acceptedAt: "2026-01-01T00:00:00.000Z",
  payload: '{"id":"evt_1"}',
};

function deps(overrides: Partial<AttemptDeps> = {}): AttemptDeps & { sent: OutboundRequest[] } {
  const sent: OutboundRequest[] = [];
  return {
    sent,
    webhook: async () => hook,
    eventPayload: async () => '{"id":"evt_1","from":"store"}',
    send: async (request) => {
      sent.push(request);
      return { statusCode: 200, responseBody: "ok", durationMs: 12 };
    },
    now: () => new Date(1614265330_000),
    timeoutMs: 10_000,
    userAgent: "Hookline/1.2.3",
    ...overrides,
  };
}

describe("attemptDelivery", () => {
  it("POSTs the payload with Standard Webhooks headers and reports success", async () => {
    const d = deps();
    const outcome = await attemptDelivery(d, message);
    expect(outcome).toMatchObject({ status: "delivered", attempted: true, statusCode: 200, durationMs: 12 });
    expect(d.sent[0]?.headers).toEqual({
      "content-type": "application/json",
      "user-agent": "Hookline/1.2.3",
      "webhook-id": "msg_1",
      "webhook-timestamp": "1614265330",
      "webhook-signature": sign(secret, "msg_1", 1614265330, message.payload ?? ""),
    });
    expect(d.sent[0]?.body).toBe(message.payload);
  });

  it("reads the payload from the event when the message does not carry it", async () => {
    const d = deps();
    const { payload: _omitted, ...withoutPayload } = message;
    await attemptDelivery(d, withoutPayload);
    expect(d.sent[0]?.body).toBe('{"id":"evt_1","from":"store"}');
  });

  it.each([301, 308, 400, 404, 500, 503])("counts HTTP %i as a failure", async (statusCode) => {
    const outcome = await attemptDelivery(
      deps({ send: async () => ({ statusCode, responseBody: "", durationMs: 1 }) }),
      message,
    );
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toContain(String(statusCode));
  });

  it("records a network error without a status code", async () => {
    const outcome = await attemptDelivery(
      deps({ send: async () => ({ responseBody: "", durationMs: 5, error: "connection refused" }) }),
      message,
    );
    expect(outcome).toMatchObject({ status: "failed", attempted: true, error: "connection refused" });
    expect(outcome.statusCode).toBeUndefined();
  });

  it("sends nothing to a deleted or disabled webhook", async () => {
    const gone = deps({ webhook: async () => undefined });
    expect(await attemptDelivery(gone, message)).toMatchObject({
      status: "failed",
      attempted: false,
      error: "webhook_deleted",
    });
    const disabled = deps({ webhook: async () => ({ ...hook, active: false }) });
    expect(await attemptDelivery(disabled, message)).toMatchObject({ error: "webhook_disabled" });
    expect(gone.sent).toHaveLength(0);
    expect(disabled.sent).toHaveLength(0);
  });
});
