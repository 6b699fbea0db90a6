/**
 * `npm run bench [-- --quick]`: measures Hookline on this machine against its own ceiling (issue 7).
 *
 * Starts a fresh local stack (state in .hookline/test/bench) with request counting on, and loopback
 * receivers in this process, then runs one phase at a time so that the counts of one phase are not
 * mixed with another's: latency at a steady rate (its counts are the first-try work per delivery), a
 * burst to ten webhooks per event (its counts are the fan-out-10 work), and deliveries that fail six
 * times. The counting takes CPU of its own (an SDK middleware line per request, and DynamoDB Local's
 * capacity reports): the speed figures come from a second fresh stack without it (.hookline/test/
 * bench-speed): a burst for throughput, the bare pipeline on the same fauxqs and receivers, the fan-outs
 * and the bundles. Prints a table and writes bench/results.json.
 * From the units each DynamoDB key took in the first-try phases it derives where Hookline would stop
 * in AWS, whose partitions take at most 1,000 write and 3,000 read units a second (partitions.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { httpSender } from "../functions/adapters/http-sender.ts";
import type { CapacityFacts } from "../functions/adapters/request-counter.ts";
import { AWS_REQUESTS_NAMESPACE } from "../functions/shared/names.ts";
import { type RunningStack, startStack } from "../test/support/start-stack.ts";
import { type CostBreakdown, costPerMillion, mixedCostPerMillion, type WorkPerDelivery } from "./cost.ts";
import { type CpuRole, type CpuSnapshot, cpuBoundPerSecond, cpuPerDelivery, cpuSnapshot } from "./cpu.ts";
import { firstTryFloor } from "./floor.ts";
import { billedUnits, type KeyLoad, KeyLoadCounter, type TableSchema } from "./key-loads.ts";
import { cappingKey, ceiling, type KeyCeiling, keyCeilings, PARTITION_LIMITS } from "./partitions.ts";
import { PRICES, PRICES_DATE } from "./prices.ts";
import { median, percentile } from "./stats.ts";

const projectRoot = path.resolve(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");
/** Execution environments per function: the local runtime's setting (default 4), passed on to the stack. */
const CONCURRENCY = Number(process.env.HOOKLINE_LOCAL_CONCURRENCY ?? "4");
/** Deliveries sent to the second stack before its figures are taken. */
const WARM_UP_BURST = 1_000;
/** Keys listed (and printed) as the hottest of a phase. */
const HOTTEST_KEYS = 8;
const settings = quick
  ? {
      latencySeconds: 10,
      rate: 100,
      burst: 2_000,
      countedBurst: 2_000,
      failing: 10,
      fanOut: 1_000,
      largeFanOut: undefined,
      sustainableRate: undefined,
    }
  : {
      latencySeconds: 30,
      rate: 100,
      burst: 10_000,
      countedBurst: 2_000,
      failing: 20,
      fanOut: 1_000,
      largeFanOut: 10_000,
      sustainableRate: 20,
    };

// ---------------------------------------------------------------------------------------------------
// Receivers

