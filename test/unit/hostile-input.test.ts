import http from "node:http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { queueBody } from "../../functions/adapters/queue-body.ts";
import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import { isReservedHeaderName } from "../../functions/domain/custom-headers.ts";
import { outboundRequest } from "../../functions/domain/deliver.ts";
import { HooklineError, ValidationError } from "../../functions/domain/errors.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import type { StoredEvent, Webhook } from "../../functions/domain/model.ts";
import { jsonText } from "../../functions/domain/payload.ts";
import { type PublishEventDeps, publishEvent } from "../../functions/domain/publish.ts";
import { CreateWebhookBody, PublishEventBody, UpdateWebhookBody } from "../../functions/http/schemas.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { eventDataCheck } from "../../functions/shared/event-schemas.ts";

/**
 * Input a hostile or careless client may send, thrown at the API's validation and at the publish
 * path. Each time: nothing throws but a typed validation error, errors have one shape, and what is
 * accepted is safe for the next hop (Node's HTTP client, SQS) and arrives unchanged.
 */

/** SQS's message characters, checked per UTF-16 code unit as the local emulator checks them. */
const SQS_SAFE = /^[\t\n\r\x20-\uD7FF\uE000-\uFFFD]*$/;

const hook: Webhook = {
  id: "wh_1",
  tenantId: "t1",
  url: "https://example.com/hook",
  eventTypes: ["*"],
  description: "",
  active: true,
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  createdAt: "",
  updatedAt: "",
  circuit: CLOSED_CIRCUIT,
};

/** Strings from every plane, with lone surrogates, control characters and non-characters. */
const anyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom("", " x", "x ", "東京", "\u0001", "\u007f", "\uFFFF", "\uFFFE", "\uD800", "a\tb", "😀"),
);

const headerName = fc.oneof(
  fc.string({ maxLength: 12 }),
  anyString,
  fc
    .constantFrom("Host", "Transfer-Encoding", "connection", "TE", "Trailer", "proxy-x", "Webhook-Id", "X-Ok")
    .chain((name) => fc.constantFrom<string>(name, name.toUpperCase(), name.toLowerCase())),
);

const headerMap = fc.dictionary(headerName, fc.oneof(anyString, fc.jsonValue({ maxDepth: 1 })), {
  maxKeys: 22,
});

/** One way to write a JSON number too large or too long for a double. */
const hugeNumberText = fc.oneof(
  fc.bigInt({ min: 10n ** 20n, max: 10n ** 40n }).map(String),
  fc.constantFrom("1e400", "-1e400", "1e-400", "123456789012345678901234567890.5"),
);

