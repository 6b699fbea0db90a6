import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoStores } from "../../functions/adapters/stores.ts";
import {
  HISTORY_HEAD,
  HISTORY_TAIL,
  RESPONSE_BODY_LIMIT_BYTES,
  truncateUtf8,
} from "../../functions/domain/attempt-history.ts";
import type { DeliveryStep } from "../../functions/domain/deliver.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

describe("truncateUtf8", () => {
  it("keeps at most the limit in bytes, cut on a character boundary, as a prefix of the text", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 600 }),
        fc.integer({ min: 0, max: 1100 }),
        (text, max) => {
          // Lone surrogates are not text a decoder produces; the excerpt is always decoded text.
          const decoded = new TextDecoder().decode(new TextEncoder().encode(text));
          const cut = truncateUtf8(decoded, max);
          expect(utf8Length(cut)).toBeLessThanOrEqual(max);
          expect(decoded.startsWith(cut)).toBe(true);
          expect(cut.includes("\uFFFD") && !decoded.slice(0, cut.length).includes("\uFFFD")).toBe(false);
          const next = decoded.codePointAt(cut.length);
          if (next !== undefined)
            expect(utf8Length(cut) + utf8Length(String.fromCodePoint(next))).toBeGreaterThan(max);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("bounds a body of invalid bytes, which decodes to three bytes each, to 1 KB", () => {
    const decoded = Buffer.alloc(RESPONSE_BODY_LIMIT_BYTES, 0xff).toString("utf8");
    expect(utf8Length(decoded)).toBe(3 * RESPONSE_BODY_LIMIT_BYTES);
    const cut = truncateUtf8(decoded, RESPONSE_BODY_LIMIT_BYTES);
    expect(cut).toBe("\uFFFD".repeat(Math.floor(RESPONSE_BODY_LIMIT_BYTES / 3)));
  });
});

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const { deliveries } = dynamoStores(client, {
  webhooksTable: "webhooks",
  eventsTable: "events",
  retentionDays: 30,
  reconcileGraceSeconds: 300,
  fanOutPageSize: 100,
});

/**
 * Applies the attempt clauses of a recorded step's UpdateExpression to an item as DynamoDB does:
 * `list_append(if_not_exists(...))`, a whole-list SET, and a SET at a list index (past the end it
 * appends). The other clauses of the step are not what this test is about, except `attempt_count`.
 */
function applyAttemptClauses(item: Record<string, unknown>, input: UpdateCommand["input"]): void {
  const expression = input.UpdateExpression ?? "";
  const values = input.ExpressionAttributeValues ?? {};
  const list = (name: string) => (item[name] as unknown[] | undefined) ?? [];
  for (const clause of expression
    .replace(/^SET /, "")
    .split(/ REMOVE /)[0]
    ?.split(", ") ?? []) {
    const [path, value] = clause.split(" = ");
    if (path === undefined || value === undefined) continue;
    if (path === "attempts") item.attempts = [...list("attempts"), ...(values[":attempt"] as unknown[])];
    else if (path === "attempts_tail") item.attempts_tail = values[value];
    else {
      const indexed = /^attempts_tail\[(\d+)\]$/.exec(path);
      if (indexed) {
        const tail = [...list("attempts_tail")];
        const index = Number(indexed[1]);
        if (index >= tail.length) tail.push(values[value]);
        else tail[index] = values[value];
        item.attempts_tail = tail;
      } else if (path === "#attemptcount") item.attempt_count = values[value];
    }
  }
}

describe("the bounded attempt history of a delivery record", () => {
  it("keeps the first and the latest attempts of a delivery retried by hand, and counts the rest", async () => {
    // Prepare: a delivery whose 5-retry schedule runs out, then is retried by hand until 40 attempts.
    const item: Record<string, unknown> = {
      pk: "TENANT#t1#WEBHOOK#wh_1",
      sk: "DELIVERY#msg_1",
      id: "msg_1",
      tenant_id: "t1",
      webhook_id: "wh_1",
      event_id: "evt_1",
      event_type: "memory.created",
      status: "pending",
      attempt_count: 0,
      created_at: "2026-11-25T10:00:00.000Z",
    };
    ddb.on(UpdateCommand).callsFake((input: UpdateCommand["input"]) => {
      applyAttemptClauses(item, input);
      return {};
    });
    ddb.on(GetCommand).callsFake(() => ({ Item: structuredClone(item) }));
    const total = 40;
    const longAnswer = "東京".repeat(1000);

    // Act
    for (let attempt = 1; attempt <= total; attempt++) {
      const message: DeliveryMessage = {
        tenantId: "t1",
        webhookId: "wh_1",
        deliveryId: "msg_1",
        eventId: "evt_1",
        eventType: "memory.created",
        acceptedAt: "2026-11-25T10:00:00.000Z",
        attempt,
        scheduleStart: attempt - ((attempt - 1) % 6) - 1,
        ...(attempt % 6 === 1 && attempt > 1 ? { resumed: true } : {}),
      };
      const step: DeliveryStep = {
        kind: "dead_letter",
        attempt: {
          attempt,
          at: new Date(Date.UTC(2026, 10, 25, 10, attempt)).toISOString(),
          statusCode: 500,
          durationMs: 5,
          error: "receiver answered HTTP 500",
          responseBody: longAnswer,
        },
      };
      await deliveries.recordStep(message, step, new Date());
    }
    const stored = await deliveries.get("t1", "wh_1", "msg_1");

    // Assess
    const kept = stored?.attempts?.map((attempt) => attempt.attempt);
    const head = Array.from({ length: HISTORY_HEAD }, (_, index) => index + 1);
    const tail = Array.from({ length: HISTORY_TAIL }, (_, index) => total - HISTORY_TAIL + index + 1);
    expect(kept).toEqual([...head, ...tail]);
    expect(stored?.attemptsOmitted).toBe(total - HISTORY_HEAD - HISTORY_TAIL);
    for (const attempt of stored?.attempts ?? []) {
      expect(utf8Length(attempt.responseBody)).toBeLessThanOrEqual(RESPONSE_BODY_LIMIT_BYTES);
    }
    // Whatever the number of attempts, the record stays far below DynamoDB's 400 KB.
    expect(utf8Length(JSON.stringify(item))).toBeLessThan(64 * 1024);
    const expressions = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input.UpdateExpression);
    expect(expressions[HISTORY_HEAD]).toContain("attempts_tail = :attempt");
    expect(expressions[total - 1]).toContain(
      `attempts_tail[${(total - HISTORY_HEAD - 1) % HISTORY_TAIL}] = :attempt`,
    );
  });
});
