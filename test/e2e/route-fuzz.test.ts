import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, answered, api, callApi, newTenant, useApiKey } from "../support/local-stack.ts";
import { Receiver } from "../support/receiver.ts";

/**
 * Every route's parameters thrown at the local stack (issue 12): hostile path ids, query strings and,
 * where a route takes one, bodies that must be refused. Each answer must be below 500 and, when it
 * refuses, in the API's one error shape; and at the end the tenant's single webhook, its events and
 * its receiver show that nothing was stored or sent.
 */

const RUNS = 25;
const SEED = 1_207;

let receiver: Receiver;
let webhookId: string;
let webhookBefore: unknown;

beforeAll(async () => {
  receiver = await Receiver.start();
  useApiKey((await newTenant("route-fuzz")).apiKey);
  const created = await answered(
    api().POST("/v1/webhooks", {
      body: { url: new URL(`/hooks/${randomUUID()}`, receiver.url).href, event_types: ["memory.created"] },
    }),
    201,
  );
  webhookId = created.id;
  webhookBefore = await answered(
    api().GET("/v1/webhooks/{webhookId}", { params: { path: { webhookId } } }),
    200,
  );
});

afterAll(async () => {
  await receiver.stop();
});

const ERROR_SHAPE = {
  error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) },
};

/** No 5xx, and a refusal in the one error shape; `mustRefuse` for requests that may never succeed. */
function expectSafe(response: ApiResponse, request: string, mustRefuse: boolean): void {
  const what = `${request} answered ${response.status} ${JSON.stringify(response.body)?.slice(0, 300)}`;
  expect(response.status, what).toBeLessThan(500);
  if (mustRefuse) expect(response.status, what).toBeGreaterThanOrEqual(400);
  if (response.status >= 400) expect(response.body, what).toEqual(ERROR_SHAPE);
}

/** Text without lone surrogates, which no URL can carry (`encodeURIComponent` throws on them). */
const encoded = (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, "\uFFFD"));

/**
 * A path segment as sent on the wire. Pure dot segments are left out: the client resolves them before
 * sending, so they would reach another route rather than the parameter under test.
 */
const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "%",
    "%25",
    "%zz",
    "%C0%AE%C0%AE",
    "..%2F..%2Fevents",
    "a%2Fb",
    "%2F",
    "%5C..%5C",
    "...",
    "%00",
    "%20",
    "%09",
    "+",
    "%E2%80%8B",
    "%EF%BB%BF",
    "__proto__",
    "constructor",
    "null",
    "-1",
    "1e309",
    "wh_",
    "'%20OR%20'1'%3D'1",
    "%3Cscript%3E",
    "a".repeat(65),
    "b".repeat(129),
    "c".repeat(3000),
  ),
  fc.string({ unit: "binary", minLength: 1, maxLength: 80 }).map(encoded),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).map(encoded),
  fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 200 }).map(encoded),
);

const hostileId = hostileSegment.filter((segment) => segment !== webhookId);

const hugeNumber = fc.oneof(
  fc.constantFrom("1e309", "-1e309", "NaN", "Infinity", "-0", "0x10", "1.5", "9".repeat(400)),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.double().map(String),
);

const badDate = fc.oneof(
  fc.constantFrom(
    "2026-13-45T99:00:00Z",
    "2026-01-01",
    "yesterday",
    "0000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "9999-12-31T23:59:59+14:00",
    "2026-02-30T00:00:00Z",
  ),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
);

const queryValue = fc.oneof(
  hugeNumber,
  badDate,
  fc.constantFrom("", "%", "true", "false", "pending", "dead_lettered", "memory.*", "a".repeat(3000)),
  fc.string({ unit: "binary", maxLength: 60 }),
);

const queryKey = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom("limit", "cursor", "status", "since", "until", "event_type", "type", "active"),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 20 }) },
);

/** A query string; keys repeat freely, and now and then a raw `%` breaks its percent-encoding. */
const hostileQuery = fc
  .tuple(fc.array(fc.tuple(queryKey, queryValue), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(
    ([pairs, broken]) =>
      `?${pairs.map(([key, value]) => `${encoded(key)}=${encoded(value)}`).join("&")}${broken ? "&limit=%" : ""}`,
  );

/** A JSON body as text. Every one breaks the route's body schema, so none may be accepted. */
interface Body {
  readonly rawBody: string;
  readonly contentType?: string;
}

/** Values of a type no field of these bodies accepts, where they are put (numbers, arrays of them, deep arrays). */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.oneof(fc.integer(), fc.array(fc.integer(), { maxLength: 2 })), { minLength: 1, maxLength: 4 }),
);

