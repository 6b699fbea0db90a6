/**
 * When a failed delivery is tried again, and when it gives up.
 *
 * A schedule is the list of delays that follow each failed attempt: with `[1, 5, 30, 300, 1800]` the
 * first attempt is made at once, the second 1 s after the first fails, ... and the sixth 30 min after
 * the fifth fails; when the sixth fails too the delivery is dead-lettered. A schedule of N delays
 * therefore allows N + 1 attempts. Every delay is jittered by ±20 % so that a receiver that comes back
 * is not hit by every pending delivery at the same instant.
 *
 * Pure: the clock and the random source are parameters.
 */
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  MAX_SCHEDULE_ENTRIES,
  MAX_SCHEDULE_HORIZON_SECONDS,
  parseRetrySchedule,
  retryScheduleProblems,
} from "../shared/retry-policy.ts";
import { ValidationError } from "./errors.ts";

export {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  MAX_SCHEDULE_ENTRIES,
  MAX_SCHEDULE_HORIZON_SECONDS,
  parseRetrySchedule,
};

/** Each delay is drawn from `[base × (1 − JITTER), base × (1 + JITTER)]`. */
export const JITTER = 0.2;

/** Attempts a schedule allows in all: the first one plus one after each delay. */
export function maxAttempts(schedule: readonly number[]): number {
  return schedule.length + 1;
}

/** Throws a ValidationError listing every problem of the schedule (see `retryScheduleProblems`). */
export function validateRetrySchedule(seconds: readonly number[], path = "retry_schedule_seconds"): void {
  const details = retryScheduleProblems(seconds, path);
  if (details.length > 0) {
    throw new ValidationError(`the retry schedule is not valid (${details.length} problem(s))`, details);
  }
}

/**
 * How one attempt ended:
 * - `delivered` — a 2xx;
 * - `retryable` — no response at all (DNS, refused connection, TLS, timeout), 408, 425, 429 or any 5xx;
 * - `gone` — 410: the receiver asks for the endpoint to be disabled (Standard Webhooks);
 * - `permanent` — anything else: 1xx, 3xx (redirects are never followed), the other 4xx.
 */
export type AttemptClass = "delivered" | "retryable" | "permanent" | "gone";

const RETRYABLE_CLIENT_ERRORS: ReadonlySet<number> = new Set([408, 425, 429]);

export function classifyAttempt(statusCode: number | undefined): AttemptClass {
  if (statusCode === undefined) return "retryable";
  if (statusCode >= 200 && statusCode <= 299) return "delivered";
  if (statusCode === 410) return "gone";
  if (RETRYABLE_CLIENT_ERRORS.has(statusCode) || (statusCode >= 500 && statusCode <= 599)) {
    return "retryable";
  }
  return "permanent";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** `Sun, 06 Nov 1994 08:49:37 GMT` — the preferred form. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` — obsolete, but recipients must accept it. */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` — ANSI C asctime(), obsolete, but recipients must accept it. */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Seconds a `Retry-After` header asks to wait: either delta-seconds (a non-negative integer) or an
 * HTTP-date in any of the three forms RFC 9110 requires recipients to accept, counted from `now` and
 * rounded up to whole seconds (0 for a date in the past). Undefined when the header is missing or is
 * neither form — a receiver's garbage never fails a delivery.
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), Number.MAX_SAFE_INTEGER);
  const date = parseHttpDate(text, now);
  if (date === undefined) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/** Epoch milliseconds of an HTTP-date, or undefined when `text` is not one or names no real instant. */
function parseHttpDate(text: string, now: Date): number | undefined {
  let match = IMF_FIXDATE.exec(text);
  if (match) return utc(Number(match[3]), match[2], match[1], match[4], match[5], match[6]);
  match = RFC850_DATE.exec(text);
  if (match) {
    return utc(fullYear(Number(match[3]), now), match[2], match[1], match[4], match[5], match[6]);
  }
  match = ASCTIME_DATE.exec(text);
  if (match) return utc(Number(match[6]), match[1], match[2], match[3], match[4], match[5]);
  return undefined;
}

/**
 * A two-digit year that would be more than 50 years in the future is the most recent past year with
 * the same last two digits (RFC 9110 §5.6.7).
 */
function fullYear(twoDigits: number, now: Date): number {
  const currentYear = now.getUTCFullYear();
  const century = currentYear - (currentYear % 100);
  const year = century + twoDigits;
  return year > currentYear + 50 ? year - 100 : year;
}

function utc(
  year: number,
  monthName: string | undefined,
  dayText: string | undefined,
  hourText: string | undefined,
  minuteText: string | undefined,
  secondText: string | undefined,
): number | undefined {
  const month = MONTHS.indexOf(monthName ?? "");
  const day = Number(dayText?.trim());
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  // 60 is a leap second, which the grammar allows and Date cannot hold: it rolls over to the next minute.
  if (month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  // Date rolls 30 Feb over to 1 or 2 Mar; such a date is not a real one.
  if (date.getUTCDate() !== day) return undefined;
  return date.setUTCHours(hour, minute, second);
}

/**
 * `base × (1 + (2r − 1) × JITTER)` for `r = random()` in [0, 1): within ±20 % of `base`, fractional,
 * and never less than 1 second. A `random` that strays outside [0, 1] is clamped into it.
 */
export function jitteredDelaySeconds(baseSeconds: number, random: () => number): number {
  const drawn = random();
  const r = Number.isFinite(drawn) ? Math.min(Math.max(drawn, 0), 1) : 0.5;
  return Math.max(1, baseSeconds * (1 + (2 * r - 1) * JITTER));
}

/**
 * The delay before the next attempt, after `attemptsMade` attempts (≥ 1) have all failed in a way
 * worth retrying; undefined when the schedule is exhausted (`attemptsMade > schedule.length`) and the
 * delivery should be dead-lettered.
 *
 * The delay is the jittered `schedule[attemptsMade − 1]`. A receiver's `Retry-After` replaces the
 * jitter, raised to at least 1 s and capped at that entry's ceiling (`base × 1.2`): a receiver can ask
 * for a shorter wait or a somewhat longer one, but cannot stretch the schedule or park a delivery for
 * days. A NaN `retryAfterSeconds` counts as absent.
 */
export function nextRetry(
  schedule: readonly number[],
  attemptsMade: number,
  random: () => number,
  retryAfterSeconds?: number,
): { delaySeconds: number } | undefined {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be a whole number ≥ 1; got ${attemptsMade}`);
  }
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return undefined;
  if (retryAfterSeconds !== undefined && !Number.isNaN(retryAfterSeconds)) {
    return { delaySeconds: Math.min(Math.max(retryAfterSeconds, 1), base * (1 + JITTER)) };
  }
  return { delaySeconds: jitteredDelaySeconds(base, random) };
}

/** The whole seconds a Step Functions Wait state should wait (`SecondsPath` needs a positive integer). */
export function waitSecondsFor(delaySeconds: number): number {
  return Math.max(1, Math.round(delaySeconds));
}
