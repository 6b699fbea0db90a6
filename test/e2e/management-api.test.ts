import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HooklineSchema, operations } from "../../client/index.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { exampleEventData } from "../../functions/shared/event-example.ts";
import { IngestRoute, ManagementRoute, PublicRoute } from "../../functions/shared/names.ts";
import { answered, api, callApi, newTenant, reply, useApiKey, webhookPath } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

let receiver: Receiver;
let apiKey: string;

beforeAll(async () => {
  receiver = await Receiver.start();
  const tenant = await newTenant("management");
  apiKey = tenant.apiKey;
  useApiKey(apiKey);
});
afterAll(async () => {
  await receiver.stop();
});

async function create(body: HooklineSchema<"CreateWebhook">, key?: string) {
  return answered(api({ apiKey: key }).POST("/v1/webhooks", { body }), 201);
}

type ListQuery = NonNullable<operations["GET_v1_webhooks"]["parameters"]["query"]>;

/** Every webhook of the caller's tenant, following cursors, with the pages' sizes. */
async function listAll(query: Omit<ListQuery, "cursor"> = {}, key?: string) {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let cursor: string | null = null;
  do {
    const params: { query: ListQuery } = { query: { ...query, ...(cursor === null ? {} : { cursor }) } };
    const page = await answered(api({ apiKey: key }).GET("/v1/webhooks", { params }), 200);
    ids.push(...page.data.map((webhook) => webhook.id));
    pageSizes.push(page.data.length);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return { ids, pageSizes };
}

function expectError(response: { status: number; body: unknown }, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toEqual({
    error: { code, message: expect.any(String), details: expect.any(Array) },
  });
}

describe("event types", () => {
  it("lists the catalogue, each type with its schema and example, to a caller with a key, and to no one else", async () => {
    expect(await answered(api().GET("/v1/event-types"), 200)).toEqual({
      data: DEFAULT_EVENT_TYPES.map((definition) => ({
        name: definition.name,
        description: definition.description,
        schema: definition.schema ?? null,
        example: exampleEventData(definition),
      })),
    });
    expect((await callApi("GET", "/v1/event-types", { apiKey: null })).status).toBe(401);
  });
});

describe("creating and updating webhooks", () => {
  it("stores and returns every setting of a full create body", async () => {
    const created = await create({
      url: receiver.url,
      event_types: ["memory.*", "sync.completed"],
      description: "all settings",
      active: false,
      headers: { "X-Api-Key": "k-1", Authorization: "Bearer downstream" },
      timeout_seconds: 7,
      retry_schedule_seconds: [1, 2],
      rate_limit_per_second: 25,
      metadata: { team: "search", env: "test" },
    });
    const expected = {
      url: receiver.url,
      event_types: ["memory.*", "sync.completed"],
      description: "all settings",
      active: false,
      disabled_reason: null,
      headers: { "X-Api-Key": "k-1", Authorization: "Bearer downstream" },
      timeout_seconds: 7,
      retry_schedule_seconds: [1, 2],
      rate_limit_per_second: 25,
      metadata: { team: "search", env: "test" },
      circuit_state: "closed",
    };
    expect(created).toMatchObject(expected);
    const fetched = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(created.id)), 200);
    expect(fetched).toMatchObject({ ...expected, id: created.id });
    expect(fetched).not.toHaveProperty("secret");
  });

  it("fills in the defaults of a minimal create body", async () => {
    const created = await create({ url: receiver.url, event_types: ["*"] });
    expect(created).toMatchObject({
      active: true,
      description: "",
      headers: {},
      metadata: {},
      timeout_seconds: null,
      rate_limit_per_second: null,
      retry_schedule_seconds: null,
    });
  });

  it("patches some fields, keeps the rest, moves updated_at, and resets settings given null", async () => {
    const created = await create({
      url: receiver.url,
      event_types: ["memory.created"],
      timeout_seconds: 5,
      metadata: { a: "1" },
    });
    const patched = await answered(
      api().PATCH("/v1/webhooks/{webhookId}", {
        ...webhookPath(created.id),
        body: {
          description: "renamed",
          event_types: ["session.*"],
          timeout_seconds: null,
          headers: { "X-B": "2" },
        },
      }),
      200,
    );
    expect(patched).toMatchObject({
      id: created.id,
      url: created.url,
      description: "renamed",
      event_types: ["session.*"],
      timeout_seconds: null,
      headers: { "X-B": "2" },
      metadata: { a: "1" },
      created_at: created.created_at,
    });
    expect(Date.parse(patched.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
    expect(patched).not.toHaveProperty("secret");
    const fetched = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(created.id)), 200);
    expect(fetched).toEqual(patched);
  });

  it("re-runs the endpoint checks when the URL changes", async () => {
    const created = await create({ url: receiver.url, event_types: ["memory.created"] });
    const refused = await reply(
      api().PATCH("/v1/webhooks/{webhookId}", {
        ...webhookPath(created.id),
        body: { url: "http://user:secret@127.0.0.1:1/hooks" },
      }),
    );
    expectError(refused, 400, "validation_error");
    const moved = await answered(
      api().PATCH("/v1/webhooks/{webhookId}", {
        ...webhookPath(created.id),
        body: { url: `${receiver.url}/moved` },
      }),
      200,
    );
    expect(moved.url).toBe(`${receiver.url}/moved`);
  });

  it("re-enables a webhook deactivated by failures: clears the reason and closes its circuit", async () => {
    const failing = await Receiver.start();
    try {
      failing.status = 500;
      const webhook = await create({
        url: failing.url,
        event_types: ["quota.*"],
        retry_schedule_seconds: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      });
      await answered(api().POST("/v1/events", { body: { type: "quota.warning", data: {} } }), 202);
      await eventually(
        "the circuit to open",
        async () =>
          (await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhook.id)), 200))
            .circuit_state === "open"
            ? true
            : undefined,
        30_000,
      );
      // The probe after the cooldown is answered 410 Gone: Hookline deactivates the webhook.
      failing.status = 410;
      const deactivated = await eventually(
        "the webhook to be deactivated",
        async () => {
          const current = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhook.id)), 200);
          return current.disabled_reason ? current : undefined;
        },
        30_000,
      );
      expect(deactivated).toMatchObject({ active: false, disabled_reason: "endpoint answered 410 Gone" });
      expect(deactivated.circuit_state).not.toBe("closed");
      const unhealthy = await answered(api().GET("/v1/health/details"), 200);
      expect(unhealthy).toMatchObject({ status: "degraded" });
      expect(unhealthy.open_circuits).toBeGreaterThanOrEqual(1);

      const reenabled = await answered(
        api().PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(webhook.id), body: { active: true } }),
        200,
      );
      expect(reenabled).toMatchObject({
        active: true,
        disabled_reason: null,
        circuit_state: "closed",
        circuit_opened_at: null,
      });

      // Deliveries go out again at once: the circuit is closed, not waiting for a probe.
      failing.status = 200;
      const before = failing.requests.length;
      // (Another webhook of this tenant subscribes to "*" and gets it too.)
      await answered(api().POST("/v1/events", { body: { type: "quota.exceeded", data: {} } }), 202);
      await eventually("the delivery to arrive", () => (failing.requests.length > before ? true : undefined));
    } finally {
      await failing.stop();
    }
  });
});

