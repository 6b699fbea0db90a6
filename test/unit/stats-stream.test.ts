import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { Keys } from "../../functions/adapters/keys.ts";
import { dynamoStatsStore, watermarkAttribute } from "../../functions/adapters/stats-store.ts";
import {
  NO_COUNTS,
  type StatsBucketChange,
  type StreamChange,
  statsBuckets,
  streamSequence,
} from "../../functions/domain/stats.ts";
import { addStreamChanges } from "../../functions/services/stats-stream.ts";
import { StreamEventSchema, streamChange } from "../../functions/stats/stream-records.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const SHARD_0 = Keys.webhookDeliveryShard("t1", "wh_1", 0);
const SHARD_5 = Keys.webhookDeliveryShard("t1", "wh_1", 5);
const refused = () => new ConditionalCheckFailedException({ message: "refused", $metadata: {} });

/** One record of lane `lane` at `sequenceNumber`: one delivered attempt of 40 ms in the hour 10. */
function change(lane: string, sequenceNumber: string): StreamChange {
  return {
    lane,
    sequenceNumber,
    sequence: streamSequence(sequenceNumber),
    increments: [
      {
        tenantId: "t1",
        webhookId: "wh_1",
        hour: "2026-11-25T10",
        counts: { ...NO_COUNTS, attempts: 1, attemptDurationMs: 40, delivered: 1 },
      },
    ],
  };
}

function onlyBucket(changes: readonly StreamChange[]): StatsBucketChange {
  const [bucket] = statsBuckets(changes);
  if (!bucket) throw new Error("no bucket");
  return bucket;
}

const updates = () => ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);

describe("a stats bucket write", () => {
  const store = dynamoStatsStore(client, "events", 30);

  it("adds a batch's records in one conditional write that moves each lane's watermark", async () => {
    ddb.on(UpdateCommand).resolves({});
    await store.addOnce(onlyBucket([change(SHARD_0, "100"), change(SHARD_5, "101"), change(SHARD_0, "102")]));
    const [update, ...more] = updates();
    expect(more).toEqual([]);
    expect(update?.Key).toEqual({
      pk: expect.stringMatching(/^TENANT#t1#WEBHOOK#wh_1#SHARD#\d$/),
      sk: "STATS#2026-11-25T10",
    });
    expect(update?.ExpressionAttributeValues).toMatchObject({
      ":attempts": 3,
      ":duration": 120,
      ":delivered": 3,
      ":from0": streamSequence("100"),
      ":through0": streamSequence("102"),
      ":from1": streamSequence("101"),
      ":through1": streamSequence("101"),
    });
    expect(update?.ExpressionAttributeNames).toMatchObject({
      "#w0": "stream_seq#SHARD#0",
      "#w1": "stream_seq#SHARD#5",
    });
    expect(update?.ConditionExpression).toBe(
      "(attribute_not_exists(#w0) OR #w0 < :from0) AND (attribute_not_exists(#w1) OR #w1 < :from1)",
    );
  });

  it("names a lane by the delivery record's partition, short for the webhook's own", () => {
    expect(watermarkAttribute("t1", "wh_1", SHARD_5)).toBe("stream_seq#SHARD#5");
    expect(watermarkAttribute("t1", "wh_1", Keys.webhookDeliveries("t1", "wh_1"))).toBe("stream_seq");
  });

  it("changes nothing when the batch comes again after it was written", async () => {
    ddb.on(UpdateCommand).rejects(refused());
    ddb.on(GetCommand).resolves({
      Item: { [watermarkAttribute("t1", "wh_1", SHARD_0)]: streamSequence("102"), delivered: 2 },
    });
    await store.addOnce(onlyBucket([change(SHARD_0, "100"), change(SHARD_0, "102")]));
    expect(updates()).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: true });
  });

  it("writes only the records past the watermark when a batch comes again from a checkpoint, with more", async () => {
    ddb.on(UpdateCommand).rejectsOnce(refused()).resolves({});
    ddb
      .on(GetCommand)
      .resolves({ Item: { [watermarkAttribute("t1", "wh_1", SHARD_0)]: streamSequence("102") } });
    await store.addOnce(onlyBucket([change(SHARD_0, "100"), change(SHARD_0, "102"), change(SHARD_0, "104")]));
    const [, second] = updates();
    expect(second?.ExpressionAttributeValues).toMatchObject({
      ":attempts": 1,
      ":delivered": 1,
      ":from0": streamSequence("104"),
      ":through0": streamSequence("104"),
    });
  });

  it("gives up when the watermark keeps moving, and passes on any other error", async () => {
    ddb.on(UpdateCommand).rejects(refused());
    ddb.on(GetCommand).resolves({ Item: {} });
    await expect(store.addOnce(onlyBucket([change(SHARD_0, "100")]))).rejects.toThrow(/kept moving/);
    expect(updates()).toHaveLength(3);
    ddb.reset();
    ddb.on(UpdateCommand).rejects(new Error("throttled"));
    await expect(store.addOnce(onlyBucket([change(SHARD_0, "100")]))).rejects.toThrow("throttled");
  });
});

