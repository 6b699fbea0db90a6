import { describe, expect, it } from "vitest";
import type { KeyLoad } from "../../bench/key-loads.ts";
import {
  cappingKey,
  ceiling,
  hottestShardZ,
  keyCeilings,
  keyPattern,
  scopeOf,
  uniformFamilyRate,
} from "../../bench/partitions.ts";

describe("keyPattern", () => {
  it("replaces each id by its kind and keeps the labels", () => {
    expect(keyPattern("TENANT#t_1#WEBHOOK#wh_01JZ")).toBe("TENANT#<tenant>#WEBHOOK#<webhook>");
    expect(keyPattern("TENANT#ACME#EVENTS")).toBe("TENANT#<tenant>#EVENTS");
    expect(keyPattern("RATELIMIT#wh_01JZ")).toBe("RATELIMIT#<webhook>");
    expect(keyPattern("TENANT#t_1#INFLIGHT#wh_01JZ")).toBe("TENANT#<tenant>#INFLIGHT#<webhook>");
    expect(keyPattern("TENANT#t_1#RETRY#wh_01JZ#1764072000")).toBe("TENANT#<tenant>#RETRY#<webhook>#<id>");
    expect(keyPattern("TENANT#t_1#WEBHOOK#wh_01JZ#SHARD#5")).toBe(
      "TENANT#<tenant>#WEBHOOK#<webhook>#SHARD#<shard>",
    );
    expect(keyPattern("TENANT#t_1#INFLIGHT#wh_01JZ#SHARD#3")).toBe(
      "TENANT#<tenant>#INFLIGHT#<webhook>#SHARD#<shard>",
    );
    // A shard of a tenant's key is still the tenant's: every event of the tenant may land on it.
    expect(keyPattern("TENANT#ACME#EVENTS#17")).toBe("TENANT#<tenant>#EVENTS#<shard>");
    expect(keyPattern("TENANT#ACME#SUBSCRIPTIONS#3")).toBe("TENANT#<tenant>#SUBSCRIPTIONS#<shard>");
    expect(keyPattern("TENANT#ACME#PUBLISH_RATE#15")).toBe("TENANT#<tenant>#PUBLISH_RATE#<shard>");
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
    expect(scopeOf("TENANT#<tenant>#EVENTS#<shard>")).toBe("shared");
    expect(scopeOf("TENANT#<tenant>#INFLIGHT#<webhook>")).toBe("webhook");
    expect(scopeOf("TENANT#<tenant>#INFLIGHT#<webhook>#SHARD#<shard>")).toBe("webhook");
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
    // One unit a request: a key read by its hottest value does not use them.
    writeRequests: writeUnits,
    readRequests: readUnits,
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
      writeRequests: 200,
      readRequests: 0,
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

describe("a key family spread evenly over shards", () => {
  const load = (partition: string, writeUnits: number, writeRequests: number, index?: string): KeyLoad => ({
    level: "partition",
    table: "events",
    ...(index === undefined ? {} : { index }),
    partition,
    writeUnits,
    readUnits: 0,
    writeRequests,
    readRequests: 0,
  });

  it("expects the hottest of N shards about as many deviations above the mean as the largest of N draws", () => {
    // The expected largest of n standard normal draws: 1.4236 (8), 1.7660 (16), 2.0696 (32), 2.8267 (256).
    expect(hottestShardZ(8)).toBeCloseTo(1.42, 1);
    expect(hottestShardZ(16)).toBeCloseTo(1.77, 2);
    expect(hottestShardZ(32)).toBeCloseTo(2.07, 2);
    expect(hottestShardZ(256)).toBeCloseTo(2.82, 2);
  });

  it("finds the rate at which the expected hottest shard takes exactly the limit", () => {
    // 256 shards, 10 units an event over the family, 1 unit a request: at 23,420 events/s each shard
    // takes m = 23,420 × 10 / 256 = 914.8 units a second, and the hottest m + 2.815 × sqrt(m) = 1,000.
    const rate = uniformFamilyRate(1_000, 256, 10, 1);
    const mean = (rate * 10) / 256;

    expect(Math.floor(rate)).toBe(23_420);
    expect(mean + hottestShardZ(256) * Math.sqrt(mean)).toBeCloseTo(1_000, 6);
    // Requests of more units vary more: 4 units a request leave less room under the limit.
    expect(uniformFamilyRate(1_000, 256, 10, 4)).toBeLessThan(rate);
  });

  // Prepare: a phase of 200 events at fan-out 10. Their 2,000 delivery records each enter the due index
  // once (1 unit), by hash of the delivery id: shard 0 took 17 by chance, 198 shards 8, 57 shards 7.
  const events = 200;
  const due = [
    load("DUE#0", 17, 17, "due"),
    ...Array.from({ length: 198 }, (_, n) => load(`DUE#${n + 1}`, 8, 8, "due")),
    ...Array.from({ length: 57 }, (_, n) => load(`DUE#${n + 199}`, 7, 7, "due")),
  ];
  // Ten webhooks' delivery partitions, one unit a delivery: chosen by webhook, not spread at random.
  const webhooks = [
    load("TENANT#t1#WEBHOOK#wh_0", 290, 290),
    ...Array.from({ length: 9 }, (_, n) => load(`TENANT#t1#WEBHOOK#wh_${n + 1}`, 190, 190)),
  ];

  it("caps the tenant by the family's total units spread over its shards, not by the hottest shard", () => {
    // Act
    const keys = keyCeilings([...due, ...webhooks], events);

    // Assess: 2,000 units over 200 events is 10 an event on the family, 1 unit a request: 23,420 events/s
    // (above). The hottest shard alone (17 / 200 units an event) would have said 1,000 / 0.085 = 11,764;
    // the mean alone 256 × 1,000 / 10 = 25,600.
    const family = cappingKey(keys, ["shared"]);
    expect(family).toMatchObject({
      key: "DUE#<shard>",
      index: "due",
      shards: 256,
      values: 256,
      write_units: 2_000,
      write_units_per_event: 10,
      share: 2_000 / 4_000,
      ceiling_per_s: 23_420,
    });
  });

  it("keeps the hottest value's rule for keys chosen by a webhook id, however many values there are", () => {
    const keys = keyCeilings([...due, ...webhooks], events);

    // The hottest webhook took 290 units over 200 events: 1,000 / 1.45 = 689, not the mean's 1,000 / 1.
    expect(cappingKey(keys, ["webhook"])).toMatchObject({
      key: "TENANT#<tenant>#WEBHOOK#<webhook>",
      shards: null,
      values: 10,
      write_units: 290,
      ceiling_per_s: 689,
    });
  });

  it("counts a webhook's delivery shards as one family of that webhook, apart from another webhook's", () => {
    // 100 deliveries to wh_1, 3.6 units each over its 8 shards; 50 to wh_2 over its 8 shards.
    const shards = [
      ...Array.from({ length: 8 }, (_, n) => load(`TENANT#t1#WEBHOOK#wh_1#SHARD#${n}`, 45, 45)),
      ...Array.from({ length: 8 }, (_, n) => load(`TENANT#t1#WEBHOOK#wh_2#SHARD#${n}`, 10, 10)),
    ];

    const webhook = cappingKey(keyCeilings(shards, 100), ["webhook"]);

    expect(webhook).toMatchObject({
      key: "TENANT#<tenant>#WEBHOOK#<webhook>#SHARD#<shard>",
      shards: 8,
      values: 16,
      write_units: 360,
      ceiling_per_s: Math.floor(uniformFamilyRate(1_000, 8, 3.6, 1)),
    });
    // Spread over eight partitions, the webhook takes over 2,000 deliveries a second, where one
    // partition at 3.6 units a delivery took 277.
    expect(webhook?.ceiling_per_s).toBeGreaterThan(2_000);
  });

  it("counts a family per tenant, and a part family by the parts it saw", () => {
    // Tenant t1 took 400 publish-bucket units over 4 parts, tenant t2 100 over 2; t1's family is hotter.
    const parts = [
      ...Array.from({ length: 4 }, (_, n) => load(`TENANT#t1#PUBLISH_RATE#${n}`, 100, 100)),
      ...Array.from({ length: 2 }, (_, n) => load(`TENANT#t2#PUBLISH_RATE#${n}`, 50, 50)),
    ];

    const [hottest] = keyCeilings(parts, 400);

    // 1 unit an event over 4 parts, z = 1.049 for 4: sqrt(m) = (sqrt(1.049² + 4,000) − 1.049) / 2 = 31.10,
    // m = 967.4, and 4 × 967.4 / 1 = 3,869 events/s (t2: 2 × 981.7 / 0.25 = 7,852).
    expect(hottest).toMatchObject({
      key: "TENANT#<tenant>#PUBLISH_RATE#<shard>",
      shards: 4,
      values: 6,
      write_units: 400,
      write_units_per_event: 1,
      ceiling_per_s: 3_869,
    });
  });

  it("models one webhook's in-flight items as 4 shards of a family, apart from another webhook's", () => {
    // 1,000 deliveries to wh_1, each claiming and releasing a slot (2 units) on one of its 4 items at
    // random (by chance 560 to 440 units each), and 200 to wh_2.
    const shards = [560, 520, 480, 440].map((units, n) =>
      load(`TENANT#t1#INFLIGHT#wh_1#SHARD#${n}`, units, units),
    );
    const other = Array.from({ length: 4 }, (_, n) => load(`TENANT#t1#INFLIGHT#wh_2#SHARD#${n}`, 100, 100));

    const keys = keyCeilings([...shards, ...other], 1_000);

    // 2 units a delivery over 4 shards, z = 1.049 for 4: sqrt(m) = (sqrt(1.049² + 4,000) − 1.049) / 2 =
    // 31.10, m = 967.4, and 4 × 967.4 / 2 = 1,934 deliveries/s. One item would have capped at 1,000 / 2
    // = 500, and the hottest shard alone said 1,000 / 0.56 = 1,785.
    expect(cappingKey(keys, ["webhook"])).toMatchObject({
      key: "TENANT#<tenant>#INFLIGHT#<webhook>#SHARD#<shard>",
      scope: "webhook",
      shards: 4,
      values: 8,
      write_units: 2_000,
      write_units_per_event: 2,
      ceiling_per_s: 1_934,
    });
    expect(ceiling(keys, ["shared"])).toBeNull();
  });
});
