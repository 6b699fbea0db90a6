/**
 * Per-key counts for the AWS partition model (issue 14): turns what each DynamoDB request touched and
 * the capacity DynamoDB Local reported for it (`ReturnConsumedCapacity: INDEXES`, collected by
 * functions/adapters/request-counter.ts) into write and read units per partition key value, of every
 * table and index, and per table item, with how many requests took them. Pure apart from the memory of
 * items' index keys it keeps between calls.
 *
 * DynamoDB Local reports units per table and per index, not per item: a request on one item gives it
 * all; a batch splits each table's units between its items in proportion to their size (a put by its
 * item's kilobytes, rounded up; a delete counts one), and each index's units between the items that have
 * a key in that index. A transaction's units are computed instead, because DynamoDB Local reports too few
 * for one of several small items (two units for eleven 100-byte puts, where AWS bills 22): each item
 * takes twice its kilobytes, rounded up, in the table and in each index it has a key in (once for a
 * KEYS_ONLY index); an item other than a put, whose size the request does not show, counts 1 KB.
 * An update names an index key only when it sets or removes it, so the index keys an item was put
 * with are remembered for its later updates. A write that failed its condition reports nothing and is
 * not counted (AWS bills it); Step Functions' own DynamoDB tasks are not seen here.
 */
import type { CapacityFacts, ItemTouch } from "../functions/adapters/request-counter.ts";

/** A table's key schema as DescribeTable gives it, reduced to the attribute names. */
export interface TableSchema {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Index name → its partition key attribute and whether it projects keys only. */
  readonly indexes: Readonly<Record<string, { readonly partitionKey: string; readonly keysOnly: boolean }>>;
}

/** Units one key took: a partition key value of a table or index, or one table item. */
export interface KeyLoad {
  readonly level: "partition" | "item";
  readonly table: string;
  readonly index?: string;
  readonly partition: string;
  /** An item's sort key value (a table without a sort key has none). */
  readonly sort?: string;
  readonly writeUnits: number;
  readonly readUnits: number;
  /**
   * How many requests (an item of a batch or transaction counts as one) took those units: the model
   * of a key spread over shards needs the units each brings (bench/partitions.ts).
   */
  readonly writeRequests: number;
  readonly readRequests: number;
}

/**
 * The units AWS bills for the requests counted: every partition key value's units, of the tables and
 * their indexes. That is DynamoDB Local's own figures, except for transactions, which it reports too few
 * of (the module comment) and which are computed item by item here.
 */
export function billedUnits(loads: readonly KeyLoad[]): { readonly write: number; readonly read: number } {
  const partitions = loads.filter((load) => load.level === "partition");
  return {
    write: partitions.reduce((sum, load) => sum + load.writeUnits, 0),
    read: partitions.reduce((sum, load) => sum + load.readUnits, 0),
  };
}

/** Stands for a partition key value no request showed (an index entry of an item never seen put). */
export const UNKNOWN_KEY = "<unknown>";

const WRITES: ReadonlySet<ItemTouch["action"]> = new Set(["put", "update", "delete", "check"]);

/** Which key a count is for: a KeyLoad without its counts. */
type LoadKey = Omit<KeyLoad, "writeUnits" | "readUnits" | "writeRequests" | "readRequests">;

type Add = (key: LoadKey, units: number, write: boolean) => void;

interface Tally {
  units: number;
  requests: number;
}

export class KeyLoadCounter {
  readonly #schemas: ReadonlyMap<string, TableSchema>;
  /** Table, partition and sort key of an item → the key attributes it holds (index keys among them). */
  readonly #indexKeys = new Map<string, Record<string, string>>();

  constructor(schemas: readonly TableSchema[]) {
    this.#schemas = new Map(schemas.map((schema) => [schema.name, schema]));
  }

