import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HooklineSchema, operations } from "../../client/index.ts";
import {
  answered,
  api,
  callApi,
  deliveryRecords,
  localStack,
  newTenant,
  reply,
  useApiKey,
} from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

// The e2e stack (see global-setup.ts) opens a circuit after 5 failures for 3 s; retention is the
// default 30 days.
const RETENTION_DAYS = 30;

type Body = Record<string, unknown>;

let receiver: Receiver;
let tenantId: string;
let apiKey: string;
let otherKey: string;

beforeAll(async () => {
  receiver = await Receiver.start();
  const tenant = await newTenant("history");
  tenantId = tenant.tenantId;
  apiKey = tenant.apiKey;
  otherKey = (await newTenant("history-other")).apiKey;
  useApiKey(apiKey);
});
afterAll(async () => {
  await receiver.stop();
});

async function webhookFor(
  target: Receiver,
  eventTypes: string[],
  extra: Partial<HooklineSchema<"CreateWebhook">> = {},
) {
  return answered(
    api().POST("/v1/webhooks", { body: { url: target.url, event_types: eventTypes, ...extra } }),
    201,
  );
}

interface Published {
  id: string;
  type: string;
  accepted_at: string;
}

async function publish(type: string, data: Body = {}): Promise<Published> {
  return answered(api().POST("/v1/events", { body: { type, data } }), 202);
}

/** Every item of a listing, following cursors from `page`, with the pages' sizes. */
async function listAll<T>(page: (cursor?: string) => Promise<{ data: T[]; next_cursor: string | null }>) {
  const items: T[] = [];
  const pageSizes: number[] = [];
  let cursor: string | undefined;
  do {
    const { data, next_cursor }: { data: T[]; next_cursor: string | null } = await page(cursor);
    items.push(...data);
    pageSizes.push(data.length);
    cursor = next_cursor ?? undefined;
  } while (cursor !== undefined);
  return { items, pageSizes };
}

type EventQuery = NonNullable<operations["GET_v1_events"]["parameters"]["query"]>;
type DeliveryQuery = NonNullable<operations["GET_v1_webhooks_webhookId_deliveries"]["parameters"]["query"]>;

/** Every event of the tenant of `key` (the file's own by default) that `query` selects. */
function allEvents(query: EventQuery = {}, key?: string) {
  return listAll((cursor) =>
    answered(api({ apiKey: key }).GET("/v1/events", { params: { query: { ...query, cursor } } }), 200),
  );
}

/** Every delivery of a webhook that `query` selects. */
function allDeliveries(webhookId: string, query: DeliveryQuery = {}) {
  return listAll((cursor) =>
    answered(
      api().GET("/v1/webhooks/{webhookId}/deliveries", {
        params: { path: { webhookId }, query: { ...query, cursor } },
      }),
      200,
    ),
  );
}

function expectError(response: { status: number; body: unknown }, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toEqual({
    error: { code, message: expect.any(String), details: expect.any(Array) },
  });
}

/** Newest first, as the listings sort: by acceptance time, then id. */
function newestFirst(events: readonly Published[]): string[] {
  return [...events]
    .sort((a, b) =>
      a.accepted_at === b.accepted_at ? (a.id < b.id ? 1 : -1) : a.accepted_at < b.accepted_at ? 1 : -1,
    )
    .map((event) => event.id);
}

const TERMINAL: readonly string[] = ["delivered", "failed", "dead_lettered"];

