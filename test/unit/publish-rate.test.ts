import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoPublishRateLimiter } from "../../functions/adapters/rate-limiter.ts";
import { RateLimitedError } from "../../functions/domain/errors.ts";
import { admitApiPublish } from "../../functions/domain/publish.ts";
import { admitPublish, type PublishAdmission, tenantBucket } from "../../functions/domain/rate-limit.ts";
import { type ApiEvent, type ApiResult, httpErrors } from "../../functions/http/http.ts";

/** Publishes at the given times (ms) against one bucket; true for each one admitted. */
function publishAt(times: readonly number[], rate: number, burst: number): boolean[] {
  const bucket = tenantBucket(rate, burst);
  let tat: number | undefined;
  return times.map((now) => {
    const admission = admitPublish(bucket, tat, now);
    if (admission.admitted) tat = admission.tat;
    return admission.admitted;
  });
}

describe("a tenant's publish bucket", () => {
  it("admits a burst at once, refuses the next, and admits again as tokens come back", () => {
    const admitted = publishAt([...Array.from({ length: 21 }, () => 0), 99, 100, 100], 10, 20);
    expect(admitted.slice(0, 20).every(Boolean)).toBe(true);
    expect(admitted.slice(20)).toEqual([false, false, true, false]);
  });

  it("tells a refused publish how long until a token is back", () => {
    const bucket = tenantBucket(10, 2);
    const first = admitPublish(bucket, undefined, 1000);
    const second = admitPublish(bucket, first.admitted ? first.tat : 0, 1000);
    const third = admitPublish(bucket, second.admitted ? second.tat : 0, 1000);
    expect(third).toEqual({ admitted: false, retryAfterMs: 100 });
  });

  it("never admits more than burst + rate × elapsed publishes in any window", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 300 }),
        (rate, burst, offsets) => {
          const times = [...offsets].sort((a, b) => a - b);
          const admitted = publishAt(times, rate, burst).flatMap((ok, index) =>
            ok ? [times[index] ?? 0] : [],
          );
          for (let start = 0; start < admitted.length; start += 1) {
            for (let end = start; end < admitted.length; end += 1) {
              const elapsed = (admitted[end] ?? 0) - (admitted[start] ?? 0);
              expect(end - start + 1).toBeLessThanOrEqual(burst + Math.floor((elapsed * rate) / 1000 + 1e-9));
            }
          }
        },
      ),
    );
  });
});

describe("the publish bucket in DynamoDB", () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  afterEach(() => ddb.reset());
  const failed = (tat?: number) =>
    new ConditionalCheckFailedException({
      message: "no",
      $metadata: {},
      ...(tat === undefined ? {} : { Item: { tat: { N: String(tat) } } }),
    });

  it("takes a token from a bucket in use in one conditional update", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { tat: 10_100 } });
    const admission = await dynamoPublishRateLimiter(client, "events", 10, 20).admit("acme", 10_000);
    expect(admission).toEqual({ admitted: true, tat: 10_100 });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: "TENANT#acme#PUBLISH_RATE", sk: "PUBLISH_RATE" });
    expect(input?.ExpressionAttributeValues).toMatchObject({ ":now": 10_000, ":latest": 11_900 });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it("refuses without writing when the bucket is empty", async () => {
    ddb.on(UpdateCommand).rejects(failed(12_400));
    const admission = await dynamoPublishRateLimiter(client, "events", 10, 20).admit("acme", 10_000);
    expect(admission).toEqual({ admitted: false, retryAfterMs: 500 });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it("claims an idle bucket only while it is still idle", async () => {
    ddb.on(UpdateCommand).rejects(failed());
    ddb.on(PutCommand).resolves({});
    const admission = await dynamoPublishRateLimiter(client, "events", 10, 20).admit("acme", 10_000);
    expect(admission).toEqual({ admitted: true, tat: 10_100 });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).toBe(
      "attribute_not_exists(tat) OR tat <= :now",
    );
  });
});

describe("a publish over the tenant's rate", () => {
  const full = { admit: async (): Promise<PublishAdmission> => ({ admitted: false, retryAfterMs: 1200 }) };

  it("is refused with the seconds to wait, rounded up", async () => {
    const refused = admitApiPublish(full, "acme", 0);
    await expect(refused).rejects.toBeInstanceOf(RateLimitedError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 2 });
  });

  it("is answered 429 in the API's error shape, with Retry-After", async () => {
    const handler = middy<ApiEvent, ApiResult>(async () => {
      await admitApiPublish(full, "acme", 0);
      return { statusCode: 202 };
    }).use(httpErrors());
    const response = await handler({} as ApiEvent, {} as never);
    expect(response.statusCode).toBe(429);
    expect(response.headers).toMatchObject({ "retry-after": "2", "content-type": "application/json" });
    expect(JSON.parse(String(response.body))).toEqual({
      error: { code: "rate_limited", message: expect.stringContaining("2 s"), details: [] },
    });
  });
});
