import { execFileSync } from "node:child_process";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HooklineSchema } from "../../client/index.ts";
import { DEFAULT_EVENT_SOURCE, StackOutput } from "../../functions/shared/names.ts";
import {
  answered,
  api,
  callApi,
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
  const tenant = await newTenant("first-path");
  tenantId = tenant.tenantId;
  useApiKey(tenant.apiKey);
});
afterAll(async () => {
  await receiver.stop();
});

async function registerWebhook(eventTypes: string[], url = receiver.url) {
  return answered(
    api().POST("/v1/webhooks", { body: { url, event_types: eventTypes, description: "e2e receiver" } }),
    201,
  );
}

async function deliveriesOf(webhookId: string, status?: HooklineSchema<"Delivery">["status"]) {
  const page = await answered(
    api().GET("/v1/webhooks/{webhookId}/deliveries", { params: { path: { webhookId }, query: { status } } }),
    200,
  );
  return page.data;
}

/** What the receiver got for one event (event ids are unique per test). */
function requestsFor(eventId: string) {
  return receiver.requests.filter((request) => {
    try {
      return JSON.parse(request.rawBody).id === eventId;
    } catch {
      return false;
    }
  });
}

describe("register → publish → signed delivery", () => {
  it("registers a webhook and shows its secret only once", async () => {
    const created = await registerWebhook(["memory.created"]);
    expect(created).toMatchObject({
      url: receiver.url,
      event_types: ["memory.created"],
      description: "e2e receiver",
      active: true,
    });
    expect(created.id).toMatch(/^wh_/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const secretBytes = Buffer.from(created.secret.slice("whsec_".length), "base64").length;
    expect(secretBytes).toBeGreaterThanOrEqual(24);
    expect(secretBytes).toBeLessThanOrEqual(64);

    const fetched = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(created.id)), 200);
    expect(fetched).toMatchObject({ id: created.id, url: receiver.url, active: true });
    expect(fetched).toHaveProperty("created_at");
    expect(fetched).toHaveProperty("updated_at");
    expect(fetched).not.toHaveProperty("secret");
  });

  it("delivers a published event, signed so that standardwebhooks verifies the exact bytes", async () => {
    const webhook = await registerWebhook(["memory.*"]);
    const published = await answered(
      api().POST("/v1/events", {
        body: { type: "memory.deleted", data: { memory_id: "m_1", text: "héllo ✓" } },
      }),
      202,
    );
    expect(published).toMatchObject({ type: "memory.deleted", deliveries: 1, duplicate: false });
    const eventId = published.id;

    const [request] = await eventually("the receiver to get the event", () => {
      const found = requestsFor(eventId);
      return found.length > 0 ? found : undefined;
    });
    if (!request) throw new Error("no request");
    expect(request.method).toBe("POST");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["user-agent"]).toMatch(/^Hookline\/\d+\.\d+\.\d+$/);
    expect(request.headers["webhook-id"]).toMatch(/^msg_/);
    expect(Number(request.headers["webhook-timestamp"])).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const body = JSON.parse(request.rawBody);
    expect(request.rawBody).toBe(
      JSON.stringify({ id: eventId, type: "memory.deleted", timestamp: body.timestamp, data: body.data }),
    );
    expect(body).toEqual({
      id: eventId,
      type: "memory.deleted",
      timestamp: published.accepted_at,
      data: { memory_id: "m_1", text: "héllo ✓" },
    });
    const headers = {
      "webhook-id": String(request.headers["webhook-id"]),
      "webhook-timestamp": String(request.headers["webhook-timestamp"]),
      "webhook-signature": String(request.headers["webhook-signature"]),
    };
    expect(new StandardWebhook(webhook.secret).verify(request.rawBody, headers)).toEqual(body);
    expect(() => new StandardWebhook(webhook.secret).verify(`${request.rawBody} `, headers)).toThrow();

    const [delivery] = await eventually("the delivery to be recorded as delivered", async () => {
      const found = await deliveriesOf(webhook.id, "delivered");
      return found.length > 0 ? found : undefined;
    });
    expect(delivery).toMatchObject({
      id: headers["webhook-id"],
      webhook_id: webhook.id,
      event_id: eventId,
      event_type: "memory.deleted",
      status: "delivered",
      attempt_count: 1,
      last_status_code: 200,
      last_error: null,
    });
    expect(typeof delivery?.duration_ms).toBe("number");
    expect(Date.parse(String(delivery?.completed_at))).toBeGreaterThanOrEqual(
      Date.parse(String(delivery?.created_at)),
    );
  });

  it("delivers an event published on EventBridge to the same receivers, once per event id", async () => {
    const stack = localStack();
    const webhook = await registerWebhook(["session.started"]);
    const client = new EventBridgeClient({
      endpoint: stack.endpoints.eventbridge,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    // The same event twice, as a producer that retries its PutEvents would send it.
    const eventBusName = stack.outputs[StackOutput.eventBusName];
    expect(eventBusName, "the stack's event bus output").toBeDefined();
    const entry = {
      EventBusName: eventBusName,
      Source: DEFAULT_EVENT_SOURCE,
      DetailType: "session.started",
      Detail: JSON.stringify({ tenant_id: tenantId, id: "eb-session-1", data: { session: "s_1" } }),
    };
    const result = await client.send(new PutEventsCommand({ Entries: [entry, entry] }));
    expect(result.FailedEntryCount).toBe(0);
    const [request] = await eventually("the EventBridge event to be delivered", () => {
      const found = requestsFor("eb-session-1");
      return found.length > 0 ? found : undefined;
    });
    const headers = {
      "webhook-id": String(request?.headers["webhook-id"]),
      "webhook-timestamp": String(request?.headers["webhook-timestamp"]),
      "webhook-signature": String(request?.headers["webhook-signature"]),
    };
    expect(new StandardWebhook(webhook.secret).verify(request?.rawBody ?? "", headers)).toMatchObject({
      id: "eb-session-1",
      type: "session.started",
      data: { session: "s_1" },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await deliveriesOf(webhook.id)).toHaveLength(1);
    expect(requestsFor("eb-session-1")).toHaveLength(1);
  });

  it("fans out once when the same event id is published twice", async () => {
    const webhook = await registerWebhook(["user.created"]);
    const publish = () =>
      answered(
        api().POST("/v1/events", { body: { id: "user-7-created", type: "user.created", data: {} } }),
        202,
      );
    await publish();
    const second = await publish();
    expect(second).toMatchObject({ id: "user-7-created", deliveries: 1, duplicate: true });
    await eventually("the delivery", async () =>
      (await deliveriesOf(webhook.id, "delivered")).length ? true : undefined,
    );
    expect(await deliveriesOf(webhook.id)).toHaveLength(1);
    expect(requestsFor("user-7-created")).toHaveLength(1);
  });

  it("does not deliver to webhooks that are not subscribed, or deleted", async () => {
    const other = await registerWebhook(["sync.failed"]);
    const deleted = await registerWebhook(["sync.completed"]);
    expect((await api().DELETE("/v1/webhooks/{webhookId}", webhookPath(deleted.id))).response.status).toBe(
      204,
    );
    expect((await api().GET("/v1/webhooks/{webhookId}", webhookPath(deleted.id))).response.status).toBe(404);
    const published = await answered(
      api().POST("/v1/events", { body: { type: "sync.completed", data: {} } }),
      202,
    );
    expect(published.deliveries).toBe(0);
    expect(await deliveriesOf(other.id)).toHaveLength(0);
  });

  it("fans out to the webhooks as they are when the event is accepted, however warm the ingest function", async () => {
    const count = async () => {
      const published = await answered(
        api().POST("/v1/events", { body: { type: "session.ended", data: {} } }),
        202,
      );
      return published.deliveries;
    };
    const first = await registerWebhook(["session.ended"]);
    // Every execution environment of the ingest function now has this tenant's subscribers cached.
    for (let warm = 0; warm < 8; warm += 1) expect(await count()).toBe(1);
    const second = await registerWebhook(["session.*"]);
    expect(await count()).toBe(2);
    const patch = (webhookId: string, body: HooklineSchema<"UpdateWebhook">) =>
      answered(api().PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(webhookId), body }), 200);
    await patch(first.id, { active: false });
    expect(await count()).toBe(1);
    await patch(second.id, { event_types: ["session.started"] });
    expect(await count()).toBe(0);
    await patch(first.id, { active: true });
    expect(await count()).toBe(1);
    expect((await api().DELETE("/v1/webhooks/{webhookId}", webhookPath(first.id))).response.status).toBe(204);
    expect(await count()).toBe(0);
  });

  it("records a receiver's error answer on the delivery", async () => {
    const failing = await Receiver.start();
    failing.status = 400;
    try {
      const webhook = await registerWebhook(["quota.warning"], failing.url);
      await answered(api().POST("/v1/events", { body: { type: "quota.warning", data: { used: 0.9 } } }), 202);
      const [delivery] = await eventually("the failed delivery", async () => {
        const found = (await deliveriesOf(webhook.id)).filter((d) => d.status !== "pending");
        return found.length ? found : undefined;
      });
      expect(delivery).toMatchObject({ status: "failed", last_status_code: 400, attempt_count: 1 });
      expect(String(delivery?.last_error)).toContain("400");
      expect(failing.requests).toHaveLength(1);
    } finally {
      await failing.stop();
    }
  });
});

