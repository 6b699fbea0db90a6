import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/domain/errors.ts";
import {
  type AttemptClass,
  classifyAttempt,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  JITTER,
  jitteredDelaySeconds,
  MAX_SCHEDULE_ENTRIES,
  MAX_SCHEDULE_HORIZON_SECONDS,
  maxAttempts,
  nextRetry,
  parseRetryAfter,
  parseRetrySchedule,
  validateRetrySchedule,
  waitSecondsFor,
} from "../../functions/domain/retry-schedule.ts";

/** A random source in [0, 1), as Math.random gives. */
const unitInterval = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const schedule = fc.array(fc.integer({ min: 1, max: 86_400 }), {
  minLength: 1,
  maxLength: MAX_SCHEDULE_ENTRIES,
});

function validationDetails(seconds: readonly number[]): readonly { path: string; message: string }[] {
  try {
    validateRetrySchedule(seconds);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).details;
  }
  throw new Error("expected a ValidationError");
}

describe("classifyAttempt", () => {
  const cases: [number | undefined, AttemptClass][] = [
    [200, "delivered"],
    [204, "delivered"],
    [299, "delivered"],
    [undefined, "retryable"],
    [408, "retryable"],
    [425, "retryable"],
    [429, "retryable"],
    [500, "retryable"],
    [502, "retryable"],
    [503, "retryable"],
    [504, "retryable"],
    [599, "retryable"],
    [410, "gone"],
    [100, "permanent"],
    [301, "permanent"],
    [302, "permanent"],
    [308, "permanent"],
    [400, "permanent"],
    [401, "permanent"],
    [404, "permanent"],
    [409, "permanent"],
    [413, "permanent"],
    [422, "permanent"],
  ];

  it.each(cases)("classifies %s as %s", (statusCode, expected) => {
    expect(classifyAttempt(statusCode)).toBe(expected);
  });
});

