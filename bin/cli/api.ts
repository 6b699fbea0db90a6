/**
 * The HTTP API as the developer commands (`listen`, `trigger`) use it: with one tenant's API key, as
 * an application would, so that what they do is what the API allows and nothing more.
 */
import { Option } from "commander";
import type { Target } from "../target.ts";

/** Where the key comes from when `--api-key` is not given. */
export const API_KEY_VARIABLE = "HOOKLINE_API_KEY";

export function apiKeyOption(): Option {
  return new Option(
    "--api-key <key>",
    `an API key of the tenant to act as (default: $${API_KEY_VARIABLE}, else the local stack's development key)`,
  );
}

export interface ApiClient {
  /** The answer's JSON body (undefined for a 204); a non-2xx answer is thrown with the API's message. */
  call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T>;
}

interface ErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string };
  readonly message?: string;
}

/** The target's API with the key given, from the environment, or the local stack's development key. */
export function apiClientOf(target: Target, apiKey: string | undefined): ApiClient {
  if (!target.api) throw new Error(`${target.description} has no API address (its ApiUrl output)`);
  const { url } = target.api;
  const key = apiKey ?? process.env[API_KEY_VARIABLE] ?? target.api.key;
  if (!key) {
    throw new Error(
      `no API key for ${target.description}: pass --api-key or set ${API_KEY_VARIABLE} (create one with "npx hookline api-key create --tenant T")`,
    );
  }
  return {
    async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
      let response: Response;
      try {
        response = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        const cause = (error as { cause?: { code?: string } }).cause;
        throw new Error(`cannot reach the API at ${url}: ${cause?.code ?? String(error)}`);
      }
      const text = await response.text();
      const parsed: unknown = text === "" ? undefined : JSON.parse(text);
      if (!response.ok) {
        const failure = (parsed ?? {}) as ErrorBody;
        const reason = failure.error
          ? `${failure.error.code}: ${failure.error.message}`
          : (failure.message ?? text);
        throw new Error(`${method} ${path} answered ${response.status} (${reason})`);
      }
      return parsed as T;
    },
  };
}
