import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keys } from "../../functions/adapters/keys.ts";
import { DEFAULT_EVENT_SOURCE, StackOutput, TableKey } from "../../functions/shared/names.ts";
import {
  answered,
  api,
  callApi,
  localStack,
  newTenant,
  refused,
  reply,
  useApiKey,
  webhookPath,
} from "../support/local-stack.ts";
import { eventually, type ReceivedRequest, Receiver } from "../support/receiver.ts";

let receiver: Receiver;
let tenantId: string;

beforeAll(async () => {
  receiver = await Receiver.start();
  const tenant = await newTenant("hostile-input");
  tenantId = tenant.tenantId;
  useApiKey(tenant.apiKey);
});
afterAll(async () => {
  await receiver.stop();
});

/** A webhook at its own path of the receiver, so that its requests can be told from the others'. */
async function registerWebhook(eventTypes: string[]) {
  const path = `/hooks/${randomUUID()}`;
  const webhook = await answered(
    api().POST("/v1/webhooks", { body: { url: new URL(path, receiver.url).href, event_types: eventTypes } }),
    201,
  );
  return { ...webhook, path };
}

/** The request a webhook got for an event, verified with the webhook's secret. */
async function verifiedDelivery(
  webhook: { readonly path: string; readonly secret: string },
  eventId: string,
): Promise<ReceivedRequest> {
  const request = await eventually(`event ${eventId} to be delivered`, () =>
    receiver.requests.find(
      (received) => received.path === webhook.path && received.rawBody.includes(`"id":"${eventId}"`),
    ),
  );
  const headers = {
    "webhook-id": String(request.headers["webhook-id"]),
    "webhook-timestamp": String(request.headers["webhook-timestamp"]),
    "webhook-signature": String(request.headers["webhook-signature"]),
  };
  expect(() => new StandardWebhook(webhook.secret).verify(request.rawBody, headers)).not.toThrow();
  return request;
}

const ERROR_SHAPE = {
  error: { code: "validation_error", message: expect.any(String), details: expect.any(Array) },
};

describe("custom headers a receiver could never be sent", () => {
  it.each([
    ["X-Team", "東京"],
    ["X-Ctl", "a\u0001b"],
    ["X-Del", "a\u007fb"],
    ["X-Padded", " value"],
    ["Transfer-Encoding", "chunked"],
    ["Connection", "upgrade"],
    ["Trailer", "x"],
    ["Keep-Alive", "timeout=5"],
    ["Upgrade", "websocket"],
    ["TE", "trailers"],
    ["Expect", "100-continue"],
    ["Proxy-Authorization", "Basic eA=="],
    ["Content-Encoding", "gzip"],
  ])("refuses %s: %j with 400 at headers.<name>, on create and on update", async (name, value) => {
    const created = await reply(
      api().POST("/v1/webhooks", {
        body: { url: receiver.url, event_types: ["sync.failed"], headers: { [name]: value } },
      }),
    );
    expect(created.status).toBe(400);
    expect(created.body).toMatchObject(ERROR_SHAPE);
    expect(created.body).toEqual({
      error: {
        code: "validation_error",
        message: expect.any(String),
        details: [{ path: `headers.${name}`, message: expect.any(String) }],
      },
    });

    const webhook = await registerWebhook(["sync.failed"]);
    const patched = await refused(
      api().PATCH("/v1/webhooks/{webhookId}", {
        ...webhookPath(webhook.id),
        body: { headers: { [name]: value } },
      }),
      400,
    );
    expect(patched.details).toEqual([{ path: `headers.${name}`, message: expect.any(String) }]);
    const stored = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhook.id)), 200);
    expect(stored.headers ?? {}).toEqual({});
  });

  it("fails a delivery at once, with the reason recorded, for a header stored before these checks", async () => {
    const webhook = await registerWebhook(["memory.updated"]);
    // A value the API now refuses, written as an older version would have stored it.
    const stack = localStack();
    const ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.endpoints.dynamodb,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      }),
    );
    await ddb.send(
      new UpdateCommand({
        TableName: stack.outputs[StackOutput.webhooksTable],
        Key: { [TableKey.partition]: Keys.tenant(tenantId), [TableKey.sort]: Keys.webhook(webhook.id) },
        UpdateExpression: "SET headers = :headers",
        ExpressionAttributeValues: { ":headers": { "X-Team": "東京" } },
      }),
    );
    ddb.destroy();

    const tested = await answered(api().POST("/v1/webhooks/{webhookId}/test", webhookPath(webhook.id)), 200);
    expect(tested).toMatchObject({ success: false, error: expect.stringContaining("headers.X-Team") });

    await answered(api().POST("/v1/events", { body: { type: "memory.updated", data: {} } }), 202);
    const delivery = await eventually("the delivery to fail", async () => {
      const listed = await answered(
        api().GET("/v1/webhooks/{webhookId}/deliveries", webhookPath(webhook.id)),
        200,
      );
      const [found] = listed.data;
      return found?.status === "failed" ? found : undefined;
    });
    const detail = await answered(
      api().GET("/v1/webhooks/{webhookId}/deliveries/{deliveryId}", {
        params: { path: { webhookId: webhook.id, deliveryId: delivery.id } },
      }),
      200,
    );
    expect(detail.attempts).toEqual([
      expect.objectContaining({ attempt: 1, error: expect.stringContaining("headers.X-Team") }),
    ]);
    expect(receiver.requests.filter((request) => request.path === webhook.path)).toEqual([]);
  });
});

