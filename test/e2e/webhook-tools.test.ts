import type { IncomingHttpHeaders } from "node:http";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HooklineClient, HooklineSchema } from "../../client/index.ts";
import { sign } from "../../functions/domain/signing.ts";
import {
  answered,
  api,
  deliveryRecords,
  localStack,
  newTenant,
  reply,
  useApiKey,
  webhookPath,
} from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

let receiver: Receiver;
let tenantId: string;

beforeAll(async () => {
  receiver = await Receiver.start();
  const tenant = await newTenant("webhook-tools");
  tenantId = tenant.tenantId;
  useApiKey(tenant.apiKey);
});
afterAll(async () => {
  await receiver.stop();
});

async function create(
  target: Receiver | string,
  body: Partial<HooklineSchema<"CreateWebhook">> = {},
  apiKey?: string,
) {
  return answered(
    api({ apiKey }).POST("/v1/webhooks", {
      body: {
        url: typeof target === "string" ? target : target.url,
        event_types: ["memory.*", "sync.completed"],
        ...body,
      },
    }),
    201,
  );
}

const rotate = (webhookId: string) =>
  answered(api().POST("/v1/webhooks/{webhookId}/rotate-secret", webhookPath(webhookId)), 200);

const testSend = (webhookId: string, body?: HooklineSchema<"TestWebhook">) =>
  reply(api().POST("/v1/webhooks/{webhookId}/test", { ...webhookPath(webhookId), ...(body && { body }) }));

/** The routes that act on one webhook without changing its settings, each as a typed call. */
function toolsOf(client: HooklineClient, webhookId: string) {
  return {
    "POST rotate-secret": () => client.POST("/v1/webhooks/{webhookId}/rotate-secret", webhookPath(webhookId)),
    "POST test": () => client.POST("/v1/webhooks/{webhookId}/test", webhookPath(webhookId)),
    "GET stats": () => client.GET("/v1/webhooks/{webhookId}/stats", webhookPath(webhookId)),
  };
}

async function publish(type: string, data: Record<string, unknown>, apiKey?: string) {
  const published = await answered(api({ apiKey }).POST("/v1/events", { body: { type, data } }), 202);
  return published.id;
}

/** Whether a receiver holding only `secret` accepts the request, as the standardwebhooks library decides. */
function verifiesWith(secret: string, request: { rawBody: string; headers: IncomingHttpHeaders }): boolean {
  try {
    new StandardWebhook(secret).verify(request.rawBody, request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

/** The latest test send the receiver got (real deliveries carry `msg_` ids without `test`). */
function lastTestRequest(target: Receiver) {
  const request = target.requests.findLast((r) => String(r.headers["webhook-id"]).startsWith("msg_test_"));
  if (!request) throw new Error("the receiver got no test request");
  return request;
}

function signaturesOf(request: { headers: IncomingHttpHeaders }): string[] {
  return String(request.headers["webhook-signature"]).split(" ");
}

/** The one request the receiver got for an event, found by the event id in its body. */
function requestFor(target: Receiver, eventId: string) {
  return eventually(`a request carrying ${eventId}`, () =>
    target.requests.find((request) => JSON.parse(request.rawBody).id === eventId),
  );
}

describe("rotating a signing secret", () => {
  it("returns the new secret once, and signs with both secrets during the overlap, new first", async () => {
    const webhook = await create(receiver);
    const rotated = await rotate(webhook.id);
    expect(rotated).toMatchObject({ id: webhook.id, secret: expect.stringMatching(/^whsec_/) });
    const newSecret = rotated.secret;
    expect(newSecret).not.toBe(webhook.secret);
    expect(JSON.stringify(rotated)).not.toContain(webhook.secret);
    const shown = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhook.id)), 200);
    expect(JSON.stringify(shown)).not.toMatch(/whsec_|secret/);

    const eventId = await publish("memory.created", { step: "after rotation" });
    const request = await requestFor(receiver, eventId);
    const signatures = signaturesOf(request);
    expect(signatures).toHaveLength(2);
    const id = String(request.headers["webhook-id"]);
    const timestamp = Number(request.headers["webhook-timestamp"]);
    expect(signatures[0]).toBe(sign(newSecret, id, timestamp, request.rawBody));
    expect(signatures[1]).toBe(sign(webhook.secret, id, timestamp, request.rawBody));
    // A receiver that still holds only the old secret, and one that already switched, both accept it.
    expect(verifiesWith(webhook.secret, request)).toBe(true);
    expect(verifiesWith(newSecret, request)).toBe(true);
  });

  it("keeps only the secret it replaces when rotated again during the overlap", async () => {
    const webhook = await create(receiver);
    const middle = (await rotate(webhook.id)).secret;
    const latest = (await rotate(webhook.id)).secret;

    // A test send reads the webhook as stored, so it shows the signing set at once.
    const sent = await testSend(webhook.id);
    expect(sent.body).toMatchObject({ success: true });
    const request = lastTestRequest(receiver);
    expect(signaturesOf(request)).toHaveLength(2);
    expect(verifiesWith(latest, request)).toBe(true);
    expect(verifiesWith(middle, request)).toBe(true);
    expect(verifiesWith(webhook.secret, request)).toBe(false);
  });
});

