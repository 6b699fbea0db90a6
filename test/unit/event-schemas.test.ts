import { describe, expect, it } from "vitest";
import { DEFAULT_EVENT_TYPES, type EventTypeDefinition } from "../../functions/shared/event-catalogue.ts";
import { exampleEventData } from "../../functions/shared/event-example.ts";
import {
  catalogueSchemaProblems,
  dataPath,
  eventDataCheck,
  MAX_DATA_PROBLEMS,
} from "../../functions/shared/event-schemas.ts";

const ORDER: EventTypeDefinition = {
  name: "order.paid",
  description: "An order was paid.",
  schema: {
    type: "object",
    properties: {
      amount: { type: "number", minimum: 0 },
      currency: { enum: ["EUR", "USD"] },
      paid_at: { type: "string", format: "date-time" },
      lines: {
        type: "array",
        items: { type: "object", required: ["sku"], properties: { sku: { type: "string" } } },
      },
      meta: { type: "object", additionalProperties: false, properties: { "a/b": { type: "string" } } },
    },
    required: ["amount", "currency"],
    examples: [{ amount: 12.5, currency: "EUR" }],
  },
};

describe("the data path of a problem", () => {
  it("reads the JSON pointer as the API names fields", () => {
    expect(dataPath("")).toBe("data");
    expect(dataPath("/amount")).toBe("data.amount");
    expect(dataPath("/lines/0/sku")).toBe("data.lines[0].sku");
    expect(dataPath("/meta/a~1b")).toBe('data.meta["a/b"]');
    expect(dataPath("/odd~0key/with space")).toBe('data["odd~key"]["with space"]');
  });
});

describe("checking data against its type's schema", () => {
  const check = eventDataCheck([ORDER, { name: "order.created", description: "" }]);

  it("passes data that matches, and any data of a type without a schema", () => {
    expect(check("order.paid", { amount: 1, currency: "USD", paid_at: "2026-11-25T10:00:00Z" })).toEqual([]);
    expect(check("order.created", { anything: [1, "two"] })).toEqual([]);
  });

  it("names every field that misses, each at its own path", () => {
    expect(
      check("order.paid", {
        amount: -1,
        currency: "GBP",
        paid_at: "yesterday",
        lines: [{ sku: "a" }, {}],
        meta: { "a/b": 3, extra: true },
      }),
    ).toEqual([
      { path: "data.amount", message: "must be >= 0" },
      { path: "data.currency", message: 'must be one of "EUR", "USD"' },
      { path: "data.paid_at", message: 'must match format "date-time"' },
      { path: "data.lines[1].sku", message: "is required" },
      { path: "data.meta.extra", message: "is not allowed" },
      { path: 'data.meta["a/b"]', message: "must be string" },
    ]);
    const closed = eventDataCheck([
      { ...ORDER, schema: { type: "object", properties: { a: true }, unevaluatedProperties: false } },
    ]);
    expect(closed("order.paid", { a: 1, b: 2 })).toEqual([{ path: "data.b", message: "is not allowed" }]);
    expect(check("order.paid", {})).toEqual([
      { path: "data.amount", message: "is required" },
      { path: "data.currency", message: "is required" },
    ]);
  });

  it("lists at most a bounded number of problems", () => {
    const lines = Array.from({ length: 50 }, () => ({}));
    expect(check("order.paid", { amount: 1, currency: "EUR", lines })).toHaveLength(MAX_DATA_PROBLEMS);
  });
});

describe("the default catalogue", () => {
  it("has a compiling schema for each of the 11 types, whose examples match", () => {
    expect(DEFAULT_EVENT_TYPES).toHaveLength(11);
    expect(DEFAULT_EVENT_TYPES.every((definition) => definition.schema !== undefined)).toBe(true);
    expect(catalogueSchemaProblems(DEFAULT_EVENT_TYPES)).toEqual([]);
    const check = eventDataCheck(DEFAULT_EVENT_TYPES);
    for (const definition of DEFAULT_EVENT_TYPES) {
      expect(check(definition.name, exampleEventData(definition))).toEqual([]);
    }
  });

  it("takes the seeds' payloads, and refuses fields of the wrong type", () => {
    const check = eventDataCheck(DEFAULT_EVENT_TYPES);
    expect(
      check("memory.created", {
        memory_id: "mem_123",
        user_id: "user_123",
        content_preview: "First 100 chars...",
        memory_type: "episodic",
        importance: 0.8,
        concepts: ["AI", "consciousness"],
        session_id: "sess_456",
      }),
    ).toEqual([]);
    expect(
      check("quota.warning", {
        quota_type: "memory_storage",
        current_usage: 8500,
        quota_limit: 10000,
        percentage_used: 85.0,
      }),
    ).toEqual([]);
    expect(check("memory.created", { memory_id: 42, importance: 2, concepts: ["AI", 7] })).toEqual([
      { path: "data.memory_id", message: "must be string" },
      { path: "data.importance", message: "must be <= 1" },
      { path: "data.concepts[1]", message: "must be string" },
    ]);
    expect(check("sync.completed", { sync_type: "partial" })).toEqual([
      { path: "data.sync_type", message: 'must be one of "full", "incremental"' },
    ]);
  });

  it("leaves the data a publisher adds alone: no type requires a field or refuses an unknown one", () => {
    const check = eventDataCheck(DEFAULT_EVENT_TYPES);
    for (const definition of DEFAULT_EVENT_TYPES) {
      expect(check(definition.name, {})).toEqual([]);
      expect(check(definition.name, { n: 1, note: "added by the publisher" })).toEqual([]);
    }
  });
});

describe("a type's example data", () => {
  it("is the first of its schema's examples, else a sample naming the type", () => {
    expect(exampleEventData(ORDER)).toEqual({ amount: 12.5, currency: "EUR" });
    expect(exampleEventData({ name: "order.created", description: "An order was created." })).toEqual({
      test: true,
      message: "An example order.created event: An order was created.",
    });
  });
});