describe("events", () => {
  it("lists the tenant's events newest first, pages without gaps or duplicates, and filters by type and time", async () => {
    const { apiKey: key } = await newTenant("events-list");
    const published: Published[] = [];
    for (const type of ["memory.created", "user.created", "memory.created", "user.created"]) {
      for (let round = 0; round < 2; round++) {
        published.push(
          await answered(api({ apiKey: key }).POST("/v1/events", { body: { type, data: { round } } }), 202),
        );
      }
    }

    // The listing reads an index, which DynamoDB (and the local stack's model of it) updates within
    // about a second of a write: wait for it to hold every event, then check the paging.
    const all = await eventually(
      "the events index to hold every published event",
      async () => {
        const listed = await allEvents({ limit: 3 }, key);
        return listed.items.length === published.length ? listed : undefined;
      },
      15_000,
    );
    expect(all.pageSizes).toEqual([3, 3, 2]);
    expect(all.items.map((event) => event.id)).toEqual(newestFirst(published));
    const first = all.items[0];
    expect(Object.keys(first ?? {}).sort()).toEqual(["accepted_at", "deliveries", "id", "source", "type"]);
    expect(first).toMatchObject({ source: "api", deliveries: 0 });

    const users = await allEvents({ type: "user.created", limit: 1 }, key);
    expect(users.items.map((event) => event.id)).toEqual(
      newestFirst(published.filter((event) => event.type === "user.created")),
    );

    const byTime = [...published].sort((a, b) => (a.accepted_at < b.accepted_at ? -1 : 1));
    const since = byTime[2]?.accepted_at ?? "";
    const until = byTime[6]?.accepted_at ?? "";
    const window = await allEvents({ since, until, limit: 2 }, key);
    expect(window.items.map((event) => event.id)).toEqual(
      newestFirst(published.filter((event) => event.accepted_at >= since && event.accepted_at < until)),
    );

    // The same window, written with a +01:00 offset (the `+` URL-encoded).
    const plusOneHour = (iso: string) =>
      `${new Date(Date.parse(iso) + 3_600_000).toISOString().slice(0, -1)}+01:00`;
    const offsetWindow = await allEvents({ since: plusOneHour(since), until: plusOneHour(until) }, key);
    expect(offsetWindow.items.map((event) => event.id)).toEqual(window.items.map((event) => event.id));

    const events = api({ apiKey: key });
    const bad = await reply(events.GET("/v1/events", { params: { query: { since: "yesterday" } } }));
    expectError(bad, 400, "validation_error");
    expect(bad.body).toMatchObject({ error: { details: [{ path: "since" }] } });
    expectError(
      await reply(events.GET("/v1/events", { params: { query: { since: until, until: since } } })),
      400,
      "validation_error",
    );
  });

  it("refuses a cursor that was altered, issued to another tenant, or issued for another listing", async () => {
    const { apiKey: key } = await newTenant("events-cursor");
    const mine = api({ apiKey: key });
    for (let index = 0; index < 3; index++) {
      await answered(mine.POST("/v1/events", { body: { type: "user.created", data: {} } }), 202);
    }
    const page = await answered(mine.GET("/v1/events", { params: { query: { limit: 1 } } }), 200);
    const cursor = page.next_cursor;
    if (cursor === null) throw new Error("a page of 1 out of 3 events has no next cursor");
    const at = cursor.length - 5;
    const tampered = `${cursor.slice(0, at)}${cursor[at] === "A" ? "B" : "A"}${cursor.slice(at + 1)}`;
    expectError(
      await reply(mine.GET("/v1/events", { params: { query: { cursor: tampered } } })),
      400,
      "validation_error",
    );
    expectError(
      await reply(api({ apiKey: otherKey }).GET("/v1/events", { params: { query: { cursor } } })),
      400,
      "validation_error",
    );
    // A cursor from before the window of another filter.
    const later = new Date(Date.now() + 60_000).toISOString();
    expectError(
      await reply(mine.GET("/v1/events", { params: { query: { since: later, cursor } } })),
      400,
      "validation_error",
    );
  });

  it("shows an event with its data and every delivery it fanned out to, those of deleted webhooks included", async () => {
    const failing = await Receiver.start();
    failing.status = 500;
    try {
      const kept = await webhookFor(receiver, ["concept.discovered"]);
      const deleted = await webhookFor(receiver, ["concept.discovered"]);
      // Its first attempt fails; the delete comes before its retry, 4 to 6 s later.
      const pendingOnDelete = await webhookFor(failing, ["concept.discovered"], {
        retry_schedule_seconds: [5],
      });
      const event = await publish("concept.discovered", { concept: "gravity", weight: 0.5 });

      const detailOf = () =>
        answered(api().GET("/v1/events/{eventId}", { params: { path: { eventId: event.id } } }), 200);
      await eventually("both good deliveries to be delivered and the third to be retrying", async () => {
        const statuses = new Map((await detailOf()).deliveries.map((d) => [d.webhook_id, d.status]));
        return statuses.get(kept.id) === "delivered" &&
          statuses.get(deleted.id) === "delivered" &&
          statuses.get(pendingOnDelete.id) === "retrying"
          ? true
          : undefined;
      });
      for (const { id } of [deleted, pendingOnDelete]) {
        const removed = await api().DELETE("/v1/webhooks/{webhookId}", {
          params: { path: { webhookId: id } },
        });
        expect(removed.response.status).toBe(204);
      }

      const detail = await detailOf();
      expect(detail).toMatchObject({
        id: event.id,
        type: "concept.discovered",
        accepted_at: event.accepted_at,
        source: "api",
        data: { concept: "gravity", weight: 0.5 },
      });
      expect(detail.deliveries.map((d) => d.webhook_id).sort()).toEqual(
        [kept.id, deleted.id, pendingOnDelete.id].sort(),
      );
      expect(detail.deliveries.find((d) => d.webhook_id === deleted.id)).toEqual({
        id: expect.stringMatching(/^msg_/),
        webhook_id: deleted.id,
        status: "delivered",
        attempt_count: 1,
        last_status_code: 200,
      });

      // A deleted webhook's list is gone with it; each of its deliveries stays readable.
      const gone = detail.deliveries.find((d) => d.webhook_id === deleted.id);
      if (gone === undefined) throw new Error("the deleted webhook's delivery is not in the event's");
      const deliveriesOfDeleted = api().GET("/v1/webhooks/{webhookId}/deliveries", {
        params: { path: { webhookId: deleted.id } },
      });
      expectError(await reply(deliveriesOfDeleted), 404, "not_found");
      const goneDelivery = api().GET("/v1/webhooks/{webhookId}/deliveries/{deliveryId}", {
        params: { path: { webhookId: deleted.id, deliveryId: gone.id } },
      });
      expect(await answered(goneDelivery, 200)).toMatchObject({
        status: "delivered",
        attempts: [expect.objectContaining({ status_code: 200 })],
      });

      // A deleted webhook's pending delivery ends `failed` (webhook_deleted) at its next attempt, unsent.
      const ended = await eventually(
        "the deleted webhook's pending delivery to end",
        async () => {
          const found = (await detailOf()).deliveries.find((d) => d.webhook_id === pendingOnDelete.id);
          return found?.status === "failed" ? found : undefined;
        },
        60_000,
      );
      expect(ended.attempt_count).toBe(1);
      const [record] = await deliveryRecords(localStack(), tenantId, pendingOnDelete.id);
      expect(record).toMatchObject({ status: "failed", last_error: "webhook_deleted" });
      expect(failing.attemptsOf(ended.id)).toHaveLength(1);
    } finally {
      await failing.stop();
    }
  });

  it("answers 404 for a missing event and for another tenant's", async () => {
    const event = await publish("user.created", { secret: "mine" });
    const eventPath = (eventId: string) => ({ params: { path: { eventId } } });
    expectError(
      await reply(api({ apiKey: otherKey }).GET("/v1/events/{eventId}", eventPath(event.id))),
      404,
      "not_found",
    );
    expectError(
      await reply(api().GET("/v1/events/{eventId}", eventPath("evt_does_not_exist"))),
      404,
      "not_found",
    );
    const others = await answered(api({ apiKey: otherKey }).GET("/v1/events"), 200);
    expect(others.data.map((e) => e.id)).not.toContain(event.id);
  });
});

