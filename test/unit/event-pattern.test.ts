/**
 * The EventBridge pattern matcher and validator (functions/domain/event-pattern.ts): EventBridge's own
 * documented examples ("Content filtering in Amazon EventBridge event patterns", "Comparison operators
 * for use in event patterns"), then properties over generated events and patterns.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_PATTERN_BYTES,
  MAX_PATTERN_VALUES,
  matchesPattern,
  patternPathText,
  patternProblem,
} from "../../functions/domain/event-pattern.ts";

/** The EC2 state-change event of EventBridge's documentation, with fields its other examples use. */
const ec2Event = {
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "111122223333",
  time: "2017-12-22T18:43:48Z",
  region: "us-west-1",
  resources: ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  detail: {
    "instance-id": "i-1234567890abcdef0",
    state: "terminated",
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.123",
    FileName: "Image.PNG",
    FilePath: "/usr/lib/libc.so",
    service: "EventBridge",
    Name: "Alice",
    LastName: "",
    responseElements: null,
  },
};

const cases: readonly (readonly [string, Record<string, unknown>, boolean])[] = [
  ["exact value", { source: ["aws.ec2"] }, true],
  ["exact value, other", { source: ["aws.s3"] }, false],
  ["one of a list", { detail: { state: ["running", "terminated"] } }, true],
  ["and across fields", { source: ["aws.ec2"], detail: { state: ["running"] } }, false],
  ["empty string", { detail: { LastName: [""] } }, true],
  ["null", { detail: { responseElements: [null] } }, true],
  ["null is not a missing field", { detail: { missing: [null] } }, false],
  ["a number is not its string", { detail: { "c-count": ["5"] } }, false],
  ["prefix", { time: [{ prefix: "2017-12-22" }] }, true],
  ["prefix, other", { region: [{ prefix: "eu-" }] }, false],
  ["prefix ignoring case", { detail: { service: [{ prefix: { "equals-ignore-case": "EVENTB" } }] } }, true],
  ["suffix", { detail: { FileName: [{ suffix: ".PNG" }] } }, true],
  ["suffix is case-sensitive", { detail: { FileName: [{ suffix: ".png" }] } }, false],
  ["suffix ignoring case", { detail: { FileName: [{ suffix: { "equals-ignore-case": ".png" } }] } }, true],
  ["equals-ignore-case", { detail: { Name: [{ "equals-ignore-case": "alice" }] } }, true],
  ["anything-but a string", { detail: { state: [{ "anything-but": "initializing" }] } }, true],
  ["anything-but the value", { detail: { state: [{ "anything-but": "terminated" }] } }, false],
  ["anything-but a number", { detail: { "x-limit": [{ "anything-but": 123 }] } }, true],
  ["anything-but a list", { detail: { state: [{ "anything-but": ["stopped", "terminated"] }] } }, false],
  ["anything-but numbers", { detail: { "c-count": [{ "anything-but": [100, 200, 300] }] } }, true],
  ["anything-but a prefix", { region: [{ "anything-but": { prefix: "us-" } }] }, false],
  ["anything-but a suffix", { detail: { FileName: [{ "anything-but": { suffix: ".png" } }] } }, true],
  [
    "anything-but ignoring case",
    { detail: { state: [{ "anything-but": { "equals-ignore-case": ["Stopped", "TERMINATED"] } }] } },
    false,
  ],
  ["anything-but a wildcard", { detail: { FilePath: [{ "anything-but": { wildcard: "*/lib/*" } }] } }, false],
  ["anything-but on a missing field", { detail: { missing: [{ "anything-but": "x" }] } }, false],
  ["numeric range", { detail: { "c-count": [{ numeric: [">", 0, "<=", 5] }] } }, true],
  ["numeric upper bound", { detail: { "d-count": [{ numeric: ["<", 10] }] } }, true],
  ["numeric equals", { detail: { "x-limit": [{ numeric: ["=", 3.018e2] }] } }, true],
  ["numeric out of range", { detail: { "c-count": [{ numeric: [">", 5] }] } }, false],
  ["numeric on a string", { detail: { state: [{ numeric: [">", 0] }] } }, false],
  ["cidr", { detail: { "source-ip": [{ cidr: "10.0.0.0/24" }] } }, true],
  ["cidr, other block", { detail: { "source-ip": [{ cidr: "10.0.1.0/24" }] } }, false],
  ["exists", { detail: { state: [{ exists: true }] } }, true],
  ["exists false", { detail: { "no-such-field": [{ exists: false }] } }, true],
  ["exists false on a present field", { detail: { state: [{ exists: false }] } }, false],
  ["exists on an object (leaves only)", { detail: [{ exists: true }] }, false],
  ["wildcard", { resources: [{ wildcard: "arn:aws:ec2:*:instance/*" }] }, true],
  ["wildcard, other", { resources: [{ wildcard: "arn:aws:s3:*" }] }, false],
  ["an array value: one element matching", { resources: ["x", ec2Event.resources[0]] }, true],
  [
    "$or",
    {
      detail: {
        $or: [
          { "c-count": [{ numeric: [">", 10] }] },
          { "d-count": [{ numeric: ["<", 10] }] },
          { "x-limit": [{ numeric: ["=", 3] }] },
        ],
      },
    },
    true,
  ],
  ["$or, none matching", { $or: [{ source: ["a"] }, { region: ["b"] }] }, false],
  ["an inherited field is not in the event", { detail: { constructor: [{ exists: false }] } }, true],
];

