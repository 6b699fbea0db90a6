import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HooklineSchema } from "../../client/index.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { exampleEventData } from "../../functions/shared/event-example.ts";
import { IngestRoute, ManagementRoute, PublicRoute } from "../../functions/shared/names.ts";
import { answered, api, callApi, newTenant, useApiKey } from "../support/local-stack.ts";
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

/** Every webhook of the caller's tenant, following cursors, with the pages' sizes. */
async function listAll(query = "", key?: string) {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let cursor: string | null = null;
  do {
    const separator = query === "" ? "?" : `?${query}&`;
    const path: string = `/v1/webhooks${cursor === null ? (query === "" ? "" : `?${query}`) : `${separator}cursor=${encodeURIComponent(cursor)}`}`;
    const response = await callApi("GET", path, key === undefined ? {} : { apiKey: key });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const page = response.body as { data: Array<{ id: string }>; next_cursor: string | null };
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
    const response = await callApi("GET", "/v1/event-types");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
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
    const fetched = await callApi("GET", `/v1/webhooks/${created.id}`);
    expect(fetched.body).toMatchObject({ ...expected, id: created.id });
    expect(fetched.body).not.toHaveProperty("secret");
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
    const patched = await callApi("PATCH", `/v1/webhooks/${created.id}`, {
      body: {
        description: "renamed",
        event_types: ["session.*"],
        timeout_seconds: null,
        headers: { "X-B": "2" },
      },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({
      id: created.id,
      url: created.url,
      description: "renamed",
      event_types: ["session.*"],
      timeout_seconds: null,
      headers: { "X-B": "2" },
      metadata: { a: "1" },
      created_at: created.created_at,
    });
    expect(Date.parse(patched.body.updated_at)).toBeGreaterThan(Date.parse(String(created.updated_at)));
    expect(patched.body).not.toHaveProperty("secret");
    const fetched = await callApi("GET", `/v1/webhooks/${created.id}`);
    expect(fetched.body).toEqual(patched.body);
  });

  it("re-runs the endpoint checks when the URL changes", async () => {
    const created = await create({ url: receiver.url, event_types: ["memory.created"] });
    const refused = await callApi("PATCH", `/v1/webhooks/${created.id}`, {
      body: { url: "http://user:secret@127.0.0.1:1/hooks" },
    });
    expectError(refused, 400, "validation_error");
    const moved = await callApi("PATCH", `/v1/webhooks/${created.id}`, {
      body: { url: `${receiver.url}/moved` },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.url).toBe(`${receiver.url}/moved`);
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
      const published = await callApi("POST", "/v1/events", { body: { type: "quota.warning", data: {} } });
      expect(published.status).toBe(202);
      await eventually(
        "the circuit to open",
        async () =>
          (await callApi("GET", `/v1/webhooks/${webhook.id}`)).body.circuit_state === "open"
            ? true
            : undefined,
        30_000,
      );
      // The probe after the cooldown is answered 410 Gone: Hookline deactivates the webhook.
      failing.status = 410;
      const deactivated = await eventually(
        "the webhook to be deactivated",
        async () => {
          const current = await callApi("GET", `/v1/webhooks/${webhook.id}`);
          return current.body.disabled_reason ? current.body : undefined;
        },
        30_000,
      );
      expect(deactivated).toMatchObject({ active: false, disabled_reason: "endpoint answered 410 Gone" });
      expect(deactivated.circuit_state).not.toBe("closed");
      const unhealthy = await callApi("GET", "/v1/health/details");
      expect(unhealthy.body).toMatchObject({ status: "degraded" });
      expect(unhealthy.body.open_circuits).toBeGreaterThanOrEqual(1);

      const reenabled = await callApi("PATCH", `/v1/webhooks/${webhook.id}`, { body: { active: true } });
      expect(reenabled.status, JSON.stringify(reenabled.body)).toBe(200);
      expect(reenabled.body).toMatchObject({
        active: true,
        disabled_reason: null,
        circuit_state: "closed",
        circuit_opened_at: null,
      });

      // Deliveries go out again at once: the circuit is closed, not waiting for a probe.
      failing.status = 200;
      const before = failing.requests.length;
      const next = await callApi("POST", "/v1/events", { body: { type: "quota.exceeded", data: {} } });
      // (Another webhook of this tenant subscribes to "*" and gets it too.)
      expect(next.status).toBe(202);
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
    const { ids, pageSizes } = await listAll("limit=100", paging.apiKey);
    expect(pageSizes.slice(0, 3)).toEqual([100, 100, 50]);
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    expect([...ids].sort()).toEqual([...created].sort());
    expect(ids).toEqual([...ids].sort().reverse());

    const inactive = await listAll("active=false&limit=7", paging.apiKey);
    expect(inactive.ids).toHaveLength(50);
    const active = await listAll("active=true&limit=100", paging.apiKey);
    expect(active.ids).toHaveLength(200);
    expect(new Set([...active.ids, ...inactive.ids]).size).toBe(250);

    // A cursor belongs to the tenant it was issued to.
    const first = await callApi("GET", "/v1/webhooks?limit=1", { apiKey: paging.apiKey });
    const foreign = await callApi("GET", `/v1/webhooks?cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expectError(foreign, 400, "validation_error");
    expect(foreign.body.error.message).toMatch(/cursor/);
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
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), event_types: [] } }),
      400,
      "validation_error",
    ],
    [
      "101 event types",
      () =>
        callApi("POST", "/v1/webhooks", {
          body: { ...valid(), event_types: Array(101).fill("memory.created") },
        }),
      400,
      "validation_error",
    ],
    [
      "an unknown event type",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), event_types: ["nope.x"] } }),
      400,
      "validation_error",
    ],
    [
      "a URL that is not one",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), url: "not a url" } }),
      400,
      "validation_error",
    ],
    [
      "an ftp URL",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), url: "ftp://127.0.0.1/x" } }),
      400,
      "validation_error",
    ],
    [
      "credentials in the URL",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), url: "http://u:p@127.0.0.1/x" } }),
      400,
      "validation_error",
    ],
    [
      "a reserved header",
      () =>
        callApi("POST", "/v1/webhooks", { body: { ...valid(), headers: { "Webhook-Signature": "v1,x" } } }),
      400,
      "validation_error",
    ],
    [
      "a CRLF in a header value",
      () =>
        callApi("POST", "/v1/webhooks", { body: { ...valid(), headers: { "X-A": "a\r\nX-Injected: 1" } } }),
      400,
      "validation_error",
    ],
    [
      "a timeout of 0",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), timeout_seconds: 0 } }),
      400,
      "validation_error",
    ],
    [
      "a timeout of 60",
      () => callApi("POST", "/v1/webhooks", { body: { ...valid(), timeout_seconds: 60 } }),
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
      () => callApi("GET", "/v1/webhooks?cursor=eyJwayI6IlRFTkFOVCN4In0.AAAA"),
      400,
      "validation_error",
    ],
    ["a limit of 0", () => callApi("GET", "/v1/webhooks?limit=0"), 400, "validation_error"],
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
    const before = (await callApi("GET", `/v1/webhooks/${webhook.id}`)).body;
    for (const body of [
      {},
      { nope: 1 },
      { timeout_seconds: 31 },
      { headers: { Host: "x" } },
      { event_types: [] },
    ]) {
      expectError(await callApi("PATCH", `/v1/webhooks/${webhook.id}`, { body }), 400, "validation_error");
    }
    expectError(await callApi("PATCH", `/v1/webhooks/${webhook.id}`), 400, "validation_error");
    expectError(
      await callApi("PATCH", `/v1/webhooks/${webhook.id}`, { rawBody: "{", contentType: "application/json" }),
      400,
      "invalid_json",
    );
    expect((await callApi("GET", `/v1/webhooks/${webhook.id}`)).body).toEqual(before);
  });
});

describe("tenants", () => {
  it("cannot see, list, patch or delete each other's webhooks", async () => {
    const other = await newTenant("other");
    const mine = await create({ url: receiver.url, event_types: ["memory.created"] });
    const theirs = await create({ url: receiver.url, event_types: ["memory.created"] }, other.apiKey);
    const asOther = { apiKey: other.apiKey };
    expectError(await callApi("GET", `/v1/webhooks/${mine.id}`, asOther), 404, "not_found");
    expectError(
      await callApi("PATCH", `/v1/webhooks/${mine.id}`, { ...asOther, body: { active: false } }),
      404,
      "not_found",
    );
    expectError(await callApi("DELETE", `/v1/webhooks/${mine.id}`, asOther), 404, "not_found");
    expectError(
      await callApi("PATCH", `/v1/webhooks/${theirs.id}`, { body: { active: false } }),
      404,
      "not_found",
    );
    expect((await listAll("", other.apiKey)).ids).toEqual([theirs.id]);
    expect((await listAll()).ids).not.toContain(theirs.id);
    expect((await callApi("GET", `/v1/webhooks/${mine.id}`)).body).toMatchObject({ active: true });
  });
});

describe("public routes", () => {
  it("answers liveness without a key, and nothing about the deployment's load", async () => {
    const response = await callApi("GET", "/v1/health", { apiKey: null });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok" });
  });

  it("reports the deployment's figures, both lanes included, only to a caller with a key", async () => {
    expect((await callApi("GET", "/v1/health/details", { apiKey: null })).status).toBe(401);
    expect((await callApi("GET", "/v1/health/details", { apiKey: "hk_not_a_key" })).status).toBe(401);
    const response = await callApi("GET", "/v1/health/details");
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual([
      "dead_letter_depth",
      "open_circuits",
      "priority_queue_depth",
      "queue_depth",
      "status",
    ]);
    const { status, queue_depth, priority_queue_depth, dead_letter_depth, open_circuits } = response.body;
    for (const figure of [queue_depth, priority_queue_depth, dead_letter_depth, open_circuits])
      expect(Number.isInteger(figure)).toBe(true);
    expect(status).toBe(dead_letter_depth > 0 || open_circuits > 0 ? "degraded" : "ok");
  });

  it("serves a valid OpenAPI 3.1 document of exactly the API's routes, without a key", async () => {
    const response = await callApi("GET", "/v1/openapi.json", { apiKey: null });
    expect(response.status).toBe(200);
    const result = await new Validator().validate(response.body);
    expect(result.errors ?? []).toEqual([]);
    expect(response.body.openapi).toBe("3.1.0");
    const operations = Object.entries(response.body.paths as Record<string, Record<string, unknown>>).flatMap(
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
