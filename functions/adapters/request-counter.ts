import { AWS_REQUESTS_NAMESPACE, EnvVar, TableKey } from "../shared/names.ts";

/** The part of an AWS SDK v3 client this module needs: its middleware stack. */
interface WithMiddleware {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

interface ConsumedCapacity {
  readonly TableName?: string;
  readonly CapacityUnits?: number;
  readonly Table?: { readonly CapacityUnits?: number };
  readonly GlobalSecondaryIndexes?: Readonly<Record<string, { readonly CapacityUnits?: number }>>;
}

/** One item (or, for a query or scan, one partition) a DynamoDB request touched. */
export interface ItemTouch {
  readonly table: string;
  /** Set for a query or scan of an index. */
  readonly index?: string;
  readonly action: "put" | "update" | "delete" | "check" | "get" | "query" | "scan";
  /** The item's key; for a query, the attributes its key condition tests for equality. */
  readonly key: Readonly<Record<string, string>>;
  /** Index key attributes the request gives a value (a put's item, an update's SET). */
  readonly set: Readonly<Record<string, string>>;
  /** Index key attributes an update removes. */
  readonly removed: readonly string[];
  /** A put's item size as DynamoDB bills it (names and values), to tell each item's units in a batch or transaction. */
  readonly bytes?: number;
}

/** The capacity one table reported for a request, with each index's part. */
export interface TableCapacity {
  readonly table: string;
  readonly units: number;
  readonly indexes: Readonly<Record<string, number>>;
}

/** What a DynamoDB request touched and consumed: the benchmark's raw material for per-key counts. */
export interface CapacityFacts {
  /** The operation without `Item`/`Items`: `Put`, `TransactWrite`... */
  readonly operation: string;
  readonly touches: readonly ItemTouch[];
  readonly consumed: readonly TableCapacity[];
}

/** Attributes that key an item or one of its index entries (the TTL attribute keys nothing). */
const KEY_ATTRIBUTES: ReadonlySet<string> = new Set(
  Object.values(TableKey).filter((name) => name !== TableKey.expiresAt),
);

const enabled = process.env[EnvVar.countAwsRequests] === "true";

/**
 * Counts the client's requests, for the benchmark only (`HOOKLINE_COUNT_AWS_REQUESTS=true`, which only
 * the local runtime sets, under `npm run bench`): each request prints one EMF line (namespace
 * `Hookline/AwsRequests`, dimensions service and operation) that the local runtime's metrics collector
 * sums, with each request's duration as the client saw it. DynamoDB requests also ask for
 * `ReturnConsumedCapacity: INDEXES`, so the line carries the read and write units (by the operation)
 * that on-demand billing would charge and, under `Capacity`, the keys the request touched with each
 * table's and index's units, which the benchmark turns into per-key counts (bench/key-loads.ts).
 * Without the variable the client is returned untouched.
 */
export function counted<Client extends WithMiddleware>(client: Client, service: string): Client {
  if (!enabled) return client;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      if (service === "DynamoDB" && !("ReturnConsumedCapacity" in args.input)) {
        args.input.ReturnConsumedCapacity = "INDEXES";
      }
      const started = performance.now();
      const result = await next(args);
      const durationMs = performance.now() - started;
      process.stdout.write(
        `${JSON.stringify({
          _aws: {
            Timestamp: Date.now(),
            CloudWatchMetrics: [
              {
                Namespace: AWS_REQUESTS_NAMESPACE,
                Dimensions: [["Service", "Operation"]],
                Metrics: [
                  { Name: "Requests", Unit: "Count" },
                  { Name: "CapacityUnits", Unit: "Count" },
                  { Name: "DurationMs", Unit: "Milliseconds" },
                ],
              },
            ],
          },
          Service: service,
          Operation: operation,
          Requests: 1,
          CapacityUnits: capacityUnits(result.output),
          DurationMs: Math.round(durationMs * 10) / 10,
          ...(service === "DynamoDB"
            ? { Capacity: capacityFacts(operation, args.input, result.output) }
            : {}),
        })}\n`,
      );
      return result;
    },
    { step: "initialize", name: "hooklineRequestCounter" },
  );
  return client;
}

