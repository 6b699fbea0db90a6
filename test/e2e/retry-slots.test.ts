import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ListStateMachinesCommand, paginateListExecutions, SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { dynamoRetrySlots } from "../../functions/adapters/retry-slots.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import type { RetrySlot } from "../../functions/domain/retry-slot.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { answered, api, localStack, newTenant, useApiKey } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
let receiver: Receiver | undefined;

beforeAll(async () => {
  useApiKey((await newTenant("retry-slots")).apiKey);
});
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

/** The retry workflow executions of one webhook's slots, read from the local Step Functions API. */
async function retryRunsOf(webhookId: string) {
  const sfn = new SFNClient({
    endpoint: localStack().endpoints.stepfunctions,
    region: "us-east-1",
    credentials,
  });
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  const runs: { name: string; status: string }[] = [];
  for (const machine of stateMachines) {
    for await (const page of paginateListExecutions(
      { client: sfn },
      { stateMachineArn: machine.stateMachineArn },
    )) {
      for (const execution of page.executions ?? []) {
        if (execution.name?.startsWith(`${webhookId}-at-`))
          runs.push({ name: execution.name, status: String(execution.status) });
      }
    }
  }
  return runs;
}

describe("retry slots", () => {
  it("carries the retries of a webhook's deliveries that failed together in fewer executions than deliveries", async () => {
    const target = await Receiver.start();
    receiver = target;
    target.behave = (_request, previous) => ({ status: previous < 1 ? 500 : 200 });
    const webhook = await answered(
      api().POST("/v1/webhooks", { body: { url: target.url, event_types: ["memory.created"] } }),
      201,
    );
    // Four: below the e2e stack's circuit threshold (5), so none of them parks.
    await Promise.all(
      Array.from({ length: 4 }, (_, n) =>
        answered(api().POST("/v1/events", { body: { type: "memory.created", data: { n } } }), 202),
      ),
    );
    const delivered = await eventually(
      "the four deliveries, each on its second attempt",
      async () => {
        const page = await answered(
          api().GET("/v1/webhooks/{webhookId}/deliveries", {
            params: { path: { webhookId: webhook.id }, query: { status: "delivered" } },
          }),
          200,
        );
        return page.data.length === 4 ? page.data : undefined;
      },
      60_000,
    );
    expect(delivered.map((delivery) => delivery.attempt_count)).toEqual([2, 2, 2, 2]);
    const runs = await retryRunsOf(webhook.id);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.length).toBeLessThan(4);
    expect(runs.every((run) => run.status === "SUCCEEDED")).toBe(true);
  });
});

describe("the retry slots store, on DynamoDB Local", () => {
  const stack = () => localStack();
  const slots = () =>
    dynamoRetrySlots(
      DynamoDBDocumentClient.from(
        new DynamoDBClient({ endpoint: stack().endpoints.dynamodb, region: "us-east-1", credentials }),
      ),
      stack().outputs[StackOutput.eventsTable] ?? "",
    );
  const slot = (): RetrySlot => ({
    tenantId: `t_${randomUUID()}`,
    webhookId: "wh_slots",
    at: new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000).toISOString(),
  });
  const member = (n: number, of: RetrySlot): DeliveryMessage => ({
    tenantId: of.tenantId,
    webhookId: of.webhookId,
    deliveryId: `dlv_${String(n).padStart(4, "0")}`,
    eventId: `evt_${n}`,
    eventType: "memory.created",
    acceptedAt: new Date().toISOString(),
    payload: '{"large":"not kept"}',
    attempt: 2,
    scheduleStart: 0,
  });

  it("releases every member, page after page, without their payloads", async () => {
    const store = slots();
    const at = slot();
    const members = Array.from({ length: 230 }, (_, n) => member(n, at));
    for (const next of members) expect(await store.join(at, next)).toEqual({ released: false });

    const pages: (readonly DeliveryMessage[])[] = [];
    for await (const page of store.release(at)) pages.push(page);

    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat()).toEqual(members.map(({ payload: _payload, ...message }) => message));
  });

  it("tells a delivery that joins after the release that it was released", async () => {
    const store = slots();
    const at = slot();
    expect(await store.join(at, member(1, at))).toEqual({ released: false });
    for await (const _page of store.release(at)) {
      // Read to the end: the mark is written before the first page.
    }
    expect(await store.join(at, member(2, at))).toEqual({ released: true });
  });
});