function hostileBody(fields: readonly string[]): fc.Arbitrary<Body> {
  const nested = (open: string, inner: string, close: string) =>
    fc
      .integer({ min: 1, max: 20_000 })
      .map((depth) => ({ rawBody: open.repeat(depth) + inner + close.repeat(depth) }));
  return fc.oneof(
    // Not an object at all.
    fc
      .oneof(
        fc.constant(null),
        fc.boolean(),
        fc.string({ unit: "binary" }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
      )
      .map((value) => ({ rawBody: JSON.stringify(value) })),
    hugeNumber.map((number) => ({ rawBody: number })),
    nested("[", "", "]"),
    nested('{"a":', "1", "}"),
    // The route's own fields with values of the wrong type, a key now and then written twice.
    fc
      .tuple(
        fc.uniqueArray(fc.constantFrom(...fields), { minLength: 1 }),
        fc.array(wrongValue, { minLength: fields.length, maxLength: fields.length }),
        fc.boolean(),
      )
      .map(([names, values, twice]) => {
        const members = names.map(
          (name, index) => `${JSON.stringify(name)}:${JSON.stringify(values[index])}`,
        );
        if (twice && members[0] !== undefined) members.push(members[0]);
        return { rawBody: `{${members.join(",")}}` };
      }),
    // Not JSON, or not said to be.
    fc.string({ unit: "binary", maxLength: 100 }).map((text) => ({ rawBody: `{${text}` })),
    fc.jsonValue().map((value) => ({ rawBody: JSON.stringify(value) ?? "1", contentType: "text/plain" })),
  );
}

const WEBHOOK_FIELDS = ["url", "event_types", "description", "headers", "metadata", "filter"];

async function send(method: string, path: string, body?: Body): Promise<ApiResponse> {
  return callApi(method, path, body ?? {});
}

async function fuzz<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<void> {
  await fc.assert(fc.asyncProperty(arbitrary, check), { numRuns: RUNS, seed: SEED });
}

/** A route's path with `{id}` replaced by a fuzzed segment and `{webhook}` by the tenant's webhook. */
const pathOf = (template: string, id = "") =>
  template.replaceAll("{id}", id).replaceAll("{webhook}", webhookId);

describe("hostile path parameters", () => {
  it.each([
    ["GET", "/v1/webhooks/{id}"],
    ["DELETE", "/v1/webhooks/{id}"],
    ["POST", "/v1/webhooks/{id}/rotate-secret"],
    ["POST", "/v1/webhooks/{id}/test"],
    ["GET", "/v1/webhooks/{id}/stats"],
    ["GET", "/v1/webhooks/{id}/deliveries"],
    ["GET", "/v1/webhooks/{id}/deliveries/{id}"],
    ["POST", "/v1/webhooks/{id}/deliveries/{id}/retry"],
    ["GET", "/v1/webhooks/{webhook}/deliveries/{id}"],
    ["POST", "/v1/webhooks/{webhook}/deliveries/{id}/retry"],
    ["GET", "/v1/events/{id}"],
  ])("%s %s: refused, in the error shape", async (method, template) => {
    await fuzz(hostileId, async (id) => {
      const path = pathOf(template, id);
      expectSafe(await send(method, path), `${method} ${path}`, true);
    });
  });

  it.each([
    ["PATCH", "/v1/webhooks/{id}", '{"description":"fuzzed"}'],
    ["POST", "/v1/webhooks/{id}/filter-test", '{"type":"memory.created","data":{}}'],
    ["POST", "/v1/webhooks/{id}/recover", `{"since":"${new Date().toISOString()}"}`],
  ])("%s %s with a valid body: refused, in the error shape", async (method, template, rawBody) => {
    await fuzz(hostileId, async (id) => {
      const path = pathOf(template, id);
      expectSafe(await send(method, path, { rawBody }), `${method} ${path}`, true);
    });
  });
});

describe("hostile query strings", () => {
  it.each([
    "/v1/event-types",
    "/v1/webhooks",
    "/v1/events",
    "/v1/health",
    "/v1/health/details",
    "/v1/openapi.json",
    "/v1/webhooks/{webhook}",
    "/v1/webhooks/{webhook}/stats",
    "/v1/webhooks/{webhook}/deliveries",
  ])("GET %s: never a 5xx, refusals in the error shape", async (template) => {
    await fuzz(hostileQuery, async (query) => {
      const path = `${pathOf(template)}${query}`;
      expectSafe(await send("GET", path), `GET ${path}`, false);
    });
  });
});

describe("hostile bodies", () => {
  it.each([
    ["POST", "/v1/webhooks", WEBHOOK_FIELDS],
    ["PATCH", "/v1/webhooks/{webhook}", WEBHOOK_FIELDS],
    ["POST", "/v1/webhooks/{webhook}/test", ["event_type", "data"]],
    ["POST", "/v1/webhooks/{webhook}/filter-test", ["type", "data"]],
    ["POST", "/v1/webhooks/{webhook}/recover", ["since"]],
    ["POST", "/v1/events", ["type", "data", "id"]],
  ])("%s %s: refused, in the error shape", async (method, template, fields) => {
    await fuzz(fc.tuple(hostileBody(fields), fc.option(hostileQuery)), async ([body, query]) => {
      const path = `${pathOf(template)}${query ?? ""}`;
      expectSafe(await send(method, path, body), `${method} ${path} ${body.rawBody.slice(0, 200)}`, true);
    });
  });
});

describe("after all of it", () => {
  it("nothing was stored or sent", async () => {
    const webhookPath = { params: { path: { webhookId } } };
    expect((await answered(api().GET("/v1/webhooks"), 200)).data).toEqual([webhookBefore]);
    expect(await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath), 200)).toEqual(webhookBefore);
    expect((await answered(api().GET("/v1/events"), 200)).data).toEqual([]);
    expect((await answered(api().GET("/v1/webhooks/{webhookId}/deliveries", webhookPath), 200)).data).toEqual(
      [],
    );
    expect(receiver.requests).toEqual([]);
  });
});