describe("event data that SQS cannot carry as it is", () => {
  // Raw JSON, so that a lone surrogate travels as the publisher wrote it.
  const hostileJson = String.raw`{"nonCharacters":"a\uffffb\ufffec","loneHigh":"\ud800","loneLow":"x\udfffy","controls":"\u0001\u0008\u000b\u001f\u007f","pair":"\ud83d\ude00"}`;

  it("is accepted and delivered, signed, as the very JSON that was published", async () => {
    const webhook = await registerWebhook(["memory.created"]);
    const published = await callApi("POST", "/v1/events", {
      rawBody: `{"type":"memory.created","data":${hostileJson}}`,
    });
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    const request = await verifiedDelivery(webhook, published.body.id);
    expect(JSON.parse(request.rawBody).data).toEqual(JSON.parse(hostileJson));
  });

  it("is delivered the same way when published on EventBridge", async () => {
    const webhook = await registerWebhook(["session.started"]);
    const stack = localStack();
    const client = new EventBridgeClient({
      endpoint: stack.endpoints.eventbridge,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const eventId = `eb-hostile-${Date.now()}`;
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: localStack().outputs[StackOutput.eventBusName],
            Source: DEFAULT_EVENT_SOURCE,
            DetailType: "session.started",
            Detail: `{"tenant_id":"${tenantId}","id":"${eventId}","data":${hostileJson}}`,
          },
        ],
      }),
    );
    client.destroy();
    expect(result.FailedEntryCount).toBe(0);
    const request = await verifiedDelivery(webhook, eventId);
    expect(JSON.parse(request.rawBody).data).toEqual(JSON.parse(hostileJson));
  });

  it("refuses a number too large for a double, which would arrive as null, before storing anything", async () => {
    const id = `huge-${randomUUID()}`;
    const published = await callApi("POST", "/v1/events", {
      rawBody: `{"id":"${id}","type":"memory.created","data":{"n":[1,1e400]}}`,
    });
    expect(published.status).toBe(400);
    expect(published.body).toMatchObject(ERROR_SHAPE);
    expect(published.body.error.details).toEqual([{ path: "data.n[1]", message: expect.any(String) }]);
    const stored = await api().GET("/v1/events/{eventId}", { params: { path: { eventId: id } } });
    expect(stored.response.status).toBe(404);
  });

  it("delivers an event nested 5,000 levels deep", async () => {
    const webhook = await registerWebhook(["memory.deleted"]);
    const depth = 5_000;
    const data = `${'{"a":'.repeat(depth - 1)}{"leaf":"\\uffff"}${"}".repeat(depth - 1)}`;
    const published = await callApi("POST", "/v1/events", {
      rawBody: `{"type":"memory.deleted","data":${data}}`,
    });
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    const request = await verifiedDelivery(webhook, published.body.id);
    let level: unknown = JSON.parse(request.rawBody).data;
    for (let index = 1; index < depth; index += 1) level = (level as { a: unknown }).a;
    expect(level).toEqual({ leaf: "\uffff" });
  });
});