/** Raw JSON text of event data: deep nesting, any plane, huge numbers and repeated keys. */
const rawData: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    anyString.map((text) => JSON.stringify(text)),
    fc.double().map((number) => JSON.stringify(number)),
    hugeNumberText,
    fc.constantFrom("true", "null", "[]", "{}"),
    tie("object"),
    fc.array(tie("value"), { maxLength: 3 }).map((items) => `[${items.join(",")}]`),
  ),
  object: fc
    .array(fc.tuple(fc.oneof(anyString, fc.constantFrom("k", "__proto__", "constructor")), tie("value")), {
      maxLength: 4,
    })
    .chain((entries) =>
      // Repeat a key now and then: JSON.parse keeps the last one.
      fc.boolean().map((repeat) => (repeat && entries[0] ? [...entries, entries[0]] : entries)),
    )
    .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`),
})).object;

/** Data nested `depth` levels deep: a publisher's recursion gone wild. */
const deepData = fc
  .integer({ min: 1, max: 6_000 })
  .map((depth) => `${'{"a":'.repeat(depth)}"\uFFFF"${"}".repeat(depth)}`);

/** A publish with in-memory stores and one subscriber, recording what was stored and queued. */
function publishHarness() {
  const stored: StoredEvent[] = [];
  const queued: DeliveryMessage[] = [];
  const deps: PublishEventDeps = {
    catalogue: DEFAULT_EVENT_TYPES,
    checkData: eventDataCheck(DEFAULT_EVENT_TYPES),
    now: () => new Date("2026-03-01T12:00:00.000Z"),
    events: {
      insertIfAbsent: async (event) => {
        stored.push(event);
        return { event, created: true };
      },
      markFannedOut: async () => {},
      extendFanOut: async () => {},
    },
    subscribers: {
      subscriberSnapshot: async () => ({ version: 0, page: { webhooks: [hook] } }),
      activeWebhookPage: async () => ({ webhooks: [hook] }),
      subscriptionsUnchanged: async () => true,
    },
    deliveries: { createPending: async (deliveries) => deliveries },
    queue: {
      enqueue: async (messages) => {
        queued.push(...messages);
      },
    },
    continueLater: async () => {},
  };
  return { deps, stored, queued };
}

function expectOneErrorShape(issues: readonly { path: PropertyKey[]; message: string }[]) {
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(typeof issue.message).toBe("string");
    expect(issue.path.every((segment) => typeof segment === "string" || typeof segment === "number")).toBe(
      true,
    );
  }
}

describe("header maps thrown at the webhook schemas", () => {
  it("never throw; refusals name the header; accepted headers are ones Node sends as given", () => {
    fc.assert(
      fc.property(headerMap, (headers) => {
        for (const schema of [CreateWebhookBody, UpdateWebhookBody]) {
          const body = { url: "https://example.com/hook", event_types: ["memory.created"], headers };
          const parsed = schema.safeParse(body);
          if (!parsed.success) {
            expectOneErrorShape(parsed.error.issues);
            for (const issue of parsed.error.issues) expect(issue.path[0]).toBe("headers");
            continue;
          }
          const accepted = parsed.data.headers ?? {};
          expect(accepted).toEqual(headers);
          for (const [name, value] of Object.entries(accepted)) {
            expect(() => http.validateHeaderName(name)).not.toThrow();
            expect(() => http.validateHeaderValue(name, value)).not.toThrow();
            expect(isReservedHeaderName(name)).toBe(false);
            expect(value).toBe(value.trim());
          }
          // Every header of the request is there once, and the signature is Hookline's.
          const request = outboundRequest({ ...hook, headers: accepted }, "msg_1", new Date(), "{}", "ua", 1);
          const names = Object.keys(request.headers).map((name) => name.toLowerCase());
          expect(new Set(names).size).toBe(names.length);
          expect(request.headers["webhook-signature"]).toMatch(/^v1,/);
        }
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it("refuse a `__proto__` name in headers or metadata instead of dropping that entry", () => {
    const withPrototypeKey = JSON.parse('{"__proto__": "x", "X-Team": "blue"}');
    for (const schema of [CreateWebhookBody, UpdateWebhookBody]) {
      for (const field of ["headers", "metadata"]) {
        const body = {
          url: "https://example.com/hook",
          event_types: ["memory.created"],
          [field]: withPrototypeKey,
        };
        const parsed = schema.safeParse(body);
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([[field, "__proto__"]]);
      }
    }
  });
});

describe("event data thrown at the publish path", () => {
  it("is refused with a validation error before anything is stored, or queued SQS-safe and delivered unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(rawData, deepData), async (text) => {
        // What the API's JSON body parser hands on.
        const data: unknown = JSON.parse(text);
        const parsed = PublishEventBody.safeParse({ type: "memory.created", data });
        if (!parsed.success) {
          expectOneErrorShape(parsed.error.issues);
          return;
        }
        const { deps, stored, queued } = publishHarness();
        let published: Awaited<ReturnType<typeof publishEvent>>;
        try {
          published = await publishEvent(deps, "t1", { ...parsed.data, source: "api" });
        } catch (error) {
          expect(error).toBeInstanceOf(HooklineError);
          expect(error).toBeInstanceOf(ValidationError);
          expect((error as ValidationError).details.length).toBeGreaterThan(0);
          expect(stored).toEqual([]);
          expect(queued).toEqual([]);
          return;
        }
        expect(published.deliveryCount).toBe(1);
        expect(queued).toHaveLength(1);
        const body = queueBody(queued[0]);
        expect(body).toMatch(SQS_SAFE);
        const carried = JSON.parse(body) as DeliveryMessage;
        expect(carried.deliveryId).toBe(queued[0]?.deliveryId);
        const payload = carried.payload ?? published.event.payload;
        expect(payload).toBe(published.event.payload);
        // Compared as text: a deep-equality check would itself recurse thousands of levels deep.
        expect(jsonText(JSON.parse(payload).data)).toBe(jsonText(data));
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