describe("a webhook's deliveries", () => {
  it("filter by status, event type and time, combined, and page without gaps or duplicates", async () => {
    const picky = await Receiver.start();
    picky.behave = (request) => ({ status: request.rawBody.includes('"reject":true') ? 400 : 200 });
    try {
      const webhook = await webhookFor(picky, ["memory.created", "memory.updated"]);
      const events: Published[] = [];
      for (const [type, reject] of [
        ["memory.created", false],
        ["memory.updated", false],
        ["memory.created", true],
        ["memory.created", false],
        ["memory.updated", true],
        ["memory.created", false],
        ["memory.updated", false],
        ["memory.created", true],
      ] as const) {
        events.push(await publish(type, { reject }));
      }
      const all = await eventually("every delivery to end", async () => {
        const { items } = await allDeliveries(webhook.id);
        return items.length === events.length && items.every((d) => TERMINAL.includes(d.status))
          ? items
          : undefined;
      });
      // Newest first: by time, then (within a millisecond) by id.
      expect(all.map((d) => d.id)).toEqual(
        all
          .map((d) => d.id)
          .sort()
          .reverse(),
      );
      expect(all.map((d) => d.created_at)).toEqual(
        all
          .map((d) => d.created_at)
          .sort()
          .reverse(),
      );
      expect(all.map((d) => d.event_id).sort()).toEqual(events.map((e) => e.id).sort());
      expect(Object.keys(all[0] ?? {}).sort()).toEqual(
        [
          "attempt_count",
          "completed_at",
          "created_at",
          "duration_ms",
          "event_id",
          "event_type",
          "id",
          "last_error",
          "last_status_code",
          "next_attempt_at",
          "status",
          "webhook_id",
        ].sort(),
      );

      const paged = await allDeliveries(webhook.id, { limit: 3 });
      expect(paged.pageSizes).toEqual([3, 3, 2]);
      expect(paged.items.map((d) => d.id)).toEqual(all.map((d) => d.id));

      const expectIds = async (query: DeliveryQuery, keep: (d: (typeof all)[number]) => boolean) => {
        const { items } = await allDeliveries(webhook.id, query);
        expect(
          items.map((d) => d.id),
          JSON.stringify(query),
        ).toEqual(all.filter(keep).map((d) => d.id));
      };
      await expectIds({ status: "failed", limit: 1 }, (d) => d.status === "failed");
      await expectIds({ event_type: "memory.updated", limit: 2 }, (d) => d.event_type === "memory.updated");
      await expectIds(
        { status: "delivered", event_type: "memory.created", limit: 1 },
        (d) => d.status === "delivered" && d.event_type === "memory.created",
      );
      const byTime = [...events].sort((a, b) => (a.accepted_at < b.accepted_at ? -1 : 1));
      const since = byTime[1]?.accepted_at ?? "";
      const until = byTime[6]?.accepted_at ?? "";
      await expectIds({ since, until, limit: 2 }, (d) => d.created_at >= since && d.created_at < until);
      await expectIds(
        { status: "failed", since, limit: 1 },
        (d) => d.status === "failed" && d.created_at >= since,
      );

      const deliveries = (query: DeliveryQuery, key?: string) =>
        reply(
          api({ apiKey: key }).GET("/v1/webhooks/{webhookId}/deliveries", {
            params: { path: { webhookId: webhook.id }, query },
          }),
        );
      const bad = await deliveries({ until: "2026-13-45" });
      expectError(bad, 400, "validation_error");
      expect(bad.body).toMatchObject({ error: { details: [{ path: "until" }] } });
      // A status the document does not list: only a hand-written request can send it.
      const path = `/v1/webhooks/${webhook.id}/deliveries`;
      expectError(await callApi("GET", `${path}?status=lost`), 400, "validation_error");
      const webhooks = await answered(api().GET("/v1/webhooks", { params: { query: { limit: 1 } } }), 200);
      const webhooksCursor = webhooks.next_cursor;
      if (webhooksCursor === null) throw new Error("a page of 1 out of several webhooks has no next cursor");
      expectError(await deliveries({ cursor: webhooksCursor }), 400, "validation_error");
      expectError(await deliveries({}, otherKey), 404, "not_found");
    } finally {
      await picky.stop();
    }
  });
});