/** The capacity units of a DynamoDB answer's `ConsumedCapacity` (one object, or one per table); 0 for others. */
export function capacityUnits(output: unknown): number {
  const consumed = (output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] } | undefined)
    ?.ConsumedCapacity;
  const entries = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  return entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
}

/** The items a DynamoDB request (document or plain client) touched, and the capacity it reported. */
export function capacityFacts(
  operation: string,
  input: Readonly<Record<string, unknown>>,
  output: unknown,
): CapacityFacts {
  const consumed = (output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] } | undefined)
    ?.ConsumedCapacity;
  const entries = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  const name = operation.replace(/Item$|Items$/, "");
  return {
    operation: name,
    touches: touchesOf(name, input),
    consumed: entries.map((entry) => ({
      table: entry.TableName ?? "",
      units: entry.Table?.CapacityUnits ?? entry.CapacityUnits ?? 0,
      indexes: Object.fromEntries(
        Object.entries(entry.GlobalSecondaryIndexes ?? {}).map(([name, index]) => [
          name,
          index.CapacityUnits ?? 0,
        ]),
      ),
    })),
  };
}

type Input = Readonly<Record<string, unknown>>;

const TRANSACT_ACTIONS: Readonly<Record<string, ItemTouch["action"]>> = {
  Delete: "delete",
  Get: "get",
  ConditionCheck: "check",
};

function touchesOf(operation: string, input: Input): ItemTouch[] {
  const table = String(input.TableName ?? "");
  switch (operation) {
    case "Put":
      return [putTouch(table, record(input.Item))];
    case "Update":
      return [updateTouch(table, input)];
    case "Delete":
    case "Get":
      return [plainTouch(table, operation === "Get" ? "get" : "delete", input.Key)];
    case "Query":
    case "Scan":
      return [
        {
          table,
          ...(typeof input.IndexName === "string" ? { index: input.IndexName } : {}),
          action: operation === "Query" ? "query" : "scan",
          key: operation === "Query" ? equalities(input) : {},
          set: {},
          removed: [],
        },
      ];
    case "BatchWrite":
      return Object.entries(record(input.RequestItems)).flatMap(([name, requests]) =>
        list(requests).map((request) => {
          const put = record(record(request).PutRequest);
          return "Item" in put
            ? putTouch(name, record(put.Item))
            : plainTouch(name, "delete", record(record(request).DeleteRequest).Key);
        }),
      );
    case "BatchGet":
      return Object.entries(record(input.RequestItems)).flatMap(([name, request]) =>
        list(record(request).Keys).map((key) => plainTouch(name, "get", key)),
      );
    case "TransactWrite":
    case "TransactGet":
      return list(input.TransactItems).flatMap((entry) => {
        const [kind = "", body] = Object.entries(record(entry))[0] ?? [];
        const item = record(body);
        const itemTable = String(item.TableName ?? "");
        if (kind === "Put") return [putTouch(itemTable, record(item.Item))];
        if (kind === "Update") return [updateTouch(itemTable, item)];
        const action = TRANSACT_ACTIONS[kind];
        return action === undefined ? [] : [plainTouch(itemTable, action, item.Key)];
      });
    default:
      return [];
  }
}

function putTouch(table: string, item: Input): ItemTouch {
  const keyed = keyValues(item);
  return { table, action: "put", key: keyed, set: keyed, removed: [], bytes: attributesSize(item) };
}

function plainTouch(table: string, action: ItemTouch["action"], key: unknown): ItemTouch {
  return { table, action, key: keyValues(record(key)), set: {}, removed: [] };
}

