/**
 * The AWS partition model (issue 14): where Hookline would stop in AWS whatever Lambda and SQS could do.
 * DynamoDB gives one partition key value, of a table or of an index, at most 1,000 write units and
 * 3,000 read units a second, and one item never more. Given the units each key took over a phase and
 * the events (or deliveries) of that phase, a key that took `u` write units per event caps the rate at
 * 1,000 / u events a second; the ceiling is the lowest cap. Pure: no clock, no I/O.
 *
 * Which keys cap what depends on who owns them, read from the key's pattern:
 * - a key of one event or one delivery (`<event>`, `<delivery>`) is not hit more often at a higher rate:
 *   it caps nothing;
 * - a key of one webhook (`<webhook>`) caps the deliveries one webhook can receive; a tenant's events
 *   spread over its webhooks, so it does not cap the tenant;
 * - every other key (the tenant's, the deployment's) is hit by every event of the tenant: it caps the
 *   tenant's events.
 *
 * A key family spread evenly over N shards (`UNIFORM_FAMILIES`: a shard by hash of an event or delivery
 * id, or at random) is not read by its hottest value: on a short phase one shard takes several times the
 * mean by chance (17 of 2,000 deliveries on one of 256 due shards, against a mean of 7.8), which would
 * understate the ceiling twice over. At the rates a ceiling is about, each shard takes 1/N of the
 * family's units, give or take a second's Poisson variation, and the family caps the rate at which
 * the expected hottest shard in a second reaches the limit (`uniformFamilyRate`). A key chosen by a
 * tenant or webhook id is not spread that way: every event of the tenant (or delivery to the webhook)
 * lands on it, and it keeps the hottest value's rule.
 */
import {
  DUE_SHARDS,
  EVENT_LIST_SHARDS,
  SUBSCRIPTION_SHARDS,
  WEBHOOK_DELIVERY_SHARDS,
} from "../functions/adapters/keys.ts";
import { IN_FLIGHT_SHARDS } from "../functions/domain/in-flight.ts";
import type { KeyLoad } from "./key-loads.ts";

export const PARTITION_LIMITS = { writeUnitsPerSecond: 1_000, readUnitsPerSecond: 3_000 } as const;

export type KeyScope = "one" | "webhook" | "shared";

/** What follows each label in a key is an id of this kind (functions/adapters/keys.ts). */
const VALUE_AFTER: Readonly<Record<string, string>> = {
  TENANT: "<tenant>",
  WEBHOOK: "<webhook>",
  RATELIMIT: "<webhook>",
  INFLIGHT: "<webhook>",
  RETRY: "<webhook>",
  EVENT: "<event>",
  DELIVERY: "<delivery>",
  STATS: "<hour>",
  APIKEY: "<key>",
  DUE: "<shard>",
  EVENTS: "<shard>",
  SUBSCRIPTIONS: "<shard>",
  PUBLISH_RATE: "<shard>",
  SHARD: "<shard>",
};

const SHARD = "<shard>";

/**
 * The partition key patterns whose values spread evenly over their shards, with how many there are.
 * Every other pattern, sharded or not, keeps the hottest value's rule.
 * - `DUE#<shard>`: a delivery record's shard of the due index, by hash of its id (`dueShardOf`);
 * - `TENANT#<tenant>#EVENTS#<shard>`: an event's by-time partition, by hash of its id;
 * - `TENANT#<tenant>#SUBSCRIPTIONS#<shard>`: a publish reads one copy of the version at random, and a
 *   webhook change writes them all;
 * - `TENANT#<tenant>#PUBLISH_RATE#<shard>`: a publish takes its token from one part at random; how many
 *   parts a tenant has follows its rate (`publishBucketShards`), so the model takes the parts it saw;
 * - `TENANT#<tenant>#WEBHOOK#<webhook>#SHARD#<shard>`: a delivery record's shard of its webhook's
 *   partitions, by hash of its id, and a stats bucket's, by hash of its hour (the stats function writes
 *   it once per stream batch, webhook and hour; one family per webhook);
 * - `TENANT#<tenant>#INFLIGHT#<webhook>#SHARD#<shard>`: a webhook's in-flight items; a claim starts at
 *   one at random, and a release writes the item its slot lives in.
 */
export const UNIFORM_FAMILIES: Readonly<Record<string, number | "seen">> = {
  "DUE#<shard>": DUE_SHARDS,
  "TENANT#<tenant>#EVENTS#<shard>": EVENT_LIST_SHARDS,
  "TENANT#<tenant>#SUBSCRIPTIONS#<shard>": SUBSCRIPTION_SHARDS,
  "TENANT#<tenant>#PUBLISH_RATE#<shard>": "seen",
  "TENANT#<tenant>#WEBHOOK#<webhook>#SHARD#<shard>": WEBHOOK_DELIVERY_SHARDS,
  "TENANT#<tenant>#INFLIGHT#<webhook>#SHARD#<shard>": IN_FLIGHT_SHARDS,
};

