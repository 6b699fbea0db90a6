import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { deliveryKey, pendingDeliveryItem } from "../../functions/adapters/delivery-store.ts";
import { shardOf, WEBHOOK_DELIVERY_SHARDS } from "../../functions/adapters/keys.ts";
import type { DeliveryStep } from "../../functions/domain/deliver.ts";
import { pendingDelivery } from "../support/memory-order-store.ts";
import { firstAttemptMessage, storesOnMockedClient } from "../support/mocked-stores.ts";

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());
const { deliveries } = storesOnMockedClient(50);

const OWN_PARTITION = "TENANT#t1#WEBHOOK#wh_1";
const message = firstAttemptMessage();
const delivered: DeliveryStep = {
  kind: "delivered",
  attempt: { attempt: 1, at: "2026-11-25T10:00:00.000Z", statusCode: 200, durationMs: 5, responseBody: "" },
};
/** The record of the pending delivery msg_1, as the store writes it, at `pk`. */
const record = (pk: string) => ({
  ...pendingDeliveryItem(pendingDelivery("msg_1", "2026-11-25T10:00:00.000Z"), 30, 50),
  pk,
});

/** A table holding one record at `pk`, whose conditional updates succeed only where the record is. */
function tableWithRecordAt(pk: string) {
  ddb.on(GetCommand).callsFake((input: GetCommandInput) => ({
    Item: input.Key?.pk === pk ? record(pk) : undefined,
  }));
  ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
    if (input.Key?.pk !== pk)
      throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
    return {};
  });
}

const updatedPartitions = () => ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input.Key?.pk);

describe("a webhook's delivery records, spread over its shards", () => {
  it("puts a delivery's record in one of the webhook's shards, by hash of its id", () => {
    expect(deliveryKey("t1", "wh_1", "msg_1")).toEqual({
      pk: `${OWN_PARTITION}#SHARD#${shardOf("msg_1", WEBHOOK_DELIVERY_SHARDS)}`,
      sk: "DELIVERY#msg_1",
    });
  });

  it("records a step where the record is, in one write", async () => {
    const shard = deliveryKey("t1", "wh_1", "msg_1").pk;
    tableWithRecordAt(shard);

    expect(await deliveries.recordStep(message, delivered, new Date("2026-11-25T10:00:01.000Z"))).toBe(true);

    expect(updatedPartitions()).toEqual([shard]);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("reads and records a delivery an older version kept in the webhook's own partition", async () => {
    tableWithRecordAt(OWN_PARTITION);

    expect(await deliveries.get("t1", "wh_1", "msg_1")).toMatchObject({ id: "msg_1", status: "pending" });
    expect(await deliveries.recordStep(message, delivered, new Date("2026-11-25T10:00:01.000Z"))).toBe(true);

    expect(updatedPartitions()).toEqual([deliveryKey("t1", "wh_1", "msg_1").pk, OWN_PARTITION]);
  });

  it("refuses a step the record in its shard does not allow, without looking elsewhere", async () => {
    const shard = deliveryKey("t1", "wh_1", "msg_1").pk;
    ddb.on(GetCommand).resolves({ Item: record(shard) });
    ddb
      .on(UpdateCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} }),
      );

    expect(await deliveries.recordStep(message, delivered, new Date("2026-11-25T10:00:01.000Z"))).toBe(false);

    expect(updatedPartitions()).toEqual([shard]);
  });
});
