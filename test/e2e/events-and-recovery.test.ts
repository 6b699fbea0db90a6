import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

/** Every item of a listing, following cursors, with the pages' sizes. */
async function listAll<T>(path: string, key?: string) {
  const items: T[] = [];
  const pageSizes: number[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const url: string = cursor === null ? path : `${path}${separator}cursor=${encodeURIComponent(cursor)}`;
    const response = await callApi("GET", url, key === undefined ? {} : { apiKey: key });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const page = response.body as { data: T[]; next_cursor: string | null };
    items.push(...page.data);
    pageSizes.push(page.data.length);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return { items, pageSizes };
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

interface DeliveryView {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempt_count: number;
  created_at: string;
}

const TERMINAL = ["delivered", "failed", "dead_lettered"];

describe("events", () => {
  it("lists the tenant's events newest first, pages without gaps or duplicates, and filters by type and time", async () => {
    const { apiKey: key } = await newTenant("events-list");
    const published: Published[] = [];
    for (const type of ["memory.created", "user.created", "memory.created", "user.created"]) {
      for (let round = 0; round < 2; round++) {
        const response = await callApi("POST", "/v1/events", {
          body: { type, data: { round } },
          apiKey: key,
        });
        expect(response.status).toBe(202);
        published.push(response.body as Published);
      }
    }

    // The listing reads an index, which DynamoDB (and the local stack's model of it) updates within
    // about a second of a write: wait for it to hold every event, then check the paging.
    const all = await eventually(
      "the events index to hold every published event",
      async () => {
        const listed = await listAll<Body & { id: string }>("/v1/events?limit=3", key);
        return listed.items.length === published.length ? listed : undefined;
      },
      15_000,
    );
    expect(all.pageSizes).toEqual([3, 3, 2]);
    expect(all.items.map((event) => event.id)).toEqual(newestFirst(published));
    const first = all.items[0];
    expect(Object.keys(first ?? {}).sort()).toEqual(["accepted_at", "deliveries", "id", "source", "type"]);
    expect(first).toMatchObject({ source: "api", deliveries: 0 });

    const users = await listAll<{ id: string }>("/v1/events?type=user.created&limit=1", key);
    expect(users.items.map((event) => event.id)).toEqual(
      newestFirst(published.filter((event) => event.type === "user.created")),
    );

    const byTime = [...published].sort((a, b) => (a.accepted_at < b.accepted_at ? -1 : 1));
    const since = byTime[2]?.accepted_at ?? "";
    const until = byTime[6]?.accepted_at ?? "";
    const window = await listAll<{ id: string }>(
      `/v1/events?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}&limit=2`,
      key,
    );
    expect(window.items.map((event) => event.id)).toEqual(
      newestFirst(published.filter((event) => event.accepted_at >= since && event.accepted_at < until)),
    );

    // The same window, written with a +01:00 offset (the `+` URL-encoded).
    const plusOneHour = (iso: string) =>
      `${new Date(Date.parse(iso) + 3_600_000).toISOString().slice(0, -1)}+01:00`;
    const offsetWindow = await listAll<{ id: string }>(
      `/v1/events?since=${encodeURIComponent(plusOneHour(since))}&until=${encodeURIComponent(plusOneHour(until))}`,
      key,
    );
    expect(offsetWindow.items.map((event) => event.id)).toEqual(window.items.map((event) => event.id));

    const bad = await callApi("GET", "/v1/events?since=yesterday", { apiKey: key });
    expectError(bad, 400, "validation_error");
    expect(bad.body.error.details.map((detail: { path: string }) => detail.path)).toEqual(["since"]);
    expectError(
      await callApi(
        "GET",
        `/v1/events?since=${encodeURIComponent(until)}&until=${encodeURIComponent(since)}`,
        {
          apiKey: key,
        },
      ),
      400,
      "validation_error",
    );
  });

  it("refuses a cursor that was altered, issued to another tenant, or issued for another listing", async () => {
    const { apiKey: key } = await newTenant("events-cursor");
    for (let index = 0; index < 3; index++) {
      expect(
        (await callApi("POST", "/v1/events", { body: { type: "user.created", data: {} }, apiKey: key }))
          .status,
      ).toBe(202);
    }
    const page = await callApi("GET", "/v1/events?limit=1", { apiKey: key });
    const cursor = page.body.next_cursor as string;
    expect(cursor).toEqual(expect.any(String));
    const at = cursor.length - 5;
    const tampered = `${cursor.slice(0, at)}${cursor[at] === "A" ? "B" : "A"}${cursor.slice(at + 1)}`;
    expectError(
      await callApi("GET", `/v1/events?cursor=${encodeURIComponent(tampered)}`, { apiKey: key }),
      400,
      "validation_error",
    );
    expectError(
      await callApi("GET", `/v1/events?cursor=${encodeURIComponent(cursor)}`, { apiKey: otherKey }),
      400,
      "validation_error",
    );
    // A cursor from before the window of another filter.
    const later = new Date(Date.now() + 60_000).toISOString();
    expectError(
      await callApi(
        "GET",
        `/v1/events?since=${encodeURIComponent(later)}&cursor=${encodeURIComponent(cursor)}`,
        { apiKey: key },
      ),
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

      const detailOf = async () => {
        const response = await callApi("GET", `/v1/events/${event.id}`);
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        return response.body as Body & { deliveries: DeliveryView[] };
      };
      await eventually("both good deliveries to be delivered and the third to be retrying", async () => {
        const statuses = new Map((await detailOf()).deliveries.map((d) => [d.webhook_id, d.status]));
        return statuses.get(kept.id) === "delivered" &&
          statuses.get(deleted.id) === "delivered" &&
          statuses.get(pendingOnDelete.id) === "retrying"
          ? true
          : undefined;
      });
      expect((await callApi("DELETE", `/v1/webhooks/${deleted.id}`)).status).toBe(204);
      expect((await callApi("DELETE", `/v1/webhooks/${pendingOnDelete.id}`)).status).toBe(204);

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
      expectError(await callApi("GET", `/v1/webhooks/${deleted.id}/deliveries`), 404, "not_found");
      expect((await callApi("GET", `/v1/webhooks/${deleted.id}/deliveries/${gone?.id}`)).body).toMatchObject({
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
    expectError(await callApi("GET", `/v1/events/${event.id}`, { apiKey: otherKey }), 404, "not_found");
    expectError(await callApi("GET", "/v1/events/evt_does_not_exist"), 404, "not_found");
    const others = await callApi("GET", "/v1/events", { apiKey: otherKey });
    expect(others.body.data.map((e: { id: string }) => e.id)).not.toContain(event.id);
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
      const path = `/v1/webhooks/${webhook.id}/deliveries`;
      const all = await eventually("every delivery to end", async () => {
        const { items } = await listAll<DeliveryView>(path);
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

      const paged = await listAll<DeliveryView>(`${path}?limit=3`);
      expect(paged.pageSizes).toEqual([3, 3, 2]);
      expect(paged.items.map((d) => d.id)).toEqual(all.map((d) => d.id));

      const expectIds = async (query: string, keep: (d: DeliveryView) => boolean) => {
        const { items } = await listAll<DeliveryView>(`${path}?${query}`);
        expect(
          items.map((d) => d.id),
          query,
        ).toEqual(all.filter(keep).map((d) => d.id));
      };
      await expectIds("status=failed&limit=1", (d) => d.status === "failed");
      await expectIds("event_type=memory.updated&limit=2", (d) => d.event_type === "memory.updated");
      await expectIds(
        "status=delivered&event_type=memory.created&limit=1",
        (d) => d.status === "delivered" && d.event_type === "memory.created",
      );
      const byTime = [...events].sort((a, b) => (a.accepted_at < b.accepted_at ? -1 : 1));
      const since = byTime[1]?.accepted_at ?? "";
      const until = byTime[6]?.accepted_at ?? "";
      await expectIds(
        `since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}&limit=2`,
        (d) => d.created_at >= since && d.created_at < until,
      );
      await expectIds(
        `status=failed&since=${encodeURIComponent(since)}&limit=1`,
        (d) => d.status === "failed" && d.created_at >= since,
      );

      const bad = await callApi("GET", `${path}?until=2026-13-45`);
      expectError(bad, 400, "validation_error");
      expect(bad.body.error.details.map((detail: { path: string }) => detail.path)).toEqual(["until"]);
      expectError(await callApi("GET", `${path}?status=lost`), 400, "validation_error");
      const webhooksCursor = (await callApi("GET", "/v1/webhooks?limit=1")).body.next_cursor as string;
      expect(webhooksCursor).toEqual(expect.any(String));
      expectError(
        await callApi("GET", `${path}?cursor=${encodeURIComponent(webhooksCursor)}`),
        400,
        "validation_error",
      );
      expectError(await callApi("GET", path, { apiKey: otherKey }), 404, "not_found");
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
      const path = `/v1/webhooks/${webhook.id}/deliveries`;
      await eventually("the first delivery to arrive", async () => {
        const { items } = await listAll<DeliveryView>(path);
        return items[0]?.status === "delivered" ? true : undefined;
      });

      flaky.status = 500;
      const outage: Published[] = [];
      for (let index = 0; index < 4; index++) outage.push(await publish("sync.failed", { outage: index }));
      const dead = await eventually(
        "the outage's deliveries to be dead-lettered",
        async () => {
          const { items } = await listAll<DeliveryView>(`${path}?status=dead_lettered`);
          return items.length === outage.length ? items : undefined;
        },
        90_000,
      );
      expect(dead.map((d) => d.event_id).sort()).toEqual(outage.map((e) => e.id).sort());

      flaky.status = 200;
      const recovered = await callApi("POST", `/v1/webhooks/${webhook.id}/recover`, {
        body: { since: before.accepted_at },
      });
      expect(recovered.status, JSON.stringify(recovered.body)).toBe(202);
      expect(recovered.body).toEqual({ recovering: outage.length, next_since: null });

      const delivered = await eventually(
        "every recovered delivery to be delivered",
        async () => {
          const { items } = await listAll<DeliveryView>(path);
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

      const again = await callApi("POST", `/v1/webhooks/${webhook.id}/recover`, {
        body: { since: before.accepted_at },
      });
      expect(again.body).toEqual({ recovering: 0, next_since: null });
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
      const path = `/v1/webhooks/${webhook.id}/deliveries`;
      const failedAfter = (attempts: number) =>
        eventually(`the delivery to fail after ${attempts} attempts`, async () => {
          const { items } = await listAll<DeliveryView>(path);
          const [delivery] = items;
          return delivery?.status === "failed" && delivery.attempt_count === attempts ? delivery : undefined;
        });
      const { id } = await failedAfter(1);
      const total = 28;
      for (let attempts = 2; attempts <= total; attempts++) {
        const retried = await callApi("POST", `${path}/${id}/retry`);
        expect(retried.status, JSON.stringify(retried.body)).toBe(202);
        await failedAfter(attempts);
      }

      const shown = await callApi("GET", `${path}/${id}`);
      expect(shown.status).toBe(200);
      const { attempts, attempts_omitted } = shown.body as {
        attempts: { attempt: number; response_body: string }[];
        attempts_omitted: number;
      };
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
    const conflict = await callApi("POST", `/v1/webhooks/${inactive.id}/recover`, {
      body: { since: new Date(now - 60_000).toISOString() },
    });
    expectError(conflict, 409, "conflict");
    expect(conflict.body.error.message).toMatch(/re-enable/);

    const active = await webhookFor(receiver, ["user.created"]);
    const recover = (body: unknown, key?: string) =>
      callApi("POST", `/v1/webhooks/${active.id}/recover`, {
        body,
        ...(key === undefined ? {} : { apiKey: key }),
      });
    for (const body of [
      {},
      { since: "last week" },
      { since: new Date(now + 3_600_000).toISOString() },
      { since: new Date(now - (RETENTION_DAYS + 1) * 86_400_000).toISOString() },
      { since: new Date(now).toISOString(), extra: true },
    ]) {
      const response = await recover(body);
      expectError(response, 400, "validation_error");
    }
    expectError(await recover({ since: new Date(now - 60_000).toISOString() }, otherKey), 404, "not_found");
    expect((await recover({ since: new Date(now - 60_000).toISOString() })).body).toEqual({
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

  beforeAll(async () => {
    fuzzKey = (await newTenant("fuzz")).apiKey;
    fuzzReceiver = await Receiver.start();
  });
  afterAll(async () => {
    await fuzzReceiver.stop();
  });

  it("POST /v1/webhooks: never a 5xx, one error shape, and only a 201 adds a webhook", async () => {
    const count = async () => (await listAll<{ id: string }>("/v1/webhooks", fuzzKey)).items.length;
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
    const webhook = await webhookFor(fuzzReceiver, ["user.created"], {});
    const path = `/v1/webhooks/${webhook.id}`;
    let current = (await callApi("GET", path, { apiKey: fuzzKey })).body as Body;
    const valid = { description: "patched", active: true, timeout_seconds: 7, metadata: { team: "fuzz" } };
    await fc.assert(
      fc.asyncProperty(bodies(valid), async (sent) => {
        const response = await send("PATCH", path, sent, fuzzKey);
        if (response.status === 200) current = response.body as Body;
        else expect((await callApi("GET", path, { apiKey: fuzzKey })).body).toEqual(current);
      }),
      { numRuns: RUNS },
    );
  });

  it("POST /v1/events: never a 5xx, one error shape, and only a 202 adds an event", async () => {
    const count = async () => (await listAll<{ id: string }>("/v1/events", fuzzKey)).items.length;
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
    const webhook = await webhookFor(fuzzReceiver, ["user.created"], {});
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