describe("EventBridge's documented examples", () => {
  it.each(cases)("%s", (_name, pattern, expected) => {
    expect(patternProblem(pattern)).toBeUndefined();
    expect(matchesPattern(pattern, ec2Event)).toBe(expected);
  });

  it("matches arrays in events when any element matches (documented resources example)", () => {
    const event = { resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:2"] };
    expect(matchesPattern({ resources: ["arn:1", "arn:2"] }, event)).toBe(true);
    expect(matchesPattern({ resources: ["arn:1", "arn:3"] }, event)).toBe(false);
  });

  it("filters a webhook envelope by the issue's example", () => {
    const filter = { data: { plan: ["pro", "enterprise"], amount: [{ numeric: [">=", 100] }] } };
    expect(matchesPattern(filter, { type: "t.x", data: { plan: "pro", amount: 100 } })).toBe(true);
    expect(matchesPattern(filter, { type: "t.x", data: { plan: "pro", amount: 99.5 } })).toBe(false);
    expect(matchesPattern(filter, { type: "t.x", data: { plan: "free", amount: 500 } })).toBe(false);
    expect(matchesPattern(filter, { type: "t.x", data: { plan: "enterprise" } })).toBe(false);
  });
});

describe("the validator", () => {
  const firstProblem = (pattern: unknown) => {
    const problem = patternProblem(pattern);
    return problem && patternPathText("filter", problem.path);
  };

  it.each([
    ["not an object", ["a"], "filter"],
    ["an empty pattern", {}, "filter"],
    ["a bare value", { data: { plan: "pro" } }, "filter.data.plan"],
    ["an empty list", { data: { plan: [] } }, "filter.data.plan"],
    ["an unknown operator", { data: { plan: [{ regex: "p.*" }] } }, "filter.data.plan[0].regex"],
    [
      "two operators in one matcher",
      { data: { plan: [{ prefix: "a", suffix: "b" }] } },
      "filter.data.plan[0]",
    ],
    [
      "numeric without a number",
      { data: { amount: [{ numeric: [">="] }] } },
      "filter.data.amount[0].numeric",
    ],
    [
      "a numeric bound as text",
      { data: { amount: [{ numeric: [">=", "100"] }] } },
      "filter.data.amount[0].numeric[1]",
    ],
    [
      "a numeric unknown comparison",
      { data: { amount: [{ numeric: ["!=", 1] }] } },
      "filter.data.amount[0].numeric[0]",
    ],
    [
      "a range of two lower bounds",
      { data: { a: [{ numeric: [">", 1, ">=", 2] }] } },
      "filter.data.a[0].numeric",
    ],
    ["exists not a boolean", { data: { a: [{ exists: "yes" }] } }, "filter.data.a[0].exists"],
    ["prefix not a string", { data: { a: [{ prefix: 1 }] } }, "filter.data.a[0].prefix"],
    [
      "anything-but mixing types",
      { data: { a: [{ "anything-but": ["x", 1] }] } },
      "filter.data.a[0].anything-but",
    ],
    [
      "anything-but an unknown operator",
      { data: { a: [{ "anything-but": { numeric: [">", 1] } }] } },
      "filter.data.a[0].anything-but",
    ],
    ["a bad cidr", { data: { ip: [{ cidr: "10.0.0.0/33" }] } }, "filter.data.ip[0].cidr"],
    ["$or of one", { $or: [{ type: ["a.b"] }] }, "filter.$or"],
    ["a bad $or alternative", { $or: [{ type: ["a.b"] }, { data: 3 }] }, "filter.$or[1].data"],
    ["a nested array", { data: { a: [["x"]] } }, "filter.data.a[0]"],
    ["six levels of fields", { data: { b: { c: { d: { e: { f: ["x"] } } } } } }, "filter.data.b.c.d.e"],
  ])("refuses %s, naming where", (_name, pattern, path) => {
    expect(firstProblem(pattern)).toBe(path);
  });

  it("accepts five levels of fields", () => {
    expect(patternProblem({ data: { b: { c: { d: { e: ["x"] } } } } })).toBeUndefined();
  });

  it(`refuses more than ${MAX_PATTERN_VALUES} values and more than ${MAX_PATTERN_BYTES} bytes`, () => {
    const values = (count: number) => Array.from({ length: count }, (_, index) => index);
    expect(patternProblem({ data: { n: values(MAX_PATTERN_VALUES) } })).toBeUndefined();
    expect(firstProblem({ data: { n: values(MAX_PATTERN_VALUES + 1) } })).toBe(
      `filter.data.n[${MAX_PATTERN_VALUES}]`,
    );
    expect(firstProblem({ data: { n: [{ "anything-but": values(MAX_PATTERN_VALUES + 1) }] } })).toBe(
      "filter.data.n[0].anything-but",
    );
    expect(patternProblem({ data: { s: ["x".repeat(MAX_PATTERN_BYTES)] } })?.message).toMatch(/2048 bytes/);
  });
});

describe("properties", () => {
  const leaf = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  );
  const key = fc.string({ minLength: 1, maxLength: 6 }).filter((text) => text !== "$or");
  const field = fc.oneof(
    leaf,
    fc.array(leaf, { maxLength: 4 }),
    fc.dictionary(key, fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })), { maxKeys: 4 }),
  );
  const data = fc.dictionary(key, field, { minKeys: 1, maxKeys: 6 });

  /** A pattern of the event's own values: each leaf exactly, an array by its first element. */
  function patternOf(value: Record<string, unknown>): Record<string, unknown> {
    const pattern: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) {
      if (Array.isArray(item)) {
        if (item.length > 0) pattern[name] = [item[0]];
      } else if (item !== null && typeof item === "object") {
        const inner = patternOf(item as Record<string, unknown>);
        if (Object.keys(inner).length > 0) pattern[name] = inner;
      } else {
        pattern[name] = [item];
      }
    }
    return pattern;
  }

  it("a pattern built from an event's own values matches it", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), data, (type, eventData) => {
        const event = { type, data: eventData };
        const pattern = { type: [type], ...patternOf(event) };
        expect(patternProblem(pattern)).toBeUndefined();
        expect(matchesPattern(pattern, event)).toBe(true);
      }),
    );
  });

  it("anything-but a value never matches that value", () => {
    const comparable = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    fc.assert(
      fc.property(comparable, fc.array(fc.string(), { maxLength: 3 }), (value, others) => {
        const excluded = typeof value === "string" ? [...others, value] : [value];
        for (const argument of [value, excluded]) {
          const pattern = { data: { f: [{ "anything-but": argument }] } };
          expect(patternProblem(pattern)).toBeUndefined();
          expect(matchesPattern(pattern, { data: { f: value } })).toBe(false);
        }
      }),
    );
  });

  it("a wildcard matches exactly what the equivalent regular expression matches", () => {
    const text = fc.string({ unit: fc.constantFrom("a", "b", "*"), maxLength: 8 });
    fc.assert(
      fc.property(text, fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 10 }), (wildcard, value) => {
        const regex = new RegExp(`^${wildcard.replaceAll("*", ".*")}$`);
        expect(matchesPattern({ f: [{ wildcard }] }, { f: value })).toBe(regex.test(value));
      }),
    );
  });

  /** Pattern-shaped values: real operators with arguments of any shape, so most are nearly valid. */
  const patternLike = fc.letrec<{ pattern: Record<string, unknown>; matcher: unknown }>((tie) => ({
    pattern: fc.dictionary(
      fc.oneof(key, fc.constant("$or")),
      fc.oneof(
        fc.array(tie("matcher"), { maxLength: 3 }),
        tie("pattern"),
        fc.array(tie("pattern"), { maxLength: 3 }),
        leaf,
      ),
      { maxKeys: 3, depthIdentifier: "pattern" },
    ),
    matcher: fc.oneof(
      leaf,
      fc.dictionary(
        fc.constantFrom(
          "prefix",
          "suffix",
          "equals-ignore-case",
          "wildcard",
          "anything-but",
          "numeric",
          "exists",
          "cidr",
          "x",
        ),
        fc.oneof(
          leaf,
          fc.jsonValue({ maxDepth: 2 }),
          fc.tuple(fc.constantFrom(">", "<=", "="), fc.integer()),
        ),
        { minKeys: 1, maxKeys: 2 },
      ),
    ),
  }));

  it("the validator never throws, and a pattern it accepts never throws when matched", () => {
    fc.assert(
      fc.property(fc.oneof(patternLike.pattern, fc.jsonValue()), fc.jsonValue(), (pattern, event) => {
        const problem = patternProblem(pattern);
        if (problem === undefined) expect(() => matchesPattern(pattern, event)).not.toThrow();
        else expect(typeof problem.message).toBe("string");
      }),
      { numRuns: 500 },
    );
  });
});