/** A key value with its ids replaced by their kind: `TENANT#t_1#EVENTS` → `TENANT#<tenant>#EVENTS`. */
export function keyPattern(value: string): string {
  const segments = value.split("#");
  return segments
    .map((segment, position) => {
      const label = position === 0 ? undefined : segments[position - 1];
      const kind = label === undefined ? undefined : VALUE_AFTER[label];
      if (kind !== undefined) return kind;
      return /^[A-Z][A-Z0-9_]*$/.test(segment) || segment.startsWith("<") ? segment : "<id>";
    })
    .join("#");
}

export function scopeOf(pattern: string): KeyScope {
  if (pattern.includes("<event>") || pattern.includes("<delivery>")) return "one";
  if (pattern.includes("<webhook>")) return "webhook";
  return "shared";
}

/**
 * How many standard deviations above the mean the hottest of `shards` equal shards is expected to be:
 * the expected largest of n normal draws, by Blom's approximation Φ⁻¹((n − 0.375) / (n + 0.25)) (about
 * the quantile of a 1/n tail: 1.43 for 8 shards, 1.77 for 16, 2.07 for 32, 2.82 for 256). Φ⁻¹ is
 * Abramowitz and Stegun's 26.2.23, within 0.00045.
 */
export function hottestShardZ(shards: number): number {
  const tail = 0.625 / (shards + 0.25);
  if (tail >= 0.5) return 0;
  const t = Math.sqrt(-2 * Math.log(tail));
  return (
    t -
    (2.515517 + 0.802853 * t + 0.010328 * t ** 2) / (1 + 1.432788 * t + 0.189269 * t ** 2 + 0.001308 * t ** 3)
  );
}

/**
 * The events a second at which the expected hottest of a family's `shards` shards takes `limit` units
 * in a second. At R events a second each shard takes m = R·u/N units on average; its requests arrive
 * at random, so what it takes in one second varies by sqrt(m·w) (a Poisson count of requests of w units
 * each), and the hottest shard takes m + z·sqrt(m·w), z from `hottestShardZ`. Setting that to the
 * limit is a quadratic in sqrt(m): sqrt(m) = (sqrt(z²·w + 4·limit) − z·sqrt(w)) / 2, and R = N·m / u.
 */
export function uniformFamilyRate(
  limit: number,
  shards: number,
  unitsPerEvent: number,
  unitsPerRequest: number,
): number {
  if (!(unitsPerEvent > 0)) return Number.POSITIVE_INFINITY;
  const spread = hottestShardZ(shards) * Math.sqrt(unitsPerRequest);
  const root = (Math.sqrt(spread ** 2 + 4 * limit) - spread) / 2;
  return (shards * root ** 2) / unitsPerEvent;
}

/** One key, as the model reads it: its pattern, its units per unit of work, and the rate it allows. */
export interface KeyCeiling {
  /** The partition key pattern, and for an item ` | ` and its sort key pattern. */
  readonly key: string;
  readonly table: string;
  /** The index, or `null` for the table itself. */
  readonly index: string | null;
  readonly level: "partition" | "item";
  readonly scope: KeyScope;
  /**
   * How many shards the model spread the family's units over (`UNIFORM_FAMILIES`), or `null` for a key
   * read by its hottest value.
   */
  readonly shards: number | null;
  /** How many values of this pattern took units in the phase. */
  readonly values: number;
  /** The hottest value's units over the whole phase; for a family of shards, the whole family's. */
  readonly write_units: number;
  readonly read_units: number;
  /**
   * Units per event (or per delivery, for a webhook's keys) on the hottest value of this pattern, or
   * on the whole family of shards.
   */
  readonly write_units_per_event: number;
  readonly read_units_per_event: number;
  /** That value's (or family's) part of all the phase's units of the kind that caps it (write or read). */
  readonly share: number;
  /** The rate (events, or deliveries to one webhook, a second) at which this key reaches its limit; `null` when it never does. */
  readonly ceiling_per_s: number | null;
}

/** The loads read as one key: one value's, or the shards of one family (one tenant's, say). */
type Group = readonly [KeyLoad, ...KeyLoad[]];

/** A key with the rate it allows, unrounded, whatever its scope: what orders the keys. */
interface Rated {
  readonly key: KeyCeiling;
  readonly rate: number;
}

/**
 * Every key pattern's hottest value (or family of shards), over a phase of `work` events (or
 * deliveries), lowest rate first: the first of a scope is what caps it.
 */
