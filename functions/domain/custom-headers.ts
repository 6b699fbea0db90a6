/**
 * Custom request headers a webhook sends with every delivery, and the limits on them and on a
 * webhook's metadata. Pure: the API schema and the domain both use these checks.
 */
import type { ErrorDetail } from "./errors.ts";

export const MAX_CUSTOM_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 100;
export const MAX_HEADER_VALUE_LENGTH = 1000;

export const MAX_METADATA_ENTRIES = 20;
export const MAX_METADATA_KEY_LENGTH = 64;
export const MAX_METADATA_VALUE_LENGTH = 512;

/** An HTTP field name (RFC 9110 `token`): it can hold no whitespace, colon, CR or LF. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A field value without CR, LF or NUL, so it cannot split the request or add a header. */
export const HEADER_VALUE = /^[^\r\n\0]*$/;

/**
 * Names Hookline sets itself, compared case-insensitively: the Standard Webhooks headers (any
 * `webhook-*`), and those that describe the request or its body.
 */
const RESERVED_NAMES = new Set(["content-type", "content-length", "host", "user-agent"]);
const RESERVED_PREFIX = "webhook-";

export function isReservedHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_NAMES.has(lower) || lower.startsWith(RESERVED_PREFIX);
}

/** Every problem of a custom header map, each with its path in the request (`headers.X-Name`). */
export function customHeaderProblems(
  headers: Readonly<Record<string, string>>,
  path = "headers",
): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const entries = Object.entries(headers);
  if (entries.length > MAX_CUSTOM_HEADERS) {
    problems.push({ path, message: `at most ${MAX_CUSTOM_HEADERS} headers` });
  }
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    const at = `${path}.${name}`;
    if (name.length === 0 || name.length > MAX_HEADER_NAME_LENGTH) {
      problems.push({ path: at, message: `a header name is 1-${MAX_HEADER_NAME_LENGTH} characters` });
    } else if (!HEADER_NAME.test(name)) {
      problems.push({ path: at, message: "not a valid header name (letters, digits and !#$%&'*+.^_`|~-)" });
    } else if (isReservedHeaderName(name)) {
      problems.push({ path: at, message: `"${name}" is set by Hookline and cannot be overridden` });
    } else if (seen.has(name.toLowerCase())) {
      problems.push({ path: at, message: "the same header is given twice (names are case-insensitive)" });
    }
    seen.add(name.toLowerCase());
    if (typeof value !== "string") {
      problems.push({ path: at, message: "a header value must be a string" });
    } else if (!HEADER_VALUE.test(value)) {
      problems.push({ path: at, message: "a header value cannot contain CR, LF or NUL" });
    } else if (value.length > MAX_HEADER_VALUE_LENGTH) {
      problems.push({ path: at, message: `a header value is at most ${MAX_HEADER_VALUE_LENGTH} characters` });
    }
  }
  return problems;
}
