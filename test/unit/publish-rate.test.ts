import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoPublishRateLimiter } from "../../functions/adapters/rate-limiter.ts";
import { RateLimitedError } from "../../functions/domain/errors.ts";
import { admitApiPublish } from "../../functions/domain/publish.ts";
import {
  admitPublish,
  MAX_PUBLISH_BUCKET_SHARDS,
  type PublishAdmission,
  publishBucketShards,
  tenantBucket,
} from "../../functions/domain/rate-limit.ts";
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

describe("a tenant's bucket split into parts", () => {
  it("stays one bucket for small limits, and splits a large one into parts of at least 50/s", () => {
    expect(publishBucketShards(10, 20)).toBe(1);
    expect(publishBucketShards(99, 1000)).toBe(1);
    expect(publishBucketShards(100, 200)).toBe(2);
    expect(publishBucketShards(1000, 2000)).toBe(MAX_PUBLISH_BUCKET_SHARDS);
    // Never more parts than tokens of burst: each part holds at least one.
    expect(publishBucketShards(100_000, 3)).toBe(3);
  });

  it("never admits more than burst + rate × elapsed publishes in any window, over all its parts", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.nat()), { minLength: 1, maxLength: 300 }),
        (rate, burst, publishes) => {
          const shards = publishBucketShards(rate, burst);
          const bucket = tenantBucket(rate / shards, burst / shards);
          const tats: (number | undefined)[] = Array.from({ length: shards }, () => undefined);
          const sorted = [...publishes].sort((a, b) => a[0] - b[0]);
          const admitted = sorted.flatMap(([now, pick]) => {
            const shard = pick % shards;
            const admission = admitPublish(bucket, tats[shard], now);
            if (!admission.admitted) return [];
            tats[shard] = admission.tat;
            return [now];
          });
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

  it("spreads a large limit's publishes over the parts of its bucket, each with its share", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { tat: 10_016 } });
    const limiter = dynamoPublishRateLimiter(client, "events", 1000, 2000);
    for (let publish = 0; publish < 200; publish += 1) await limiter.admit("acme", 10_000);
    const inputs = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    const keys = new Set(inputs.map((input) => input.Key?.pk));
    expect(keys.size).toBeGreaterThan(MAX_PUBLISH_BUCKET_SHARDS / 2);
    for (const key of keys) expect(key).toMatch(/^TENANT#acme#PUBLISH_RATE#([0-9]|1[0-5])$/);
    // 62.5 publishes a second per part: one token every 16 ms, 125 of them at once.
    expect(inputs[0]?.ExpressionAttributeValues).toMatchObject({
      ":interval": 16,
      ":latest": 10_000 + 124 * 16,
    });
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
