/**
 * The typed client of Hookline's HTTP API, its types generated from the OpenAPI document the API
 * serves (client/schema.d.ts, `npm run client`). Each call names a documented path and method; its
 * body, parameters and answer are typed by the document, so code that uses the API in a way the
 * document does not describe fails to compile.
 *
 *     const hookline = createHooklineClient({ baseUrl, apiKey });
 *     const { data, error } = await hookline.POST("/v1/events", { body: { type, data } });
 *
 * It runs wherever `fetch` does (Node 22, browsers) and imports nothing but openapi-fetch.
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";

export type { components, operations, paths } from "./schema.d.ts";

/** A schema the document names, e.g. `HooklineSchema<"Webhook">`. */
export type HooklineSchema<Name extends keyof components["schemas"]> = components["schemas"][Name];

export type HooklineClient = Client<paths>;

export interface HooklineClientOptions {
  /** Where the API answers: the stack's `ApiUrl` output, or `apiUrl` in `.hookline/local.json`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …`; left out, only the health check and the document answer. */
  readonly apiKey?: string;
  /** Another fetch, e.g. one that records or checks what it sends; `globalThis.fetch` by default. */
  readonly fetch?: (request: Request) => Promise<Response>;
}

export function createHooklineClient(options: HooklineClientOptions): HooklineClient {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.apiKey === undefined ? {} : { headers: { authorization: `Bearer ${options.apiKey}` } }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}
