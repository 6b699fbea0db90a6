import { inject } from "vitest";

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

/** Calls the local stack's HTTP API; `apiKey: null` sends no Authorization header. */
export async function callApi(
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; apiKey?: string | null; contentType?: string } = {},
): Promise<ApiResponse> {
  const stack = localStack();
  const apiKey = options.apiKey === undefined ? stack.apiKey : options.apiKey;
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
  return { status: response.status, headers: response.headers, body: parsed };
}
