/**
 * EventBridge pattern matching of the local runtime (functions/domain/event-pattern.ts, shared with webhook filters). Pure: no emulator needed;
 * it lives beside the local runtime's other tests.
 */
import { describe, expect, it } from "vitest";
import { matchesPattern } from "../../functions/domain/event-pattern.ts";

const event = {
  version: "0",
  id: "e-1",
  "detail-type": "OrderPlaced",
  source: "shop.orders",
  account: "000000000000",
  time: "2026-01-01T00:00:00Z",
  region: "us-east-1",
  resources: ["arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-b"],
  detail: {
    orderId: "o-42",
    amount: 150,
    currency: "EUR",
    express: true,
    coupon: null,
    customer: { tier: "gold", email: "Ann@Example.com", ip: "10.0.1.17" },
    tags: ["new", "vip"],
    lines: [
      { sku: "A", quantity: 1 },
      { sku: "B", quantity: 3 },
    ],
  },
};

const matches = (pattern: unknown) => matchesPattern(pattern, event);

describe("event patterns", () => {
  it("matches exact values, any of a list, and nested objects", () => {
    expect(matches({ source: ["shop.orders"] })).toBe(true);
    expect(matches({ source: ["other", "shop.orders"] })).toBe(true);
    expect(matches({ source: ["other"] })).toBe(false);
    expect(matches({ detail: { customer: { tier: ["gold"] } } })).toBe(true);
    expect(matches({ detail: { customer: { tier: ["silver"] } } })).toBe(false);
    expect(matches({ detail: { amount: [150], express: [true], coupon: [null] } })).toBe(true);
    expect(matches({ detail: { amount: ["150"] } })).toBe(false);
  });

  it("requires every field of the pattern to match", () => {
    expect(matches({ source: ["shop.orders"], "detail-type": ["OrderPlaced"] })).toBe(true);
    expect(matches({ source: ["shop.orders"], "detail-type": ["OrderCancelled"] })).toBe(false);
    expect(matches({ detail: { missing: ["x"] } })).toBe(false);
  });

  it("matches when one element of an array value matches", () => {
    expect(matches({ resources: ["arn:aws:s3:::bucket-b"] })).toBe(true);
    expect(matches({ detail: { tags: ["vip"] } })).toBe(true);
    expect(matches({ detail: { tags: ["old"] } })).toBe(false);
    expect(matches({ detail: { lines: { sku: ["B"] } } })).toBe(true);
    expect(matches({ detail: { lines: { sku: ["C"] } } })).toBe(false);
  });

  it("supports prefix, suffix, equals-ignore-case and wildcard", () => {
    expect(matches({ source: [{ prefix: "shop." }] })).toBe(true);
    expect(matches({ source: [{ prefix: "bank." }] })).toBe(false);
    expect(matches({ detail: { orderId: [{ suffix: "-42" }] } })).toBe(true);
    expect(matches({ detail: { customer: { email: [{ "equals-ignore-case": "ann@example.COM" }] } } })).toBe(
      true,
    );
    expect(matches({ detail: { customer: { email: [{ prefix: { "equals-ignore-case": "ANN@" } }] } } })).toBe(
      true,
    );
    expect(matches({ detail: { orderId: [{ wildcard: "o-*" }] } })).toBe(true);
    expect(matches({ detail: { orderId: [{ wildcard: "x-*" }] } })).toBe(false);
    expect(matches({ detail: { amount: [{ prefix: "1" }] } })).toBe(false);
  });

  it("supports anything-but with values, lists and prefixes", () => {
    expect(matches({ detail: { currency: [{ "anything-but": "USD" }] } })).toBe(true);
    expect(matches({ detail: { currency: [{ "anything-but": ["USD", "EUR"] }] } })).toBe(false);
    expect(matches({ detail: { currency: [{ "anything-but": { prefix: "E" } }] } })).toBe(false);
    expect(matches({ detail: { amount: [{ "anything-but": [100, 200] }] } })).toBe(true);
    expect(matches({ detail: { missing: [{ "anything-but": "x" }] } })).toBe(false);
  });

  it("supports numeric ranges", () => {
    expect(matches({ detail: { amount: [{ numeric: [">", 100] }] } })).toBe(true);
    expect(matches({ detail: { amount: [{ numeric: [">", 100, "<=", 150] }] } })).toBe(true);
    expect(matches({ detail: { amount: [{ numeric: [">=", 151] }] } })).toBe(false);
    expect(matches({ detail: { amount: [{ numeric: ["=", 150] }] } })).toBe(true);
    expect(matches({ detail: { currency: [{ numeric: [">", 0] }] } })).toBe(false);
  });

  it("supports exists on leaves only", () => {
    expect(matches({ detail: { orderId: [{ exists: true }] } })).toBe(true);
    expect(matches({ detail: { missing: [{ exists: true }] } })).toBe(false);
    expect(matches({ detail: { missing: [{ exists: false }] } })).toBe(true);
    expect(matches({ detail: { orderId: [{ exists: false }] } })).toBe(false);
    expect(matches({ detail: { customer: [{ exists: true }] } })).toBe(false);
    expect(matches({ nothing: { deeper: [{ exists: false }] } })).toBe(true);
  });

  it("supports cidr and $or", () => {
    expect(matches({ detail: { customer: { ip: [{ cidr: "10.0.0.0/16" }] } } })).toBe(true);
    expect(matches({ detail: { customer: { ip: [{ cidr: "10.1.0.0/16" }] } } })).toBe(false);
    expect(matches({ $or: [{ source: ["nope"] }, { detail: { amount: [150] } }] })).toBe(true);
    expect(matches({ $or: [{ source: ["nope"] }, { detail: { amount: [1] } }] })).toBe(false);
  });

  it("rejects malformed patterns with a clear error", () => {
    expect(() => matches({ source: "shop.orders" })).toThrow(/array of matchers or an object/);
    expect(() => matches({ source: [{ regex: "x" }] })).toThrow(/unsupported event pattern operator "regex"/);
    expect(() => matches({ detail: { amount: [{ numeric: [">"] }] } })).toThrow(/numeric/);
  });
});