describe("tenancy and API keys", () => {
  it("keeps tenants apart: another tenant's webhook is a 404, exactly like a missing one", async () => {
    const stack = localStack();
    const otherKey = execFileSync(
      process.execPath,
      ["bin/hookline-cli.ts", "api-key", "create", "--tenant", "other-tenant"],
      {
        env: { ...process.env, HOOKLINE_DIR: stack.stateDir },
        encoding: "utf8",
      },
    ).trim();
    expect(otherKey).toMatch(/^hk_/);
    const mine = await registerWebhook(["memory.created"]);

    const other = api({ apiKey: otherKey });
    const asOther = await reply(other.GET("/v1/webhooks/{webhookId}", webhookPath(mine.id)));
    const missing = await reply(other.GET("/v1/webhooks/{webhookId}", webhookPath("wh_does_not_exist")));
    expect(asOther.status).toBe(404);
    expect(asOther.body).toMatchObject({ error: { code: "not_found" } });
    expect(missing.status).toBe(404);
    expect((await other.DELETE("/v1/webhooks/{webhookId}", webhookPath(mine.id))).response.status).toBe(404);
    expect(
      (await other.GET("/v1/webhooks/{webhookId}/deliveries", webhookPath(mine.id))).response.status,
    ).toBe(404);
    expect((await api().GET("/v1/webhooks/{webhookId}", webhookPath(mine.id))).response.status).toBe(200);
  });

  it("refuses requests without a key or with an unknown one: 401, an unknown key in the API's error shape", async () => {
    expect((await callApi("GET", "/v1/webhooks/wh_x", { apiKey: null })).status).toBe(401);
    expect(
      (await callApi("POST", "/v1/events", { apiKey: null, body: { type: "memory.created", data: {} } }))
        .status,
    ).toBe(401);
    const invalidKey = {
      error: { code: "invalid_api_key", message: expect.stringContaining("API key"), details: [] },
    };
    const unknown = await callApi("GET", "/v1/webhooks/wh_x", { apiKey: "hk_not_a_real_key" });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(invalidKey);
    // Refused before the body is looked at: a bad key with a bad body is still a 401.
    const publish = await callApi("POST", "/v1/events", {
      apiKey: "hk_not_a_real_key",
      rawBody: '{"type": ',
    });
    expect(publish.status).toBe(401);
    expect(publish.body).toEqual(invalidKey);
    const malformed = await callApi("GET", "/v1/webhooks", { apiKey: "not-bearer-shaped key" });
    expect(malformed.body).toEqual(invalidKey);
  });
});