describe("listing webhooks", () => {
  it("pages through 250 webhooks 100 at a time: every one exactly once, newest first", async () => {
    const paging = await newTenant("paging");
    const created: string[] = [];
    const queue = Array.from({ length: 250 }, (_, index) => index);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
          const webhook = await create(
            { url: `${receiver.url}/${index}`, event_types: ["user.created"], active: index % 5 !== 0 },
            paging.apiKey,
          );
          created.push(webhook.id);
        }
      }),
    );
    const { ids, pageSizes } = await listAll({ limit: 100 }, paging.apiKey);
    expect(pageSizes.slice(0, 3)).toEqual([100, 100, 50]);
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    expect([...ids].sort()).toEqual([...created].sort());
    expect(ids).toEqual([...ids].sort().reverse());

    const inactive = await listAll({ active: "false", limit: 7 }, paging.apiKey);
    expect(inactive.ids).toHaveLength(50);
    const active = await listAll({ active: "true", limit: 100 }, paging.apiKey);
    expect(active.ids).toHaveLength(200);
    expect(new Set([...active.ids, ...inactive.ids]).size).toBe(250);

    // A cursor belongs to the tenant it was issued to.
    const first = await answered(
      api({ apiKey: paging.apiKey }).GET("/v1/webhooks", { params: { query: { limit: 1 } } }),
      200,
    );
    if (first.next_cursor === null) throw new Error("a page of 1 out of 250 has no next cursor");
    const foreign = await reply(
      api().GET("/v1/webhooks", { params: { query: { cursor: first.next_cursor } } }),
    );
    expectError(foreign, 400, "validation_error");
    expect(foreign.body).toMatchObject({ error: { message: expect.stringMatching(/cursor/) } });
  });
});

