/**
 * An API Gateway HTTP API (v2) on a local port, read from the template's `AWS::ApiGatewayV2::*`
 * resources: routes, Lambda proxy integrations with payload format 2.0, REQUEST Lambda authorizers
 * (simple or IAM-policy responses, with result caching keyed by the identity sources) and CORS.
 * Requests become real payload-2.0 events; results map back to HTTP as API Gateway maps them, and so
 * do its errors: 401/403 from the authorizer, 404 without a route, 413 over 10 MB, 500 when the
 * function fails, 503 when it outlasts the integration timeout.
 */
import { randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { matchRoute } from "./http-routes.ts";
import type { IntrinsicResolver } from "./intrinsics.ts";
import type { LambdaHost } from "./lambda-host.ts";
import { functionNameFromArn, type LocalNames } from "./physical-names.ts";
import { type CfnTemplate, isRecord, props, resourcesOfType } from "./template.ts";

export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface AuthorizerConfig {
  readonly id: string;
  readonly logicalId: string;
  readonly functionName: string;
  /** Expressions such as `$request.header.Authorization`. */
  readonly identitySource: readonly string[];
  readonly ttlSeconds: number;
  readonly simpleResponses: boolean;
}

export interface RouteConfig {
  readonly routeKey: string;
  readonly functionName: string;
  readonly integrationTimeoutMs: number;
  readonly authorizer?: AuthorizerConfig;
}

export interface CorsConfig {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAge?: number;
  readonly allowCredentials: boolean;
}

export interface HttpApiConfig {
  readonly logicalId: string;
  readonly apiId: string;
  /** `""` for the `$default` stage, else `/<stage>`. */
  readonly stagePath: string;
  readonly stage: string;
  readonly routes: readonly RouteConfig[];
  readonly cors?: CorsConfig;
}

/** The HTTP API of the template, or undefined when it has none. Throws on what cannot be emulated. */
export function httpApiConfig(template: CfnTemplate, resolver: IntrinsicResolver, names: LocalNames) {
  const apis = resourcesOfType(template, "AWS::ApiGatewayV2::Api").filter(
    ({ resource }) => (props(resource).ProtocolType ?? "HTTP") === "HTTP",
  );
  if (apis.length === 0) return undefined;
  if (apis.length > 1) {
    throw new Error(
      `the local runtime serves one HTTP API; the stack has ${apis.map((a) => a.logicalId).join(", ")}`,
    );
  }
  const [api] = apis;
  if (api === undefined) return undefined;
  const apiId = names.valuesOf(api.logicalId, api.resource)?.ref ?? api.logicalId;
  const idOf = (logicalId: string) => resolver.resolveString({ Ref: logicalId }, `Ref ${logicalId}`);
  const belongs = (p: Record<string, unknown>, where: string) =>
    resolver.resolveString(p.ApiId, where) === apiId;

  const integrations = new Map<string, { functionName: string; timeoutMs: number }>();
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::ApiGatewayV2::Integration")) {
    const p = props(resource);
    const where = `integration ${logicalId}`;
    if (!belongs(p, where)) continue;
    if (p.IntegrationType !== "AWS_PROXY") {
      throw new Error(
        `${where}: IntegrationType ${String(p.IntegrationType)} is not emulated (only AWS_PROXY)`,
      );
    }
    if (String(p.PayloadFormatVersion ?? "1.0") !== "2.0") {
      throw new Error(
        `${where}: PayloadFormatVersion ${String(p.PayloadFormatVersion)} is not emulated (only 2.0)`,
      );
    }
    const uri = resolver.resolveString(p.IntegrationUri, `IntegrationUri of ${where}`);
    const functionName = functionNameFromArn(uri);
    if (functionName === undefined)
      throw new Error(`${where}: IntegrationUri ${uri} is not a Lambda function`);
    integrations.set(idOf(logicalId), { functionName, timeoutMs: Number(p.TimeoutInMillis ?? 30_000) });
  }

  const authorizers = new Map<string, AuthorizerConfig>();
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::ApiGatewayV2::Authorizer")) {
    const p = props(resource);
    const where = `authorizer ${logicalId}`;
    if (!belongs(p, where)) continue;
    if (p.AuthorizerType !== "REQUEST") {
      throw new Error(`${where}: AuthorizerType ${String(p.AuthorizerType)} is not emulated (only REQUEST)`);
    }
    if (String(p.AuthorizerPayloadFormatVersion ?? "2.0") !== "2.0") {
      throw new Error(`${where}: AuthorizerPayloadFormatVersion must be 2.0 to run locally`);
    }
    const uri = resolver.resolveString(p.AuthorizerUri, `AuthorizerUri of ${where}`);
    const functionName = functionNameFromArn(uri);
    if (functionName === undefined)
      throw new Error(`${where}: AuthorizerUri ${uri} is not a Lambda function`);
    const identitySource = resolver.resolve(p.IdentitySource ?? [], where);
    authorizers.set(idOf(logicalId), {
      id: idOf(logicalId),
      logicalId,
      functionName,
      identitySource: Array.isArray(identitySource) ? identitySource.map(String) : [],
      ttlSeconds: Number(p.AuthorizerResultTtlInSeconds ?? 0),
      simpleResponses: p.EnableSimpleResponses === true || p.EnableSimpleResponses === "true",
    });
  }

  const routes: RouteConfig[] = [];
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::ApiGatewayV2::Route")) {
    const p = props(resource);
    const where = `route ${logicalId}`;
    if (!belongs(p, where)) continue;
    const routeKey = resolver.resolveString(p.RouteKey, `RouteKey of ${where}`);
    const target = resolver.resolveString(p.Target, `Target of ${where} (${routeKey})`);
    const integration = integrations.get(target.replace(/^integrations\//, ""));
    if (integration === undefined)
      throw new Error(`${where} (${routeKey}): Target ${target} is not an integration`);
    const authorizationType = String(p.AuthorizationType ?? "NONE");
    let authorizer: AuthorizerConfig | undefined;
    if (authorizationType === "CUSTOM") {
      authorizer = authorizers.get(resolver.resolveString(p.AuthorizerId, `AuthorizerId of ${where}`));
      if (authorizer === undefined)
        throw new Error(`${where} (${routeKey}): its authorizer is not in the stack`);
    } else if (authorizationType !== "NONE") {
      throw new Error(`${where} (${routeKey}): AuthorizationType ${authorizationType} is not emulated`);
    }
    routes.push({
      routeKey,
      functionName: integration.functionName,
      integrationTimeoutMs: integration.timeoutMs,
      authorizer,
    });
  }

  const stages = resourcesOfType(template, "AWS::ApiGatewayV2::Stage")
    .map(({ logicalId, resource }) => ({ p: props(resource), logicalId }))
    .filter(({ p, logicalId }) => belongs(p, `stage ${logicalId}`))
    .map(({ p, logicalId }) => resolver.resolveString(p.StageName, `StageName of stage ${logicalId}`));
  const stage = stages.includes("$default") || stages.length === 0 ? "$default" : (stages[0] ?? "$default");

  const apiProps = resolver.resolve(props(api.resource), `Properties of ${api.logicalId}`) as Record<
    string,
    unknown
  >;
  const config: HttpApiConfig = {
    logicalId: api.logicalId,
    apiId,
    stage,
    stagePath: stage === "$default" ? "" : `/${stage}`,
    routes,
    cors: corsConfig(apiProps.CorsConfiguration),
  };
  return config;
}

