/**
 * DynamoDB's eventual consistency, which DynamoDB Local does not have: a proxy in front of it, through
 * which the functions reach DynamoDB. A read that may be stale in AWS — `GetItem`, `BatchGetItem`,
 * `Query` or `Scan` without `ConsistentRead`, and every query or scan of an index — sees each item as
 * it was `lagMs` ago:
 *
 * - before forwarding a write (`PutItem`, `UpdateItem`, `DeleteItem`, `BatchWriteItem`,
 *   `TransactWriteItems`), the proxy reads each item it touches with `ConsistentRead` and keeps that
 *   previous version for `lagMs`;
 * - a stale read of an item written in the last `lagMs` answers the version from before the earliest
 *   of those writes: "not found" when it was created within the lag, the old attributes when it was
 *   changed, the item itself when it was deleted (`GetItem` and `BatchGetItem`);
 * - a query or scan shows each listed item written within the lag in its previous version, and leaves
 *   out one created within the lag. It cannot bring back an item deleted within the lag (DynamoDB Local
 *   no longer returns it), and `Select: COUNT` answers are passed on unchanged.
 *
 * Strongly consistent reads and everything else (transactions' reads, table operations) pass through.
 * Two writes to one item at the same moment may keep the earlier one's previous version for both.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { crc32 } from "node:zlib";
import { closeServer, forward, listenOnLoopback } from "./loopback-server.ts";

/** A table's key attribute names, and those of each of its indexes. */
export interface TableKeys {
  readonly name: string;
  readonly key: readonly string[];
  readonly indexes: Readonly<Record<string, readonly string[]>>;
}

type Item = Record<string, unknown>;
type Body = Record<string, unknown>;

const TARGET_PREFIX = "DynamoDB_20120810.";
/** Headers of the function's request that DynamoDB Local needs on the proxy's own reads. */
const FORWARDED_AUTH = ["authorization", "x-amz-date", "x-amz-security-token"];

interface PastVersion {
  /** The item as it was before a write; undefined when the write created it. */
  readonly before: Item | undefined;
  readonly writtenAt: number;
}

export class StaleReadsProxy {
  readonly #target: string;
  readonly #lagMs: number;
  readonly #tables: ReadonlyMap<string, TableKeys>;
  readonly #now: () => number;
  readonly #history = new Map<string, PastVersion[]>();
  #server: Server | undefined;

  constructor(options: {
    /** DynamoDB Local's endpoint. */
    readonly target: string;
    readonly lagMs: number;
    readonly tables: readonly TableKeys[];
    readonly now?: () => number;
  }) {
    this.#target = options.target;
    this.#lagMs = options.lagMs;
    this.#tables = new Map(options.tables.map((table) => [table.name, table]));
    this.#now = options.now ?? Date.now;
  }

