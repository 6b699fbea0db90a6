/**
 * Typed domain errors. Each carries a stable `code` that the API maps to an HTTP status in one place
 * (`functions/api/http.ts`); domain code never knows about HTTP.
 */

export interface ErrorDetail {
  /** Where in the request the problem is, e.g. `event_types[0]`. */
  readonly path: string;
  readonly message: string;
}

export abstract class HooklineError extends Error {
  abstract readonly code: string;
  readonly details: readonly ErrorDetail[];

  constructor(message: string, details: readonly ErrorDetail[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The request is well-formed but its content is not acceptable. */
export class ValidationError extends HooklineError {
  readonly code = "validation_error";
}

/** An endpoint URL fails the endpoint safety checks (scheme, credentials, port, allowlist, address). */
export class UnsafeUrlError extends HooklineError {
  readonly code = "validation_error";

  constructor(reason: string, path = "url") {
    super(`url is not allowed: ${reason}`, [{ path, message: reason }]);
  }
}

/** The resource does not exist, or belongs to another tenant: callers cannot tell the two apart. */
export class NotFoundError extends HooklineError {
  readonly code = "not_found";
}

/** The request is valid but the resource's state does not allow it now. */
export class ConflictError extends HooklineError {
  readonly code = "conflict";
}

/** The API key is unknown, revoked or malformed (the authorizer said so; see functions/http/http.ts). */
export class InvalidApiKeyError extends HooklineError {
  readonly code = "invalid_api_key";
}

/** The request body is not valid JSON. */
export class MalformedJsonError extends HooklineError {
  readonly code = "invalid_json";
}

/** The request body is not JSON at all. */
export class UnsupportedMediaTypeError extends HooklineError {
  readonly code = "unsupported_media_type";
}

export class PayloadTooLargeError extends HooklineError {
  readonly code = "payload_too_large";
}

/** The caller is over a rate limit; it may try again after `retryAfterSeconds`. */
export class RateLimitedError extends HooklineError {
  readonly code = "rate_limited";

  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The request would take the caller past a quota of its account. */
export class LimitExceededError extends HooklineError {
  readonly code = "limit_exceeded";
}

/** The caller is known but its credential does not allow this request (a portal link's scope). */
export class ForbiddenError extends HooklineError {
  readonly code = "forbidden";
}
