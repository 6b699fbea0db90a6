/**
 * Defaults and limits of the retry schedule and the circuit breaker: the CDK props default to these,
 * and the functions enforce the same limits.
 */

/** Delays, in seconds, after each failed attempt: 6 attempts in all over about 36 minutes. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([1, 5, 30, 300, 1800]);

/** At most this many delays (so at most 16 attempts). */
export const MAX_SCHEDULE_ENTRIES = 15;

/** The delays of a schedule add up to at most 3 days, well inside a Standard workflow's lifetime. */
export const MAX_SCHEDULE_HORIZON_SECONDS = 3 * 86_400;

/** Consecutive failed attempts that open a webhook's circuit. */
export const DEFAULT_CIRCUIT_FAILURE_THRESHOLD = 5;

/** How long an open circuit keeps requests away from its endpoint before one probe is allowed. */
export const DEFAULT_CIRCUIT_COOLDOWN_SECONDS = 300;

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

/** The longest an attempt may wait for an endpoint, whether set by the deployment or by a webhook. */
export const MAX_ATTEMPT_TIMEOUT_SECONDS = 30;

/** How long event and delivery records are kept. */
export const DEFAULT_RETENTION_DAYS = 30;

/** How overdue a record's next step must be before the reconciler drives it on. */
export const DEFAULT_RECONCILE_GRACE_SECONDS = 300;

/**
 * A test send (`POST /v1/webhooks/{id}/test`) waits at most this long for the endpoint, whatever the
 * webhook's own timeout: it answers inside an API request, and API Gateway gives up after 30 s.
 */
export const MAX_TEST_SEND_TIMEOUT_SECONDS = 20;

/** After a secret rotation, the old secret keeps signing (next to the new one) for this long by default. */
export const DEFAULT_SECRET_ROTATION_OVERLAP_SECONDS = 24 * 3600;

/** The longest overlap a deployment may configure: 30 days. */
export const MAX_SECRET_ROTATION_OVERLAP_SECONDS = 30 * 86_400;