  /** Starts serving on a free port of 127.0.0.1; returns the endpoint. */
  listen(): Promise<string> {
    const server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(502, { "content-type": "text/plain" });
        response.end(`stale-reads proxy: ${(error as Error).message}`);
      });
    });
    this.#server = server;
    return listenOnLoopback(server);
  }

  close(): Promise<void> {
    return closeServer(this.#server);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const target = String(request.headers["x-amz-target"] ?? "");
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
    const body = raw === "" ? {} : (JSON.parse(raw) as Body);
    const auth = Object.fromEntries(
      FORWARDED_AUTH.flatMap((name) => {
        const value = request.headers[name];
        return typeof value === "string" ? [[name, value]] : [];
      }),
    );
    this.#prune();

    const writes = writtenKeys(operation, body, this.#tables);
    if (writes.length > 0) {
      const before = await Promise.all(writes.map((write) => this.#readConsistently(write, auth)));
      const answer = await this.#forward(request, raw);
      if (answer.status === 200) {
        const writtenAt = this.#now();
        for (const [index, write] of writes.entries()) this.#remember(write, before[index], writtenAt);
      }
      return reply(response, answer.status, answer.body);
    }

    if (operation === "GetItem" && body.ConsistentRead !== true) {
      const table = this.#tables.get(String(body.TableName));
      const past = table && this.#pastVersion(table, body.Key as Item);
      if (past !== undefined) {
        const item = past.item && project(past.item, body);
        return reply(response, 200, JSON.stringify(item === undefined ? {} : { Item: item }));
      }
    }

    if (operation === "BatchGetItem") return this.#batchGet(request, response, body);

    const answer = await this.#forward(request, raw);
    if (answer.status !== 200) return reply(response, answer.status, answer.body);
    const staleListing =
      (operation === "Query" || operation === "Scan") &&
      (body.ConsistentRead !== true || body.IndexName !== undefined) &&
      body.Select !== "COUNT";
    if (staleListing) {
      return reply(response, 200, JSON.stringify(this.#staleListing(body, JSON.parse(answer.body) as Body)));
    }
    return reply(response, answer.status, answer.body);
  }

  /** The version of an item a stale read sees, when it differs from the current one. */
  #pastVersion(table: TableKeys, key: Item): { readonly item: Item | undefined } | undefined {
    const versions = this.#history.get(itemId(table, key));
    const horizon = this.#now() - this.#lagMs;
    const first = versions?.find((version) => version.writtenAt > horizon);
    return first === undefined ? undefined : { item: first.before };
  }

  /**
   * Asks DynamoDB Local only for the keys whose current version a stale read may see, and adds the past
   * versions of the others (a projection may leave out the key, so answers cannot be matched to keys).
   */
  async #batchGet(request: IncomingMessage, response: ServerResponse, body: Body): Promise<void> {
    const requested = (body.RequestItems ?? {}) as Record<string, Body & { Keys?: Item[] }>;
    const forwarded: Record<string, Body> = {};
    const past: Record<string, Item[]> = {};
    for (const [tableName, wanted] of Object.entries(requested)) {
      const table = this.#tables.get(tableName);
      const keys: Item[] = [];
      for (const key of wanted.Keys ?? []) {
        const version = table && wanted.ConsistentRead !== true ? this.#pastVersion(table, key) : undefined;
        if (version === undefined) keys.push(key);
        else if (version.item !== undefined)
          past[tableName] = [...(past[tableName] ?? []), project(version.item, wanted)];
      }
      if (keys.length > 0) forwarded[tableName] = { ...wanted, Keys: keys };
    }
    let answer: Body = { Responses: {}, UnprocessedKeys: {} };
    if (Object.keys(forwarded).length > 0) {
      const current = await this.#forward(request, JSON.stringify({ ...body, RequestItems: forwarded }));
      if (current.status !== 200) return reply(response, current.status, current.body);
      answer = JSON.parse(current.body) as Body;
    }
    const responses = { ...((answer.Responses ?? {}) as Record<string, Item[]>) };
    for (const [tableName, items] of Object.entries(past)) {
      responses[tableName] = [...(responses[tableName] ?? []), ...items];
    }
    return reply(response, 200, JSON.stringify({ ...answer, Responses: responses }));
  }

  #staleListing(request: Body, answer: Body): Body {
    const table = this.#tables.get(String(request.TableName));
    if (table === undefined) return answer;
    const indexKey = request.IndexName === undefined ? undefined : table.indexes[String(request.IndexName)];
    const items: Item[] = [];
    for (const current of (answer.Items ?? []) as Item[]) {
      const past = this.#pastVersion(table, current);
      if (past === undefined) {
        items.push(current);
        continue;
      }
      const before = past.item;
      if (before === undefined) continue;
      // An index lists the previous version only if it was in the same index partition then.
      const partition = indexKey?.[0];
      if (partition !== undefined && JSON.stringify(before[partition]) !== JSON.stringify(current[partition]))
        continue;
      const attributes =
        request.ProjectionExpression !== undefined || indexKey === undefined
          ? project(before, request)
          : pick(before, Object.keys(current));
      items.push(attributes);
    }
    return { ...answer, Items: items, Count: items.length };
  }

  #remember(key: { readonly id: string }, before: Item | undefined, writtenAt: number): void {
    const versions = this.#history.get(key.id) ?? [];
    versions.push({ before, writtenAt });
    this.#history.set(key.id, versions);
  }

  #prune(): void {
    const horizon = this.#now() - this.#lagMs;
    for (const [id, versions] of this.#history) {
      const recent = versions.filter((version) => version.writtenAt > horizon);
      if (recent.length === 0) this.#history.delete(id);
      else if (recent.length < versions.length) this.#history.set(id, recent);
    }
  }

  async #readConsistently(
    write: { readonly tableName: string; readonly key: Item },
    auth: Record<string, string>,
  ): Promise<Item | undefined> {
    const answer = await fetch(this.#target, {
      method: "POST",
      headers: {
        ...auth,
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `${TARGET_PREFIX}GetItem`,
      },
      body: JSON.stringify({ TableName: write.tableName, Key: write.key, ConsistentRead: true }),
    });
    const text = await answer.text();
    if (!answer.ok) return undefined; // the write that follows fails the same way and is not recorded
    return (JSON.parse(text) as { Item?: Item }).Item;
  }

  async #forward(request: IncomingMessage, body: string): Promise<{ status: number; body: string }> {
    const answer = await forward(this.#target, request, body);
    return { status: answer.status, body: await answer.text() };
  }
}

