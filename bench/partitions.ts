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
 */
import type { KeyLoad } from "./key-loads.ts";

export const PARTITION_LIMITS = { writeUnitsPerSecond: 1_000, readUnitsPerSecond: 3_000 } as const;

export type KeyScope = "one" | "webhook" | "shared";

/** What follows each label in a key is an id of this kind (functions/adapters/keys.ts). */
const VALUE_AFTER: Readonly<Record<string, string>> = {
  TENANT: "<tenant>",
  WEBHOOK: "<webhook>",
  RATELIMIT: "<webhook>",
  INFLIGHT: "<webhook>",
  EVENT: "<event>",
  DELIVERY: "<delivery>",
  STATS: "<hour>",
  APIKEY: "<key>",
  DUE: "<shard>",
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

/** One key, as the model reads it: its pattern, its units per unit of work, and the rate it allows. */
export interface KeyCeiling {
  /** The partition key pattern, and for an item ` | ` and its sort key pattern. */
  readonly key: string;
  readonly table: string;
  /** The index, or `null` for the table itself. */
  readonly index: string | null;
  readonly level: "partition" | "item";
  readonly scope: KeyScope;
  /** How many values of this pattern took units in the phase. */
  readonly values: number;
  /** The hottest value's units over the whole phase. */
  readonly write_units: number;
  readonly read_units: number;
  /** On the hottest value of this pattern: units per event (or per delivery, for a webhook's keys). */
  readonly write_units_per_event: number;
  readonly read_units_per_event: number;
  /** The hottest value's part of all the phase's units of the kind that caps it (write or read). */
  readonly share: number;
  /** The rate (events, or deliveries to one webhook, a second) at which this key reaches its limit; `null` when it never does. */
  readonly ceiling_per_s: number | null;
}

/**
 * Every key pattern's hottest value, over a phase of `work` events (or deliveries), highest load first:
 * the first of a scope is what caps it.
 */
export function keyCeilings(loads: readonly KeyLoad[], work: number): KeyCeiling[] {
  const totalWrite = loads.reduce((sum, load) => sum + (load.level === "partition" ? load.writeUnits : 0), 0);
  const totalRead = loads.reduce((sum, load) => sum + (load.level === "partition" ? load.readUnits : 0), 0);
  const hottest = new Map<string, KeyCeiling>();
  for (const load of loads) {
    const key =
      load.level === "item"
        ? `${keyPattern(load.partition)} | ${load.sort === undefined ? "" : keyPattern(load.sort)}`
        : keyPattern(load.partition);
    const scope = scopeOf(key);
    const write = load.writeUnits / work;
    const read = load.readUnits / work;
    const writeCap = write > 0 ? PARTITION_LIMITS.writeUnitsPerSecond / write : Number.POSITIVE_INFINITY;
    const readCap = read > 0 ? PARTITION_LIMITS.readUnitsPerSecond / read : Number.POSITIVE_INFINITY;
    const cap = Math.min(writeCap, readCap);
    const share =
      writeCap <= readCap ? fraction(load.writeUnits, totalWrite) : fraction(load.readUnits, totalRead);
    const candidate: KeyCeiling = {
      key,
      table: load.table,
      index: load.index ?? null,
      level: load.level,
      scope,
      values: 1,
      write_units: load.writeUnits,
      read_units: load.readUnits,
      write_units_per_event: write,
      read_units_per_event: read,
      share,
      ceiling_per_s: scope === "one" || !Number.isFinite(cap) ? null : Math.floor(cap),
    };
    const id = JSON.stringify([load.level, load.table, load.index, key]);
    const known = hottest.get(id);
    const values = (known?.values ?? 0) + 1;
    const hotter = known === undefined || pressure(candidate) > pressure(known) ? candidate : known;
    hottest.set(id, { ...hotter, values });
  }
  return [...hottest.values()].sort((a, b) => pressure(b) - pressure(a));
}

/** The lowest ceiling among keys of these scopes; `null` when none of them caps anything. */
export function ceiling(keys: readonly KeyCeiling[], scopes: readonly KeyScope[]): number | null {
  const caps = keys.flatMap((key) =>
    scopes.includes(key.scope) && key.ceiling_per_s !== null ? [key.ceiling_per_s] : [],
  );
  return caps.length === 0 ? null : Math.min(...caps);
}

/** How close to its limit one unit of work brings a key: the larger of its write and read fractions. */
function pressure(key: KeyCeiling): number {
  return Math.max(
    key.write_units_per_event / PARTITION_LIMITS.writeUnitsPerSecond,
    key.read_units_per_event / PARTITION_LIMITS.readUnitsPerSecond,
  );
}

function fraction(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
