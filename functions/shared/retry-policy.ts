/**
 * The retry schedule's default, limits and checks: the CDK props, the CDK app's environment, the
 * functions' configuration and a webhook's own schedule are all held to these.
 */
import { EnvVar } from "./names.ts";

/** Delays, in seconds, after each failed attempt: 6 attempts in all over about 36 minutes. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([1, 5, 30, 300, 1800]);

/** At most this many delays (so at most 16 attempts). */
export const MAX_SCHEDULE_ENTRIES = 15;

/** The delays of a schedule add up to at most 3 days, well inside a Standard workflow's lifetime. */
export const MAX_SCHEDULE_HORIZON_SECONDS = 3 * 86_400;

/**
 * What is wrong with a schedule, one entry per problem: it needs 1 to 15 delays, each a whole number of
 * seconds ≥ 1, adding up to at most 3 days. Each bad entry has its own path (`retry_schedule_seconds[2]`);
 * the count and the total are reported on `path` itself.
 */
export function retryScheduleProblems(
  seconds: readonly number[],
  path = "retry_schedule_seconds",
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (seconds.length === 0) {
    problems.push({ path, message: "must have at least 1 delay" });
  } else if (seconds.length > MAX_SCHEDULE_ENTRIES) {
    problems.push({
      path,
      message: `must have at most ${MAX_SCHEDULE_ENTRIES} delays; found ${seconds.length}`,
    });
  }
  let total = 0;
  seconds.forEach((delay, index) => {
    if (Number.isInteger(delay) && delay >= 1) {
      total += delay;
    } else {
      problems.push({
        path: `${path}[${index}]`,
        message: `must be a whole number of seconds, at least 1; found ${delay}`,
      });
    }
  });
  if (total > MAX_SCHEDULE_HORIZON_SECONDS) {
    problems.push({
      path,
      message: `delays must add up to at most ${MAX_SCHEDULE_HORIZON_SECONDS} seconds (3 days); found ${total}`,
    });
  }
  return problems;
}

/** A schedule as configuration text writes it: comma-separated whole seconds. */
export function formatRetrySchedule(seconds: readonly number[]): string {
  return seconds.join(",");
}

/**
 * Reads a schedule from configuration text such as `1, 5, 30, 300, 1800` (comma-separated seconds,
 * whitespace around each entry ignored) and validates it. Throws a plain Error that quotes the text
 * and names `variable`, since this runs at start-up on operator or deployment input, not on a request.
 */
export function parseRetrySchedule(text: string, variable: string = EnvVar.retrySchedule): number[] {
  const entries = text.split(",").map((entry) => entry.trim());
  const fail = (reason: string): never => {
    throw new Error(`${variable}=${JSON.stringify(text)} is not a valid retry schedule: ${reason}`);
  };
  const badEntry = entries.find((entry) => !/^\d+$/.test(entry));
  if (badEntry !== undefined) {
    fail(
      badEntry === ""
        ? "expected comma-separated whole seconds, e.g. 1,5,30,300,1800; found an empty entry"
        : `expected comma-separated whole seconds, e.g. 1,5,30,300,1800; found ${JSON.stringify(badEntry)}`,
    );
  }
  const schedule = entries.map(Number);
  const problems = retryScheduleProblems(schedule);
  if (problems.length > 0) fail(problems.map((problem) => `${problem.path}: ${problem.message}`).join("; "));
  return schedule;
}
