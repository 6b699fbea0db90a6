import { Validator } from "@seriousme/openapi-schema-validator";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../functions/api/openapi.ts";
import { customHeaderProblems } from "../../functions/domain/custom-headers.ts";
import {
  CreateWebhookBody,
  ListWebhooksQuery,
  TestWebhookBody,
  UpdateWebhookBody,
} from "../../functions/http/schemas.ts";
import { IngestRoute, ManagementRoute, PublicRoute } from "../../functions/shared/names.ts";

const minimal = { url: "https://example.com/hooks", event_types: ["memory.created"] };

describe("the create body", () => {
  it("fills in defaults and keeps every setting", () => {
    expect(CreateWebhookBody.parse(minimal)).toEqual({ ...minimal, active: true, ordering: "none" });
    const full = {
      ...minimal,
      description: "d",
      active: false,
      headers: { "X-Api-Key": "k" },
      timeout_seconds: 30,
      retry_schedule_seconds: [1, 2],
      rate_limit_per_second: 5,
      metadata: { team: "a" },
      filter: { data: { plan: ["pro", "enterprise"], amount: [{ numeric: [">=", 100] }] } },
      ordering: "fifo",
    };
    expect(CreateWebhookBody.parse(full)).toEqual(full);
  });

  it.each([
    ["an unknown field", { extra: 1 }],
    ["a timeout of 0", { timeout_seconds: 0 }],
    ["a timeout of 31", { timeout_seconds: 31 }],
    ["a fractional timeout", { timeout_seconds: 1.5 }],
    ["a zero rate limit", { rate_limit_per_second: 0 }],
    ["an unknown ordering", { ordering: "lifo" }],
    ["an ordering in capitals", { ordering: "FIFO" }],
    ["a null ordering", { ordering: null }],
    ["a reserved header", { headers: { "Content-Type": "text/plain" } }],
    ["a header with CRLF in its value", { headers: { "X-A": "a\r\nB: c" } }],
    ["a header with CRLF in its name", { headers: { "X-A\r\nB": "c" } }],
    ["a non-string header value", { headers: { "X-A": 1 } }],
    [
      "21 metadata entries",
      { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"])) },
    ],
    ["a long metadata value", { metadata: { k: "v".repeat(513) } }],
    ["no event types", { event_types: [] }],
    ["a string for event types", { event_types: "memory.created" }],
    ["a null filter", { filter: null }],
    ["a filter with an unknown operator", { filter: { data: { plan: [{ regex: "p" }] } } }],
  ])("refuses %s", (_, change) => {
    expect(CreateWebhookBody.safeParse({ ...minimal, ...change }).success).toBe(false);
  });

  it("names the first problem of a filter by its path", () => {
    const parsed = CreateWebhookBody.safeParse({
      ...minimal,
      filter: { data: { amount: [{ numeric: [">=", "100"] }] } },
    });
    expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([
      ["filter", "data", "amount", 0, "numeric", 1],
    ]);
  });
});

describe("the update body", () => {
  it("accepts any one field, and null for the resettable settings", () => {
    expect(UpdateWebhookBody.parse({ active: true })).toEqual({ active: true });
    expect(UpdateWebhookBody.parse({ timeout_seconds: null })).toEqual({ timeout_seconds: null });
    expect(UpdateWebhookBody.parse({ filter: null })).toEqual({ filter: null });
    expect(UpdateWebhookBody.parse({ ordering: "none" })).toEqual({ ordering: "none" });
  });

  it("refuses an empty body, unknown fields and anything a create refuses", () => {
    for (const body of [
      {},
      { nope: 1 },
      { timeout_seconds: 99 },
      { headers: { Host: "x" } },
      { url: "" },
      { ordering: null },
      { ordering: "lifo" },
      null,
    ]) {
      expect(UpdateWebhookBody.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
  });
});

describe("the list query", () => {
  it("defaults the limit and refuses out-of-range ones", () => {
    expect(ListWebhooksQuery.parse({})).toEqual({ limit: 100 });
    expect(ListWebhooksQuery.parse({ limit: "5", active: "false" })).toEqual({ limit: 5, active: "false" });
    for (const query of [{ limit: "0" }, { limit: "101" }, { limit: "x" }, { active: "yes" }, { other: "1" }])
      expect(ListWebhooksQuery.safeParse(query).success, JSON.stringify(query)).toBe(false);
  });
});

describe("the test-send body", () => {
  it("is optional field by field, and refuses unknown fields and non-object data", () => {
    expect(TestWebhookBody.parse({})).toEqual({});
    expect(TestWebhookBody.parse({ event_type: "memory.created", data: { a: 1 } })).toEqual({
      event_type: "memory.created",
      data: { a: 1 },
    });
    expect(TestWebhookBody.safeParse({ type: "memory.created" }).success).toBe(false);
    expect(TestWebhookBody.safeParse({ data: [1, 2] }).success).toBe(false);
    expect(TestWebhookBody.safeParse({ event_type: "" }).success).toBe(false);
  });
});

describe("the OpenAPI document", () => {
  const document = openApiDocument("0.1.0", "https://api.example.com");

  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("has exactly the routes of the API, and no key on the public ones", () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        ...Object.values(ManagementRoute),
        ...Object.values(IngestRoute),
        ...Object.values(PublicRoute),
      ].sort(),
    );
    expect(document.paths["/v1/health"]?.get).toMatchObject({ security: [] });
    expect(document.paths["/v1/webhooks"]?.post).not.toHaveProperty("security");
  });

  it("describes the create body with the validating schema's limits", () => {
    const schema = document.components.schemas.CreateWebhook as {
      additionalProperties: unknown;
      required: string[];
      properties: Record<string, unknown>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(["url", "event_types"]);
    expect(schema.properties.timeout_seconds).toMatchObject({ type: "integer", minimum: 1, maximum: 30 });
    expect(schema.properties.headers).toMatchObject({ maxProperties: 20 });
  });
});

describe("bodies thrown at the schemas", () => {
  it("never throw, and whatever headers they accept are safe to send", () => {
    const headerish = fc.dictionary(
      fc.string({ maxLength: 30 }),
      fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue()),
      {
        maxKeys: 25,
      },
    );
    const body = fc.record(
      {
        url: fc.oneof(fc.constant("https://example.com/x"), fc.jsonValue()),
        event_types: fc.oneof(fc.constant(["memory.created"]), fc.jsonValue()),
        headers: headerish,
        timeout_seconds: fc.oneof(fc.integer({ min: -5, max: 40 }), fc.double(), fc.jsonValue()),
        metadata: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(body, fc.jsonValue()), (value) => {
        for (const schema of [CreateWebhookBody, UpdateWebhookBody]) {
          const parsed = schema.safeParse(value);
          if (!parsed.success || !parsed.data.headers) continue;
          expect(customHeaderProblems(parsed.data.headers)).toEqual([]);
          for (const [name, headerValue] of Object.entries(parsed.data.headers)) {
            expect(name).not.toMatch(/[\r\n:\s]/);
            expect(headerValue).not.toMatch(/[\r\n]/);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