describe("recovering a webhook after an outage", () => {
  it("re-sends every dead-lettered delivery since a time, once, and says how many", async () => {
    const flaky = await Receiver.start();
    try {
      const webhook = await webhookFor(flaky, ["sync.failed"], { retry_schedule_seconds: [1] });
      const before = await publish("sync.failed", { phase: "before" });
      await eventually("the first delivery to arrive", async () => {
        const { items } = await allDeliveries(webhook.id);
        return items[0]?.status === "delivered" ? true : undefined;
      });

      flaky.status = 500;
      const outage: Published[] = [];
      for (let index = 0; index < 4; index++) outage.push(await publish("sync.failed", { outage: index }));
      const dead = await eventually(
        "the outage's deliveries to be dead-lettered",
        async () => {
          const { items } = await allDeliveries(webhook.id, { status: "dead_lettered" });
          return items.length === outage.length ? items : undefined;
        },
        90_000,
      );
      expect(dead.map((d) => d.event_id).sort()).toEqual(outage.map((e) => e.id).sort());

      flaky.status = 200;
      const recover = () =>
        api().POST("/v1/webhooks/{webhookId}/recover", {
          params: { path: { webhookId: webhook.id } },
          body: { since: before.accepted_at },
        });
      expect(await answered(recover(), 202)).toEqual({ recovering: outage.length, next_since: null });

      const delivered = await eventually(
        "every recovered delivery to be delivered",
        async () => {
          const { items } = await allDeliveries(webhook.id);
          return items.length === outage.length + 1 && items.every((d) => d.status === "delivered")
            ? items
            : undefined;
        },
        60_000,
      );
      for (const delivery of delivered.filter((d) => d.event_id !== before.id)) {
        expect(flaky.attemptsOf(delivery.id).at(-1)?.answer).toBe(200);
      }
      // The one delivered before the outage was not sent again.
      const first = delivered.find((d) => d.event_id === before.id);
      expect(flaky.attemptsOf(first?.id ?? "")).toHaveLength(1);

      expect((await reply(recover())).body).toEqual({ recovering: 0, next_since: null });
    } finally {
      await flaky.stop();
    }
  });

  it("keeps the first 5 and the latest 20 attempts of a delivery retried by hand, counts the rest, and bounds each answer to 1 KB", async () => {
    const refusing = await Receiver.start();
    try {
      // 4,000 three-byte characters: an excerpt cut by bytes alone would end in half a character.
      refusing.behave = () => ({ status: 400, body: "€".repeat(4000) });
      const webhook = await webhookFor(refusing, ["session.ended"]);
      await publish("session.ended", { history: true });
      const failedAfter = (attempts: number) =>
        eventually(`the delivery to fail after ${attempts} attempts`, async () => {
          const { items } = await allDeliveries(webhook.id);
          const [delivery] = items;
          return delivery?.status === "failed" && delivery.attempt_count === attempts ? delivery : undefined;
        });
      const { id } = await failedAfter(1);
      const total = 28;
      const delivery = { params: { path: { webhookId: webhook.id, deliveryId: id } } };
      for (let attempts = 2; attempts <= total; attempts++) {
        await answered(api().POST("/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry", delivery), 202);
        await failedAfter(attempts);
      }

      const { attempts, attempts_omitted } = await answered(
        api().GET("/v1/webhooks/{webhookId}/deliveries/{deliveryId}", delivery),
        200,
      );
      expect(attempts.map((attempt) => attempt.attempt)).toEqual([
        1,
        2,
        3,
        4,
        5,
        ...Array.from({ length: 20 }, (_, index) => total - 19 + index),
      ]);
      expect(attempts_omitted).toBe(total - 25);
      for (const attempt of attempts) {
        expect(attempt.response_body).toBe("€".repeat(341));
      }
      expect(refusing.attemptsOf(id)).toHaveLength(total);
    } finally {
      await refusing.stop();
    }
  });

  it("refuses an inactive webhook, a bad since, and another tenant's webhook", async () => {
    const inactive = await webhookFor(receiver, ["user.created"], { active: false });
    const now = Date.now();
    const conflict = await reply(
      api().POST("/v1/webhooks/{webhookId}/recover", {
        params: { path: { webhookId: inactive.id } },
        body: { since: new Date(now - 60_000).toISOString() },
      }),
    );
    expectError(conflict, 409, "conflict");
    expect(conflict.body).toMatchObject({ error: { message: expect.stringMatching(/re-enable/) } });

    const active = await webhookFor(receiver, ["user.created"]);
    const recover = (since: string, key?: string) =>
      reply(
        api({ apiKey: key }).POST("/v1/webhooks/{webhookId}/recover", {
          params: { path: { webhookId: active.id } },
          body: { since },
        }),
      );
    for (const since of [
      "last week",
      new Date(now + 3_600_000).toISOString(),
      new Date(now - (RETENTION_DAYS + 1) * 86_400_000).toISOString(),
    ]) {
      expectError(await recover(since), 400, "validation_error");
    }
    // Bodies the document does not allow: no since, and a field it does not name.
    for (const body of [{}, { since: new Date(now).toISOString(), extra: true }]) {
      expectError(
        await callApi("POST", `/v1/webhooks/${active.id}/recover`, { body }),
        400,
        "validation_error",
      );
    }
    expectError(await recover(new Date(now - 60_000).toISOString(), otherKey), 404, "not_found");
    expect((await recover(new Date(now - 60_000).toISOString())).body).toEqual({
      recovering: 0,
      next_since: null,
    });
  });
});

