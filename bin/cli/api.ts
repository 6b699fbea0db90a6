/**
 * The HTTP API as the developer commands (`listen`, `trigger`) use it: the typed client, with one
 * tenant's API key, as an application would, so that what they do is what the API allows and nothing
 * more.
 */
import { Option } from "commander";
import { createHooklineClient, type HooklineClient } from "../../client/index.ts";
import type { Target } from "../target.ts";

/** Where the key comes from when `--api-key` is not given. */
export const API_KEY_VARIABLE = "HOOKLINE_API_KEY";

export function apiKeyOption(): Option {
  return new Option(
    "--api-key <key>",
    `an API key of the tenant to act as (default: $${API_KEY_VARIABLE}, else the local stack's development key)`,
  );
}

interface ErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string };
  readonly message?: string;
}

/** The API's own words for a refusal: `code: message`, API Gateway's message, or the raw text. */
async function reasonOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const failure = JSON.parse(text) as ErrorBody;
    if (failure.error) return `${failure.error.code}: ${failure.error.message}`;
    return failure.message ?? text;
  } catch {
    return text;
  }
}

/**
 * The target's API with the key given, from the environment, or the local stack's development key.
 * A call that is not answered 2xx throws `GET /v1/... answered 404 (code: message)`, and one that
 * finds no API throws `cannot reach the API at …`, so a command stops with the reason.
 */
export function apiClientOf(target: Target, apiKey: string | undefined): HooklineClient {
  if (!target.api) throw new Error(`${target.description} has no API address (its ApiUrl output)`);
  const { url } = target.api;
  const key = apiKey ?? process.env[API_KEY_VARIABLE] ?? target.api.key;
  if (!key) {
    throw new Error(
      `no API key for ${target.description}: pass --api-key or set ${API_KEY_VARIABLE} (create one with "npx hookline api-key create --tenant T")`,
    );
  }
  const client = createHooklineClient({ baseUrl: url, apiKey: key });
  client.use({
    async onResponse({ request, response }) {
      if (response.ok) return undefined;
      const { pathname, search } = new URL(request.url);
      const reason = await reasonOf(response);
      throw new Error(`${request.method} ${pathname}${search} answered ${response.status} (${reason})`);
    },
    onError({ request, error }) {
      if (request.signal.aborted) return undefined;
      const cause = (error as { cause?: { code?: string } }).cause;
      return new Error(`cannot reach the API at ${url}: ${cause?.code ?? String(error)}`);
    },
  });
  return client;
}

/**
 * The data of a call's answer. The client of `apiClientOf` throws every answer but a 2xx, so only a
 * 2xx without the body the document promises arrives here without data.
 */
export async function answer<Data>(call: Promise<{ data?: Data; response: Response }>): Promise<Data> {
  const { data, response } = await call;
  if (data === undefined) throw new Error(`${response.url} answered ${response.status} without a body`);
  return data;
}