class BenchReceiver {
  count = 0;
  status = 200;
  onRequest: ((body: string, at: number) => void) | undefined;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<BenchReceiver> {
    const server = createServer({ keepAliveTimeout: 60_000 });
    const receiver = new BenchReceiver(server);
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const at = performance.now();
        receiver.count += 1;
        receiver.onRequest?.(Buffer.concat(chunks).toString("utf8"), at);
        response.writeHead(receiver.status, { "content-type": "text/plain" });
        response.end(receiver.status < 300 ? "ok" : "no");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------------
// The stack's API and its local read endpoints

interface Api {
  call(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

function api(stack: RunningStack): Api {
  const { apiUrl, apiKey } = stack.info;
  return {
    async call(method, route, body) {
      const response = await fetch(`${apiUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
  };
}

async function createWebhook(client: Api, url: string, eventType: string): Promise<string> {
  const created = await client.call("POST", "/v1/webhooks", { url, event_types: [eventType] });
  if (created.status !== 201) throw new Error(`webhook not created: ${JSON.stringify(created)}`);
  return (created.body as { id: string }).id;
}

/** Publishes refused by the API (a 503 when the publish path is saturated), by status code. */
const refusedPublishes: Record<string, number> = {};

async function publish(client: Api, type: string, data: unknown): Promise<boolean> {
  const published = await client.call("POST", "/v1/events", { type, data });
  if (published.status === 202) return true;
  if (published.status < 500) throw new Error(`event not accepted: ${JSON.stringify(published)}`);
  refusedPublishes[published.status] = (refusedPublishes[published.status] ?? 0) + 1;
  return false;
}

/**
 * Warms a function up: cold starts on a loaded machine can outlast the local API's timeout, so a
 * refused publish is sent again (a few times) rather than ending the run before it measures anything.
 */
async function warmUpPublish(client: Api, type: string, data: unknown): Promise<void> {
  for (let attempt = 1; attempt < 5; attempt += 1) {
    if (await publish(client, type, data)) return;
    await sleep(1_000);
  }
  await publishOrThrow(client, type, data);
}

/** Publishes and throws unless the API accepted. */
async function publishOrThrow(client: Api, type: string, data: unknown): Promise<void> {
  if (!(await publish(client, type, data)))
    throw new Error(`a ${type} event was refused: ${JSON.stringify(refusedPublishes)}`);
}

interface FunctionUsage {
  readonly memoryMb: number;
  readonly invocations: number;
  readonly durationMs: number;
  readonly inits: number;
  readonly initMs: number;
  readonly logBytes: number;
}

interface Usage {
  readonly functions: Record<string, FunctionUsage>;
  readonly stateTransitions: number;
  readonly serviceIntegrationRequests: Record<string, number>;
  /** Absent from a stack older than the event source counting. */
  readonly eventSourceRequests?: Record<string, number>;
  /** `Service.Operation` → requests and DynamoDB capacity units, from the functions' SDK middleware. */
  readonly sdk: Record<string, { requests: number; units: number; durationMs: number }>;
}

/** Waits until no Lambda invocation has finished for a second: the previous phase's backlog is done. */
async function drain(stack: RunningStack): Promise<void> {
  const invocations = async () =>
    Object.values((await readUsage(stack)).functions).reduce((sum, usage) => sum + usage.invocations, 0);
  let last = await invocations();
  for (;;) {
    await sleep(1_000);
    const now = await invocations();
    if (now === last) return;
    last = now;
  }
}

async function readUsage(stack: RunningStack): Promise<Usage> {
  const get = async (route: string) =>
    (await (await fetch(`${stack.info.apiUrl}${route}`)).json()) as unknown;
  const usage = (await get("/_local/usage")) as Omit<Usage, "sdk">;
  const { metrics } = (await get("/_local/metrics")) as {
    metrics: { namespace: string; name: string; dimensions: Record<string, string>; sum: number }[];
  };
  const sdk: Usage["sdk"] = {};
  for (const metric of metrics) {
    if (metric.namespace !== AWS_REQUESTS_NAMESPACE) continue;
    const key = `${metric.dimensions.Service}.${metric.dimensions.Operation}`;
    const entry = sdk[key] ?? { requests: 0, units: 0, durationMs: 0 };
    sdk[key] = entry;
    if (metric.name === "DurationMs") entry.durationMs += metric.sum;
    if (metric.name === "Requests") entry.requests += metric.sum;
    if (metric.name === "CapacityUnits") entry.units += metric.sum;
  }
  return { ...usage, sdk };
}

const DYNAMODB_WRITES = new Set([
  "Put",
  "PutItem",
  "Update",
  "UpdateItem",
  "Delete",
  "DeleteItem",
  "BatchWrite",
  "BatchWriteItem",
  "TransactWrite",
  "TransactWriteItems",
]);

interface PerDelivery {
  readonly dynamodb_writes: number;
  readonly dynamodb_reads: number;
  /** As AWS bills them: transactions computed item by item (`billedUnits`), the rest as DynamoDB Local reports. */
  readonly dynamodb_write_units: number;
  readonly dynamodb_read_units: number;
  /** The write units DynamoDB Local itself reported, which count a transaction of several small items short. */
  readonly dynamodb_write_units_as_local_reports: number;
  readonly sqs_requests: number;
  readonly state_transitions: number;
  readonly lambda_invocations: number;
  readonly lambda_gb_seconds: number;
  readonly http_api_requests: number;
  readonly log_bytes: number;
  readonly by_operation: Record<string, number>;
  /** The mean duration of each SDK request, as the function's client saw it (queueing included). */
  readonly request_ms: Record<string, number>;
  readonly lambda_by_function: Record<string, { invocations: number; mean_ms: number }>;
}

/**
 * The work between two readings, per delivery; `apiRequests` is what the benchmark itself sent, and
 * `billed` the units of the functions' DynamoDB requests over the same span as AWS bills them.
 */
function perDelivery(
  before: Usage,
  after: Usage,
  deliveries: number,
  apiRequests: number,
  billed: ReturnType<typeof billedUnits>,
): PerDelivery {
  const per = (value: number) => value / deliveries;
  let writes = 0;
  let reads = 0;
  let reportedWriteUnits = 0;
  let integrationWriteUnits = 0;
  let integrationReadUnits = 0;
  let sqsRequests = 0;
  const byOperation: Record<string, number> = {};
  const requestMs: Record<string, number> = {};
  for (const [key, now] of Object.entries(after.sdk)) {
    const was = before.sdk[key] ?? { requests: 0, units: 0, durationMs: 0 };
    const requests = now.requests - was.requests;
    if (requests === 0) continue;
    byOperation[key] = per(requests);
    requestMs[key] = round((now.durationMs - was.durationMs) / requests, 1);
    const [service, operation = ""] = key.split(".");
    if (service === "DynamoDB") {
      if (DYNAMODB_WRITES.has(operation)) {
        writes += requests;
        reportedWriteUnits += now.units - was.units;
      } else reads += requests;
    }
    if (service === "SQS") sqsRequests += requests;
  }
  for (const [key, now] of Object.entries(after.serviceIntegrationRequests)) {
    const requests = now - (before.serviceIntegrationRequests[key] ?? 0);
    if (requests === 0) continue;
    byOperation[`StepFunctions→${key}`] = per(requests);
    if (key.startsWith("SQS.")) sqsRequests += requests;
    if (key.startsWith("DynamoDB.")) {
      if (/put|update|delete/i.test(key)) {
        writes += requests;
        integrationWriteUnits += requests;
      } else {
        reads += requests;
        integrationReadUnits += requests;
      }
    }
  }
  for (const [key, now] of Object.entries(after.eventSourceRequests ?? {})) {
    const requests = now - (before.eventSourceRequests?.[key] ?? 0);
    if (requests === 0) continue;
    byOperation[`EventSourceMapping→${key}`] = per(requests);
    sqsRequests += requests;
  }
  let invocations = 0;
  let gbSeconds = 0;
  let logBytes = 0;
  const lambdaByFunction: PerDelivery["lambda_by_function"] = {};
  for (const [id, now] of Object.entries(after.functions)) {
    const was = before.functions[id];
    const count = now.invocations - (was?.invocations ?? 0);
    const durationMs = now.durationMs - (was?.durationMs ?? 0);
    invocations += count;
    gbSeconds += (durationMs / 1000) * (now.memoryMb / 1024);
    logBytes += now.logBytes - (was?.logBytes ?? 0);
    if (count > 0)
      lambdaByFunction[shortName(id)] = { invocations: per(count), mean_ms: round(durationMs / count, 1) };
  }
  return {
    dynamodb_writes: per(writes),
    dynamodb_reads: per(reads),
    // Step Functions' own DynamoDB tasks are not seen by the key counter: a unit a request.
    dynamodb_write_units: per(billed.write + integrationWriteUnits),
    dynamodb_read_units: per(billed.read + integrationReadUnits),
    dynamodb_write_units_as_local_reports: per(reportedWriteUnits + integrationWriteUnits),
    sqs_requests: per(sqsRequests),
    state_transitions: per(after.stateTransitions - before.stateTransitions),
    lambda_invocations: per(invocations),
    lambda_gb_seconds: per(gbSeconds),
    http_api_requests: per(apiRequests),
    log_bytes: per(logBytes),
    by_operation: byOperation,
    request_ms: requestMs,
    lambda_by_function: lambdaByFunction,
  };
}

function toWork(work: PerDelivery): WorkPerDelivery {
  return {
    dynamodbWriteUnits: work.dynamodb_write_units,
    dynamodbReadUnits: work.dynamodb_read_units,
    sqsRequests: work.sqs_requests,
    stateTransitions: work.state_transitions,
    lambdaInvocations: work.lambda_invocations,
    lambdaGbSeconds: work.lambda_gb_seconds,
    httpApiRequests: work.http_api_requests,
    eventBridgeEvents: 0, // events come in over the HTTP API; nothing in the delivery path puts events
    logBytes: work.log_bytes,
  };
}

// ---------------------------------------------------------------------------------------------------
// Units per DynamoDB key

/** The local tables' key schemas, read from DynamoDB Local itself: the names the functions' requests use. */
async function tableSchemas(stack: RunningStack): Promise<TableSchema[]> {
  const dynamodb = new DynamoDBClient({
    region: "us-east-1",
    endpoint: stack.info.endpoints.dynamodb,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
    return await Promise.all(
      TableNames.map(async (name) => {
        const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
        const hash = (schema: { AttributeName?: string; KeyType?: string }[] = []) =>
          schema.find((element) => element.KeyType === "HASH")?.AttributeName ?? "";
        const sortKey = Table?.KeySchema?.find((element) => element.KeyType === "RANGE")?.AttributeName;
        return {
          name,
          partitionKey: hash(Table?.KeySchema),
          ...(sortKey === undefined ? {} : { sortKey }),
          indexes: Object.fromEntries(
            (Table?.GlobalSecondaryIndexes ?? []).map((index) => [
              index.IndexName ?? "",
              {
                partitionKey: hash(index.KeySchema),
                keysOnly: index.Projection?.ProjectionType === "KEYS_ONLY",
              },
            ]),
          ),
        };
      }),
    );
  } finally {
    dynamodb.destroy();
  }
}

/** The units per key of the DynamoDB requests since the previous call (the stack hands each over once). */
async function keyLoadsSince(stack: RunningStack, counter: KeyLoadCounter): Promise<KeyLoad[]> {
  const response = await fetch(`${stack.info.apiUrl}/_local/capacity`);
  return counter.count((await response.json()) as CapacityFacts[]);
}

/** What caps one ceiling, for results.json and the printed table; `null` when nothing does. */
function cappedBy(key: KeyCeiling | undefined, tableNames: ReadonlyMap<string, string>): CappedBy | null {
  if (key === undefined) return null;
  const table = tableNames.get(key.table) ?? key.table;
  return {
    key: key.key,
    table: key.index === null ? table : `${table} / ${key.index}`,
    modelled_as: key.shards === null ? "one key" : `uniform over ${key.shards} shards`,
  };
}

interface CappedBy {
  readonly key: string;
  /** The table, and ` / ` and the index for an index's key. */
  readonly table: string;
  /** `one key` (its hottest value) or `uniform over N shards` (see bench/partitions.ts). */
  readonly modelled_as: string;
}

/** The model's keys of one phase, for results.json: short table names, rounded figures. */
function readableKeys(keys: readonly KeyCeiling[], tableNames: ReadonlyMap<string, string>) {
  return keys.map((key) => ({
    ...key,
    table: tableNames.get(key.table) ?? key.table,
    write_units: round(key.write_units, 2),
    read_units: round(key.read_units, 2),
    write_units_per_event: round(key.write_units_per_event, 4),
    read_units_per_event: round(key.read_units_per_event, 4),
    share: round(key.share, 4),
  }));
}

// ---------------------------------------------------------------------------------------------------
// Phases

async function waitFor(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Publishes at a steady rate for a while; latency is publish sent → receiver has it. */
async function latencyPhase(
  client: Api,
  receiver: BenchReceiver,
  rate: number,
  seconds: number,
  markerPrefix: string,
) {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const seen = new Set<string>();
  receiver.onRequest = (body, at) => {
    const marker = (JSON.parse(body) as { data?: { n?: string } }).data?.n;
    const sent = marker === undefined ? undefined : sentAt.get(marker);
    if (marker === undefined || sent === undefined || seen.has(marker)) return;
    seen.add(marker);
    latencies.push(at - sent);
  };
  const total = rate * seconds;
  const started = performance.now();
  const publishes: Promise<boolean>[] = [];
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const marker = `${markerPrefix}${index}`;
    sentAt.set(marker, performance.now());
    publishes.push(publish(client, "memory.created", { n: marker }));
  }
  const accepted = (await Promise.all(publishes)).filter(Boolean).length;
  const answeredMs = performance.now() - started;
  await waitFor("the latency deliveries", () => latencies.length >= accepted, 300_000);
  return {
    published: total,
    accepted,
    /** From the first send to the last publish's answer: longer than the phase when publishing fell behind. */
    answeredMs,
    latencies,
    /**
     * Deliveries so far: read after the stack has drained, since a publish the API timed out on (503)
     * may still have been stored and delivered. Latencies of those count too: the clock started at send.
     */
    deliveries: () => {
      receiver.onRequest = undefined;
      return latencies.length;
    },
  };
}

/** A burst of events to 10 webhooks; sustained deliveries per second end to end. */
async function throughputPhase(client: Api, receivers: BenchReceiver[], deliveries: number) {
  const events = deliveries / receivers.length;
  const counted = () => receivers.reduce((sum, receiver) => sum + receiver.count, 0);
  const base = counted();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < events) {
        next += 1;
        await publishOrThrow(client, "memory.updated", { burst: true });
      }
    }),
  );
  const published = performance.now();
  await waitFor("the burst deliveries", () => counted() - base >= deliveries, 300_000);
  const elapsedMs = performance.now() - started;
  return {
    perSecond: deliveries / (elapsedMs / 1000),
    elapsedMs,
    publishMs: published - started,
  };
}

/**
 * The ceiling: receive from a queue on the same fauxqs, POST with the same HTTP client to the same
 * receivers, delete; as many consumers as the stack has delivery environments. No records, no signing.
 */
async function baselinePhase(stack: RunningStack, receivers: BenchReceiver[]) {
  const sqs = new SQSClient({
    region: "us-east-1",
    endpoint: stack.info.endpoints.sqs,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "bench-baseline" }));
  const messages = Array.from({ length: settings.burst }, (_, index) => ({
    Id: String(index % 10),
    MessageBody: JSON.stringify({ url: receivers[index % receivers.length]?.url, id: index }),
  }));
  for (let offset = 0; offset < messages.length; offset += 10 * 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, batch) => {
        const entries = messages.slice(offset + batch * 10, offset + batch * 10 + 10);
        return entries.length === 0
          ? Promise.resolve()
          : sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
      }),
    );
  }
  const send = httpSender({ allowInsecureHttp: true, allowPrivateTargets: true, allowedPorts: "any" });
  const counted = () => receivers.reduce((sum, receiver) => sum + receiver.count, 0);
  const base = counted();
  const started = performance.now();
  let done = false;
  const consumers = Array.from({ length: CONCURRENCY }, async () => {
    while (!done) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      await Promise.all(
        Messages.map((message) => {
          const { url } = JSON.parse(message.Body ?? "{}") as { url: string };
          return send({
            url,
            headers: { "content-type": "application/json" },
            body: message.Body ?? "",
            timeoutMs: 10_000,
          });
        }),
      );
      if (Messages.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: Messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle ?? "",
            })),
          }),
        );
      }
    }
  });
  await waitFor("the baseline deliveries", () => counted() - base >= settings.burst, 300_000);
  const elapsedMs = performance.now() - started;
  done = true;
  await Promise.all(consumers);
  sqs.destroy();
  return { perSecond: settings.burst / (elapsedMs / 1000), elapsedMs };
}

/**
 * Deliveries to a receiver that always answers 500: six attempts each, then dead-lettered. Published
 * together, as an outage meets the deliveries under way: at least ten of one webhook retry at once,
 * the case the retry slots are for. Waits on the receiver, not the API, so that the phase's counts hold
 * only the deliveries' own work; the caller checks the outcome through the API after reading the counts.
 */
async function failingPhase(client: Api, receiver: BenchReceiver) {
  receiver.status = 500;
  await Promise.all(
    Array.from({ length: settings.failing }, (_, index) =>
      publishOrThrow(client, "sync.failed", { n: index }),
    ),
  );
  await waitFor(
    "six attempts of each failing delivery",
    () => receiver.count >= 6 * settings.failing,
    120_000,
  );
  return { deliveries: settings.failing, attempts: receiver.count };
}

async function deadLettered(client: Api, webhookId: string): Promise<number> {
  const page = await client.call("GET", `/v1/webhooks/${webhookId}/deliveries?status=dead_lettered`);
  return (page.body as { data: unknown[] }).data.length;
}

/**
 * One event to `webhooks` webhooks of the tenant, subscribed to `session.started` (those a previous
 * call created count): the time from the publish until all of them arrived.
 */
async function fanOutPhase(stack: RunningStack, client: Api, receiver: BenchReceiver, webhooks: number) {
  for (let index = fanOutWebhooks; index < webhooks; index += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, webhooks - index) }, (_, offset) =>
        createWebhook(client, `${receiver.url}/${index + offset}`, "session.started"),
      ),
    );
  }
  fanOutWebhooks = Math.max(fanOutWebhooks, webhooks);
  const arrived = receiver.count;
  const cpuBefore = cpuNow(stack);
  const started = performance.now();
  await publishOrThrow(client, "session.started", { fan: webhooks });
  // About 100 deliveries a second on this machine, and ten times that allowed for a loaded one.
  await waitFor(
    `the fan-out deliveries to ${webhooks} webhooks`,
    () => receiver.count >= arrived + webhooks,
    Math.max(240_000, webhooks * 100),
  );
  return { elapsedMs: performance.now() - started, cpu: cpuSince(stack, cpuBefore, webhooks) };
}

function cpuNow(stack: RunningStack): CpuSnapshot | undefined {
  return stack.process.pid === undefined ? undefined : cpuSnapshot(stack.process.pid, process.pid);
}

/**
 * The CPU per delivery of a phase that began at `before`, by process, rounded, with what the machine's
 * cores could carry at that much per delivery; null where `/proc` cannot be read.
 */
function cpuSince(stack: RunningStack, before: CpuSnapshot | undefined, deliveries: number) {
  const after = cpuNow(stack);
  if (before === undefined || after === undefined) return null;
  const perDelivery = cpuPerDelivery(before, after, deliveries);
  return {
    ms_per_delivery: Object.fromEntries(
      Object.entries(perDelivery).map(([role, ms]) => [role, round(ms, 2)]),
    ) as typeof perDelivery,
    bound_per_s: round(cpuBoundPerSecond(perDelivery.total, os.cpus().length), 1),
  };
}

/** The tenant's webhooks subscribed to the fan-out phases' event type so far. */
let fanOutWebhooks = 0;

interface BundleFigures {
  readonly bytes: number;
  readonly load_ms: number | null;
  readonly load_error?: string;
}

/** Each function's bundle size, and the median of `runs` module loads, each in a fresh process. */
function bundles(stateDir: string, runs: number): Record<string, BundleFigures> {
  const cdkOut = path.join(stateDir, "cdk.out");
  const templateFile = readdirSync(cdkOut).find((file) => file.endsWith(".template.json"));
  if (templateFile === undefined) throw new Error(`no template in ${cdkOut}`);
  const template = JSON.parse(readFileSync(path.join(cdkOut, templateFile), "utf8")) as {
    Resources: Record<
      string,
      {
        Type: string;
        Metadata?: Record<string, string>;
        Properties: { Environment?: { Variables?: Record<string, unknown> } };
      }
    >;
  };
  const results: Record<string, BundleFigures> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::Lambda::Function") continue;
    const assetPath = resource.Metadata?.["aws:asset:path"];
    if (assetPath === undefined) continue;
    const dir = path.join(cdkOut, assetPath);
    const file = ["index.mjs", "index.js"].map((name) => path.join(dir, name)).find(existsSync);
    if (file === undefined) continue;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    };
    // Values the template computes (ARNs, queue URLs) get stand-ins of the right shape: nothing is called.
    for (const [key, value] of Object.entries(resource.Properties.Environment?.Variables ?? {})) {
      if (typeof value === "string") env[key] = value;
      else if (/URL/.test(key)) env[key] = "http://127.0.0.1:1/000000000000/placeholder";
      else env[key] = `arn:aws:states:us-east-1:000000000000:stateMachine:placeholder-${key}`;
    }
    const loads: number[] = [];
    let error: string | undefined;
    for (let run = 0; run < runs; run++) {
      const output = execFileSync(
        process.execPath,
        ["bench/load-bundle.ts", file, path.join(projectRoot, "package.json")],
        { cwd: projectRoot, env, encoding: "utf8" },
      );
      const line = JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as { ms?: number; error?: string };
      if (line.ms !== undefined) loads.push(line.ms);
      else error = line.error;
    }
    results[shortName(id)] = {
      bytes: statSync(file).size,
      load_ms: loads.length > 0 ? round(median(loads), 1) : null,
      ...(error === undefined ? {} : { load_error: error }),
    };
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------

function shortName(logicalId: string): string {
  return logicalId.replace(/^Hookline/, "").replace(/[0-9A-F]{8}$/, "");
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A fresh stack for the benchmark, with its AWS requests counted or not. Nothing of it needs to outlive
 * the run; DynamoDB Local without its SQLite file takes about twice the writes per second here (README,
 * Performance).
 */
function startBenchStack(counted: boolean): Promise<RunningStack> {
  return startStack({
    name: counted ? "bench" : "bench-speed",
    inMemory: true,
    env: {
      HOOKLINE_COUNT_AWS_REQUESTS: String(counted),
      HOOKLINE_LOCAL_CONCURRENCY: String(CONCURRENCY),
      // Six attempts in about five seconds, and a circuit that never opens on the failing receiver.
      HOOKLINE_RETRY_SCHEDULE: "1,1,1,1,1",
      HOOKLINE_CIRCUIT_THRESHOLD: "1000",
      // The fan-out phases give one tenant up to 10,000 webhooks of its own on top of the other phases' ones.
      HOOKLINE_TENANT_MAX_WEBHOOKS: String(2 * Math.max(settings.fanOut, settings.largeFanOut ?? 0)),
    },
  });
}

async function main(): Promise<void> {
  const began = Date.now();
  const loadBefore = os.loadavg();
  const step = (message: string) =>
    console.log(`[bench ${((Date.now() - began) / 1000).toFixed(1)} s] ${message}`);
  step(`starting a fresh local stack that counts its AWS requests${quick ? " (quick run)" : ""}`);
  let stack = await startBenchStack(true);
  const receivers: BenchReceiver[] = [];
  try {
    const client = api(stack);
    const schemas = await tableSchemas(stack);
    const keyCounter = new KeyLoadCounter(schemas);
    const tableNames = new Map(schemas.map((schema) => [schema.name, shortName(schema.name)]));
    const latencyReceiver = await BenchReceiver.start();
    const burstReceivers = await Promise.all(Array.from({ length: 10 }, () => BenchReceiver.start()));
    const failingReceiver = await BenchReceiver.start();
    const fanOutReceiver = await BenchReceiver.start();
    receivers.push(latencyReceiver, ...burstReceivers, failingReceiver, fanOutReceiver);

    await createWebhook(client, latencyReceiver.url, "memory.created");
    for (const receiver of burstReceivers) await createWebhook(client, receiver.url, "memory.updated");
    const failingWebhook = await createWebhook(client, failingReceiver.url, "sync.failed");

    step("warming up (cold starts are not part of the figures)");
    await Promise.all(
      Array.from({ length: 20 }, () => warmUpPublish(client, "memory.created", { n: "warm" })),
    );
    await Promise.all(
      Array.from({ length: 4 }, () => warmUpPublish(client, "memory.updated", { warm: true })),
    );
    // What the warm-up had refused is not a figure of the phases that follow.
    for (const status of Object.keys(refusedPublishes)) delete refusedPublishes[status];
    await waitFor("the warm-up deliveries", () => latencyReceiver.count >= 20, 60_000);
    await sleep(1_500);
    for (const receiver of burstReceivers) receiver.count = 0;

    // The full run first measures latency at a rate this machine sustains, for the pipeline's own delay.
    let sustainable: Awaited<ReturnType<typeof latencyPhase>> | undefined;
    if (settings.sustainableRate !== undefined) {
      step(`latency at a sustainable rate: ${settings.sustainableRate} events/s for 10 s`);
      sustainable = await latencyPhase(client, latencyReceiver, settings.sustainableRate, 10, "s");
      sustainable.deliveries();
      await drain(stack);
    }

    step(`latency: ${settings.rate} events/s for ${settings.latencySeconds} s`);
    await keyLoadsSince(stack, keyCounter);
    const beforeLatency = await readUsage(stack);
    const latency = await latencyPhase(client, latencyReceiver, settings.rate, settings.latencySeconds, "l");
    await drain(stack); // the backlog, if the publish path fell behind, and per-batch counters
    const afterLatency = await readUsage(stack);
    const latencyKeys = await keyLoadsSince(stack, keyCounter);
    const latencyDeliveries = latency.deliveries();
    const firstTry = perDelivery(
      beforeLatency,
      afterLatency,
      latencyDeliveries,
      latency.published,
      billedUnits(latencyKeys),
    );

    step(`counted burst: ${settings.countedBurst} deliveries to 10 receivers`);
    await keyLoadsSince(stack, keyCounter);
    const beforeBurst = await readUsage(stack);
    await throughputPhase(client, burstReceivers, settings.countedBurst);
    await drain(stack);
    const afterBurst = await readUsage(stack);
    const burstKeys = await keyLoadsSince(stack, keyCounter);
    // The same first-try work when each event goes to ten webhooks: per-event work is shared by ten.
    const firstTryFanOut10 = perDelivery(
      beforeBurst,
      afterBurst,
      settings.countedBurst,
      settings.countedBurst / 10,
      billedUnits(burstKeys),
    );

    step(`six attempts: ${settings.failing} deliveries to a receiver that always answers 500`);
    await drain(stack);
    await keyLoadsSince(stack, keyCounter);
    const beforeFailing = await readUsage(stack);
    const failing = await failingPhase(client, failingReceiver);
    await drain(stack);
    const afterFailing = await readUsage(stack);
    const failingKeys = await keyLoadsSince(stack, keyCounter);
    const failedOutcome = await deadLettered(client, failingWebhook);
    if (failedOutcome !== failing.deliveries)
      throw new Error(`${failedOutcome} of ${failing.deliveries} failing deliveries were dead-lettered`);
    const sixAttempts = perDelivery(
      beforeFailing,
      afterFailing,
      failing.deliveries,
      failing.deliveries,
      billedUnits(failingKeys),
    );

    step("starting a second fresh local stack, without the counting, for the speed figures");
    await stack.stop();
    stack = await startBenchStack(false);
    const speedClient = api(stack);
    for (const receiver of burstReceivers) {
      receiver.count = 0;
      await createWebhook(speedClient, receiver.url, "memory.updated");
    }
    // Warm as the first stack was by its earlier phases: the functions' and DynamoDB Local's code compiled.
    await throughputPhase(speedClient, burstReceivers, WARM_UP_BURST);
    await drain(stack);

    step(`throughput: a burst of ${settings.burst} deliveries to 10 receivers`);
    const cpuBeforeBurst = cpuNow(stack);
    const throughput = await throughputPhase(speedClient, burstReceivers, settings.burst);
    const burstCpu = cpuSince(stack, cpuBeforeBurst, settings.burst);
    await drain(stack);

    step(`baseline: the bare pipeline, ${settings.burst} messages`);
    const cpuBeforeBaseline = cpuNow(stack);
    const baseline = await baselinePhase(stack, burstReceivers);
    const baselineCpu = cpuSince(stack, cpuBeforeBaseline, settings.burst);

    step(`fan-out: 1 event to ${settings.fanOut} webhooks`);
    const fanOut = await fanOutPhase(stack, speedClient, fanOutReceiver, settings.fanOut);
    let largeFanOutMs: number | null = null;
    if (settings.largeFanOut !== undefined) {
      step(`fan-out: 1 event to ${settings.largeFanOut} webhooks`);
      largeFanOutMs = (await fanOutPhase(stack, speedClient, fanOutReceiver, settings.largeFanOut)).elapsedMs;
    }

    step("bundles: size and module load time");
    const bundleFigures = bundles(stack.info.stateDir, quick ? 1 : 3);

    const firstTryCost = costPerMillion(toWork(firstTry), PRICES);
    const fanOut10Cost = costPerMillion(toWork(firstTryFanOut10), PRICES);
    const fanOut10Mix = mixedCostPerMillion(toWork(firstTryFanOut10), toWork(sixAttempts), 0.02, PRICES);
    const sixAttemptsCost = costPerMillion(toWork(sixAttempts), PRICES);
    const floors = { first_try: firstTryFloor(1), first_try_fan_out_10: firstTryFloor(10) };
    const mix = mixedCostPerMillion(toWork(firstTry), toWork(sixAttempts), 0.02, PRICES);
    // One webhook per event in the latency phase: per event and per delivery are the same there.
    const firstTryKeys = keyCeilings(latencyKeys, latencyDeliveries);
    const fanOut10Keys = keyCeilings(burstKeys, settings.countedBurst / 10);
    const sixAttemptsKeys = keyCeilings(failingKeys, failing.deliveries);
    const fanOut10Events = ceiling(fanOut10Keys, ["shared"]);
    const loadAfter = os.loadavg();
    const results = {
      date: new Date().toISOString(),
      quick,
      machine: {
        load_average_before: loadBefore.map((value) => round(value, 2)),
        load_average_after: loadAfter.map((value) => round(value, 2)),
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? "unknown",
        node: process.version,
        local_concurrency: CONCURRENCY,
      },
      latency_ms: {
        p50: round(percentile(latency.latencies, 50), 1),
        p90: round(percentile(latency.latencies, 90), 1),
        p99: round(percentile(latency.latencies, 99), 1),
        samples: latency.latencies.length,
        published: latency.published,
        accepted_202: latency.accepted,
        all_answered_ms: Math.round(latency.answeredMs),
        refused: { ...refusedPublishes },
        rate_per_s: settings.rate,
        seconds: settings.latencySeconds,
      },
      ...(sustainable === undefined
        ? {}
        : {
            latency_at_sustainable_rate_ms: {
              rate_per_s: settings.sustainableRate,
              p50: round(percentile(sustainable.latencies, 50), 1),
              p90: round(percentile(sustainable.latencies, 90), 1),
              p99: round(percentile(sustainable.latencies, 99), 1),
              samples: sustainable.latencies.length,
            },
          }),
      throughput_per_s: round(throughput.perSecond, 1),
      throughput_detail: {
        deliveries: settings.burst,
        elapsed_ms: Math.round(throughput.elapsedMs),
        publish_ms: Math.round(throughput.publishMs),
      },
      cpu: { throughput: burstCpu, bare_pipeline: baselineCpu, fanout_1000: fanOut.cpu },
      floor: Object.fromEntries(
        Object.entries(floors).map(([phase, work]) => [
          phase,
          {
            dynamodb_write_units: round(work.dynamodbWriteUnits, 3),
            cost_per_million_usd: round(costPerMillion(work, PRICES).total, 3),
          },
        ]),
      ) as Record<keyof typeof floors, Floor>,
      baseline_per_s: round(baseline.perSecond, 1),
      ratio: round(throughput.perSecond / baseline.perSecond, 3),
      per_delivery: {
        first_try: firstTry,
        six_attempts: sixAttempts,
        first_try_fan_out_10: firstTryFanOut10,
      },
      six_attempts_detail: {
        deliveries: failing.deliveries,
        receiver_requests: failing.attempts,
        dead_lettered: failedOutcome,
      },
      cost_per_million_usd: {
        first_try: round(firstTryCost.total, 3),
        mix_98_2: round(mix, 3),
        first_try_fan_out_10: round(fanOut10Cost.total, 3),
        mix_98_2_fan_out_10: round(fanOut10Mix, 3),
        first_try_breakdown: roundAll(firstTryCost),
        first_try_fan_out_10_breakdown: roundAll(fanOut10Cost),
        six_attempts_breakdown: roundAll(sixAttemptsCost),
        prices_date: PRICES_DATE,
      },
      fanout_1000_ms: Math.round(fanOut.elapsedMs),
      fanout_10000_ms: largeFanOutMs === null ? null : Math.round(largeFanOutMs),
      aws_ceilings: {
        limits: {
          write_units_per_s: PARTITION_LIMITS.writeUnitsPerSecond,
          read_units_per_s: PARTITION_LIMITS.readUnitsPerSecond,
        },
        tenant_events_per_s: ceiling(firstTryKeys, ["shared"]),
        tenant_deliveries_per_s_fanout_10: fanOut10Events === null ? null : fanOut10Events * 10,
        webhook_deliveries_per_s: ceiling(firstTryKeys, ["webhook"]),
        capped_by: {
          tenant_events_per_s: cappedBy(cappingKey(firstTryKeys, ["shared"]), tableNames),
          tenant_deliveries_per_s_fanout_10: cappedBy(cappingKey(fanOut10Keys, ["shared"]), tableNames),
          webhook_deliveries_per_s: cappedBy(cappingKey(firstTryKeys, ["webhook"]), tableNames),
        },
        hottest_keys: readableKeys(firstTryKeys.slice(0, HOTTEST_KEYS), tableNames),
        hottest_keys_fan_out_10: readableKeys(fanOut10Keys.slice(0, HOTTEST_KEYS), tableNames),
      },
      key_units: {
        first_try: readableKeys(firstTryKeys, tableNames),
        first_try_fan_out_10: readableKeys(fanOut10Keys, tableNames),
        six_attempts: readableKeys(sixAttemptsKeys, tableNames),
      },
      bundles: bundleFigures,
      run_seconds: round((Date.now() - began) / 1000, 1),
    };
    writeFileSync(path.join(projectRoot, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    printTable(results);
    step("results written to bench/results.json");
  } finally {
    await Promise.all(receivers.map((receiver) => receiver.stop()));
    await stack.stop();
  }
}

/** The least a first-try delivery can cost while Hookline keeps its guarantees (`floor.ts`). */
interface Floor {
  readonly dynamodb_write_units: number;
  readonly cost_per_million_usd: number;
}

interface PhaseCpu {
  readonly ms_per_delivery: Readonly<Record<CpuRole | "total", number>>;
  readonly bound_per_s: number;
}

function roundAll(breakdown: CostBreakdown): Record<string, number> {
  return Object.fromEntries(Object.entries(breakdown).map(([key, value]) => [key, round(value, 4)]));
}

interface PrintableResults {
  readonly date: string;
  readonly quick: boolean;
  readonly machine: {
    readonly load_average_before: readonly number[];
    readonly load_average_after: readonly number[];
    readonly cpus: number;
    readonly node: string;
  };
  readonly latency_ms: { readonly p50: number; readonly p90: number; readonly p99: number };
  readonly latency_at_sustainable_rate_ms?: {
    readonly rate_per_s: number | undefined;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
  };
  readonly throughput_per_s: number;
  readonly cpu: {
    readonly throughput: PhaseCpu | null;
    readonly bare_pipeline: PhaseCpu | null;
    readonly fanout_1000: PhaseCpu | null;
  };
  readonly floor: { readonly first_try: Floor; readonly first_try_fan_out_10: Floor };
  readonly baseline_per_s: number;
  readonly ratio: number;
  readonly per_delivery: {
    readonly first_try: PerDelivery;
    readonly six_attempts: PerDelivery;
    readonly first_try_fan_out_10: PerDelivery;
  };
  readonly cost_per_million_usd: {
    readonly first_try: number;
    readonly mix_98_2: number;
    readonly first_try_fan_out_10: number;
    readonly mix_98_2_fan_out_10: number;
  };
  readonly run_seconds: number;
  readonly fanout_1000_ms: number;
  /** Not measured by a quick run. */
  readonly fanout_10000_ms: number | null;
  readonly aws_ceilings: {
    readonly tenant_events_per_s: number | null;
    readonly tenant_deliveries_per_s_fanout_10: number | null;
    readonly webhook_deliveries_per_s: number | null;
    readonly capped_by: {
      readonly tenant_events_per_s: CappedBy | null;
      readonly tenant_deliveries_per_s_fanout_10: CappedBy | null;
      readonly webhook_deliveries_per_s: CappedBy | null;
    };
    readonly hottest_keys: readonly KeyCeiling[];
    readonly hottest_keys_fan_out_10: readonly KeyCeiling[];
  };
  readonly bundles: Record<string, BundleFigures>;
}

function printRows(rows: readonly (readonly string[])[]): void {
  const columns = Math.max(...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) =>
    Math.max(...rows.map((row) => row[column]?.length ?? 0)),
  );
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  "));
}

function printTable(results: PrintableResults): void {
  const rows: (readonly string[])[] = [];
  const budget = (ok: boolean) => (ok ? "met" : "NOT met");
  const { first_try: first, six_attempts: six, first_try_fan_out_10: fanOut10 } = results.per_delivery;
  const fixed = (value: number, digits = 2) => value.toFixed(digits);
  rows.push([
    "latency p50 / p90 / p99",
    `${results.latency_ms.p50} / ${results.latency_ms.p90} / ${results.latency_ms.p99} ms`,
    `p50 ≤ 50, p99 ≤ 250: ${budget(results.latency_ms.p50 <= 50 && results.latency_ms.p99 <= 250)}`,
  ]);
  const sustainable = results.latency_at_sustainable_rate_ms;
  if (sustainable !== undefined) {
    rows.push([
      `latency at ${sustainable.rate_per_s} events/s`,
      `${sustainable.p50} / ${sustainable.p90} / ${sustainable.p99} ms`,
      "(for comparison)",
    ]);
  }
  rows.push([
    "throughput",
    `${results.throughput_per_s} deliveries/s`,
    `≥ 300: ${budget(results.throughput_per_s >= 300)}`,
  ]);
  rows.push(["bare pipeline", `${results.baseline_per_s} deliveries/s`, ""]);
  rows.push(["ratio", `${fixed(results.ratio * 100, 1)} %`, `≥ 50 %: ${budget(results.ratio >= 0.5)}`]);
  for (const [label, work] of [
    ["first try, 1 webhook/event", first],
    ["first try, 10 webhooks/event", fanOut10],
    ["six attempts", six],
  ] as const) {
    const firstTry = work !== six;
    rows.push([
      `${label}: DynamoDB writes / reads`,
      `${fixed(work.dynamodb_writes)} / ${fixed(work.dynamodb_reads)}`,
      firstTry ? `≤ 2 / ≤ 0.2: ${budget(work.dynamodb_writes <= 2 && work.dynamodb_reads <= 0.2)}` : "",
    ]);
    rows.push([
      `${label}: SQS requests`,
      fixed(work.sqs_requests),
      firstTry ? `≤ 0.35: ${budget(work.sqs_requests <= 0.35)}` : "",
    ]);
    rows.push([
      `${label}: state transitions`,
      fixed(work.state_transitions),
      firstTry
        ? `0: ${budget(work.state_transitions === 0)}`
        : `≤ 8 (${settings.failing} of one webhook retrying): ${budget(work.state_transitions <= 8)}`,
    ]);
    rows.push([`${label}: Lambda invocations`, fixed(work.lambda_invocations), ""]);
  }
  const { floor } = results;
  rows.push([
    "write units / first try, 1 / 10 webhooks/event",
    `${fixed(first.dynamodb_write_units)} / ${fixed(fanOut10.dynamodb_write_units)} (floor ${fixed(floor.first_try.dynamodb_write_units, 1)} / ${fixed(floor.first_try_fan_out_10.dynamodb_write_units, 1)}; DynamoDB Local reports ${fixed(first.dynamodb_write_units_as_local_reports)} / ${fixed(fanOut10.dynamodb_write_units_as_local_reports)})`,
    `≤ 4 / ≤ 2: ${budget(first.dynamodb_write_units <= 4 && fanOut10.dynamodb_write_units <= 2)}`,
  ]);
  rows.push([
    "cost / 1M first tries, 1 / 10 webhooks/event",
    `$${fixed(results.cost_per_million_usd.first_try)} / $${fixed(results.cost_per_million_usd.first_try_fan_out_10)} (floor $${fixed(floor.first_try.cost_per_million_usd)} / $${fixed(floor.first_try_fan_out_10.cost_per_million_usd)})`,
    `≤ $4 / ≤ $2: ${budget(results.cost_per_million_usd.first_try <= 4 && results.cost_per_million_usd.first_try_fan_out_10 <= 2)}`,
  ]);
  rows.push([
    "cost / 1M, 98/2 mix, 1 / 10 webhooks/event",
    `$${fixed(results.cost_per_million_usd.mix_98_2)} / $${fixed(results.cost_per_million_usd.mix_98_2_fan_out_10)}`,
    `≤ $10 / ≤ $8: ${budget(results.cost_per_million_usd.mix_98_2 <= 10 && results.cost_per_million_usd.mix_98_2_fan_out_10 <= 8)}`,
  ]);
  for (const [label, cpu] of [
    ["throughput", results.cpu.throughput],
    ["bare pipeline", results.cpu.bare_pipeline],
    ["fan-out to 1,000", results.cpu.fanout_1000],
  ] as const) {
    if (cpu === null) continue;
    const ms = cpu.ms_per_delivery;
    rows.push([
      `CPU / delivery, ${label}`,
      `${fixed(ms.total)} ms: DynamoDB Local ${fixed(ms.dynamodb_local)}, runtime ${fixed(ms.local_runtime)}, other processes ${fixed(ms.other_processes)}, load and receivers ${fixed(ms.bench)}`,
      `the cores carry ≤ ${cpu.bound_per_s}/s at that`,
    ]);
  }
  rows.push([
    "fan-out to 1,000",
    `${results.fanout_1000_ms} ms`,
    `≤ 3,000 ms: ${budget(results.fanout_1000_ms <= 3_000)}`,
  ]);
  rows.push([
    "fan-out to 10,000",
    results.fanout_10000_ms === null ? "not run (quick)" : `${results.fanout_10000_ms} ms`,
    results.fanout_10000_ms === null ? "" : "completes: yes",
  ]);
  const perSecond = (value: number | null) =>
    value === null ? "no cap" : `${value.toLocaleString("en-US")}/s`;
  const { aws_ceilings: ceilings } = results;
  const cap = (by: CappedBy | null) => (by === null ? "" : `${by.key} (${by.table}), ${by.modelled_as}`);
  rows.push([
    "AWS model: one tenant, events",
    perSecond(ceilings.tenant_events_per_s),
    `≥ 10,000: ${budget((ceilings.tenant_events_per_s ?? Number.POSITIVE_INFINITY) >= 10_000)}`,
    cap(ceilings.capped_by.tenant_events_per_s),
  ]);
  rows.push([
    "AWS model: one tenant, deliveries at fan-out 10",
    perSecond(ceilings.tenant_deliveries_per_s_fanout_10),
    `≥ 50,000: ${budget((ceilings.tenant_deliveries_per_s_fanout_10 ?? Number.POSITIVE_INFINITY) >= 50_000)}`,
    cap(ceilings.capped_by.tenant_deliveries_per_s_fanout_10),
  ]);
  rows.push([
    "AWS model: one webhook, deliveries",
    perSecond(ceilings.webhook_deliveries_per_s),
    `≥ 1,000: ${budget((ceilings.webhook_deliveries_per_s ?? Number.POSITIVE_INFINITY) >= 1_000)}`,
    cap(ceilings.capped_by.webhook_deliveries_per_s),
  ]);
  for (const [name, bundle] of Object.entries(results.bundles)) {
    const isDelivery = name.startsWith("Delivery");
    rows.push([
      `bundle ${name}`,
      `${fixed(bundle.bytes / 1024, 0)} KB, load ${bundle.load_ms ?? "failed"} ms`,
      isDelivery ? `≤ 400 KB: ${budget(bundle.bytes <= 400 * 1024)}` : "",
    ]);
  }
  const { machine } = results;
  console.log(
    `\nHookline benchmark${results.quick ? " (quick)" : ""}, ${results.date}, Node ${machine.node}, ${machine.cpus} cores, load average (1/5/15 min) ${machine.load_average_before.join(" / ")} before, ${machine.load_average_after.join(" / ")} after\n`,
  );
  printRows(rows);
  for (const [label, keys] of [
    ["first try, 1 webhook/event (units per event)", ceilings.hottest_keys],
    ["first try, 10 webhooks/event (units per event)", ceilings.hottest_keys_fan_out_10],
  ] as const) {
    console.log(
      `\nhottest DynamoDB keys, ${label}; caps at 1,000 write / 3,000 read units/s per key (a family of N shards: its expected hottest shard)\n`,
    );
    printRows([
      ["key", "table / index", "level", "owner", "modelled as", "write", "read", "share", "caps at"],
      ...keys.map((key) => [
        key.key,
        key.index === null ? key.table : `${key.table} / ${key.index}`,
        key.level,
        key.scope === "shared" ? "tenant" : key.scope === "one" ? "one event or delivery" : "webhook",
        key.shards === null ? "one key" : `${key.shards} shards`,
        fixed(key.write_units_per_event, 3),
        fixed(key.read_units_per_event, 3),
        `${fixed(key.share * 100, 1)} %`,
        key.ceiling_per_s === null ? "-" : perSecond(key.ceiling_per_s),
      ]),
    ]);
  }
  console.log(
    `\nthe whole run: ${results.run_seconds} s${results.quick ? ` (quick: under 60 s: ${budget(results.run_seconds < 60)})` : ""}\n`,
  );
}

await main();
process.exit(0);
