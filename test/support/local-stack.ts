import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { expect, inject } from "vitest";
import { createHooklineClient, type HooklineClient, type HooklineSchema } from "../../client/index.ts";
import { createApiKey } from "../../functions/adapters/api-keys.ts";
import { Keys, webhookDeliveryPartitions } from "../../functions/adapters/keys.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { type OpenApiDocument, responseChecker } from "./openapi-responses.ts";

/** What `npm start` writes to `.hookline/local.json`. */
export interface LocalStackInfo {
  readonly apiUrl: string;
  readonly consoleUrl: string;
  readonly apiKey: string;
  readonly tenantId: string;
  readonly endpoints: {
    readonly dynamodb: string;
    readonly sqs: string;
    readonly eventbridge: string;
    readonly stepfunctions?: string;
  };
  readonly outputs: Readonly<Record<string, string>>;
  readonly stateDir: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    localStack: LocalStackInfo;
  }
}

export function localStack(): LocalStackInfo {
  return inject("localStack");
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  readonly body: any;
}

let defaultKey: string | undefined;

/** Makes `api` and `callApi` use this key when a call names none (a test file's own tenant). */
export function useApiKey(apiKey: string): void {
  defaultKey = apiKey;
}

interface CallOptions {
  /** `null` sends no Authorization header; left out, the test file's key (`useApiKey`) or the stack's. */
  readonly apiKey?: string | null;
  /** Another stack than the one the e2e setup started (a test that restarts its own). */
  readonly stack?: LocalStackInfo;
}

function keyFor(stack: LocalStackInfo, apiKey: string | null | undefined): string | undefined {
  const key = apiKey === undefined ? (defaultKey ?? stack.apiKey) : apiKey;
  return key ?? undefined;
}

/**
 * The typed client (`hookline/client`) against the local stack, as an application uses it; every
 * answer is checked against the stack's own OpenAPI document, as `callApi`'s are. The key is the one
 * in force when it is called.
 */
export function api(options: CallOptions = {}): HooklineClient {
  const stack = options.stack ?? localStack();
  const apiKey = keyFor(stack, options.apiKey);
  return createHooklineClient({
    baseUrl: stack.apiUrl,
    ...(apiKey === undefined ? {} : { apiKey }),
    fetch: checkedFetch(stack),
  });
}

/** The path parameters of a typed call on one webhook's routes. */
export const webhookPath = (webhookId: string) => ({ params: { path: { webhookId } } });

/**
 * The data of a typed call that must be answered `status`; any other answer fails the test with what
 * the API said.
 */
export async function answered<Data>(
  call: Promise<{ data?: Data; error?: unknown; response: Response }>,
  status: number,
): Promise<Data> {
  const { data, error, response } = await call;
  expect(response.status, JSON.stringify(error ?? data)).toBe(status);
  if (data === undefined) throw new Error(`${response.url} answered ${status} without a body`);
  return data;
}

/**
 * A typed call's status, headers and body (its data, or the error the document gives for that
 * status), for a test that asserts a refusal or reads a status the way `callApi` answers it.
 */
export async function reply<Data, Failure>(
  call: Promise<{ data?: Data; error?: Failure; response: Response }>,
): Promise<{
  readonly status: number;
  readonly headers: Headers;
  readonly body: Data | Failure | undefined;
}> {
  const { data, error, response } = await call;
  return { status: response.status, headers: response.headers, body: data ?? error };
}

/**
 * The error of a typed call that must be refused `status`, checked to be in the API's error shape;
 * any other answer fails the test with what the API said.
 */
export async function refused(
  call: Promise<{ data?: unknown; error?: unknown; response: Response }>,
  status: number,
): Promise<HooklineSchema<"Error">["error"]> {
  const { data, error, response } = await call;
  expect(response.status, JSON.stringify(error ?? data)).toBe(status);
  expect(error).toEqual({
    error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) },
  });
  return (error as HooklineSchema<"Error">).error;
}

/**
 * Calls the local stack's HTTP API by method and path, for what the typed client cannot send: bodies
 * that are not JSON or not what the document allows, paths it does not list, missing or bad keys.
 */