/** An update's SET `attribute = :value` and REMOVE clauses on key attributes (other clauses key nothing). */
function updateTouch(table: string, input: Input): ItemTouch {
  const names = record(input.ExpressionAttributeNames);
  const values = record(input.ExpressionAttributeValues);
  const resolve = (name: string) => (name.startsWith("#") ? String(names[name] ?? name) : name);
  const expression = String(input.UpdateExpression ?? "");
  const set: Record<string, string> = {};
  const removed: string[] = [];
  for (const [, keyword = "", body = ""] of expression.matchAll(
    /\b(SET|REMOVE|ADD|DELETE)\b(.*?)(?=\b(?:SET|REMOVE|ADD|DELETE)\b|$)/gis,
  )) {
    if (keyword.toUpperCase() === "SET") {
      for (const [, name = "", placeholder = ""] of body.matchAll(/([#\w]+)\s*=\s*(:\w+)\s*(?:,|$)/g)) {
        const value = scalar(values[placeholder]);
        if (KEY_ATTRIBUTES.has(resolve(name)) && value !== undefined) set[resolve(name)] = value;
      }
    }
    if (keyword.toUpperCase() === "REMOVE") {
      for (const name of body.split(",").map((part) => resolve(part.trim())))
        if (KEY_ATTRIBUTES.has(name)) removed.push(name);
    }
  }
  return { table, action: "update", key: keyValues(record(input.Key)), set, removed };
}

/** A query's `attribute = :value` key conditions: one of them is the partition key's. */
function equalities(input: Input): Record<string, string> {
  const names = record(input.ExpressionAttributeNames);
  const values = record(input.ExpressionAttributeValues);
  const found: Record<string, string> = {};
  for (const [, name = "", placeholder = ""] of String(input.KeyConditionExpression ?? "").matchAll(
    /([#\w]+)\s*=\s*(:\w+)/g,
  )) {
    const value = scalar(values[placeholder]);
    if (value !== undefined) found[name.startsWith("#") ? String(names[name] ?? name) : name] = value;
  }
  return found;
}

function keyValues(item: Input): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, raw] of Object.entries(item)) {
    const value = scalar(raw);
    if (KEY_ATTRIBUTES.has(name) && value !== undefined) found[name] = value;
  }
  return found;
}

/** Bytes of an item's attributes as DynamoDB sizes them: each name plus its value. */
function attributesSize(item: Input): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value),
    0,
  );
}

/** A value's size: strings and binaries by length, numbers about a byte per two digits, 3 bytes plus the elements for lists and maps. */
function valueSize(value: unknown): number {
  const marshalled = marshalledValue(value);
  if (marshalled !== undefined) return valueSize(marshalled);
  if (typeof value === "string") return Buffer.byteLength(value);
  if (typeof value === "number" || typeof value === "bigint") return Math.ceil(String(value).length / 2) + 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value) || value instanceof Set)
    return 3 + [...value].reduce((sum: number, element: unknown) => sum + 1 + valueSize(element), 0);
  if (typeof value === "object" && value !== null)
    return 3 + attributesSize(value as Input) + Object.keys(value).length;
  return 1;
}

const MARSHALLED_TYPES = new Set(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]);

/** The value inside a marshalled attribute (`{ S: "..." }`), or undefined for a plain one. */
function marshalledValue(value: unknown): unknown {
  const keys = typeof value === "object" && value !== null ? Object.keys(value) : [];
  const [type] = keys;
  if (keys.length !== 1 || type === undefined || !MARSHALLED_TYPES.has(type)) return undefined;
  const inner = (value as Input)[type];
  if (type === "M") return record(inner);
  return type === "N" ? Number(inner) : inner;
}

/** A string or number attribute, as the document client takes it or marshalled (`{ S: "..." }`). */
function scalar(value: unknown): string | undefined {
  if (typeof value === "string" || typeof value === "number") return String(value);
  const marshalled = record(value);
  const inner = marshalled.S ?? marshalled.N;
  return typeof inner === "string" ? inner : undefined;
}

function record(value: unknown): Input {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Input) : {};
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
