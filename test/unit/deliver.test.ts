import { describe, expect, it } from "vitest";
import { type Circuit, CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import {
  type DeliveryPorts,
  deliveryStep,
  type OutboundRequest,
  type OutboundResult,
} from "../../functions/domain/deliver.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import type { Webhook } from "../../functions/domain/model.ts";
import { sign } from "../../functions/domain/signing.ts";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW = new Date(1614265330_000);
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
  circuit: CLOSED_CIRCUIT,
};
const message: DeliveryMessage = {
  tenantId: "t1",
  webhookId: "wh_1",
  deliveryId: "msg_1",
  eventId: "evt_1",
  eventType: "memory.created",
  acceptedAt: "2026-01-01T00:00:00.000Z",
  payload: '{"id":"evt_1"}',
  attempt: 1,
  scheduleStart: 0,
};

function ports(
  overrides: Partial<DeliveryPorts> & { answer?: OutboundResult; webhookValue?: Webhook | undefined } = {},
): DeliveryPorts & { sent: OutboundRequest[]; freshReads: boolean[]; claims: Circuit[] } {
  const sent: OutboundRequest[] = [];
  const freshReads: boolean[] = [];
  const claims: Circuit[] = [];
  const { answer, webhookValue, ...rest } = overrides;
  return {
    sent,
    freshReads,
    claims,
    webhook: async (_tenant, _id, fresh) => {
      freshReads.push(fresh);
      return "webhookValue" in overrides ? webhookValue : hook;
    },
    eventPayload: async () => '{"id":"evt_1","from":"store"}',
    claimProbe: async (_webhook, _from, claim) => {
      claims.push(claim);
      return true;
    },
    olderWaiting: async () => false,
    send: async (request) => {
      sent.push(request);
      return answer ?? { statusCode: 200, responseBody: "ok", durationMs: 12 };
    },
    reserveSlot: async () => NOW.getTime(),
    maxSlotWaitMs: 5_000,
    sleep: async () => {},
    now: () => NOW,
    random: () => 0.5,
    timeoutMs: 10_000,
    userAgent: "Hookline/1.2.3",
    defaultSchedule: [1, 5, 30, 300, 1800],
    circuitPolicy: { failureThreshold: 5, cooldownSeconds: 300 },
    ...rest,
  };
}