describe("parseRetryAfter", () => {
  const now = new Date("2024-01-01T00:00:00.000Z");

  it.each([
    ["120", 120],
    ["0", 0],
    [" 30 ", 30],
  ])("reads delta-seconds %j as %d", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it.each([
    ["Mon, 01 Jan 2024 00:02:00 GMT", 120],
    ["Monday, 01-Jan-24 00:02:00 GMT", 120],
    ["Mon Jan  1 00:02:00 2024", 120],
    ["Sun, 31 Dec 2023 23:00:00 GMT", 0],
  ])("reads the HTTP-date %j as %d seconds from now", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it("rounds a date up to whole seconds, so it never retries before the date", () => {
    const later = new Date("2024-01-01T00:00:00.500Z");
    expect(parseRetryAfter("Mon, 01 Jan 2024 00:02:00 GMT", later)).toBe(120);
  });

  it("reads a two-digit year more than 50 years ahead as last century", () => {
    expect(parseRetryAfter("Friday, 01-Jan-99 00:00:00 GMT", now)).toBe(0);
  });

  it.each([
    undefined,
    "",
    "   ",
    "soon",
    "-5",
    "1.5",
    "12abc",
    "0x10",
    "1e3",
    "Mon, 32 Jan 2024 00:00:00 GMT",
    "Fri, 30 Feb 2024 00:00:00 GMT",
    "Mon, 01 Jan 2024 24:00:00 GMT",
    "Mon, 01 Foo 2024 00:00:00 GMT",
    "Mon, 01 Jan 2024 00:02:00 UTC",
    "2024-01-01T00:02:00Z",
  ])("ignores %j", (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it("never throws, and answers undefined or a non-negative integer, for any text", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const seconds = parseRetryAfter(value, now);
        if (seconds !== undefined) {
          expect(Number.isInteger(seconds)).toBe(true);
          expect(seconds).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it("reads back any date it is given in IMF-fixdate form", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400 }), (offset) => {
        const at = new Date(now.getTime() + offset * 1000);
        expect(parseRetryAfter(at.toUTCString(), now)).toBe(offset);
      }),
    );
  });
});

describe("validateRetrySchedule", () => {
  it("accepts the default schedule and the limits", () => {
    expect(() => validateRetrySchedule(DEFAULT_RETRY_SCHEDULE_SECONDS)).not.toThrow();
    expect(() => validateRetrySchedule(Array(MAX_SCHEDULE_ENTRIES).fill(1))).not.toThrow();
    expect(() => validateRetrySchedule([MAX_SCHEDULE_HORIZON_SECONDS])).not.toThrow();
  });

  it("rejects an empty schedule", () => {
    expect(validationDetails([])).toEqual([{ path: "retry_schedule_seconds", message: expect.any(String) }]);
  });

  it("rejects 16 entries, saying how many it found", () => {
    const details = validationDetails(Array(16).fill(1));
    expect(details).toEqual([{ path: "retry_schedule_seconds", message: expect.stringContaining("16") }]);
  });

  it.each([
    [0, "retry_schedule_seconds[1]"],
    [-1, "retry_schedule_seconds[1]"],
    [1.5, "retry_schedule_seconds[1]"],
    [Number.NaN, "retry_schedule_seconds[1]"],
  ])("rejects the entry %d at its own path", (bad, path) => {
    expect(validationDetails([1, bad, 30])).toEqual([{ path, message: expect.any(String) }]);
  });

  it("reports every bad entry", () => {
    const details = validationDetails([0, 5, -1]);
    expect(details.map((detail) => detail.path)).toEqual([
      "retry_schedule_seconds[0]",
      "retry_schedule_seconds[2]",
    ]);
  });

  it("rejects a total beyond 3 days, saying the total found", () => {
    const details = validationDetails([86_400, 86_400, 86_400, 1]);
    expect(details).toEqual([
      { path: "retry_schedule_seconds", message: expect.stringContaining(String(3 * 86_400 + 1)) },
    ]);
  });

  it("uses the path it is given", () => {
    expect(() => validateRetrySchedule([], "retry.seconds")).toThrow(ValidationError);
    expect(validationDetailsAt([0], "retry.seconds")).toEqual(["retry.seconds[0]"]);
  });

  function validationDetailsAt(seconds: readonly number[], path: string): string[] {
    try {
      validateRetrySchedule(seconds, path);
    } catch (error) {
      return (error as ValidationError).details.map((detail) => detail.path);
    }
    return [];
  }
});

describe("parseRetrySchedule", () => {
  it("reads comma-separated seconds, tolerating whitespace", () => {
    expect(parseRetrySchedule("1,5,30,300,1800")).toEqual([...DEFAULT_RETRY_SCHEDULE_SECONDS]);
    expect(parseRetrySchedule(" 1 , 5,\t30 ")).toEqual([1, 5, 30]);
  });

  it.each(["", "1,,5", "1,5,", "a,b", "1;5", "1.5,2", "-1,5", "0,5", "86400,86400,86400,1"])(
    "rejects %j with a plain Error that quotes the variable",
    (text) => {
      let thrown: unknown;
      try {
        parseRetrySchedule(text);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect(thrown).not.toBeInstanceOf(ValidationError);
      expect((thrown as Error).message).toContain(`HOOKLINE_RETRY_SCHEDULE=${JSON.stringify(text)}`);
    },
  );

  it("reads back any valid schedule it is given", () => {
    fc.assert(
      fc.property(schedule, (seconds) => {
        fc.pre(seconds.reduce((sum, delay) => sum + delay, 0) <= MAX_SCHEDULE_HORIZON_SECONDS);
        expect(parseRetrySchedule(seconds.join(" , "))).toEqual(seconds);
      }),
    );
  });
});

describe("jitteredDelaySeconds", () => {
  it("spans ±20 % of the base", () => {
    expect(jitteredDelaySeconds(100, () => 0)).toBeCloseTo(80);
    expect(jitteredDelaySeconds(100, () => 0.5)).toBe(100);
    expect(jitteredDelaySeconds(100, () => 0.999_999)).toBeCloseTo(120);
  });

  it("never goes below 1 second", () => {
    expect(jitteredDelaySeconds(1, () => 0)).toBe(1);
  });

  it("stays within [0.8, 1.2] × base and at least 1, for any r in [0, 1) and base of 1 s to 1 day", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400 }), unitInterval, (base, r) => {
        const delay = jitteredDelaySeconds(base, () => r);
        expect(delay).toBeGreaterThanOrEqual(1);
        expect(delay).toBeGreaterThanOrEqual(base * (1 - JITTER));
        expect(delay).toBeLessThanOrEqual(base * (1 + JITTER));
      }),
    );
  });
});

