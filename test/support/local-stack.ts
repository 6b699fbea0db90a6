import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { inject } from "vitest";
import { createApiKey } from "../../functions/adapters/api-keys.ts";
import { Keys } from "../../functions/adapters/keys.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { type OpenApiDocument, responseChecker } from "./openapi-responses.ts";

/** What `npm start` writes to `.hookline/local.json`. */
export interface LocalStackInfo {
  readonly apiUrl: string;
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

/** Makes `callApi` use this key when a call names none (a test file's own tenant). */
export function useApiKey(apiKey: string): void {
  defaultKey = apiKey;
}

/** Calls the local stack's HTTP API; `apiKey: null` sends no Authorization header. */
export async function callApi(
  method: string,
  path: string,
  options: {
    body?: unknown;
    rawBody?: string;
    apiKey?: string | null;
    contentType?: string;
    /** Another stack than the one the e2e setup started (a test that restarts its own). */
    stack?: LocalStackInfo;
  } = {},
): Promise<ApiResponse> {
  const stack = options.stack ?? localStack();
  const apiKey = options.apiKey === undefined ? (defaultKey ?? stack.apiKey) : options.apiKey;
  const headers: Record<string, string> = {};
  if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the test sees the text.
  }
  const problems = (await checkerOf(stack))(method, path, response.status, parsed);
  if (problems.length > 0) {
    throw new Error(`the OpenAPI document does not describe this answer:\n${problems.join("\n")}`);
  }
  return { status: response.status, headers: response.headers, body: parsed };
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
    const pages = paginateQuery(
      { client: ddb },
      {
        TableName: stack.outputs[StackOutput.eventsTable],
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: {
          ":pk": Keys.webhookDeliveries(tenantId, webhookId),
          ":prefix": Keys.deliveryPrefix,
        },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) records.push(...((page.Items ?? []) as DeliveryRecord[]));
  } finally {
    ddb.destroy();
  }
  return records;
}