describe("deliveryStep", () => {
  it("POSTs the payload with Standard Webhooks headers and reports the delivery", async () => {
    const p = ports();
    const { step } = await deliveryStep(p, message);
    expect(step).toMatchObject({
      kind: "delivered",
      attempt: { attempt: 1, statusCode: 200, durationMs: 12 },
    });
    expect(p.sent[0]?.headers).toEqual({
      "content-type": "application/json",
      "user-agent": "Hookline/1.2.3",
      "webhook-id": "msg_1",
      "webhook-timestamp": "1614265330",
      "webhook-signature": sign(secret, "msg_1", 1614265330, message.payload ?? ""),
    });
    expect(p.sent[0]?.body).toBe(message.payload);
    expect(p.freshReads).toEqual([false]);
  });

  it("reads the payload from the event when the message does not carry it", async () => {
    const p = ports();
    const { payload: _omitted, ...withoutPayload } = message;
    await deliveryStep(p, withoutPayload);
    expect(p.sent[0]?.body).toBe('{"id":"evt_1","from":"store"}');
  });

  it.each([
    [500, "retry"],
    [503, "retry"],
    [429, "retry"],
    [408, "retry"],
    [400, "failed"],
    [404, "failed"],
    [301, "failed"],
    [410, "failed"],
  ])("after HTTP %i the next step is %s", async (statusCode, kind) => {
    const { step } = await deliveryStep(
      ports({ answer: { statusCode, responseBody: "", durationMs: 1 } }),
      message,
    );
    expect(step.kind).toBe(kind);
  });

  it("retries a network error on the schedule, 1 s ± 20 % after the first attempt", async () => {
    const { step } = await deliveryStep(
      ports({
        answer: { responseBody: "", durationMs: 5, error: "connection refused" },
        random: () => 0.999,
      }),
      message,
    );
    expect(step).toMatchObject({ kind: "retry", waitSeconds: 1, attempt: { error: "connection refused" } });
    if (step.kind !== "retry") throw new Error("expected a retry");
    const delayMs = Date.parse(step.nextAttemptAt) - NOW.getTime();
    expect(delayMs).toBeGreaterThanOrEqual(800);
    expect(delayMs).toBeLessThanOrEqual(1200);
  });

  it("dead-letters when the schedule is exhausted, counting from a manual retry's fresh start", async () => {
    const failing = { answer: { statusCode: 500, responseBody: "", durationMs: 1 } };
    expect((await deliveryStep(ports(failing), { ...message, attempt: 6 })).step.kind).toBe("dead_letter");
    expect((await deliveryStep(ports(failing), { ...message, attempt: 7, scheduleStart: 6 })).step.kind).toBe(
      "retry",
    );
  });

  it("honours Retry-After on a 429, capped at the scheduled delay's ceiling", async () => {
    const answer = { statusCode: 429, responseBody: "", durationMs: 1, retryAfter: "20" };
    const { step } = await deliveryStep(ports({ answer }), { ...message, attempt: 3 });
    expect(step).toMatchObject({ kind: "retry", waitSeconds: 20 });
    const capped = await deliveryStep(ports({ answer: { ...answer, retryAfter: "3600" } }), {
      ...message,
      attempt: 2,
    });
    expect(capped.step).toMatchObject({ kind: "retry", waitSeconds: 6 });
  });

  it("sends nothing to a deleted or disabled webhook", async () => {
    const gone = ports({ webhookValue: undefined });
    expect((await deliveryStep(gone, message)).step).toEqual({ kind: "failed", reason: "webhook_deleted" });
    const disabled = ports({ webhookValue: { ...hook, active: false } });
    expect((await deliveryStep(disabled, message)).step).toEqual({
      kind: "failed",
      reason: "webhook_disabled",
    });
    expect(gone.sent).toHaveLength(0);
    expect(disabled.sent).toHaveLength(0);
  });

  it("parks the delivery without an attempt while the circuit is open", async () => {
    const openedAt = new Date(NOW.getTime() - 10_000).toISOString();
    const p = ports({
      webhookValue: { ...hook, circuit: { state: "open", consecutiveFailures: 5, openedAt, version: 3 } },
    });
    const { step } = await deliveryStep(p, { ...message, attempt: 2 });
    expect(step).toEqual({ kind: "parked", until: new Date(Date.parse(openedAt) + 300_000).toISOString() });
    expect(p.sent).toHaveLength(0);
    expect(p.freshReads).toEqual([true]);
  });

  it("probes an open circuit after its cooldown only when it wins the claim", async () => {
    const openedAt = new Date(NOW.getTime() - 301_000).toISOString();
    const open: Circuit = { state: "open", consecutiveFailures: 5, openedAt, version: 3 };
    const winner = ports({ webhookValue: { ...hook, circuit: open } });
    const won = await deliveryStep(winner, message);
    expect(won.wasProbe).toBe(true);
    expect(winner.sent).toHaveLength(1);
    expect(won.circuitChange?.transition).toBe("closed");

    const loser = ports({ webhookValue: { ...hook, circuit: open }, claimProbe: async () => false });
    const lost = await deliveryStep(loser, message);
    expect(lost.step.kind).toBe("parked");
    expect(loser.sent).toHaveLength(0);
  });

  it("takes over a probe claim once the webhook's own probe could no longer be running", async () => {
    // A prober killed mid-probe leaves the circuit half-open. Its claim lasts the webhook's attempt
    // timeout (10 s), a rate limit's wait when it has one (5 s) and the bookkeeping (10 s).
    const halfOpenSince = (seconds: number): Circuit => ({
      state: "half_open",
      consecutiveFailures: 5,
      openedAt: new Date(NOW.getTime() - 400_000).toISOString(),
      probeClaimedAt: new Date(NOW.getTime() - seconds * 1000).toISOString(),
      version: 4,
    });
    const stillRunning = ports({ webhookValue: { ...hook, circuit: halfOpenSince(19) } });
    expect((await deliveryStep(stillRunning, message)).step).toEqual({
      kind: "parked",
      until: new Date(NOW.getTime() + 1_000).toISOString(),
    });
    expect(stillRunning.sent).toHaveLength(0);

    const lapsed = ports({ webhookValue: { ...hook, circuit: halfOpenSince(20) } });
    expect((await deliveryStep(lapsed, message)).wasProbe).toBe(true);
    expect(lapsed.sent).toHaveLength(1);

    const rateLimited = ports({
      webhookValue: { ...hook, rateLimitPerSecond: 10, circuit: halfOpenSince(24) },
    });
    expect((await deliveryStep(rateLimited, message)).step.kind).toBe("parked");
    const slow = ports({ webhookValue: { ...hook, timeoutSeconds: 30, circuit: halfOpenSince(39) } });
    expect((await deliveryStep(slow, message)).step.kind).toBe("parked");
    const slowLapsed = ports({ webhookValue: { ...hook, timeoutSeconds: 30, circuit: halfOpenSince(40) } });
    expect((await deliveryStep(slowLapsed, message)).wasProbe).toBe(true);
  });

  it("opens the circuit on the failure that reaches the threshold", async () => {
    const failing = ports({
      webhookValue: { ...hook, circuit: { state: "closed", consecutiveFailures: 4, version: 4 } },
      answer: { statusCode: 500, responseBody: "", durationMs: 1 },
    });
    const result = await deliveryStep(failing, message);
    expect(result.circuitChange).toMatchObject({ transition: "opened", to: { state: "open", version: 5 } });
  });

  it("waits for a rate-limited webhook's slot before sending, and asks for none without a limit", async () => {
    const slept: number[] = [];
    const asked: string[] = [];
    const limited = ports({
      webhookValue: { ...hook, rateLimitPerSecond: 20 },
      reserveSlot: async (webhook) => {
        asked.push(webhook.id);
        return NOW.getTime() + 150;
      },
      sleep: async (ms) => {
        slept.push(ms);
        expect(limited.sent).toHaveLength(0);
      },
    });
    expect((await deliveryStep(limited, message)).step.kind).toBe("delivered");
    expect(slept).toEqual([150]);
    expect(limited.sent).toHaveLength(1);

    const unlimited = ports({ reserveSlot: async () => expect.fail("an unlimited webhook reserved a slot") });
    expect((await deliveryStep(unlimited, message)).step.kind).toBe("delivered");
    expect(asked).toEqual(["wh_1"]);
  });

  it("defers a delivery whose rate-limit slot is too far out, keeping its slot, without an attempt", async () => {
    const slotAt = NOW.getTime() + 7_200;
    const limited = ports({
      webhookValue: { ...hook, rateLimitPerSecond: 1 },
      reserveSlot: async () => slotAt,
    });
    const { step } = await deliveryStep(limited, { ...message, attempt: 3 });
    // Back two seconds before the slot (whole seconds), to wait the rest in-process.
    expect(step).toEqual({ kind: "deferred", waitSeconds: 5, until: new Date(slotAt).toISOString(), slotAt });
    expect(limited.sent).toHaveLength(0);

    // Back with its slot, it reserves no other, waits the rest and sends.
    const slept: number[] = [];
    const returning = ports({
      webhookValue: { ...hook, rateLimitPerSecond: 1 },
      reserveSlot: async () => expect.fail("a deferred delivery reserved a second slot"),
      sleep: async (ms) => {
        slept.push(ms);
      },
      now: () => new Date(slotAt - 1_500),
    });
    expect((await deliveryStep(returning, { ...message, attempt: 3, rateSlotAt: slotAt })).step.kind).toBe(
      "delivered",
    );
    expect(slept).toEqual([1_500]);
  });

  it("takes a new slot when it wakes too late for its own, so that it cannot crowd the requests after it", async () => {
    let clock = NOW.getTime();
    const slots = [clock + 100, clock + 400];
    const late = ports({
      webhookValue: { ...hook, rateLimitPerSecond: 20 },
      reserveSlot: async () => slots.shift() ?? expect.fail("a third slot was reserved"),
      now: () => new Date(clock),
      // The first wait overruns its slot by 130 ms (a busy event loop); the second is on time.
      sleep: async (ms) => {
        clock += ms === 100 ? 230 : ms;
      },
    });
    expect((await deliveryStep(late, message)).step.kind).toBe("delivered");
    expect(slots).toEqual([]);
    expect(late.sent).toHaveLength(1);
  });

  it("sends the webhook's own headers and honours its own timeout, never letting a header replace a signature", async () => {
    const custom = ports({
      webhookValue: {
        ...hook,
        headers: { "x-tenant": "acme", authorization: "Bearer t0k" },
        timeoutSeconds: 3,
      },
    });
    await deliveryStep(custom, message);
    const [request] = custom.sent;
    expect(request?.timeoutMs).toBe(3_000);
    expect(request?.headers).toMatchObject({ "x-tenant": "acme", authorization: "Bearer t0k" });
    expect(request?.headers["webhook-signature"]).toMatch(/^v1,/);

    const plain = ports();
    await deliveryStep(plain, message);
    expect(plain.sent[0]?.timeoutMs).toBe(10_000);
  });

  it("fails at once, with a recorded attempt and no request, when a stored header can never be sent", async () => {
    // Stored before header values were checked: Node's HTTP client refuses to build such a request.
    const stale = ports({ webhookValue: { ...hook, headers: { "X-Team": "東京" } } });
    const result = await deliveryStep(stale, { ...message, attempt: 2 });
    expect(result.step).toMatchObject({
      kind: "failed",
      reason: expect.stringContaining("headers.X-Team"),
      attempt: { attempt: 2, at: NOW.toISOString(), error: expect.stringContaining("headers.X-Team") },
    });
    expect(stale.sent).toEqual([]);
    // Not the endpoint's fault: its circuit is left alone.
    expect(result.circuitChange).toBeUndefined();
  });

  it("records a sender that throws as a failed attempt that follows the schedule", async () => {
    const throwing = ports({
      send: async () => {
        throw new TypeError('Invalid character in header content ["x-odd"]');
      },
    });
    const { step, circuitChange } = await deliveryStep(throwing, message);
    expect(step).toMatchObject({
      kind: "retry",
      waitSeconds: 1,
      attempt: {
        attempt: 1,
        error: 'the request could not be sent: Invalid character in header content ["x-odd"]',
        responseBody: "",
      },
    });
    expect(circuitChange).toBeUndefined();
    expect(
      (await deliveryStep(throwing, { ...message, attempt: 6 })).step.kind,
      "and dead-letters when the schedule is exhausted",
    ).toBe("dead_letter");
  });
});