describe("nextRetry", () => {
  it("follows the default schedule: 1 s, 5 s, 30 s, 5 min, 30 min, then dead-letters", () => {
    const middle = () => 0.5;
    const delays = [1, 2, 3, 4, 5, 6].map(
      (attempts) => nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, attempts, middle)?.delaySeconds,
    );
    expect(delays).toEqual([1, 5, 30, 300, 1800, undefined]);
  });

  it("honours a shorter Retry-After, but not below 1 second", () => {
    expect(nextRetry([300], 1, () => 0.5, 10)).toEqual({ delaySeconds: 10 });
    expect(nextRetry([300], 1, () => 0.5, 0)).toEqual({ delaySeconds: 1 });
  });

  it("caps a longer Retry-After at the entry's ceiling", () => {
    expect(nextRetry([300], 1, () => 0.5, 86_400)).toEqual({ delaySeconds: 360 });
  });

  it("still dead-letters after the last attempt, whatever Retry-After says", () => {
    expect(nextRetry([1, 5], 3, () => 0.5, 10)).toBeUndefined();
  });

  it("rejects a count of attempts below 1", () => {
    expect(() => nextRetry([1], 0, () => 0.5)).toThrow(RangeError);
    expect(() => nextRetry([1], 1.5, () => 0.5)).toThrow(RangeError);
  });

  it("gives up exactly when the attempts made exceed the schedule's length", () => {
    fc.assert(
      fc.property(
        schedule,
        fc.integer({ min: 1, max: MAX_SCHEDULE_ENTRIES + 5 }),
        unitInterval,
        (s, n, r) => {
          expect(nextRetry(s, n, () => r) === undefined).toBe(n > s.length);
        },
      ),
    );
  });

  it("never waits longer than base × 1.2, whatever Retry-After asks", () => {
    fc.assert(
      fc.property(
        schedule,
        fc.nat(),
        fc.nat({ max: 10 * 86_400 }),
        unitInterval,
        (s, index, retryAfter, r) => {
          const attemptsMade = (index % s.length) + 1;
          const base = s[attemptsMade - 1] ?? Number.NaN;
          const delay = nextRetry(s, attemptsMade, () => r, retryAfter)?.delaySeconds;
          expect(delay).toBeDefined();
          expect(delay).toBeLessThanOrEqual(base * (1 + JITTER));
          expect(delay).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });

  it("allows 6 attempts in all with the default schedule", () => {
    fc.assert(
      fc.property(fc.array(unitInterval, { minLength: 10, maxLength: 10 }), (draws) => {
        let attempts = 1;
        while (nextRetry(DEFAULT_RETRY_SCHEDULE_SECONDS, attempts, () => draws[attempts] ?? 0.5)) {
          attempts += 1;
        }
        expect(attempts).toBe(6);
        expect(maxAttempts(DEFAULT_RETRY_SCHEDULE_SECONDS)).toBe(6);
      }),
    );
  });
});

describe("waitSecondsFor", () => {
  it.each([
    [0.2, 1],
    [0.8, 1],
    [1, 1],
    [1.49, 1],
    [1.5, 2],
    [359.6, 360],
  ])("waits %d s as %d whole seconds", (delay, expected) => {
    expect(waitSecondsFor(delay)).toBe(expected);
  });

  it("always gives a positive integer for any jittered delay", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400 }), unitInterval, (base, r) => {
        const seconds = waitSecondsFor(jitteredDelaySeconds(base, () => r));
        expect(Number.isInteger(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