describe("bad input gets a clear 4xx", () => {
  function expectInvalid(response: { status: number; body: unknown }, path: string) {
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: {
        code: "validation_error",
        message: expect.stringMatching(/./),
        details: expect.arrayContaining([expect.objectContaining({ path })]),
      },
    });
  }

  it.each<[string, HooklineSchema<"CreateWebhook">, string]>([
    [
      "an unknown event type",
      { url: "http://127.0.0.1:9/x", event_types: ["memory.exploded"] },
      "event_types[0]",
    ],
    ["no event types", { url: "http://127.0.0.1:9/x", event_types: [] }, "event_types"],
    ["credentials in the URL", { url: "https://user:pass@example.com/x", event_types: ["*"] }, "url"],
    ["a non-http scheme", { url: "ftp://example.com/x", event_types: ["*"] }, "url"],
    [
      "a filter with an unknown operator",
      { url: "http://127.0.0.1:9/x", event_types: ["*"], filter: { data: { plan: [{ regex: "p.*" }] } } },
      "filter.data.plan[0].regex",
    ],
    [
      "a filter nested too deep",
      {
        url: "http://127.0.0.1:9/x",
        event_types: ["*"],
        filter: { data: { a: { b: { c: { d: { e: ["x"] } } } } } },
      },
      "filter.data.a.b.c.d",
    ],
  ])("rejects a webhook with %s", async (_case, body, path) => {
    expectInvalid(await reply(api().POST("/v1/webhooks", { body })), path);
  });

  // Bodies the document does not allow, which only a hand-written request can send.
  it.each([
    ["an unknown field", { url: "http://127.0.0.1:9/x", event_types: ["*"], colour: "red" }, ""],
    ["a wrong type", { url: 42, event_types: ["*"] }, "url"],
    [
      "a filter that is not an object",
      { url: "http://127.0.0.1:9/x", event_types: ["*"], filter: ["pro"] },
      "filter",
    ],
    [
      "an unknown ordering",
      { url: "http://127.0.0.1:9/x", event_types: ["*"], ordering: "lifo" },
      "ordering",
    ],
    [
      "an ordering in capitals",
      { url: "http://127.0.0.1:9/x", event_types: ["*"], ordering: "FIFO" },
      "ordering",
    ],
    ["a null ordering", { url: "http://127.0.0.1:9/x", event_types: ["*"], ordering: null }, "ordering"],
    [
      "an ordering that is not a string",
      { url: "http://127.0.0.1:9/x", event_types: ["*"], ordering: true },
      "ordering",
    ],
  ])("rejects a webhook with %s", async (_case, body, path) => {
    expectInvalid(await callApi("POST", "/v1/webhooks", { body }), path);
  });

  it("rejects malformed JSON and a non-JSON content type", async () => {
    const malformed = await callApi("POST", "/v1/webhooks", { rawBody: '{"url": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("invalid_json");
    const wrongType = await callApi("POST", "/v1/events", {
      rawBody: "type=memory.created",
      contentType: "text/plain",
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error.code).toBe("unsupported_media_type");
  });

  it("rejects an unknown event type on publish, listing the valid ones", async () => {
    const response = await reply(api().POST("/v1/events", { body: { type: "memory.exploded", data: {} } }));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { message: expect.stringContaining("memory.created") } });
    expect(response.body).toMatchObject({ error: { message: expect.stringContaining("quota.exceeded") } });
  });

  it("rejects an event payload over 256 KB with 413", async () => {
    const response = await reply(
      api().POST("/v1/events", { body: { type: "memory.created", data: { blob: "x".repeat(300 * 1024) } } }),
    );
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ error: { code: "payload_too_large" } });
  });
});