describe("bad input changes nothing", () => {
  const valid = () => ({ url: receiver.url, event_types: ["memory.created"] });
  const cases: Array<[string, () => Promise<{ status: number; body: unknown }>, number, string]> = [
    [
      "malformed JSON",
      () => callApi("POST", "/v1/webhooks", { rawBody: '{"url": ', contentType: "application/json" }),
      400,
      "invalid_json",
    ],
    [
      "a wrong content type",
      () => callApi("POST", "/v1/webhooks", { rawBody: "url=x", contentType: "text/plain" }),
      415,
      "unsupported_media_type",
    ],
    [
      "a number for the URL",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), url: 42 } }),
      400,
      "validation_error",
    ],
    [
      "an unknown field",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), colour: "red" } }),
      400,
      "validation_error",
    ],
    [
      "no event types",
      () => reply(api().POST("/v1/webhooks", { body: { ...valid(), event_types: [] } })),
      400,
      "validation_error",
    ],
    [
      "101 event types",
      () =>
        reply(
          api().POST("/v1/webhooks", {
            body: { ...valid(), event_types: Array(101).fill("memory.created") },
          }),
        ),
      400,
      "validation_error",
    ],
    [
      "an unknown event type",
      () => reply(api().POST("/v1/webhooks", { body: { ...valid(), event_types: ["nope.x"] } })),
      400,
      "validation_error",
    ],
    [
      "a URL that is not one",
      () => reply(api().POST("/v1/webhooks", { body: { ...valid(), url: "not a url" } })),
      400,
      "validation_error",
    ],
    [
      "an ftp URL",
      () => reply(api().POST("/v1/webhooks", { body: { ...valid(), url: "ftp://127.0.0.1/x" } })),
      400,
      "validation_error",
    ],
    [
      "credentials in the URL",
      () => reply(api().POST("/v1/webhooks", { body: { ...valid(), url: "http://u:p@127.0.0.1/x" } })),
      400,
      "validation_error",
    ],
    [
      "a reserved header",
      () =>
        reply(api().POST("/v1/webhooks", { body: { ...valid(), headers: { "Webhook-Signature": "v1,x" } } })),
      400,
      "validation_error",
    ],
    [
      "a CRLF in a header value",
      () =>
        reply(api().POST("/v1/webhooks", { body: { ...valid(), headers: { "X-A": "a\r\nX-Injected: 1" } } })),
      400,
      "validation_error",
    ],
    [
      "a timeout of 0",
      () => reply(api().POST("/v1/webhooks", { body: { ...valid(), timeout_seconds: 0 } })),
      400,
      "validation_error",
    ],
    [
      "a timeout of 60",
      () => reply(api().POST("/v1/webhooks", { body: { ...valid(), timeout_seconds: 60 } })),
      400,
      "validation_error",
    ],
    [
      "a text timeout",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), timeout_seconds: "10" } }),
      400,
      "validation_error",
    ],
    [
      "a tampered cursor",
      () =>
        reply(api().GET("/v1/webhooks", { params: { query: { cursor: "eyJwayI6IlRFTkFOVCN4In0.AAAA" } } })),
      400,
      "validation_error",
    ],
    [
      "a limit of 0",
      () => reply(api().GET("/v1/webhooks", { params: { query: { limit: 0 } } })),
      400,
      "validation_error",
    ],
    ["an unknown route", () => callApi("GET", "/v1/nothing-here"), 404, "not_found"],
    [
      "an unknown route without a key",
      () => callApi("POST", "/v2/webhooks", { apiKey: null, body: {} }),
      404,
      "not_found",
    ],
    ["a wrong method", () => callApi("PUT", "/v1/webhooks", { body: valid() }), 405, "method_not_allowed"],
    [
      "a wrong method on a webhook",
      () => callApi("POST", "/v1/webhooks/wh_1", { body: {} }),
      405,
      "method_not_allowed",
    ],
  ];

  it.each(cases)("%s", async (_, call, status, code) => {
    const before = await listAll();
    const response = await call();
    expectError(response, status, code);
    expect(await listAll()).toEqual(before);
  });

  it("a wrong method names the allowed ones", async () => {
    const response = await callApi("DELETE", "/v1/webhooks");
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, POST");
  });

  it("refuses bad patches and leaves the webhook as it was", async () => {
    const webhook = await create(valid());
    const before = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhook.id)), 200);
    for (const body of [{}, { timeout_seconds: 31 }, { headers: { Host: "x" } }, { event_types: [] }]) {
      const refused = await reply(
        api().PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(webhook.id), body }),
      );
      expectError(refused, 400, "validation_error");
    }
    expectError(
      await callApi("PATCH", `/v1/webhooks/${webhook.id}`, { body: { nope: 1 } }),
      400,
      "validation_error",
    );
    expectError(await callApi("PATCH", `/v1/webhooks/${webhook.id}`), 400, "validation_error");
    expectError(
      await callApi("PATCH", `/v1/webhooks/${webhook.id}`, { rawBody: "{", contentType: "application/json" }),
      400,
      "invalid_json",
    );
    expect(await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhook.id)), 200)).toEqual(
      before,
    );
  });
});

