import { describe, expect, it } from "vitest";
import type { KeyLoad } from "../../bench/key-loads.ts";
import { ceiling, keyCeilings, keyPattern, scopeOf } from "../../bench/partitions.ts";

describe("keyPattern", () => {
  it("replaces each id by its kind and keeps the labels", () => {
    expect(keyPattern("TENANT#t_1#WEBHOOK#wh_01JZ")).toBe("TENANT#<tenant>#WEBHOOK#<webhook>");
    expect(keyPattern("TENANT#ACME#EVENTS")).toBe("TENANT#<tenant>#EVENTS");
    expect(keyPattern("RATELIMIT#wh_01JZ")).toBe("RATELIMIT#<webhook>");
    expect(keyPattern("TENANT#t_1#INFLIGHT#wh_01JZ")).toBe("TENANT#<tenant>#INFLIGHT#<webhook>");
    // A shard of a tenant's key is still the tenant's: every event of the tenant may land on it.
    expect(keyPattern("TENANT#ACME#EVENTS#17")).toBe("TENANT#<tenant>#EVENTS#<id>");
    expect(keyPattern("DUE#3")).toBe("DUE#<shard>");
    expect(keyPattern("SUBSCRIPTIONS")).toBe("SUBSCRIPTIONS");
    expect(keyPattern("2026-01-01T00:00:00.000Z")).toBe("<id>");
  });

  it("tells a key one event or delivery owns from a webhook's and from a shared one", () => {
    expect(scopeOf("TENANT#<tenant>#WEBHOOK#<webhook> | DELIVERY#<delivery>")).toBe("one");
    expect(scopeOf("TENANT#<tenant>#EVENT#<event>")).toBe("one");
    expect(scopeOf("TENANT#<tenant> | WEBHOOK#<webhook>")).toBe("webhook");
    expect(scopeOf("TENANT#<tenant>#EVENTS")).toBe("shared");
    expect(scopeOf("DUE#<shard>")).toBe("shared");
    expect(scopeOf("TENANT#<tenant>#EVENTS#<id>")).toBe("shared");
    expect(scopeOf("TENANT#<tenant>#INFLIGHT#<webhook>")).toBe("webhook");
  });
});

describe("keyCeilings", () => {
  // Prepare: a phase of 100 events from tenant t1, each delivered once to webhook wh_1.
  const events = 100;
  const partition = (
    table: string,
    value: string,
    writeUnits: number,
    readUnits = 0,
    index?: string,
  ): KeyLoad => ({
    level: "partition",
    table,
    ...(index === undefined ? {} : { index }),
    partition: value,
    writeUnits,
    readUnits,
  });
  const loads: KeyLoad[] = [
    // Each event's own item: 4 units on a key no other event touches (400 units over the phase).
    ...Array.from({ length: events }, (_, n) => partition("events", `TENANT#t1#EVENT#evt_${n}`, 4)),
    // Every event in the by-time index under one key: 2 units each.
    partition("events", "TENANT#t1#EVENTS", 200, 0, "by-time"),
    // The subscriptions version: a transactional check (2 units) twice per event, and a 0.5-unit query.
    partition("webhooks", "TENANT#t1", 400, 50),
    {
      level: "item",
      table: "webhooks",
      partition: "TENANT#t1",
      sort: "SUBSCRIPTIONS",
      writeUnits: 400,
      readUnits: 0,
    },
    // The webhook's keys: a rate-limit slot (1 unit) and its deliveries' partition (3 units) per delivery.
    partition("webhooks", "RATELIMIT#wh_1", 100),
    partition("events", "TENANT#t1#WEBHOOK#wh_1", 300),
  ];

  it("caps the tenant at the limit over the hottest shared key's units per event", () => {
    // Act
    const keys = keyCeilings(loads, events);

    // Assess: TENANT#t1 takes 4 write units per event → 1,000 / 4 = 250 events/s; by-time 1,000 / 2 = 500.
    expect(ceiling(keys, ["shared"])).toBe(250);
    const hottest = keys[0];
    expect(hottest).toMatchObject({
      key: "TENANT#<tenant>",
      table: "webhooks",
      index: null,
      level: "partition",
      scope: "shared",
      write_units_per_event: 4,
      read_units_per_event: 0.5,
      ceiling_per_s: 250,
    });
    // 400 of the phase's 1,400 write units (items are not counted twice) land on that one key.
    expect(hottest?.share).toBeCloseTo(400 / 1400, 10);
    expect(keys.find((key) => key.index === "by-time")?.ceiling_per_s).toBe(500);
  });

  it("caps one webhook by its own keys, and leaves keys one event owns uncapped", () => {
    const keys = keyCeilings(loads, events);

    // 3 units per delivery on the webhook's deliveries partition: 1,000 / 3 = 333 deliveries/s.
    expect(ceiling(keys, ["webhook"])).toBe(333);
    const own = keys.find((key) => key.key === "TENANT#<tenant>#EVENT#<event>");
    expect(own).toMatchObject({ scope: "one", values: 100, write_units: 4, ceiling_per_s: null });
    expect(own?.write_units_per_event).toBeCloseTo(0.04, 10);
  });

  it("lets reads cap a key when they come first", () => {
    // 60 read units per event on one key: 3,000 / 60 = 50, before its 1,000 / 1 = 1,000 for writes.
    const keys = keyCeilings([partition("webhooks", "APIKEY#abc", 100, 6_000)], events);

    expect(keys[0]).toMatchObject({ key: "APIKEY#<key>", ceiling_per_s: 50, share: 1 });
    expect(ceiling(keys, ["shared"])).toBe(50);
    expect(ceiling(keys, ["webhook"])).toBeNull();
  });
});