describe("test sends", () => {
  it("sends a signed test event now and reports the receiver's answer, recording nothing", async () => {
    const webhook = await create(receiver, { event_types: ["memory.*", "sync.completed", "user.created"] });
    const before = receiver.requests.length;
    const response = await testSend(webhook.id);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toEqual({
      success: true,
      status_code: 200,
      duration_ms: expect.any(Number),
      response_body: "thanks",
      error: null,
    });
    expect(receiver.requests.length).toBeGreaterThan(before);
    const request = lastTestRequest(receiver);
    expect(request.headers["webhook-id"]).toMatch(/^msg_test_[0-9A-Z]{26}$/);
    const payload = JSON.parse(request.rawBody);
    // The first subscription that is a plain name: `memory.*` is a pattern.
    expect(payload).toMatchObject({ id: expect.stringMatching(/^evt_test_/), type: "sync.completed" });
    expect(verifiesWith(webhook.secret, request)).toBe(true);

    expect(await deliveryRecords(localStack(), tenantId, webhook.id)).toEqual([]);
    const stats = await answered(api().GET("/v1/webhooks/{webhookId}/stats", webhookPath(webhook.id)), 200);
    expect(stats).toMatchObject({ total_deliveries: 0, total_attempts: 0, circuit_state: "closed" });
  });

  it("sends the event type and data asked for, and refuses a type outside the catalogue", async () => {
    const webhook = await create(receiver);
    const response = await testSend(webhook.id, { event_type: "memory.deleted", data: { memory_id: "m-1" } });
    expect(response.body).toMatchObject({ success: true });
    const payload = JSON.parse(lastTestRequest(receiver).rawBody);
    expect(payload).toMatchObject({ type: "memory.deleted", data: { memory_id: "m-1" } });

    const unknown = await testSend(webhook.id, { event_type: "memory.exploded" });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      error: {
        code: expect.any(String),
        message: expect.any(String),
        details: [{ path: "event_type", message: expect.any(String) }],
      },
    });
  });

  it("tests an inactive webhook too", async () => {
    const webhook = await create(receiver, { active: false });
    const response = await testSend(webhook.id);
    expect(response.body).toMatchObject({ success: true, status_code: 200 });
  });

  it("reports a failing receiver's status and body with a 200, leaving the circuit alone", async () => {
    const failing = await Receiver.start();
    failing.status = 500;
    try {
      const webhook = await create(failing);
      const response = await testSend(webhook.id);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        success: false,
        status_code: 500,
        duration_ms: expect.any(Number),
        response_body: "receiver says no",
        error: expect.stringContaining("500"),
      });
      const shown = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhook.id)), 200);
      expect(shown.circuit_state).toBe("closed");
      expect(await deliveryRecords(localStack(), tenantId, webhook.id)).toEqual([]);
    } finally {
      await failing.stop();
    }
  });

  it("reports an unreachable endpoint as a failure with the connection error, not a 5xx", async () => {
    const gone = await Receiver.start();
    const url = gone.url;
    await gone.stop();
    const webhook = await create(url);
    const response = await testSend(webhook.id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      success: false,
      status_code: null,
      response_body: "",
      error: expect.stringMatching(/connection/),
    });
  });
});

