/**
 * Event-type schemas on the local stack: the catalogue lists each type's schema and example, a publish
 * whose data misses its schema is refused over the API (400, the failing paths, nothing stored) and
 * dead-lettered with the reason from EventBridge, and a test send without data sends the example.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestDeadLetter } from "../../bin/cli/ingest-dlq.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { eventDataCheck } from "../../functions/shared/event-schemas.ts";
import { DEFAULT_EVENT_SOURCE, StackOutput } from "../../functions/shared/names.ts";
import { answered, api, localStack, newTenant, refused, useApiKey } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

let receiver: Receiver;
let tenantId: string;

beforeAll(async () => {
  receiver = await Receiver.start();
  const tenant = await newTenant("schemas");
  tenantId = tenant.tenantId;
  useApiKey(tenant.apiKey);
});
afterAll(async () => {
  await receiver.stop();
});

async function listedTypes() {
  return (await answered(api().GET("/v1/event-types"), 200)).data;
}

const eventStatus = async (eventId: string) =>
  (await api().GET("/v1/events/{eventId}", { params: { path: { eventId } } })).response.status;

async function eventIds(): Promise<string[]> {
  const page = await answered(api().GET("/v1/events", { params: { query: { limit: 100 } } }), 200);
  return page.data.map((event) => event.id);
}

describe("the catalogue", () => {
  it("lists each type's schema and an example that matches it", async () => {
    const listed = await listedTypes();
    expect(listed.map((type) => type.name)).toEqual(DEFAULT_EVENT_TYPES.map((type) => type.name));
    const check = eventDataCheck(DEFAULT_EVENT_TYPES);
    for (const type of listed) {
      expect(type.schema, type.name).toEqual(DEFAULT_EVENT_TYPES.find((d) => d.name === type.name)?.schema);
      expect(check(type.name, type.example), type.name).toEqual([]);
    }
    expect(listed.find((type) => type.name === "quota.warning")?.example).toEqual({
      quota_type: "memory_storage",
      current_usage: 8500,
      quota_limit: 10000,
      percentage_used: 85.0,
    });
  });
});

describe("publishing data that misses its type's schema", () => {
  it("is refused over the API with 400 and every failing path, and nothing is stored", async () => {
    const before = await eventIds();
    const id = `bad-${randomUUID()}`;
    const error = await refused(
      api().POST("/v1/events", {
        body: { id, type: "memory.created", data: { memory_id: 42, importance: 1.5, concepts: ["AI", 7] } },
      }),
      400,
    );
    expect(error).toEqual({
      code: "validation_error",
      message:
        "data does not match the schema of memory.created: data.memory_id must be string; data.importance must be <= 1; data.concepts[1] must be string",
      details: [
        { path: "data.memory_id", message: "must be string" },
        { path: "data.importance", message: "must be <= 1" },
        { path: "data.concepts[1]", message: "must be string" },
      ],
    });
    expect(await eventStatus(id)).toBe(404);
    expect(await eventIds()).toEqual(before);

    await answered(
      api().POST("/v1/events", {
        body: { id, type: "memory.created", data: { memory_id: "mem_42", importance: 1 } },
      }),
      202,
    );
  });

  it.each([
    ["a wrong type", "sync.completed", { items_synced: "150" }, "data.items_synced", "must be integer"],
    [
      "a value outside the enum",
      "sync.failed",
      { sync_type: "partial" },
      "data.sync_type",
      'must be one of "full", "incremental"',
    ],
    [
      "a malformed date-time",
      "session.started",
      { started_at: "tuesday" },
      "data.started_at",
      'must match format "date-time"',
    ],
    ["a negative count", "quota.exceeded", { current_usage: -1 }, "data.current_usage", "must be >= 0"],
  ])("names the field: %s", async (_case, type, data, path, message) => {
    const error = await refused(api().POST("/v1/events", { body: { type, data } }), 400);
    expect(error.details).toEqual([{ path, message }]);
  });

  it("from EventBridge, ends on the ingest dead-letter queue with the reason, and nothing is stored", async () => {
    const stack = localStack();
    const events = new EventBridgeClient({
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      endpoint: stack.endpoints.eventbridge,
    });
    const id = `eb-bad-${randomUUID()}`;
    try {
      const put = await events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: stack.outputs[StackOutput.eventBusName],
              Source: DEFAULT_EVENT_SOURCE,
              DetailType: "quota.warning",
              Detail: JSON.stringify({ tenant_id: tenantId, id, data: { percentage_used: "85%" } }),
            },
          ],
        }),
      );
      expect(put.FailedEntryCount).toBe(0);
    } finally {
      events.destroy();
    }
    const row = await eventually(
      "the refused event on the ingest dead-letter queue",
      async () => {
        const { stdout } = await promisify(execFile)(
          process.execPath,
          ["bin/hookline-cli.ts", "ingest-dlq", "list", "--json"],
          { env: { ...process.env, HOOKLINE_DIR: stack.stateDir } },
        );
        const { data } = JSON.parse(stdout) as { data: IngestDeadLetter[] };
        return data.find((candidate) => candidate.event?.detail.id === id);
      },
      60_000,
    );
    expect(row.condition).toBe("RetriesExhausted");
    // "<error type>: <message>"; the bundles are minified, so the type is not the class's own name.
    expect(row.reason).toMatch(
      /^\w+: data does not match the schema of quota\.warning: data\.percentage_used must be number$/,
    );
    expect(await eventStatus(id)).toBe(404);
  });
});

describe("a test send without data", () => {
  it("sends the type's example, which matches its schema", async () => {
    const created = await answered(
      api().POST("/v1/webhooks", { body: { url: receiver.url, event_types: ["concept.discovered"] } }),
      201,
    );
    const sent = await answered(
      api().POST("/v1/webhooks/{webhookId}/test", { params: { path: { webhookId: created.id } } }),
      200,
    );
    expect(sent.success).toBe(true);
    const request = receiver.requests.findLast((r) =>
      String(r.headers["webhook-id"]).startsWith("msg_test_"),
    );
    const payload = JSON.parse(request?.rawBody ?? "{}") as { type: string; data: unknown };
    expect(payload.type).toBe("concept.discovered");
    const listed = (await listedTypes()).find((type) => type.name === "concept.discovered");
    expect(payload.data).toEqual(listed?.example);
    expect(eventDataCheck(DEFAULT_EVENT_TYPES)("concept.discovered", payload.data)).toEqual([]);
  });
});
