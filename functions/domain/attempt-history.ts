/**
 * The bounded attempt history of a delivery. A record keeps its first `HISTORY_HEAD` attempts (the
 * ones that say how a delivery started to fail) and its last `HISTORY_TAIL` (how it is doing now), and
 * counts the rest, so that no schedule and no number of manual retries takes an item past DynamoDB's
 * 400 KB. Attempt numbers run on across manual retries and each is recorded once, in order (the store
 * writes attempt n only over a record of n - 1 attempts), so the slot of an attempt follows from its
 * number alone: one write per attempt, no read, no rewrite of the list.
 */
import type { AttemptRecord } from "./model.ts";

/** The first attempts of a delivery, always kept. */
export const HISTORY_HEAD = 5;
/** The latest attempts of a delivery, kept as a ring: attempt n overwrites attempt n - HISTORY_TAIL. */
export const HISTORY_TAIL = 20;

/** How much of a receiver's response body is kept on an attempt, in UTF-8 bytes. */
export const RESPONSE_BODY_LIMIT_BYTES = 1024;
/** How much of an attempt's error is kept, in UTF-8 bytes. */
export const ATTEMPT_ERROR_LIMIT_BYTES = 1024;

/** Where attempt number `attempt` (1 for the first) is written. */
export type HistorySlot =
  | { readonly list: "head" }
  /** The first tail attempt starts the ring. */
  | { readonly list: "tail"; readonly start: true }
  | { readonly list: "tail"; readonly start: false; readonly index: number };

export function historySlot(attempt: number): HistorySlot {
  if (attempt <= HISTORY_HEAD) return { list: "head" };
  const index = (attempt - HISTORY_HEAD - 1) % HISTORY_TAIL;
  return attempt === HISTORY_HEAD + 1 ? { list: "tail", start: true } : { list: "tail", start: false, index };
}

/** The kept attempts in order, and how many of `attemptCount` are no longer kept. */
export function keptAttempts(
  head: readonly AttemptRecord[],
  tail: readonly AttemptRecord[],
  attemptCount: number,
): { readonly attempts: AttemptRecord[]; readonly omitted: number } {
  const attempts = [...head, ...[...tail].sort((a, b) => a.attempt - b.attempt)];
  return { attempts, omitted: Math.max(0, attemptCount - attempts.length) };
}

/**
 * `text` cut to at most `maxBytes` of UTF-8, on a character boundary: a cut never leaves half a
 * character (which would decode as U+FFFD, 3 bytes, and grow the excerpt instead of bounding it).
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: shorter strings need no measuring.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) to the start of the character the limit cuts through.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** An attempt as it is stored: its response excerpt and error bounded in bytes. */
export function boundedAttempt(attempt: AttemptRecord): AttemptRecord {
  return {
    ...attempt,
    responseBody: truncateUtf8(attempt.responseBody, RESPONSE_BODY_LIMIT_BYTES),
    ...(attempt.error === undefined ? {} : { error: truncateUtf8(attempt.error, ATTEMPT_ERROR_LIMIT_BYTES) }),
  };
}
