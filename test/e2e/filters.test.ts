/**
 * Payload filters through the local stack: a webhook with a filter gets only the events it matches,
 * the publish answer counts only the deliveries made, a PATCH to `null` takes effect on the next
 * publish, and filter-test answers without sending anything.
 */

import { beforeAll, expect, it } from "vitest";
import type { HooklineSchema } from "../../client/index.ts";
import {
  answered,
  api,
  callApi,
  deliveryRecords,
  localStack,
  newTenant,
  useApiKey,
} from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

const PRO_FILTER = { data: { plan: ["pro", "enterprise"], amount: [{ numeric: [">=", 100] }] } };

let receiver: Receiver;
let tenantId: string;
beforeAll(async () => {
  const tenant = await newTenant("filters");
  tenantId = tenant.tenantId;
  useApiKey(tenant.apiKey);
  receiver = await Receiver.start();
  return () => receiver.stop();
});

async function create(path: string, extra: Partial<HooklineSchema<"CreateWebhook">> = {}): Promise<string> {
  const webhook = await answered(
    api().POST("/v1/webhooks", {
      body: { url: `${receiver.url}/${path}`, event_types: ["memory.created"], ...extra },
    }),
    201,
  );
  return webhook.id;
}

async function publish(data: Record<string, unknown>): Promise<{ id: string; deliveries: number }> {
  return answered(api().POST("/v1/events", { body: { type: "memory.created", data } }), 202);
}

/** The event ids the receiver got at one webhook's path. */
function eventIdsAt(path: string): string[] {
  return receiver.requests
    .filter((request) => request.path === `/hooks/${path}`)
    .map((request) => JSON.parse(request.rawBody).id as string);
}

it("delivers to a filtered webhook only the events its filter matches", { timeout: 120_000 }, async () => {
  const all = await create("all");
  const pro = await create("pro", { filter: PRO_FILTER });
  expect((await callApi("GET", `/v1/webhooks/${pro}`)).body.filter).toEqual(PRO_FILTER);
  expect((await callApi("GET", `/v1/webhooks/${all}`)).body.filter).toBeNull();

  const proPlan = await publish({ plan: "pro", amount: 150 });
  const freePlan = await publish({ plan: "free", amount: 500 });
  const small = await publish({ plan: "enterprise", amount: 99 });
  const boundary = await publish({ plan: "enterprise", amount: 100 });
  expect([proPlan, freePlan, small, boundary].map((event) => event.deliveries)).toEqual([2, 1, 1, 2]);
  // The records were written before the publish answered: none exists for an event the filter refused.
  const proRecords = await deliveryRecords(localStack(), tenantId, pro);
  expect(proRecords.map((record) => record.event_id).sort()).toEqual([proPlan.id, boundary.id].sort());

  await eventually("every delivery to arrive", () =>
    eventIdsAt("all").length === 4 && eventIdsAt("pro").length === 2 ? true : undefined,
  );
  expect(eventIdsAt("pro").sort()).toEqual([proPlan.id, boundary.id].sort());
  const stats = await eventually("the filtered webhook's stats", async () => {
    const response = await callApi("GET", `/v1/webhooks/${pro}/stats`);
    return response.body.total_deliveries === 2 ? response.body : undefined;
  });
  expect(stats).toMatchObject({ successful_deliveries: 2, failed_deliveries: 0 });

  // Removing the filter takes effect on the very next publish.
  const patched = await callApi("PATCH", `/v1/webhooks/${pro}`, { body: { filter: null } });
  expect(patched.status).toBe(200);
  expect(patched.body.filter).toBeNull();
  const afterPatch = await publish({ plan: "free", amount: 1 });
  expect(afterPatch.deliveries).toBe(2);
  await eventually("the unfiltered delivery", () =>
    eventIdsAt("pro").includes(afterPatch.id) ? true : undefined,
  );
});

it("answers filter-test without sending anything", async () => {
  const pro = await create("filter-test", { filter: PRO_FILTER });
  const test = (body: unknown, apiKey?: string) =>
    callApi("POST", `/v1/webhooks/${pro}/filter-test`, { body, ...(apiKey === undefined ? {} : { apiKey }) });

  expect((await test({ type: "memory.created", data: { plan: "pro", amount: 100 } })).body).toEqual({
    matches: true,
  });
  expect((await test({ type: "memory.created", data: { plan: "pro", amount: 99 } })).body).toEqual({
    matches: false,
  });
  // Event types select first: a type the webhook does not subscribe to never matches.
  expect((await test({ type: "memory.updated", data: { plan: "pro", amount: 100 } })).body).toEqual({
    matches: false,
  });
  const unknownType = await test({ type: "memory.exploded", data: {} });
  expect(unknownType.status).toBe(400);
  expect((await test({ type: "memory.created" })).status).toBe(400);

  const other = await newTenant("filters-other");
  const elsewhere = await test({ type: "memory.created", data: {} }, other.apiKey);
  expect(elsewhere.status).toBe(404);
  expect(elsewhere.body.error.code).toBe("not_found");

  const unfiltered = await create("filter-test-none");
  const none = await callApi("POST", `/v1/webhooks/${unfiltered}/filter-test`, {
    body: { type: "memory.created", data: { anything: true } },
  });
  expect(none.body).toEqual({ matches: true });
  expect(receiver.requests.filter((request) => request.path.startsWith("/hooks/filter-test"))).toEqual([]);
});

it("refuses an invalid filter on PATCH with the path of its first problem", async () => {
  const id = await create("invalid");
  const response = await callApi("PATCH", `/v1/webhooks/${id}`, {
    body: { filter: { data: { amount: [{ numeric: [">=", "100"] }] } } },
  });
  expect(response.status).toBe(400);
  expect(response.body.error.code).toBe("validation_error");
  expect(response.body.error.details).toEqual([
    { path: "filter.data.amount[0].numeric[1]", message: "must be a number" },
  ]);
  expect((await callApi("GET", `/v1/webhooks/${id}`)).body.filter).toBeNull();
});
