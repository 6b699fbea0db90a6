import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredEvent } from "../../functions/domain/model.ts";
import { FAN_OUT_SETTLED_SECONDS } from "../../functions/shared/limits.ts";
import { TableKey } from "../../functions/shared/names.ts";
import { pendingDelivery } from "../support/memory-order-store.ts";
import { storesOnMockedClient } from "../support/mocked-stores.ts";

/**
 * A crash between a publish's write and its queue send leaves deliveries stored but never queued. They
 * fall due once the publishing invocation has surely ended (35 s), not a whole grace (50 s) later;
 * the reconciler then finds their lane empty and queues them.
 */
const GRACE_SECONDS = 50;
const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

const storesWith = storesOnMockedClient;

const CREATED_AT = "2026-12-02T10:00:00.000Z";
const event: StoredEvent = {
  id: "evt_1",
  tenantId: "t1",
  type: "memory.created",
  payload: '{"n":1}',
  acceptedAt: CREATED_AT,
  source: "api",
};
const delivery = pendingDelivery("msg_1", CREATED_AT);
const dueIn = (seconds: number) => new Date(Date.parse(CREATED_AT) + seconds * 1000).toISOString();

function dueOfWritten(): (string | undefined)[] {
  const puts = ddb.commandCalls(PutCommand).map((call) => call.args[0].input.Item);
  const batched = ddb
    .commandCalls(BatchWriteCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.events ?? [])
    .map((request) => request.PutRequest?.Item);
  return [...puts, ...batched].map((item) => item?.[TableKey.dueAt]);
}

describe("when a publish's records fall due to the reconciler", () => {
  it("is sooner than the grace: the publishing function's timeout and a margin", () => {
    expect(FAN_OUT_SETTLED_SECONDS).toBe(35);
    expect(FAN_OUT_SETTLED_SECONDS).toBeLessThan(GRACE_SECONDS);
  });

  it("makes a published event and its first page's deliveries due at the same time", async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(BatchWriteCommand).resolves({});
    const { events, deliveries } = storesWith(GRACE_SECONDS);

    await events.insertIfAbsent(event);
    await deliveries.createPending([delivery], { resume: false });

    expect(dueOfWritten()).toEqual([dueIn(FAN_OUT_SETTLED_SECONDS), dueIn(FAN_OUT_SETTLED_SECONDS)]);
  });

  it("keeps a count stored with the event when the fan-out is marked done, so its listing entry is not rewritten", async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    const { events } = storesWith(GRACE_SECONDS);

    await events.insertIfAbsent({ ...event, deliveryCount: 1 });
    await events.markFannedOut(event.tenantId, event.id);
    await events.markFannedOut(event.tenantId, "evt_paged", 3);

    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({ delivery_count: 1 });
    const [kept, counted] = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(kept?.UpdateExpression).toBe("REMOVE #dueShard, #dueAt");
    expect(kept?.ExpressionAttributeValues).toBeUndefined();
    expect(counted?.UpdateExpression).toBe("SET delivery_count = :count REMOVE #dueShard, #dueAt");
    expect(counted?.ExpressionAttributeValues).toEqual({ ":count": 3 });
  });

  it("leaves the deliveries a resumed fan-out creates (the reconciler's, which runs for minutes) a whole grace", async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand).resolves({});

    await storesWith(GRACE_SECONDS).deliveries.createPending([delivery], { resume: true });

    expect(dueOfWritten()).toEqual([dueIn(GRACE_SECONDS)]);
  });

  it("keeps a deployment's grace where it is the shorter", async () => {
    ddb.on(BatchWriteCommand).resolves({});

    await storesWith(20).deliveries.createPending([delivery], { resume: false });

    expect(dueOfWritten()).toEqual([dueIn(20)]);
  });
});
