/**
 * The HTTP edge the API entry points share (the management API, ingest, the authorizer; the CLI reads
 * its schemas): request parsing, JSON bodies, and the one place typed errors become HTTP responses.
 */
import type { MiddlewareObj } from "@middy/core";
import httpJsonBodyParser from "@middy/http-json-body-parser";
import type {
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import type * as z from "zod";
import { logger } from "../adapters/logger.ts";
import {
  ForbiddenError,
  HooklineError,
  InvalidApiKeyError,
  MalformedJsonError,
  RateLimitedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../domain/errors.ts";
import type { PortalScope } from "../domain/portal-token.ts";
import { FALLBACK_ROUTE } from "../shared/names.ts";

/** What the API Lambda authorizer puts in the request context for a key it knows. */
export interface TenantContext {
  readonly tenantId: string;
}

/**
 * What it puts there for a key it does not know. An HTTP API's Lambda authorizer cannot shape its
 * refusal (a deny is API Gateway's bare `403 {"message":"Forbidden"}`, and HTTP APIs have no gateway
 * responses), so it allows the request with this flag and `refuseInvalidKeys` answers `401` in the
 * API's error shape before any other work: the price is one short invocation of the route's function
 * per refused request (the authorizer's answer is cached like any other, so the key is looked up once
 * per cache period).
 */
export interface RefusedContext {
  readonly refused: "invalid_api_key";
}

/**
 * What it puts there for a valid portal link's token: the tenant and the token's scope as JSON
 * (authorizer context values are strings), which `callerOf` reads and the management function checks
 * route by route (domain/portal-token.ts).
 */
export interface PortalContext {
  readonly tenantId: string;
  readonly portalScope: string;
}

export type AuthorizerContext = TenantContext | PortalContext | RefusedContext;

/** Who is calling: a tenant's API key, or a portal link's token with its scope. */
export interface Caller {
  readonly tenantId: string;
  readonly portal?: PortalScope;
}

export type ApiEvent = Omit<APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>, "body"> & {
  body?: unknown;
};
export type ApiResult = APIGatewayProxyStructuredResultV2;

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  validation_error: 400,
  invalid_json: 400,
  invalid_api_key: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  limit_exceeded: 422,
  rate_limited: 429,
};

export function json(statusCode: number, body: unknown): ApiResult {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

export function noContent(): ApiResult {
  return { statusCode: 204 };
}

/** The one error shape of the API: `{"error": {"code", "message", "details"}}`. */
export function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  details: readonly unknown[] = [],
) {
  return json(statusCode, { error: { code, message, details } });
}

const INVALID_KEY_MESSAGE =
  "the API key is unknown, revoked or malformed: send Authorization: Bearer <key> with a key of this deployment";

/**
 * The tenant of a caller with an API key, as established by the authorizer. A portal token is refused
 * here, so every route that does not read `callerOf` (publishing, for one) is closed to portal links.
 */
export function tenantOf(event: ApiEvent): string {
  const caller = callerOf(event);
  if (caller.portal !== undefined) {
    throw new ForbiddenError(`a portal link's token is not accepted by ${event.routeKey}: use an API key`);
  }
  return caller.tenantId;
}

/** The caller as established by the authorizer, a portal token's scope included. */
export function callerOf(event: ApiEvent): Caller {
  const context = event.requestContext.authorizer.lambda;
  if ("refused" in context) throw new InvalidApiKeyError(INVALID_KEY_MESSAGE);
  if (!("portalScope" in context)) return { tenantId: context.tenantId };
  return { tenantId: context.tenantId, portal: JSON.parse(context.portalScope) as PortalScope };
}

/**
 * Where the caller reached the API, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`: API Gateway
 * passes the scheme in `x-forwarded-proto` and the host as the caller wrote it.
 */
export function requestOrigin(event: ApiEvent): string {
  const headers = event.headers ?? {};
  const scheme = headers["x-forwarded-proto"] === "http" ? "http" : "https";
  return `${scheme}://${headers.host ?? event.requestContext.domainName}`;
}

/**
 * Answers a request the authorizer refused (see `RefusedContext`) with `401 invalid_api_key`, first,
 * so that it costs no body parsing, no store read, and says nothing about the route.
 */
export function refuseInvalidKeys(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    before: (request) => {
      const context = request.event.requestContext.authorizer?.lambda;
      if (context !== undefined && "refused" in context) {
        return errorResponse(401, "invalid_api_key", INVALID_KEY_MESSAGE);
      }
      return undefined;
    },
  };
}

function isHttpError(error: unknown): error is Error & { statusCode: number } {
  return error instanceof Error && typeof (error as { statusCode?: unknown }).statusCode === "number";
}

/** Maps every error to the API's error shape, in one place; anything unexpected is a logged 500. */
export function httpErrors(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    onError: (request) => {
      let error = request.error;
      if (isHttpError(error) && error.statusCode === 415) {
        error = new UnsupportedMediaTypeError("request body must be JSON (content-type: application/json)");
      } else if (isHttpError(error) && error.statusCode === 422) {
        error = new MalformedJsonError("request body is not valid JSON");
      }
      if (error instanceof HooklineError) {
        request.response = errorResponse(
          STATUS_BY_CODE[error.code] ?? 400,
          error.code,
          error.message,
          error.details,
        );
        if (error instanceof RateLimitedError) {
          request.response.headers = {
            ...request.response.headers,
            "retry-after": String(error.retryAfterSeconds),
          };
        }
        return;
      }
      logger.error("unexpected error", { error });
      request.response = errorResponse(
        500,
        "internal_error",
        "internal error; the request was not completed",
      );
    },
  };
}

/** Parses JSON bodies, but only on requests that carry one, so GET, DELETE and empty POSTs need no content type. */
export function jsonBodies(): MiddlewareObj<ApiEvent, ApiResult> {
  const parser = httpJsonBodyParser();
  return {
    before: async (request) => {
      const method = request.event.requestContext.http.method;
      // A request no route took is answered 404/405 whatever its body.
      if (request.event.routeKey === FALLBACK_ROUTE) return;
      if (method === "GET" || method === "DELETE" || method === "HEAD") return;
      // A POST that carries nothing (e.g. a retry) needs no content type; routes that need a body say so.
      if (request.event.body === undefined || request.event.body === "") return;
      await parser.before?.(request as never);
    },
  };
}

/** Validates a parsed value against a schema, turning zod's issues into the API's error details. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));
  throw new ValidationError(
    `${what} is not valid: ${details.map((d) => `${d.path || "(root)"}: ${d.message}`).join("; ")}`,
    details,
  );
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : `${index === 0 ? "" : "."}${String(segment)}`,
    )
    .join("");
}
