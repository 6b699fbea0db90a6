import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/domain/errors.ts";
import { assertDeliverableData, jsonText } from "../../functions/domain/payload.ts";
import { eventPayload } from "../../functions/domain/publish.ts";

/** `{"a":{"a":…"leaf"…}}`, `depth` objects deep. */
function nested(depth: number): unknown {
  let value: unknown = "leaf";
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

describe("event data as JSON text", () => {
  it("is exactly what JSON.stringify writes, for any JSON data from any Unicode plane", () => {
    fc.assert(
      fc.property(fc.jsonValue({ depthSize: "medium" }), fc.string({ unit: "binary" }), (value, text) => {
        const data = { value, text, list: [value, text, null] };
        expect(jsonText(data)).toBe(JSON.stringify(data));
      }),
      { numRuns: 300 },
    );
    expect(jsonText([undefined, { skipped: undefined, kept: 1 }])).toBe('[null,{"kept":1}]');
  }, 60_000);

  it("writes a payload nested far deeper than JSON.stringify can (a publisher's 256 KB nests ~50,000 deep)", () => {
    const depth = 50_000;
    const payload = eventPayload("evt_1", "memory.created", new Date(0), nested(depth));
    expect(payload).toBe(
      `{"id":"evt_1","type":"memory.created","timestamp":"1970-01-01T00:00:00.000Z","data":${'{"a":'.repeat(depth)}"leaf"${"}".repeat(depth)}}`,
    );
  });
});

describe("deliverable data", () => {
  it("refuses numbers beyond a double's range, which would be delivered as null, naming each path", () => {
    const data = JSON.parse(
      '{"ok":1.7e308,"big":123456789012345678901234567890,"items":[0,{"total":1e400}],"low":-1e999}',
    );
    expect(() => assertDeliverableData(data)).toThrow(ValidationError);
    try {
      assertDeliverableData(data);
    } catch (error) {
      expect((error as ValidationError).details).toEqual([
        { path: "data.items[1].total", message: expect.stringContaining("too large") },
        { path: "data.low", message: expect.stringContaining("too large") },
      ]);
    }
  });

  it("accepts ordinary data, and deep data without running out of stack", () => {
    // A number too small for a double is 0 once parsed, not a refusal.
    expect(() => assertDeliverableData(JSON.parse('{"a":[1,"x",null,true,{"b":1e-400}]}'))).not.toThrow();
    expect(() => assertDeliverableData(nested(50_000))).not.toThrow();
  });
});
