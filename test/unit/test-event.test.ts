import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { OutboundRequest, OutboundResult } from "../../functions/domain/deliver.ts";
import { PayloadTooLargeError, ValidationError } from "../../functions/domain/errors.ts";
import { newTestIds } from "../../functions/domain/ids.ts";
import type { Webhook } from "../../functions/domain/model.ts";
import { rotatedSecret } from "../../functions/domain/secret-rotation.ts";
import { sendTestEvent, type TestSendPorts, testEventType } from "../../functions/domain/test-event.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const hook: Webhook = {
  id: "wh_1",
  tenantId: "t1",
  url: "https://example.com/hook",
  eventTypes: ["memory.*", "sync.completed", "user.created"],
  description: "",
  active: false,
  secret,
  createdAt: "",
  updatedAt: "",
  headers: { "X-Team": "search" },
  circuit: { state: "open", consecutiveFailures: 9, openedAt: "2026-11-25T10:00:00.000Z", version: 3 },
};

function ports(answer: OutboundResult = { statusCode: 200, responseBody: "ok", durationMs: 7 }) {
  const sent: OutboundRequest[] = [];
  const p: TestSendPorts = {
    catalogue: DEFAULT_EVENT_TYPES,
    send: async (request) => {
      sent.push(request);
      return answer;
    },
    // standardwebhooks checks the timestamp against the clock.
    now: () => new Date(),
    newIds: newTestIds,
    userAgent: "Hookline/test",
    timeoutMs: 10_000,
    maxTimeoutMs: 20_000,
  };
  return { p, sent };
}

describe("the type of a test event", () => {
  it("is the one asked for, which must be in the catalogue", () => {
    expect(testEventType(DEFAULT_EVENT_TYPES, hook.eventTypes, "quota.warning")).toBe("quota.warning");
    expect(() => testEventType(DEFAULT_EVENT_TYPES, hook.eventTypes, "memory.exploded")).toThrow(
      ValidationError,
    );
    // A pattern is no event type: a test event has one concrete type.
    expect(() => testEventType(DEFAULT_EVENT_TYPES, hook.eventTypes, "memory.*")).toThrow(
      expect.objectContaining({ details: [{ path: "event_type", message: expect.any(String) }] }),
    );
  });

  it("is by default the first subscription that is a plain name, else the catalogue's first", () => {
    expect(testEventType(DEFAULT_EVENT_TYPES, hook.eventTypes)).toBe("sync.completed");
    expect(testEventType(DEFAULT_EVENT_TYPES, ["memory.*", "*"])).toBe(DEFAULT_EVENT_TYPES[0]?.name);
  });
});

describe("sendTestEvent", () => {
  it("sends a type without a schema a sample naming the type", async () => {
    const { p, sent } = ports();
    const catalogue = [{ name: "order.paid", description: "An order was paid." }];
    await sendTestEvent({ ...p, catalogue }, { ...hook, eventTypes: ["order.paid"] }, {});
    expect(JSON.parse(sent[0]?.body ?? "{}").data).toEqual({
      test: true,
      message: "An example order.paid event: An order was paid.",
    });
  });

  it("sends a signed evt_test_/msg_test_ event with the webhook's headers, even to an inactive webhook", async () => {
    const { p, sent } = ports();
    const result = await sendTestEvent(p, hook, {});
    expect(result).toEqual({ success: true, statusCode: 200, durationMs: 7, responseBody: "ok" });
    const [request] = sent;
    if (!request) throw new Error("nothing sent");
    expect(request.url).toBe(hook.url);
    expect(request.headers["X-Team"]).toBe("search");
    expect(request.headers["webhook-id"]).toMatch(/^msg_test_[0-9A-Z]{26}$/);
    const payload = new StandardWebhook(secret).verify(request.body, request.headers) as Record<
      string,
      unknown
    >;
    expect(payload).toEqual({
      id: String(request.headers["webhook-id"]).replace("msg_test_", "evt_test_"),
      type: "sync.completed",
      timestamp: expect.any(String),
      // The type's example, from its schema's `examples`.
      data: { sync_id: "sync_123", items_synced: 150, duration_ms: 2500, sync_type: "full" },
    });
    expect(request.timeoutMs).toBe(10_000);
  });

  it("sends the type and data asked for, and signs with both secrets during a rotation's overlap", async () => {
    const { p, sent } = ports();
    const rotated = rotatedSecret(
      hook,
      "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      new Date(),
      3600,
    );
    await sendTestEvent(p, rotated, { eventType: "memory.deleted", data: { memory_id: "m-1" } });
    const [request] = sent;
    if (!request) throw new Error("nothing sent");
    expect(JSON.parse(request.body)).toMatchObject({ type: "memory.deleted", data: { memory_id: "m-1" } });
    expect(String(request.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(() => new StandardWebhook(secret).verify(request.body, request.headers)).not.toThrow();
  });

  it("waits the webhook's own timeout, capped for a request that answers inside an API call", async () => {
    const { p, sent } = ports();
    await sendTestEvent(p, { ...hook, timeoutSeconds: 5 }, {});
    await sendTestEvent(p, { ...hook, timeoutSeconds: 30 }, {});
    expect(sent.map((request) => request.timeoutMs)).toEqual([5_000, 20_000]);
  });

  it("reports non-2xx answers and connection errors as failures", async () => {
    expect(
      await sendTestEvent(ports({ statusCode: 500, responseBody: "no", durationMs: 3 }).p, hook, {}),
    ).toEqual({
      success: false,
      statusCode: 500,
      durationMs: 3,
      responseBody: "no",
      error: "receiver answered HTTP 500",
    });
    const redirect = await sendTestEvent(
      ports({ statusCode: 308, responseBody: "", durationMs: 1 }).p,
      hook,
      {},
    );
    expect(redirect.success).toBe(false);
    expect(
      await sendTestEvent(
        ports({ responseBody: "", durationMs: 2, error: "connection refused" }).p,
        hook,
        {},
      ),
    ).toEqual({ success: false, durationMs: 2, responseBody: "", error: "connection refused" });
  });

  it("answers a request that cannot be built or sent as a failure, never by throwing", async () => {
    const { p, sent } = ports();
    const stale = await sendTestEvent(p, { ...hook, headers: { "X-Team": "東京" } }, {});
    expect(stale).toEqual({
      success: false,
      durationMs: 0,
      responseBody: "",
      error: expect.stringContaining("headers.X-Team"),
    });
    expect(sent).toEqual([]);

    const throwing: TestSendPorts = {
      ...p,
      send: async () => {
        throw new Error("socket hang up");
      },
    };
    expect(await sendTestEvent(throwing, hook, {})).toEqual({
      success: false,
      durationMs: 0,
      responseBody: "",
      error: "the request could not be sent: socket hang up",
    });
  });

  it("refuses data that makes the event larger than a published one may be", async () => {
    const { p, sent } = ports();
    await expect(sendTestEvent(p, hook, { data: { big: "x".repeat(300 * 1024) } })).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
    expect(sent).toEqual([]);
  });
});