export async function callApi(
  method: string,
  path: string,
  options: CallOptions & { body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<ApiResponse> {
  const stack = options.stack ?? localStack();
  const apiKey = keyFor(stack, options.apiKey);
  const headers: Record<string, string> = {};
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  const response = await checkedFetch(stack)(
    new Request(`${stack.apiUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) }),
  );
  return { status: response.status, headers: response.headers, body: parseBody(await response.text()) };
}

/** JSON as parsed; anything else as its text, for the test to see. */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** `fetch`, failing on an answer the stack's OpenAPI document does not describe. */
function checkedFetch(stack: LocalStackInfo): (request: Request) => Promise<Response> {
  return async (request) => {
    const response = await fetch(request);
    const { pathname, search } = new URL(request.url);
    const body = parseBody(await response.clone().text());
    const problems = (await checkerOf(stack))(request.method, `${pathname}${search}`, response.status, body);
    if (problems.length > 0) {
      throw new Error(`the OpenAPI document does not describe this answer:\n${problems.join("\n")}`);
    }
    return response;
  };
}

const checkers = new Map<string, Promise<ReturnType<typeof responseChecker>>>();

/**
 * The check of every answer against the stack's own `GET /v1/openapi.json`, read once per stack, so
 * that a response the document does not describe fails the test that received it.
 */
function checkerOf(stack: LocalStackInfo): Promise<ReturnType<typeof responseChecker>> {
  let checker = checkers.get(stack.apiUrl);
  if (!checker) {
    checker = fetch(`${stack.apiUrl}/v1/openapi.json`).then(async (response) => {
      if (!response.ok) throw new Error(`GET /v1/openapi.json answered ${response.status}`);
      return responseChecker((await response.json()) as OpenApiDocument);
    });
    // A stack that was down when asked is asked again on the next call.
    checker.catch(() => checkers.delete(stack.apiUrl));
    checkers.set(stack.apiUrl, checker);
  }
  return checker;
}

/**
 * A fresh tenant with its own API key, created as `npm run api-key -- create` does, so that a test's
 * counts cannot be disturbed by webhooks other tests registered.
 */
export async function newTenant(
  prefix: string,
  stack: LocalStackInfo = localStack(),
): Promise<{ tenantId: string; apiKey: string }> {
  const ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.endpoints.dynamodb,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
  );
  const tenantId = `${prefix}-${randomUUID().slice(0, 8)}`;
  const tableName = stack.outputs[StackOutput.webhooksTable];
  if (!tableName) throw new Error("the local stack has no webhooks table output");
  const { apiKey } = await createApiKey({ ddb, tableName }, tenantId);
  ddb.destroy();
  return { tenantId, apiKey };
}

/** A delivery record exactly as DynamoDB holds it (snake_case), read past the API. */
export interface DeliveryRecord {
  readonly id: string;
  readonly event_id: string;
  readonly status: string;
  readonly attempt_count: number;
  /** The first attempts; the later ones are in `attempts_tail` (functions/domain/attempt-history.ts). */
  readonly attempts?: readonly StoredAttempt[];
  readonly attempts_tail?: readonly StoredAttempt[];
}

interface StoredAttempt {
  readonly attempt: number;
  readonly status_code?: number;
  readonly error?: string;
}

/**
 * Every delivery record stored for a webhook, read straight from DynamoDB Local, so a test can count
 * records (and find any twin) without relying on the API's paging.
 */
export async function deliveryRecords(
  stack: LocalStackInfo,
  tenantId: string,
  webhookId: string,
): Promise<DeliveryRecord[]> {
  const ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.endpoints.dynamodb,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
  );
  const records: DeliveryRecord[] = [];
  try {
    for (const partition of webhookDeliveryPartitions(tenantId, webhookId)) {
      const pages = paginateQuery(
        { client: ddb },
        {
          TableName: stack.outputs[StackOutput.eventsTable],
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": partition, ":prefix": Keys.deliveryPrefix },
          ConsistentRead: true,
        },
      );
      for await (const page of pages) records.push(...((page.Items ?? []) as DeliveryRecord[]));
    }
  } finally {
    ddb.destroy();
  }
  return records;
}
