import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoRateLimiter } from "../../functions/adapters/rate-limiter.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const notNow = () => new ConditionalCheckFailedException({ message: "no", $metadata: {} });

describe("the rate limiter's slots in DynamoDB", () => {
  it("takes the next slot of a busy limiter and moves it on by one interval, in one update", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { next_slot_at: 10_110 } });
    const slot = await dynamoRateLimiter(client, "webhooks").reserve("acme", "wh_1", 20, () => 10_000);
    expect(slot).toBe(10_110);
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe("next_slot_at > :now");
    expect(input?.ExpressionAttributeValues?.[":now"]).toBe(10_000);
    expect(input?.ExpressionAttributeValues?.[":interval"]).toBeCloseTo(60, 9);
    expect(input?.ReturnValues).toBe("UPDATED_OLD");
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it("sends at once on an idle limiter, and claims it only while it is still idle", async () => {
    ddb.on(UpdateCommand).rejects(notNow());
    ddb.on(PutCommand).resolves({});
    const slot = await dynamoRateLimiter(client, "webhooks").reserve("acme", "wh_1", 20, () => 10_000);
    expect(slot).toBe(10_000);
    const input = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(input?.Item?.next_slot_at).toBeCloseTo(10_060, 9);
    expect(input?.ConditionExpression).toBe("attribute_not_exists(next_slot_at) OR next_slot_at <= :now");
  });

  it("queues behind another delivery that made the limiter busy first", async () => {
    ddb
      .on(UpdateCommand)
      .rejectsOnce(notNow())
      .resolves({ Attributes: { next_slot_at: 10_060 } });
    ddb.on(PutCommand).rejects(notNow());
    const slot = await dynamoRateLimiter(client, "webhooks").reserve("acme", "wh_1", 20, () => 10_000);
    expect(slot).toBe(10_060);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(2);
  });
});
