import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";
import { RESPONSE_BODY_LIMIT_BYTES, truncateUtf8 } from "../domain/attempt-history.ts";
import type { SendWebhook } from "../domain/deliver.ts";
import { connectionRefusalReason, type EndpointPolicy } from "../domain/endpoint-url.ts";

class RefusedAddressError extends Error {
  readonly code = "EHOOKLINEREFUSED";
}

/**
 * A DNS lookup that refuses forbidden addresses. It runs for the connection actually being made, so a
 * name that resolved to a public address at registration and to an internal one now (DNS rebinding)
 * is still refused.
 */
function guardedLookup(policy: EndpointPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 4);
      const refused = addresses
        .map((entry) => connectionRefusalReason(entry.address, policy))
        .find((reason) => reason !== undefined);
      if (refused) return callback(new RefusedAddressError(refused), "", 4);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new RefusedAddressError(`host ${hostname} has no address`), "", 4);
      return callback(null, first.address, first.family);
    });
  };
}

function describeError(error: Error & { code?: string }): string {
  if (error instanceof RefusedAddressError) return `refused: ${error.message}`;
  switch (error.code) {
    case "ENOTFOUND":
      return "DNS lookup failed: host not found";
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset by the receiver";
    case "ETIMEDOUT":
    case "ABORT_ERR":
      return "timed out";
    default:
      return error.code ? `${error.code}: ${error.message}` : error.message;
  }
}

/** A kept-alive connection idle this long may have been closed by the receiver (servers keep them 5 s or more). */
const STALE_AFTER_IDLE_MS = 1_000;

/**
 * POSTs a webhook with Node's own HTTP client: redirects are never followed, the whole exchange has a
 * deadline, at most 1 KB of the response is kept, and every connection goes through the guarded lookup.
 * Connections are kept alive between invocations of a warm function.
 */
export function httpSender(policy: EndpointPolicy): SendWebhook {
  const lookup = guardedLookup(policy);
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets: 50 }),
    "https:": new https.Agent({ keepAlive: true, maxSockets: 50 }),
  };
  // When each kept-alive socket last went back to its pool: only one that sat idle can have been closed
  // by the receiver meanwhile.
  const idleSince = new WeakMap<object, number>();
  for (const pooled of Object.values(agents)) {
    pooled.on("free", (socket) => idleSince.set(socket, performance.now()));
  }
  const freshConnection = {
    "http:": new http.Agent({ keepAlive: false }),
    "https:": new https.Agent({ keepAlive: false }),
  };
  return (request) =>
    new Promise((resolve) => {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const url = new URL(request.url);
      const hostname = url.hostname.replace(/^\[|\]$/g, "");
      if (isIP(hostname)) {
        const refused = connectionRefusalReason(hostname, policy);
        if (refused) return resolve({ responseBody: "", durationMs: 0, error: `refused: ${refused}` });
      }
      const transport = url.protocol === "https:" ? https : http;
      const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
      let settled = false;
      const finish = (result: {
        statusCode?: number;
        responseBody?: string;
        error?: string;
        retryAfter?: string;
      }) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve({
          ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
          responseBody: result.responseBody ?? "",
          durationMs: elapsed(),
          ...(result.error === undefined ? {} : { error: result.error }),
          ...(result.retryAfter === undefined ? {} : { retryAfter: result.retryAfter }),
        });
      };
      let outgoing: http.ClientRequest | undefined;
      const deadline = setTimeout(() => {
        outgoing?.destroy();
        finish({ error: `timed out after ${request.timeoutMs} ms` });
      }, request.timeoutMs);
      const send = (via: http.Agent) => {
        try {
          outgoing = transport.request(url, {
            method: "POST",
            agent: via,
            lookup,
            headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
          });
        } catch (error) {
          // Node checks the headers as it builds the request and throws (ERR_INVALID_CHAR...): that is
          // an attempt that failed, and must not escape from here, nor from the error listener below
          // that sends once more.
          const reason = error instanceof Error ? error.message : String(error);
          finish({ error: `the request could not be sent: ${reason}` });
          return;
        }
        const sent = outgoing;
        let idleMs = 0;
        sent.on("socket", (socket) => {
          const freed = idleSince.get(socket);
          idleMs = freed === undefined ? 0 : performance.now() - freed;
        });
        sent.on("error", (error: Error & { code?: string }) => {
          // A kept-alive connection the receiver closed while it sat idle (or while a Lambda environment
          // was frozen) fails as soon as it is used, before the receiver reads anything: Node's documented
          // remedy is to send once more, here on a new connection. A reset on a connection in steady use
          // is the receiver's own answer, and is not sent again.
          const stale = sent.reusedSocket && idleMs >= STALE_AFTER_IDLE_MS;
          if (!settled && stale && error.code === "ECONNRESET" && via === agent) {
            send(freshConnection[url.protocol === "https:" ? "https:" : "http:"]);
            return;
          }
          finish({ error: describeError(error) });
        });
        sent.on("response", (response) => onResponse(response));
        sent.end(request.body);
      };
      const onResponse = (response: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on("data", (chunk: Buffer) => {
          if (kept < RESPONSE_BODY_LIMIT_BYTES) {
            chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT_BYTES - kept));
            kept += chunk.length;
          }
        });
        const retryAfter = response.headers["retry-after"];
        const done = () =>
          finish({
            statusCode: response.statusCode ?? 0,
            ...(retryAfter === undefined ? {} : { retryAfter }),
            // Bytes that are not UTF-8 decode as U+FFFD, three bytes each: the excerpt is bounded again
            // after decoding, on a character boundary.
            responseBody: truncateUtf8(
              Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT_BYTES).toString("utf8"),
              RESPONSE_BODY_LIMIT_BYTES,
            ),
          });
        response.on("end", done);
        // The status is what counts; a receiver that resets after answering still answered.
        response.on("error", done);
        response.on("aborted", done);
      };
      send(agent);
    });
}
