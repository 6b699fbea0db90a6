import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../functions/domain/cursor.ts";
import { ValidationError } from "../../functions/domain/errors.ts";
import { listDeliveries, listEvents, payloadData } from "../../functions/domain/history.ts";
import { DELIVERY_ID, deliveryIdFor, deliveryIdRange, deliveryIdTime } from "../../functions/domain/ids.ts";
import type {
  DeliveryHistory,
  DeliveryPageRequest,
  EventHistory,
  EventPageRequest,
} from "../../functions/domain/ports.ts";
import { ListDeliveriesQuery, ListEventsQuery, RecoverBody } from "../../functions/http/schemas.ts";

const KEY = new Uint8Array(32).fill(7);
const cursorKey = async () => KEY;

describe("delivery id ranges", () => {
  it("holds exactly the ids of deliveries created at or after since and before until", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4_000_000_000_000 }),
        fc.integer({ min: 1, max: 4_000_000_000_000 }),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.string(),
        (a, b, created, eventId) => {
          const [since, until] = a < b ? [a, b] : [b, a + 1];
          const id = deliveryIdFor(new Date(created), eventId, "wh_1");
          const { from, to } = deliveryIdRange(new Date(since), new Date(until));
          expect(id >= from && id <= to).toBe(created >= since && created < until);
        },
      ),
    );
  });

  it("is open-ended without since or until, and gives back an id's time", () => {
    const at = new Date("2026-11-25T10:00:00.123Z");
    const id = deliveryIdFor(at, "evt_1", "wh_1");
    const { from, to } = deliveryIdRange();
    expect(id > from && id < to).toBe(true);
    expect(deliveryIdTime(id)).toEqual(at);
    expect(id).toMatch(DELIVERY_ID);
  });
});

/** A store that records what it was asked and answers one page. */
function deliveryHistory(lastId?: string) {
  const requests: DeliveryPageRequest[] = [];
  const store: DeliveryHistory = {
    async deliveryPage(_tenant, _webhook, request) {
      requests.push(request);
      return { deliveries: [], ...(lastId === undefined ? {} : { lastId }) };
    },
    async deliveriesOfEvent() {
      return [];
    },
  };
  return { store, requests };
}

describe("listing deliveries", () => {
  const since = new Date("2026-11-25T10:00:00Z");
  const until = new Date("2026-11-25T11:00:00Z");
  const inside = deliveryIdFor(new Date("2026-11-25T10:30:00Z"), "evt_1", "wh_1");

  it("turns the time filter into an id range and the page's end into a cursor that leads on", async () => {
    const { store, requests } = deliveryHistory(inside);
    const page = await listDeliveries({ cursorKey, deliveries: store }, "t1", "wh_1", {
      limit: 10,
      status: "failed",
      eventType: "memory.created",
      since,
      until,
    });
    expect(requests[0]).toEqual({
      limit: 10,
      statuses: ["failed"],
      eventType: "memory.created",
      ...(({ from, to }) => ({ fromId: from, toId: to }))(deliveryIdRange(since, until)),
    });
    expect(decodeCursor(KEY, "t1", page.nextCursor ?? "")).toEqual({ delivery: inside });

    await listDeliveries({ cursorKey, deliveries: store }, "t1", "wh_1", {
      limit: 10,
      since,
      until,
      cursor: page.nextCursor ?? "",
    });
    expect(requests[1]?.afterId).toBe(inside);
  });

  it("answers no cursor on the last page", async () => {
    const { store } = deliveryHistory();
    const page = await listDeliveries({ cursorKey, deliveries: store }, "t1", "wh_1", { limit: 10 });
    expect(page.nextCursor).toBeNull();
  });

  it.each([
    ["another listing's", { pk: "TENANT#t1", sk: "WEBHOOK#wh_1" }],
    ["one outside the time range", { delivery: deliveryIdFor(new Date("2026-11-25T12:00:00Z"), "e", "w") }],
    ["a malformed id", { delivery: "msg_../../x" }],
  ])("refuses %s cursor with a 400, before reading anything", async (_, position) => {
    const { store, requests } = deliveryHistory();
    const cursor = encodeCursor(KEY, "t1", position);
    await expect(
      listDeliveries({ cursorKey, deliveries: store }, "t1", "wh_1", { limit: 10, since, until, cursor }),
    ).rejects.toThrow(ValidationError);
    expect(requests).toEqual([]);
  });
});

