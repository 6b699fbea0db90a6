import { describe, expect, it } from "vitest";
import { customHeaderProblems, isReservedHeaderName } from "../../functions/domain/custom-headers.ts";

describe("custom delivery headers", () => {
  it("accepts ordinary headers", () => {
    expect(customHeaderProblems({ "X-Api-Key": "abc", Authorization: "Bearer t", "x-trace": "" })).toEqual(
      [],
    );
  });

  it.each([
    "webhook-id",
    "Webhook-Signature",
    "WEBHOOK-TIMESTAMP",
    "webhook-anything",
    "Content-Type",
    "content-length",
    "HOST",
    "User-Agent",
    "Transfer-Encoding",
    "transfer-encoding",
    "Connection",
    "Keep-Alive",
    "Upgrade",
    "TE",
    "Trailer",
    "Trailers",
    "Expect",
    "Proxy-Authorization",
    "proxy-connection",
    "Proxy-Anything",
    "HTTP2-Settings",
    "Content-Encoding",
    "Content-Range",
  ])("refuses the reserved name %s", (name) => {
    expect(isReservedHeaderName(name)).toBe(true);
    expect(customHeaderProblems({ [name]: "x" })).toEqual([
      { path: `headers.${name}`, message: expect.stringContaining("set by Hookline") },
    ]);
  });

  it.each(["X-Evil\r\nHost", "X-Evil\n", "X Space", "X:Colon", "", "é"])("refuses the name %j", (name) => {
    expect(customHeaderProblems({ [name]: "x" })).toHaveLength(1);
  });

  it.each([
    "a\r\nX-Injected: 1",
    "a\nb",
    "a\rb",
    "a\0b",
    "東京",
    "caf\u00e9",
    "\x01",
    "a\x7fb",
    "\x1b[31m",
    "\u00a0",
    "a\ufeffb",
    "\ud83d\ude00",
    "\ud800",
  ])("refuses the value %j: field values are visible ASCII, space and tab (RFC 9110)", (value) => {
    expect(customHeaderProblems({ "X-Ok": value })).toEqual([
      { path: "headers.X-Ok", message: expect.stringContaining("visible ASCII") },
    ]);
  });

  it.each([" leading", "trailing ", "\tx", "x\t"])(
    "refuses the value %j: a receiver would see it trimmed, not as given",
    (value) => {
      expect(customHeaderProblems({ "X-Ok": value })).toEqual([
        { path: "headers.X-Ok", message: expect.stringContaining("whitespace") },
      ]);
    },
  );

  it("accepts every visible ASCII character, and inner spaces and tabs", () => {
    const visible = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
    expect(customHeaderProblems({ "X-All": visible, "X-Spaced": "a b\tc", "X-Empty": "" })).toEqual([]);
  });

  it("caps the number of headers and their lengths", () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`X-H${index}`, "v"]));
    expect(customHeaderProblems(many)).toEqual([{ path: "headers", message: "at most 20 headers" }]);
    expect(customHeaderProblems({ [`X-${"a".repeat(100)}`]: "v" })).toHaveLength(1);
    expect(customHeaderProblems({ "X-Long": "v".repeat(1001) })).toHaveLength(1);
    expect(customHeaderProblems({ "X-Long": "v".repeat(1000) })).toEqual([]);
  });

  it("refuses the same name twice in different cases", () => {
    expect(customHeaderProblems({ "X-A": "1", "x-a": "2" })).toEqual([
      { path: "headers.x-a", message: expect.stringContaining("twice") },
    ]);
  });
});