function corsConfig(value: unknown): CorsConfig | undefined {
  if (!isRecord(value)) return undefined;
  const list = (key: string) => (Array.isArray(value[key]) ? (value[key] as unknown[]).map(String) : []);
  return {
    allowOrigins: list("AllowOrigins"),
    allowMethods: list("AllowMethods"),
    allowHeaders: list("AllowHeaders"),
    exposeHeaders: list("ExposeHeaders"),
    maxAge: value.MaxAge === undefined ? undefined : Number(value.MaxAge),
    allowCredentials: value.AllowCredentials === true || value.AllowCredentials === "true",
  };
}

interface Reply {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly cookies: readonly string[];
  readonly body: Buffer;
}

interface CachedAuthorization {
  readonly response: Record<string, unknown>;
  readonly expiresAt: number;
}

/** Request context fields that depend only on the request. */
interface RequestFacts {
  readonly requestId: string;
  readonly method: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly protocol: string;
  readonly time: Date;
}

/**
 * The HTTP server. It listens first (so that the API's URL is known when the template is resolved)
 * and answers 503 until `serve()` gives it the API.
 */
export class HttpApiServer {
  readonly #server: http.Server;
  readonly #region: string;
  readonly #accountId: string;
  #api: HttpApiConfig | undefined;
  #host: LambdaHost | undefined;
  /** Local-only read endpoints under `/_local/` (not part of the API, never deployed). */
  readonly #localEndpoints = new Map<string, (query: URLSearchParams) => unknown>();
  readonly #cache = new Map<string, CachedAuthorization>();

