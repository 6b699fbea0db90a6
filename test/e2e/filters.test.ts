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
  refused,
  reply,
  useApiKey,
  webhookPath,
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

async function shown(webhookId: string) {
  return answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhookId)), 200);
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
  expect((await shown(pro)).filter).toEqual(PRO_FILTER);
  expect((await shown(all)).filter).toBeNull();

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
    const stats = await answered(api().GET("/v1/webhooks/{webhookId}/stats", webhookPath(pro)), 200);
    return stats.total_deliveries === 2 ? stats : undefined;
  });
  expect(stats).toMatchObject({ successful_deliveries: 2, failed_deliveries: 0 });

  // Removing the filter takes effect on the very next publish.
  const patched = await answered(
    api().PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(pro), body: { filter: null } }),
    200,
  );
  expect(patched.filter).toBeNull();
  const afterPatch = await publish({ plan: "free", amount: 1 });
  expect(afterPatch.deliveries).toBe(2);
  await eventually("the unfiltered delivery", () =>
    eventIdsAt("pro").includes(afterPatch.id) ? true : undefined,
  );
});

it("answers filter-test without sending anything", async () => {
  const pro = await create("filter-test", { filter: PRO_FILTER });
  const test = (body: HooklineSchema<"FilterTest">, apiKey?: string) =>
    reply(api({ apiKey }).POST("/v1/webhooks/{webhookId}/filter-test", { ...webhookPath(pro), body }));

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
  // No data: a body the document does not allow.
  const withoutData = await callApi("POST", `/v1/webhooks/${pro}/filter-test`, {
    body: { type: "memory.created" },
  });
  expect(withoutData.status).toBe(400);

  const other = await newTenant("filters-other");
  const elsewhere = await test({ type: "memory.created", data: {} }, other.apiKey);
  expect(elsewhere.status).toBe(404);
  expect(elsewhere.body).toMatchObject({ error: { code: "not_found" } });

  const unfiltered = await create("filter-test-none");
  const none = await answered(
    api().POST("/v1/webhooks/{webhookId}/filter-test", {
      ...webhookPath(unfiltered),
      body: { type: "memory.created", data: { anything: true } },
    }),
    200,
  );
  expect(none).toEqual({ matches: true });
  expect(receiver.requests.filter((request) => request.path.startsWith("/hooks/filter-test"))).toEqual([]);
});

it("refuses an invalid filter on PATCH with the path of its first problem", async () => {
  const id = await create("invalid");
  const error = await refused(
    api().PATCH("/v1/webhooks/{webhookId}", {
      ...webhookPath(id),
      body: { filter: { data: { amount: [{ numeric: [">=", "100"] }] } } },
    }),
    400,
  );
  expect(error.code).toBe("validation_error");
  expect(error.details).toEqual([{ path: "filter.data.amount[0].numeric[1]", message: "must be a number" }]);
  expect((await shown(id)).filter).toBeNull();
});
