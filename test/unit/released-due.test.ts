import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredDelivery } from "../../functions/domain/ports.ts";
import { RELEASED_DUE_SECONDS } from "../../functions/shared/limits.ts";
import { TableKey } from "../../functions/shared/names.ts";
import { pendingDelivery } from "../support/memory-order-store.ts";
import { storesOnMockedClient } from "../support/mocked-stores.ts";

/**
 * A closing circuit's release claims each parked delivery, then sends its message. A releaser that dies
 * in between leaves the delivery claimed and unsent: it falls due 10 s after the claim, not a grace.
 */
const GRACE_SECONDS = 50;
const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());
const { deliveries } = storesOnMockedClient(GRACE_SECONDS);

const parked: StoredDelivery = {
  ...pendingDelivery("msg_1", "2026-12-02T10:00:00.000Z"),
  status: "retrying",
  attemptCount: 1,
  parked: true,
};

function update() {
  const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
  const names = input?.ExpressionAttributeNames ?? {};
  const values = input?.ExpressionAttributeValues ?? {};
  const [set = "", removed = ""] = (input?.UpdateExpression ?? "").replace(/^SET /, "").split(" REMOVE ");
  const named = (path: string) => names[path.trim()] ?? path.trim();
  return {
    set: Object.fromEntries(
      set.split(", ").map((clause) => {
        const [path = "", value = ""] = clause.split(" = ");
        return [named(path), values[value.trim()]];
      }),
    ),
    removed: removed.split(", ").map(named),
  };
}

describe("a delivery released from its circuit's waiting list", () => {
  it("is marked released and falls due 10 s after the claim", async () => {
    ddb.on(UpdateCommand).resolves({});
    const now = new Date("2026-12-02T10:05:00.000Z");

    expect(await deliveries.unpark(parked, now)).toBe(true);

    const { set } = update();
    expect(set.released_at).toBe(now.toISOString());
    expect(set[TableKey.dueAt]).toBe(new Date(now.getTime() + RELEASED_DUE_SECONDS * 1000).toISOString());
    expect(RELEASED_DUE_SECONDS).toBeLessThan(GRACE_SECONDS);
  });

  it("is no longer marked released once its next step is recorded", async () => {
    ddb.on(UpdateCommand).resolves({});

    await deliveries.recordStep(
      {
        tenantId: "t1",
        webhookId: "wh_1",
        deliveryId: "msg_1",
        eventId: parked.eventId,
        eventType: "memory.created",
        acceptedAt: parked.createdAt,
        attempt: 2,
        scheduleStart: 0,
        resumed: true,
      },
      {
        kind: "delivered",
        attempt: {
          attempt: 2,
          at: "2026-12-02T10:05:01.000Z",
          statusCode: 200,
          durationMs: 5,
          responseBody: "",
        },
      },
      new Date("2026-12-02T10:05:01.000Z"),
    );

    expect(update().removed).toContain("released_at");
  });
});