export function keyCeilings(loads: readonly KeyLoad[], work: number): KeyCeiling[] {
  const partitionLoads = loads.filter((load) => load.level === "partition");
  const totals = {
    write: partitionLoads.reduce((sum, load) => sum + load.writeUnits, 0),
    read: partitionLoads.reduce((sum, load) => sum + load.readUnits, 0),
  };
  // Per pattern, the values that count together: each value alone, or a family's shards of one tenant.
  const patterns = new Map<string, { values: number; groups: Map<string, Group> }>();
  for (const load of loads) {
    const key = patternOf(load);
    const id = JSON.stringify([load.level, load.table, load.index, key]);
    const pattern = patterns.get(id) ?? { values: 0, groups: new Map<string, Group>() };
    patterns.set(id, pattern);
    pattern.values += 1;
    const group =
      familyOf(key) === undefined ? JSON.stringify([load.partition, load.sort]) : familyInstance(load);
    const known = pattern.groups.get(group);
    pattern.groups.set(group, known === undefined ? [load] : [...known, load]);
  }
  const hottest = [...patterns.values()].map(({ values, groups }) => {
    const rated = [...groups.values()].map((group) => rate(group, work, totals));
    const lowest = rated.reduce((low, next) => (next.rate < low.rate ? next : low));
    return { ...lowest, key: { ...lowest.key, values } };
  });
  // Keys that never reach a limit all rate as infinite; Infinity − Infinity would not order them.
  return hottest.sort((a, b) => (a.rate === b.rate ? 0 : a.rate < b.rate ? -1 : 1)).map(({ key }) => key);
}

/** The key that caps these scopes (the first, keys being lowest rate first), if any does. */
export function cappingKey(keys: readonly KeyCeiling[], scopes: readonly KeyScope[]): KeyCeiling | undefined {
  return keys.find((key) => scopes.includes(key.scope) && key.ceiling_per_s !== null);
}

/** The lowest ceiling among keys of these scopes; `null` when none of them caps anything. */
export function ceiling(keys: readonly KeyCeiling[], scopes: readonly KeyScope[]): number | null {
  return cappingKey(keys, scopes)?.ceiling_per_s ?? null;
}

/** One value's loads, or one family instance's shards, read as one key. */
function rate(group: Group, work: number, totals: { write: number; read: number }): Rated {
  const [first] = group;
  const key = patternOf(first);
  const scope = scopeOf(key);
  const family = familyOf(key);
  const sum = (field: "writeUnits" | "readUnits" | "writeRequests" | "readRequests") =>
    group.reduce((total, load) => total + load[field], 0);
  const write = { units: sum("writeUnits"), requests: sum("writeRequests") };
  const read = { units: sum("readUnits"), requests: sum("readRequests") };
  const shards = family === undefined ? null : family === "seen" ? group.length : family;
  const capOf = (limit: number, tally: { units: number; requests: number }) => {
    const perEvent = tally.units / work;
    if (!(perEvent > 0)) return Number.POSITIVE_INFINITY;
    return shards === null
      ? limit / perEvent
      : uniformFamilyRate(limit, shards, perEvent, tally.units / tally.requests);
  };
  const writeCap = capOf(PARTITION_LIMITS.writeUnitsPerSecond, write);
  const readCap = capOf(PARTITION_LIMITS.readUnitsPerSecond, read);
  const cap = Math.min(writeCap, readCap);
  return {
    rate: cap,
    key: {
      key,
      table: first.table,
      index: first.index ?? null,
      level: first.level,
      scope,
      shards,
      values: group.length,
      write_units: write.units,
      read_units: read.units,
      write_units_per_event: write.units / work,
      read_units_per_event: read.units / work,
      share: writeCap <= readCap ? fraction(write.units, totals.write) : fraction(read.units, totals.read),
      ceiling_per_s: scope === "one" || !Number.isFinite(cap) ? null : Math.floor(cap),
    },
  };
}

/** The load's key pattern: the partition's, and for an item ` | ` and the sort key's. */
function patternOf(load: KeyLoad): string {
  return load.level === "item"
    ? `${keyPattern(load.partition)} | ${load.sort === undefined ? "" : keyPattern(load.sort)}`
    : keyPattern(load.partition);
}

/** The shards of a uniform family, if the pattern's partition key is one's. */
function familyOf(pattern: string): number | "seen" | undefined {
  const [partition = ""] = pattern.split(" | ");
  return Object.hasOwn(UNIFORM_FAMILIES, partition) ? UNIFORM_FAMILIES[partition] : undefined;
}

/** Which family a shard's load belongs to: its key with the shard left out (one tenant's, say). */
function familyInstance(load: KeyLoad): string {
  const segments = load.partition.split("#");
  const shard = keyPattern(load.partition).split("#").lastIndexOf(SHARD);
  return JSON.stringify([segments.filter((_, position) => position !== shard).join("#"), load.sort]);
}

function fraction(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