describe("a stream batch", () => {
  const log = { info: () => {}, warn: () => {}, error: () => {} };
  const other = (lane: string, sequenceNumber: string): StreamChange => {
    const base = change(lane, sequenceNumber);
    return { ...base, increments: base.increments.map((increment) => ({ ...increment, webhookId: "wh_2" })) };
  };

  it("reports every record of a bucket that was not written, and none of those that were", async () => {
    const failing = [change(SHARD_0, "101"), change(SHARD_0, "104")];
    const retried = await addStreamChanges(
      {
        addOnce: async (bucket) => {
          if (bucket.webhookId === "wh_1") throw new Error("throttled");
        },
        log,
      },
      [other(SHARD_5, "100"), ...failing, other(SHARD_5, "103")],
    );
    expect(retried).toEqual(failing);
  });

  it("reads a delivery record's change from Lambda's event, and nothing from other items", () => {
    const image = (status: string, attemptCount: number) => ({
      pk: SHARD_0,
      sk: "DELIVERY#d1",
      tenant_id: "t1",
      webhook_id: "wh_1",
      status,
      attempt_count: attemptCount,
      duration_ms: 40,
      updated_at: "2026-11-25T10:30:00.000Z",
      ...(status === "delivered" ? { completed_at: "2026-11-25T10:30:00.000Z" } : {}),
    });
    /** A MODIFY record of the item at `sk`, as Lambda's event carries it. */
    const modify = (
      sk: string,
      sequenceNumber: string,
      images: { OldImage?: Record<string, unknown>; NewImage: Record<string, unknown> },
    ) => ({
      eventName: "MODIFY",
      dynamodb: {
        Keys: marshall({ pk: SHARD_0, sk }),
        SequenceNumber: sequenceNumber,
        ApproximateCreationDateTime: 1_764_000_000,
        ...(images.OldImage === undefined ? {} : { OldImage: marshall(images.OldImage) }),
        NewImage: marshall(images.NewImage),
      },
    });
    const event = StreamEventSchema.parse({
      Records: [
        modify("DELIVERY#d1", "000000000000000000042", {
          OldImage: image("pending", 0),
          NewImage: image("delivered", 1),
        }),
        modify("STATS#2026-11-25T10", "000000000000000000043", {
          NewImage: { pk: SHARD_0, sk: "STATS#2026-11-25T10", delivered: 1 },
        }),
      ],
    });
    const now = new Date("2026-11-25T11:00:00.000Z");
    expect(event.Records.map((record) => streamChange(record, now))).toEqual([
      {
        lane: SHARD_0,
        sequenceNumber: "000000000000000000042",
        sequence: streamSequence("42"),
        increments: [change(SHARD_0, "42").increments[0]],
      },
      {
        lane: SHARD_0,
        sequenceNumber: "000000000000000000043",
        sequence: streamSequence("43"),
        increments: [],
      },
    ]);
    const unreadable = StreamEventSchema.parse({
      Records: [
        modify("DELIVERY#d1", "44", { NewImage: { pk: SHARD_0, sk: "DELIVERY#d1", status: "lost" } }),
      ],
    });
    const [record] = unreadable.Records;
    if (!record) throw new Error("no record");
    expect(() => streamChange(record, now)).toThrow();
  });
});