  /** The units these requests took, per key; remembers the index keys they wrote for later requests. */
  count(requests: readonly CapacityFacts[]): KeyLoad[] {
    const loads = new Map<string, { key: LoadKey; write: Tally; read: Tally }>();
    const add: Add = (key, units, write) => {
      if (units === 0) return;
      const id = JSON.stringify([key.level, key.table, key.index, key.partition, key.sort]);
      const entry = loads.get(id) ?? {
        key,
        write: { units: 0, requests: 0 },
        read: { units: 0, requests: 0 },
      };
      loads.set(id, entry);
      const tally = write ? entry.write : entry.read;
      tally.units += units;
      tally.requests += 1;
    };
    for (const request of requests) {
      const write = request.touches.some((touch) => WRITES.has(touch.action));
      if (request.operation === "TransactWrite") {
        this.#countTransaction(request, add);
        for (const touch of request.touches) this.#remember(touch);
        continue;
      }
      for (const consumed of request.consumed) {
        const schema = this.#schemas.get(consumed.table);
        if (schema === undefined) continue;
        const touches = request.touches.filter((touch) => touch.table === consumed.table);
        const scanned = touches.find((touch) => touch.action === "query" || touch.action === "scan");
        if (scanned !== undefined) {
          const index = scanned.index;
          const attribute = index === undefined ? schema.partitionKey : schema.indexes[index]?.partitionKey;
          const partition = (attribute === undefined ? undefined : scanned.key[attribute]) ?? UNKNOWN_KEY;
          const units = index === undefined ? consumed.units : (consumed.indexes[index] ?? 0);
          const where = { level: "partition", table: schema.name, partition } as const;
          add({ ...where, ...(index === undefined ? {} : { index }) }, units, write);
          continue;
        }
        const weights = touches.map(weight);
        const total = weights.reduce((sum, value) => sum + value, 0);
        touches.forEach((touch, position) => {
          const units = (consumed.units * (weights[position] ?? 0)) / total;
          const partition = touch.key[schema.partitionKey] ?? UNKNOWN_KEY;
          const sort = schema.sortKey === undefined ? undefined : touch.key[schema.sortKey];
          add({ level: "partition", table: schema.name, partition }, units, write);
          add(
            { level: "item", table: schema.name, partition, ...(sort === undefined ? {} : { sort }) },
            units,
            write,
          );
        });
        for (const [index, units] of Object.entries(consumed.indexes)) {
          const attribute = schema.indexes[index]?.partitionKey;
          const targets = touches.flatMap((touch, position) =>
            attribute === undefined
              ? []
              : this.#indexValues(schema, touch, attribute).map((value) => ({
                  value,
                  weight: weights[position] ?? 1,
                })),
          );
          const targetTotal = targets.reduce((sum, target) => sum + target.weight, 0);
          const where = { level: "partition", table: schema.name, index } as const;
          if (targets.length === 0) add({ ...where, partition: UNKNOWN_KEY }, units, write);
          for (const target of targets)
            add({ ...where, partition: target.value }, (units * target.weight) / targetTotal, write);
        }
      }
      for (const touch of request.touches) this.#remember(touch);
    }
    return [...loads.values()].map(({ key, write, read }) => ({
      ...key,
      writeUnits: write.units,
      readUnits: read.units,
      writeRequests: write.requests,
      readRequests: read.requests,
    }));
  }

  /** A transaction's units, item by item, as AWS bills them (see the module comment). */
  #countTransaction(request: CapacityFacts, add: Add): void {
    for (const touch of request.touches) {
      const schema = this.#schemas.get(touch.table);
      if (schema === undefined) continue;
      const units = 2 * weight(touch);
      const partition = touch.key[schema.partitionKey] ?? UNKNOWN_KEY;
      const sort = schema.sortKey === undefined ? undefined : touch.key[schema.sortKey];
      add({ level: "partition", table: schema.name, partition }, units, true);
      add(
        { level: "item", table: schema.name, partition, ...(sort === undefined ? {} : { sort }) },
        units,
        true,
      );
      for (const [index, { partitionKey, keysOnly }] of Object.entries(schema.indexes)) {
        for (const value of this.#indexValues(schema, touch, partitionKey))
          add(
            { level: "partition", table: schema.name, index, partition: value },
            keysOnly ? 2 : units,
            true,
          );
      }
    }
  }

  /** The index partition key values a write touches: the old one, and a new one if it changes. */
  #indexValues(schema: TableSchema, touch: ItemTouch, attribute: string): string[] {
    if (!WRITES.has(touch.action) || touch.action === "check") return [];
    const before =
      touch.action === "put" ? undefined : this.#indexKeys.get(itemId(schema, touch))?.[attribute];
    const after =
      touch.action === "delete" || touch.removed.includes(attribute) ? undefined : touch.set[attribute];
    return [...new Set([before, after ?? (touch.action === "put" ? undefined : before)])].filter(
      (value): value is string => value !== undefined,
    );
  }

  #remember(touch: ItemTouch): void {
    const schema = this.#schemas.get(touch.table);
    if (schema === undefined || !WRITES.has(touch.action) || touch.action === "check") return;
    const id = itemId(schema, touch);
    if (touch.action === "delete") {
      this.#indexKeys.delete(id);
      return;
    }
    const kept = touch.action === "put" ? {} : { ...this.#indexKeys.get(id) };
    for (const removed of touch.removed) delete kept[removed];
    this.#indexKeys.set(id, { ...kept, ...touch.set });
  }
}

function itemId(schema: TableSchema, touch: ItemTouch): string {
  return JSON.stringify([
    schema.name,
    touch.key[schema.partitionKey],
    schema.sortKey === undefined ? "" : touch.key[schema.sortKey],
  ]);
}

/** A put weighs its item's kilobytes (as DynamoDB bills a write), anything else one. */
function weight(touch: ItemTouch): number {
  return touch.bytes === undefined ? 1 : Math.max(1, Math.ceil(touch.bytes / 1024));
}