function reply(response: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": String(bytes.length),
    // The SDK checks DynamoDB answers against this checksum.
    "x-amz-crc32": String(crc32(bytes)),
  });
  response.end(bytes);
}

/** The items a write request touches, each with its table's key attributes. */
function writtenKeys(
  operation: string,
  body: Body,
  tables: ReadonlyMap<string, TableKeys>,
): { readonly tableName: string; readonly key: Item; readonly id: string }[] {
  const keyOf = (tableName: unknown, itemOrKey: unknown) => {
    const table = tables.get(String(tableName));
    if (table === undefined || itemOrKey === null || typeof itemOrKey !== "object") return [];
    const key = pick(itemOrKey as Item, table.key);
    return [{ tableName: table.name, key, id: itemId(table, key) }];
  };
  switch (operation) {
    case "PutItem":
      return keyOf(body.TableName, body.Item);
    case "UpdateItem":
    case "DeleteItem":
      return keyOf(body.TableName, body.Key);
    case "BatchWriteItem":
      return Object.entries((body.RequestItems ?? {}) as Record<string, Body[]>).flatMap(
        ([tableName, requests]) =>
          requests.flatMap((request) =>
            keyOf(
              tableName,
              (request.PutRequest as Body | undefined)?.Item ??
                (request.DeleteRequest as Body | undefined)?.Key,
            ),
          ),
      );
    case "TransactWriteItems":
      return ((body.TransactItems ?? []) as Body[]).flatMap((entry) => {
        const put = entry.Put as Body | undefined;
        const change = (entry.Update ?? entry.Delete) as Body | undefined;
        if (put !== undefined) return keyOf(put.TableName, put.Item);
        return change === undefined ? [] : keyOf(change.TableName, change.Key);
      });
    default:
      return [];
  }
}

function itemId(table: TableKeys, item: Item): string {
  return `${table.name}\n${JSON.stringify(table.key.map((name) => item[name]))}`;
}

function pick(item: Item, names: readonly string[]): Item {
  return Object.fromEntries(names.filter((name) => name in item).map((name) => [name, item[name]]));
}

/** The top-level attributes a `ProjectionExpression` names (a nested path keeps its whole attribute). */
function project(item: Item, request: Body): Item {
  const expression = request.ProjectionExpression;
  if (typeof expression !== "string") return item;
  const aliases = (request.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const names = expression.split(",").map((path) => {
    const top = path.trim().split(/[.[]/)[0] ?? "";
    return aliases[top] ?? top;
  });
  return pick(item, names);
}