describe("tenants", () => {
  it("cannot see, list, patch or delete each other's webhooks", async () => {
    const other = await newTenant("other");
    const mine = await create({ url: receiver.url, event_types: ["memory.created"] });
    const theirs = await create({ url: receiver.url, event_types: ["memory.created"] }, other.apiKey);
    const asOther = api({ apiKey: other.apiKey });
    expectError(await reply(asOther.GET("/v1/webhooks/{webhookId}", webhookPath(mine.id))), 404, "not_found");
    expectError(
      await reply(
        asOther.PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(mine.id), body: { active: false } }),
      ),
      404,
      "not_found",
    );
    expectError(
      await reply(asOther.DELETE("/v1/webhooks/{webhookId}", webhookPath(mine.id))),
      404,
      "not_found",
    );
    expectError(
      await reply(
        api().PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(theirs.id), body: { active: false } }),
      ),
      404,
      "not_found",
    );
    expect((await listAll({}, other.apiKey)).ids).toEqual([theirs.id]);
    expect((await listAll()).ids).not.toContain(theirs.id);
    expect(await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(mine.id)), 200)).toMatchObject({
      active: true,
    });
  });
});

describe("public routes", () => {
  it("answers liveness without a key, and nothing about the deployment's load", async () => {
    expect(await answered(api({ apiKey: null }).GET("/v1/health"), 200)).toEqual({ status: "ok" });
  });

  it("reports the deployment's figures, both lanes included, only to a caller with a key", async () => {
    expect((await callApi("GET", "/v1/health/details", { apiKey: null })).status).toBe(401);
    expect((await callApi("GET", "/v1/health/details", { apiKey: "hk_not_a_key" })).status).toBe(401);
    const details = await answered(api().GET("/v1/health/details"), 200);
    expect(Object.keys(details).sort()).toEqual([
      "dead_letter_depth",
      "open_circuits",
      "priority_queue_depth",
      "queue_depth",
      "status",
    ]);
    const { status, queue_depth, priority_queue_depth, dead_letter_depth, open_circuits } = details;
    for (const figure of [queue_depth, priority_queue_depth, dead_letter_depth, open_circuits])
      expect(Number.isInteger(figure)).toBe(true);
    expect(status).toBe(dead_letter_depth > 0 || open_circuits > 0 ? "degraded" : "ok");
  });

  it("serves a valid OpenAPI 3.1 document of exactly the API's routes, without a key", async () => {
    const document = await answered(api({ apiKey: null }).GET("/v1/openapi.json"), 200);
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(document.openapi).toBe("3.1.0");
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        ...Object.values(ManagementRoute),
        ...Object.values(IngestRoute),
        ...Object.values(PublicRoute),
      ].sort(),
    );
  });
});
