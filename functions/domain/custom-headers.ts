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

/**
 * An HTTP field value as RFC 9110 defines it for what Hookline sends: visible ASCII, space and tab.
 * Anything else (non-ASCII text, control characters, DEL) is refused by Node's HTTP client when the
 * request is built, or read differently by each receiver.
 */
export const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Leading or trailing whitespace is not part of a field value (RFC 9110 §5.5): a receiver would see
 * the value trimmed. It is refused rather than trimmed, so what is stored is exactly what is sent.
 */
const PADDED = /^[\t ]|[\t ]$/;

/**
 * Names Hookline sets itself or that would change how the request is framed or forwarded, compared
 * case-insensitively: the Standard Webhooks headers (any `webhook-*`); those describing the request
 * and the body Hookline signs (`host`, `user-agent`, any `content-*`); the hop-by-hop headers (RFC 9110
 * §7.6.1, with the older `Trailers` and HTTP/2's `HTTP2-Settings`) and any `proxy-*`. Letting a tenant set one would let it smuggle a second request
 * past a proxy (`Transfer-Encoding` with `Content-Length`), hang up the connection or break the send.
 */
const RESERVED_NAMES = new Set([
  "host",
  "user-agent",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "trailers",
  "expect",
  "http2-settings",
]);
const RESERVED_PREFIXES = ["webhook-", "proxy-", "content-"];

export function isReservedHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_NAMES.has(lower) || RESERVED_PREFIXES.some((prefix) => lower.startsWith(prefix));
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
      problems.push({
        path: at,
        message: `"${name}" is set by Hookline or by the connection and cannot be given`,
      });
    } else if (seen.has(name.toLowerCase())) {
      problems.push({ path: at, message: "the same header is given twice (names are case-insensitive)" });
    }
    seen.add(name.toLowerCase());
    if (typeof value !== "string") {
      problems.push({ path: at, message: "a header value must be a string" });
    } else if (!HEADER_VALUE.test(value)) {
      problems.push({
        path: at,
        message: "a header value holds only visible ASCII characters, spaces and tabs",
      });
    } else if (PADDED.test(value)) {
      problems.push({ path: at, message: "a header value cannot start or end with whitespace" });
    } else if (value.length > MAX_HEADER_VALUE_LENGTH) {
      problems.push({ path: at, message: `a header value is at most ${MAX_HEADER_VALUE_LENGTH} characters` });
    }
  }
  return problems;
}