describe("listing events", () => {
  function eventHistory(last?: { acceptedAt: string; id: string }) {
    const requests: EventPageRequest[] = [];
    const store: EventHistory = {
      async eventPage(_tenant, request) {
        requests.push(request);
        return { events: [], ...(last === undefined ? {} : { last }) };
      },
      async get() {
        return undefined;
      },
    };
    return { store, requests };
  }

  it("passes normalised times and resumes where the cursor says", async () => {
    const last = { acceptedAt: "2026-11-25T10:30:00.000Z", id: "evt_1" };
    const { store, requests } = eventHistory(last);
    const since = new Date("2026-11-25T11:00:00+01:00");
    const page = await listEvents({ cursorKey, events: store }, "t1", {
      limit: 5,
      type: "user.created",
      since,
    });
    expect(requests[0]).toEqual({ limit: 5, type: "user.created", since: "2026-11-25T10:00:00.000Z" });
    await listEvents({ cursorKey, events: store }, "t1", { limit: 5, since, cursor: page.nextCursor ?? "" });
    expect(requests[1]?.after).toEqual(last);
  });

  it("refuses a cursor outside the time range or of another shape", async () => {
    const { store } = eventHistory();
    const outside = encodeCursor(KEY, "t1", { at: "2026-11-25T09:00:00.000Z", event: "evt_1" });
    const since = new Date("2026-11-25T10:00:00Z");
    await expect(
      listEvents({ cursorKey, events: store }, "t1", { limit: 5, since, cursor: outside }),
    ).rejects.toThrow(ValidationError);
    const other = encodeCursor(KEY, "t1", { delivery: "msg_1" });
    await expect(listEvents({ cursorKey, events: store }, "t1", { limit: 5, cursor: other })).rejects.toThrow(
      ValidationError,
    );
  });
});

describe("the query and body schemas", () => {
  it("reads times with a zone, and names the field of a bad one", () => {
    expect(ListEventsQuery.parse({ since: "2026-11-25T11:00:00+01:00" }).since).toEqual(
      new Date("2026-11-25T10:00:00Z"),
    );
    for (const [field, value] of [
      ["since", "yesterday"],
      ["until", "2026-11-25"],
      ["since", "2026-11-25T10:00:00"],
    ] as const) {
      const parsed = ListDeliveriesQuery.safeParse({ [field]: value });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([[field]]);
    }
  });

  it("refuses since at or after until, and unknown parameters", () => {
    const at = "2026-11-25T10:00:00Z";
    expect(ListDeliveriesQuery.safeParse({ since: at, until: at }).success).toBe(false);
    expect(ListEventsQuery.safeParse({ since: at, until: "2026-11-25T09:00:00Z" }).success).toBe(false);
    expect(ListEventsQuery.safeParse({ status: "failed" }).success).toBe(false);
  });

  it("requires since in a recover body, and nothing else", () => {
    expect(RecoverBody.safeParse({}).success).toBe(false);
    expect(RecoverBody.safeParse({ since: "2026-11-25T10:00:00Z", more: 1 }).success).toBe(false);
    expect(RecoverBody.parse({ since: "2026-11-25T10:00:00Z" })).toEqual({
      since: new Date("2026-11-25T10:00:00Z"),
    });
  });
});

describe("an event's data", () => {
  it("is the data field of its stored payload", () => {
    expect(payloadData(JSON.stringify({ id: "e", type: "t", timestamp: "x", data: { a: [1] } }))).toEqual({
      a: [1],
    });
  });
});
