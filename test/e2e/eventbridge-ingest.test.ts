/**
 * EventBridge → ingest on the local stack: the trust model (a sources allowlist, tenant ids in the API-key
 * alphabet) and the ingest dead-letter queue, with the local runtime's model of Lambda's asynchronous
 * retries and on-failure destination, inspected and redriven with `hookline ingest-dlq`.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestDeadLetter } from "../../bin/cli/ingest-dlq.ts";
import { DEFAULT_EVENT_SOURCE, StackOutput } from "../../functions/shared/names.ts";
import { answered, api, localStack, newTenant } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
let events: EventBridgeClient;
let sqs: SQSClient;
let tenant: { tenantId: string; apiKey: string };

beforeAll(async () => {
  events = new EventBridgeClient({
    region: "us-east-1",
    credentials,
    endpoint: localStack().endpoints.eventbridge,
  });
  sqs = new SQSClient({ region: "us-east-1", credentials, endpoint: localStack().endpoints.sqs });
  tenant = await newTenant("eb");
});
afterAll(() => {
  events.destroy();
  sqs.destroy();
});

function output(name: string): string {
  const value = localStack().outputs[name];
  if (value === undefined) throw new Error(`no output ${name}`);
  return value;
}

async function hooklineJson<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ["bin/hookline-cli.ts", ...args, "--json"], {
    env: { ...process.env, HOOKLINE_DIR: localStack().stateDir },
  });
  return JSON.parse(stdout) as T;
}

async function put(source: string, detail: Record<string, unknown>): Promise<void> {
  const result = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: output(StackOutput.eventBusName),
          Source: source,
          DetailType: "memory.created",
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  expect(result.FailedEntryCount).toBe(0);
}

async function stored(id: string): Promise<boolean> {
  const { response } = await api({ apiKey: tenant.apiKey }).GET("/v1/events/{eventId}", {
    params: { path: { eventId: id } },
  });
  return response.status === 200;
}

describe("EventBridge events for Hookline", () => {
  it("are taken in only from the allowed sources", async () => {
    const [foreign, allowed] = [`ext_${randomUUID()}`, `ok_${randomUUID()}`];
    await put("someone.else", { tenant_id: tenant.tenantId, data: {}, id: foreign });
    await put(DEFAULT_EVENT_SOURCE, { tenant_id: tenant.tenantId, data: {}, id: allowed });
    await eventually(`event ${allowed} stored`, async () => ((await stored(allowed)) ? true : undefined));
    expect(await stored(foreign)).toBe(false);
  });

  it("end on the ingest dead-letter queue with the reason when the tenant id is outside the API-key alphabet", async () => {
    const badTenant = `${tenant.tenantId}/../other`;
    await put(DEFAULT_EVENT_SOURCE, { tenant_id: badTenant, data: {} });
    const row = await eventually(
      "the rejected event on the ingest dead-letter queue",
      async () => {
        const { data } = await hooklineJson<{ data: IngestDeadLetter[] }>("ingest-dlq", "list");
        return data.find((candidate) => candidate.event?.detail.tenant_id === badTenant);
      },
      30_000,
    );
    expect(row.condition).toBe("RetriesExhausted");
    expect(row.reason).toMatch(/tenant_id must be 1-128 characters of A-Z a-z 0-9/);
  });

  it("are redriven from the ingest dead-letter queue and delivered", async () => {
    const receiver = await Receiver.start();
    try {
      await answered(
        api({ apiKey: tenant.apiKey }).POST("/v1/webhooks", {
          body: { url: receiver.url, event_types: ["memory.created"] },
        }),
        201,
      );
      const id = `redrive_${randomUUID()}`;
      // What Lambda writes to the on-failure destination when ingest failed on an event after its retries.
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: output(StackOutput.ingestDeadLetterQueueUrl),
          MessageBody: JSON.stringify({
            version: "1.0",
            requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 },
            requestPayload: {
              version: "0",
              id: randomUUID(),
              source: DEFAULT_EVENT_SOURCE,
              "detail-type": "memory.created",
              detail: { tenant_id: tenant.tenantId, data: { redriven: true }, id },
            },
            responsePayload: { errorType: "ProvisionedThroughputExceededException", errorMessage: "busy" },
          }),
        }),
      );
      const summary = await hooklineJson<{ redriven: number }>("ingest-dlq", "redrive");
      expect(summary.redriven).toBeGreaterThanOrEqual(1);
      const request = await eventually("the redriven event at the receiver", () =>
        receiver.requests.find((candidate) => candidate.rawBody.includes(id)),
      );
      expect(JSON.parse(request.rawBody)).toMatchObject({ id, data: { redriven: true } });
    } finally {
      await receiver.stop();
    }
  });
});