  constructor(options: { region: string; accountId: string }) {
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#server = http.createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        console.error("[local] HTTP API error:", error);
        if (!response.headersSent) send(response, message(500, "Internal Server Error"), "");
      });
    });
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Starts listening; returns the base URL (no trailing slash). */
  listen(port: number, hostname: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, hostname, () => {
        const address = this.#server.address() as AddressInfo;
        const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
        resolve(`http://${host}:${address.port}`);
      });
    });
  }

  serve(api: HttpApiConfig | undefined, host: LambdaHost): void {
    this.#api = api;
    this.#host = host;
  }

  /** Serves `GET <path>` (a path under `/_local/`) with the JSON that `read` returns for its query. */
  serveLocal(path: `/_local/${string}`, read: (query: URLSearchParams) => unknown): void {
    this.#localEndpoints.set(path, read);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = `${randomBytes(6).toString("base64url")}=`;
    const [localPath = "", query = ""] = (request.url ?? "").split("?", 2);
    const local = this.#localEndpoints.get(localPath);
    if (local !== undefined && request.method === "GET") {
      const body = Buffer.from(JSON.stringify(local(new URLSearchParams(query))));
      const headers = { "content-type": "application/json" };
      return send(response, { statusCode: 200, headers, cookies: [], body }, requestId);
    }
    const api = this.#api;
    const host = this.#host;
    if (host === undefined) return send(response, message(503, "Service Unavailable"), requestId);
    if (api === undefined) return send(response, message(404, "Not Found"), requestId);
    const body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === undefined) return send(response, message(413, "Request Entity Too Large"), requestId);

    const url = request.url ?? "/";
    const queryAt = url.indexOf("?");
    const fullPath = queryAt < 0 ? url : url.slice(0, queryAt);
    const facts: RequestFacts = {
      requestId,
      method: (request.method ?? "GET").toUpperCase(),
      rawPath: fullPath,
      rawQueryString: queryAt < 0 ? "" : url.slice(queryAt + 1),
      ...requestHeaders(request),
      body,
      sourceIp: (request.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
      protocol: `HTTP/${request.httpVersion}`,
      time: new Date(),
    };
    const corsHeaders = this.#corsHeaders(api, facts);
    if (corsHeaders.preflight !== undefined) {
      return send(
        response,
        { statusCode: 204, headers: corsHeaders.preflight, cookies: [], body: Buffer.alloc(0) },
        requestId,
      );
    }
    const reply = await this.#route(api, host, facts);
    send(response, { ...reply, headers: { ...corsHeaders.actual, ...reply.headers } }, requestId);
  }

  async #route(api: HttpApiConfig, host: LambdaHost, facts: RequestFacts): Promise<Reply> {
    if (api.stagePath !== "" && !`${facts.rawPath}/`.startsWith(`${api.stagePath}/`))
      return message(404, "Not Found");
    const path = facts.rawPath.slice(api.stagePath.length) || "/";
    const matched = matchRoute(api.routes, facts.method, path);
    if (matched === undefined) return message(404, "Not Found");
    const { route, pathParameters } = matched;
    const event = this.#event(api, route.routeKey, facts, path, pathParameters);

    let authorizerContext: Record<string, unknown> | undefined;
    if (route.authorizer !== undefined) {
      const decision = await this.#authorize(api, host, route.authorizer, event, facts);
      if (decision.reply !== undefined) return decision.reply;
      authorizerContext = decision.context;
    }
    if (authorizerContext !== undefined) {
      (event.requestContext as Record<string, unknown>).authorizer = authorizerContext;
    }
    if (Buffer.byteLength(JSON.stringify(event)) > MAX_SYNC_PAYLOAD_BYTES) {
      return message(413, "Request Entity Too Large");
    }
    const invocation = host.invoke(route.functionName, event);
    const timedOut = Symbol("timeout");
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      invocation,
      new Promise<typeof timedOut>((resolve) => {
        timer = setTimeout(() => resolve(timedOut), route.integrationTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === timedOut) return message(503, "Service Unavailable");
    if (!outcome.ok) return message(500, "Internal Server Error");
    return mapResponse(outcome.payload) ?? message(500, "Internal Server Error");
  }

  #event(
    api: HttpApiConfig,
    routeKey: string,
    facts: RequestFacts,
    path: string,
    pathParameters: Record<string, string>,
  ): Record<string, unknown> {
    const queryStringParameters = parseQuery(facts.rawQueryString);
    const hostHeader = facts.headers.host ?? "localhost";
    const domainName = hostHeader.replace(/:\d+$/, "");
    const base64 = facts.body.length > 0 && !isTextContent(facts.headers["content-type"]);
    return {
      version: "2.0",
      routeKey,
      rawPath: path,
      rawQueryString: facts.rawQueryString,
      ...(facts.cookies.length > 0 ? { cookies: facts.cookies } : {}),
      // API Gateway adds the scheme the caller used; the local API speaks plain HTTP.
      headers: { ...facts.headers, "x-forwarded-proto": "http" },
      ...(queryStringParameters === undefined ? {} : { queryStringParameters }),
      requestContext: {
        accountId: this.#accountId,
        apiId: api.apiId,
        domainName,
        domainPrefix: domainName.split(".")[0] ?? domainName,
        http: {
          method: facts.method,
          path,
          protocol: facts.protocol,
          sourceIp: facts.sourceIp,
          userAgent: facts.headers["user-agent"] ?? "",
        },
        requestId: facts.requestId,
        routeKey,
        stage: api.stage,
        time: clfTime(facts.time),
        timeEpoch: facts.time.getTime(),
      },
      ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
      ...(facts.body.length > 0 ? { body: facts.body.toString(base64 ? "base64" : "utf8") } : {}),
      isBase64Encoded: base64,
    };
  }

  async #authorize(
    api: HttpApiConfig,
    host: LambdaHost,
    authorizer: AuthorizerConfig,
    event: Record<string, unknown>,
    facts: RequestFacts,
  ): Promise<{ reply?: Reply; context?: Record<string, unknown> }> {
    const identity = authorizer.identitySource.map((source) => identityValue(source, event, facts));
    if (identity.some((value) => value === undefined || value === ""))
      return { reply: message(401, "Unauthorized") };
    const routeArn = `arn:aws:execute-api:${this.#region}:${this.#accountId}:${api.apiId}/${api.stage}/${facts.method}${event.rawPath as string}`;

    const cacheKey = `${authorizer.id}\n${JSON.stringify(identity)}`;
    const cached = this.#cache.get(cacheKey);
    let response = cached !== undefined && cached.expiresAt > Date.now() ? cached.response : undefined;
    if (response === undefined) {
      const { version: _version, ...request } = event;
      const result = await host.invoke(authorizer.functionName, {
        version: "2.0",
        type: "REQUEST",
        routeArn,
        identitySource: identity,
        ...request,
      });
      if (!result.ok || !isRecord(result.payload)) return { reply: message(500, "Internal Server Error") };
      response = result.payload;
      if (authorizer.ttlSeconds > 0) {
        this.#cache.set(cacheKey, { response, expiresAt: Date.now() + authorizer.ttlSeconds * 1_000 });
      }
    }
    const context = isRecord(response.context) ? response.context : {};
    if (authorizer.simpleResponses && "isAuthorized" in response) {
      if (typeof response.isAuthorized !== "boolean") return { reply: message(500, "Internal Server Error") };
      return response.isAuthorized ? { context: { lambda: context } } : { reply: message(403, "Forbidden") };
    }
    if (!isRecord(response.policyDocument)) return { reply: message(500, "Internal Server Error") };
    if (!policyAllows(response.policyDocument, routeArn)) return { reply: message(403, "Forbidden") };
    return {
      context: {
        lambda: context,
        ...(typeof response.principalId === "string" ? { principalId: response.principalId } : {}),
      },
    };
  }

  #corsHeaders(
    api: HttpApiConfig,
    facts: RequestFacts,
  ): { preflight?: Record<string, string>; actual: Record<string, string> } {
    const cors = api.cors;
    const origin = facts.headers.origin;
    if (cors === undefined || origin === undefined) return { actual: {} };
    const allowed = cors.allowOrigins.includes("*") || cors.allowOrigins.includes(origin);
    if (!allowed) return { actual: {} };
    const allowOrigin = cors.allowOrigins.includes("*") && !cors.allowCredentials ? "*" : origin;
    const common: Record<string, string> = { "access-control-allow-origin": allowOrigin };
    if (cors.allowCredentials) common["access-control-allow-credentials"] = "true";
    if (facts.method === "OPTIONS" && facts.headers["access-control-request-method"] !== undefined) {
      const preflight = { ...common };
      if (cors.allowMethods.length > 0)
        preflight["access-control-allow-methods"] = cors.allowMethods.join(",");
      if (cors.allowHeaders.length > 0)
        preflight["access-control-allow-headers"] = cors.allowHeaders.join(",");
      if (cors.maxAge !== undefined) preflight["access-control-max-age"] = String(cors.maxAge);
      return { preflight, actual: common };
    }
    if (cors.exposeHeaders.length > 0) common["access-control-expose-headers"] = cors.exposeHeaders.join(",");
    return { actual: common };
  }
}

