import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../functions/domain/cursor.ts";
import { ValidationError } from "../../functions/domain/errors.ts";

const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 8);
const position = { pk: "TENANT#acme", sk: "WEBHOOK#wh_01KABCDEF" };

describe("page cursors", () => {
  it("give back the position they were made from, to the tenant they were issued to", () => {
    const cursor = encodeCursor(key, "acme", position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(decodeCursor(key, "acme", cursor)).toEqual(position);
  });

  it("are refused from another tenant, or under another key", () => {
    const cursor = encodeCursor(key, "acme", position);
    expect(() => decodeCursor(key, "globex", cursor)).toThrow(ValidationError);
    expect(() => decodeCursor(otherKey, "acme", cursor)).toThrow(ValidationError);
  });

  it("are refused when the position is changed, even with the signature kept", () => {
    const cursor = encodeCursor(key, "acme", position);
    const [, signature] = cursor.split(".");
    const forged = Buffer.from(JSON.stringify({ ...position, pk: "TENANT#globex" })).toString("base64url");
    expect(() => decodeCursor(key, "acme", `${forged}.${signature}`)).toThrow(/cursor is not valid/);
  });

  it("are refused when any single character is changed", () => {
    const cursor = encodeCursor(key, "acme", position);
    fc.assert(
      fc.property(
        fc.nat({ max: cursor.length - 1 }),
        fc.constantFrom(..."AZaz09-_."),
        (index, replacement) => {
          fc.pre(cursor[index] !== replacement);
          const tampered = `${cursor.slice(0, index)}${replacement}${cursor.slice(index + 1)}`;
          try {
            // A change that base64url decodes to the same bytes (unused trailing bits) is not a change.
            expect(decodeCursor(key, "acme", tampered)).toEqual(position);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        },
      ),
    );
  });

  it("refuse garbage with a validation error that names the cursor", () => {
    for (const garbage of ["", "abc", "a.b.c", "....", "x".repeat(5000), "%%%.%%%"]) {
      try {
        decodeCursor(key, "acme", garbage);
        expect.unreachable(`accepted ${garbage}`);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).details).toEqual([{ path: "cursor", message: expect.any(String) }]);
      }
    }
  });
});