describe("stats", () => {
  it("count each delivery once by its latest outcome, and every attempt: through retries, manual retries and recoveries", async () => {
    // A tenant of its own: its events reach no other test's webhooks (and theirs no counter of this one).
    const { tenantId: statsTenant, apiKey } = await newTenant("webhook-tools-stats");
    const target = await Receiver.start();
    // `ok`: 200; `flaky`: a 500 the first time, then 200 (one automatic retry); otherwise 422.
    const seenFlaky = new Set<string>();
    let refuse = true;
    target.behave = (request) => {
      const { data } = JSON.parse(request.rawBody);
      if (data.flaky) {
        const first = !seenFlaky.has(String(request.headers["webhook-id"]));
        seenFlaky.add(String(request.headers["webhook-id"]));
        return { status: first ? 500 : 200 };
      }
      return { status: data.ok || !refuse ? 200 : 422 };
    };
    const statsOf = (webhookId: string, ready: (stats: HooklineSchema<"WebhookStats">) => boolean) =>
      eventually("the counters to be flushed", async () => {
        const stats = await answered(
          api({ apiKey }).GET("/v1/webhooks/{webhookId}/stats", webhookPath(webhookId)),
          200,
        );
        return ready(stats) ? stats : undefined;
      });
    try {
      const webhook = await create(target, {}, apiKey);
      for (const data of [{ ok: true }, { ok: false }, { ok: true }, { flaky: true }, { ok: false }])
        await publish("memory.created", data, apiKey);

      const records = await eventually("five ended deliveries", async () => {
        const all = await deliveryRecords(localStack(), statsTenant, webhook.id);
        const ended = all.filter((record) => ["delivered", "failed"].includes(record.status));
        return ended.length === 5 ? ended : undefined;
      });
      expect(records.filter((record) => record.status === "delivered")).toHaveLength(3);
      // The hour buckets are written by the stats function from the events table's stream, a batching
      // window after the deliveries ended.
      const first = await statsOf(webhook.id, (body) => body.total_attempts === 6);
      expect(first).toEqual({
        total_deliveries: 5,
        successful_deliveries: 3,
        failed_deliveries: 2,
        dead_lettered_deliveries: 0,
        success_rate: 3 / 5,
        total_attempts: 6,
        avg_duration_ms: expect.any(Number),
        last_24h_deliveries: 5,
        last_24h_success_rate: 3 / 5,
        circuit_state: "closed",
      });

      // The receiver is fixed: one failed delivery is retried by hand, the other by a recovery.
      refuse = false;
      const failed = records.filter((record) => record.status === "failed");
      const [retried, recovered] = failed;
      if (!retried || !recovered) throw new Error("expected two failed deliveries");
      await answered(
        api({ apiKey }).POST("/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry", {
          params: { path: { webhookId: webhook.id, deliveryId: retried.id } },
        }),
        202,
      );
      await eventually("the retried delivery to be delivered", async () => {
        const all = await deliveryRecords(localStack(), statsTenant, webhook.id);
        return all.find((record) => record.id === retried.id)?.status === "delivered" ? true : undefined;
      });
      const recover = await reply(
        api({ apiKey }).POST("/v1/webhooks/{webhookId}/recover", {
          ...webhookPath(webhook.id),
          body: { since: new Date(Date.now() - 3_600_000).toISOString() },
        }),
      );
      expect(recover.body).toMatchObject({ recovering: 1 });

      const after = await statsOf(webhook.id, (body) => body.total_attempts === 8);
      expect(after).toEqual({
        total_deliveries: 5,
        successful_deliveries: 5,
        failed_deliveries: 0,
        dead_lettered_deliveries: 0,
        success_rate: 1,
        total_attempts: 8,
        avg_duration_ms: expect.any(Number),
        last_24h_deliveries: 5,
        last_24h_success_rate: 1,
        circuit_state: "closed",
      });
    } finally {
      await target.stop();
    }
  });
});

describe("another tenant's webhook", () => {
  it("cannot be rotated, tested or counted: 404, and its secret is unchanged", async () => {
    const webhook = await create(receiver);
    const other = await newTenant("webhook-tools-other");
    for (const [name, call] of Object.entries(toolsOf(api({ apiKey: other.apiKey }), webhook.id))) {
      const { response, error } = await call();
      expect(response.status, name).toBe(404);
      expect(error).toMatchObject({ error: { code: "not_found" } });
    }
    const sent = await testSend(webhook.id);
    const request = lastTestRequest(receiver);
    expect(sent.body).toMatchObject({ success: true });
    expect(signaturesOf(request)).toHaveLength(1);
    expect(verifiesWith(webhook.secret, request)).toBe(true);
  });

  it("answers 404 for a webhook that does not exist", async () => {
    for (const [name, call] of Object.entries(toolsOf(api(), "wh_01JNOSUCHWEBHOOK0000000000"))) {
      expect((await call()).response.status, name).toBe(404);
    }
  });
});