/** Maps a payload-2.0 function result to HTTP, or undefined when it is malformed (a 500). */
export function mapResponse(payload: unknown): Reply | undefined {
  if (!isRecord(payload) || !("statusCode" in payload)) {
    const body = typeof payload === "string" ? payload : JSON.stringify(payload);
    return {
      statusCode: 200,
      headers: { "content-type": "application/json" },
      cookies: [],
      body: Buffer.from(body),
    };
  }
  const statusCode = Number(payload.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  const headers: Record<string, string> = {};
  if (isRecord(payload.multiValueHeaders)) {
    for (const [name, values] of Object.entries(payload.multiValueHeaders)) {
      if (Array.isArray(values)) headers[name.toLowerCase()] = values.map(String).join(", ");
    }
  }
  if (isRecord(payload.headers)) {
    for (const [name, value] of Object.entries(payload.headers)) headers[name.toLowerCase()] = String(value);
  }
  const cookies = Array.isArray(payload.cookies) ? payload.cookies.map(String) : [];
  const rawBody = payload.body === undefined || payload.body === null ? "" : payload.body;
  const text = typeof rawBody === "string" ? rawBody : JSON.stringify(rawBody);
  const base64 = payload.isBase64Encoded === true;
  return { statusCode, headers, cookies, body: Buffer.from(text, base64 ? "base64" : "utf8") };
}

/** Whether an IAM policy returned by an authorizer allows `execute-api:Invoke` on the route ARN. */
export function policyAllows(policy: Record<string, unknown>, routeArn: string): boolean {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  const applies = (statement: Record<string, unknown>) => {
    const actions = [statement.Action].flat().map(String);
    const resources = [statement.Resource].flat().map(String);
    return (
      actions.some((action) => wildcard(action, "execute-api:Invoke")) &&
      resources.some((resource) => wildcard(resource, routeArn))
    );
  };
  const relevant = statements.filter(isRecord).filter(applies);
  if (relevant.some((statement) => statement.Effect === "Deny")) return false;
  return relevant.some((statement) => statement.Effect === "Allow");
}

function wildcard(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${regex}$`).test(value);
}

function identityValue(
  source: string,
  event: Record<string, unknown>,
  facts: RequestFacts,
): string | undefined {
  const header = /^\$request\.header\.(.+)$/.exec(source)?.[1];
  if (header !== undefined) return facts.headers[header.toLowerCase()];
  const query = /^\$request\.querystring\.(.+)$/.exec(source)?.[1];
  if (query !== undefined)
    return (event.queryStringParameters as Record<string, string> | undefined)?.[query];
  const contextKey = /^\$context\.(.+)$/.exec(source)?.[1];
  if (contextKey !== undefined) {
    const value = (event.requestContext as Record<string, unknown>)[contextKey];
    return value === undefined ? undefined : String(value);
  }
  return undefined;
}

/** Lower-case headers, repeated ones joined with commas as API Gateway does; cookies apart. */
function requestHeaders(request: IncomingMessage): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const raw = request.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = (raw[index] ?? "").toLowerCase();
    const value = raw[index + 1] ?? "";
    if (name === "cookie") {
      cookies.push(
        ...value
          .split(";")
          .map((cookie) => cookie.trim())
          .filter((cookie) => cookie !== ""),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const sourceIp = (request.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${sourceIp}`
    : sourceIp;
  headers["x-forwarded-proto"] = "http";
  headers["x-forwarded-port"] = String(request.socket.localPort ?? "");
  headers["x-amzn-trace-id"] ??=
    `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
  return { headers, cookies };
}

function parseQuery(raw: string): Record<string, string> | undefined {
  if (raw === "") return undefined;
  const parameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    parameters[key] = parameters[key] === undefined ? value : `${parameters[key]},${value}`;
  }
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

const TEXT_TYPES = [
  /^text\//,
  /^application\/([\w.+-]+\+)?json\b/,
  /^application\/([\w.+-]+\+)?xml\b/,
  /^application\/(javascript|x-www-form-urlencoded|graphql|x-ndjson|yaml)\b/,
];

function isTextContent(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.toLowerCase().trim();
  return TEXT_TYPES.some((pattern) => pattern.test(type));
}

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function clfTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function message(statusCode: number, text: string): Reply {
  return {
    statusCode,
    headers: { "content-type": "application/json" },
    cookies: [],
    body: Buffer.from(JSON.stringify({ message: text })),
  };
}

function send(response: ServerResponse, reply: Reply, requestId: string): void {
  const headers: http.OutgoingHttpHeaders = { ...reply.headers, "content-length": reply.body.length };
  if (requestId !== "") headers["apigw-requestid"] = requestId;
  if (reply.cookies.length > 0) headers["set-cookie"] = [...reply.cookies];
  response.writeHead(reply.statusCode, headers);
  response.end(reply.body);
}

/** The body, or undefined when it exceeds `limit` bytes. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > limit) {
      request.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners("data");
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}