describe("fuzzing request bodies", () => {
  /** A request body: any JSON value, or text that may not be JSON at all. */
  type Sent = { readonly json: unknown } | { readonly raw: string };

  const anyJson = fc.jsonValue({ maxDepth: 3 });

  /** Random JSON, random text, and valid bodies with one to three fields dropped, replaced or added. */
  function bodies(valid: Body): fc.Arbitrary<Sent> {
    const keys = Object.keys(valid);
    const mutation = fc.oneof(
      fc.record({ drop: fc.constantFrom(...keys) }),
      fc.record({ key: fc.constantFrom(...keys, "unexpected"), value: anyJson }),
    );
    const mutated = fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
      const body: Body = { ...valid };
      for (const change of mutations) {
        if ("drop" in change) delete body[change.drop];
        else body[change.key] = change.value;
      }
      return { json: body };
    });
    return fc.oneof(
      { weight: 3, arbitrary: mutated },
      { weight: 2, arbitrary: anyJson.map((json) => ({ json })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((raw) => ({ raw })) },
    );
  }

  async function send(method: string, path: string, sent: Sent, key: string) {
    const response = await callApi(method, path, {
      apiKey: key,
      ...("raw" in sent ? { rawBody: sent.raw } : { rawBody: JSON.stringify(sent.json) ?? "null" }),
    });
    expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
    if (response.status >= 400) {
      expect(response.body).toEqual({
        error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) },
      });
    }
    return response;
  }

  const RUNS = 120;
  let fuzzKey: string;
  let fuzzReceiver: Receiver;

  /** A webhook of the fuzzing tenant, so that the requests sent with its key reach it. */
  const fuzzWebhook = () =>
    answered(
      api({ apiKey: fuzzKey }).POST("/v1/webhooks", {
        body: { url: fuzzReceiver.url, event_types: ["user.created"] },
      }),
      201,
    );

  beforeAll(async () => {
    fuzzKey = (await newTenant("fuzz")).apiKey;
    fuzzReceiver = await Receiver.start();
  });
  afterAll(async () => {
    await fuzzReceiver.stop();
  });

  it("POST /v1/webhooks: never a 5xx, one error shape, and only a 201 adds a webhook", async () => {
    const count = async () =>
      (
        await listAll((cursor) =>
          answered(api({ apiKey: fuzzKey }).GET("/v1/webhooks", { params: { query: { cursor } } }), 200),
        )
      ).items.length;
    const before = await count();
    let created = 0;
    const valid = {
      url: fuzzReceiver.url,
      event_types: ["user.created"],
      description: "fuzz",
      timeout_seconds: 5,
    };
    await fc.assert(
      fc.asyncProperty(bodies(valid), async (sent) => {
        const response = await send("POST", "/v1/webhooks", sent, fuzzKey);
        if (response.status === 201) created += 1;
      }),
      { numRuns: RUNS },
    );
    expect(await count()).toBe(before + created);
  });

  it("PATCH /v1/webhooks/{id}: never a 5xx, one error shape, and a 4xx leaves the webhook as it was", async () => {
    const webhook = await fuzzWebhook();
    const path = `/v1/webhooks/${webhook.id}`;
    const stored = () =>
      answered(
        api({ apiKey: fuzzKey }).GET("/v1/webhooks/{webhookId}", {
          params: { path: { webhookId: webhook.id } },
        }),
        200,
      );
    let current: unknown = await stored();
    const valid = { description: "patched", active: true, timeout_seconds: 7, metadata: { team: "fuzz" } };
    await fc.assert(
      fc.asyncProperty(bodies(valid), async (sent) => {
        const response = await send("PATCH", path, sent, fuzzKey);
        if (response.status === 200) current = response.body;
        else expect(await stored()).toEqual(current);
      }),
      { numRuns: RUNS },
    );
  });

  it("POST /v1/events: never a 5xx, one error shape, and only a 202 adds an event", async () => {
    const count = async () => (await allEvents({}, fuzzKey)).items.length;
    const before = await count();
    const ids = new Set<string>();
    const valid = { type: "session.started", data: { user: "u_1" }, id: "fuzz-1" };
    await fc.assert(
      fc.asyncProperty(bodies(valid), async (sent) => {
        const response = await send("POST", "/v1/events", sent, fuzzKey);
        if (response.status === 202) ids.add(response.body.id as string);
      }),
      { numRuns: RUNS },
    );
    expect(await count()).toBe(before + ids.size);
  });

  it("POST /v1/webhooks/{id}/recover: never a 5xx, one error shape, and nothing to re-send", async () => {
    const webhook = await fuzzWebhook();
    const valid = { since: new Date(Date.now() - 3_600_000).toISOString() };
    await fc.assert(
      fc.asyncProperty(bodies(valid), async (sent) => {
        const response = await send("POST", `/v1/webhooks/${webhook.id}/recover`, sent, fuzzKey);
        if (response.status === 202) expect(response.body).toEqual({ recovering: 0, next_since: null });
      }),
      { numRuns: RUNS },
    );
  });
});
