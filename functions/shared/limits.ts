/** Fixed limits that no deployment setting changes, shared by the constructs and the functions. */

/** The longest an attempt may wait for an endpoint, whether set by the deployment or by a webhook. */
export const MAX_ATTEMPT_TIMEOUT_SECONDS = 30;

/**
 * The delivery function's timeout. Records of a batch are attempted in parallel, so one batch takes
 * about one attempt's time: the longest a webhook may ask for, a rate limit's in-process wait (5 s),
 * and the bookkeeping around them. Kept short: the queues' visibility timeout, and so the time to
 * recover a message lost with its function, cannot be shorter; and nothing a delivery holds (an
 * in-flight slot) needs to outlive it.
 */
export const DELIVERY_FUNCTION_TIMEOUT_SECONDS = MAX_ATTEMPT_TIMEOUT_SECONDS + 10;

/** The ingest function's timeout: a fan-out page of many subscribers' records, written and queued. */
export const INGEST_FUNCTION_TIMEOUT_SECONDS = 30;

/**
 * How long after a publish stored an event and its deliveries they are due to the reconciler when no
 * step follows: by then the invocation that stored them has ended, as no function that publishes (the
 * API's, the ingest function's) runs longer, so a delivery still unattempted with its lane empty lost
 * its message with a crash between the write and the send, rather than waiting in the queue. Shorter
 * than the grace (which must outlast a message hidden in flight): a crash restart measured 17 such
 * deliveries waiting a whole 50 s grace, the last thing to end.
 */
export const FAN_OUT_SETTLED_SECONDS = INGEST_FUNCTION_TIMEOUT_SECONDS + 5;

/** When a publish's records fall due: `FAN_OUT_SETTLED_SECONDS`, or the grace where that is shorter. */
export function fanOutSettledSeconds(reconcileGraceSeconds: number): number {
  return Math.min(reconcileGraceSeconds, FAN_OUT_SETTLED_SECONDS);
}

/**
 * A test send (`POST /v1/webhooks/{id}/test`) waits at most this long for the endpoint, whatever the
 * webhook's own timeout: it answers inside an API request, and API Gateway gives up after 30 s.
 */
export const MAX_TEST_SEND_TIMEOUT_SECONDS = 20;

/**
 * Open circuits are counted up to this many, by the public health route and by the reconciler's
 * gauge alike, so both report the same figure. Each count reads a sparse index page by page; the
 * health route answers anyone without a key, so its cost per request must stay small, and past this
 * many the open-circuit alarm has long since fired.
 */
export const OPEN_CIRCUIT_COUNT_CAP = 1000;

/**
 * The reconciler re-drives a delivery at most this many times without a step being recorded in
 * between; the next time it finds it overdue, it ends it `failed` as a poison message, so that nothing
 * circulates forever between the queue, the dead-letter queue and the reconciler.
 */
export const MAX_REDRIVES = 3;

/**
 * A retrying delivery is due this long after its next attempt: by then its retry workflow has made
 * the attempt and recorded it, unless the execution ended or never started (a crash). The reconciler
 * then asks Step Functions whether it still runs, and drives the delivery on at once when it does not,
 * instead of a whole grace later.
 */
export const RETRY_RUN_CHECK_SECONDS = 10;

/**
 * A delivery a closing circuit released is due this long after: its releaser sends its message right
 * after claiming it, so by then the message is in its lane, or was lost with a releaser that died in
 * between (a crash test saw 5 such deliveries wait a whole 50 s grace). The reconciler drives it on
 * only once the lane holds no message waiting, in flight or delayed.
 */
export const RELEASED_DUE_SECONDS = 10;

/**
 * While the delivery function works on a batch, it keeps the batch's messages hidden this long at a
 * time, renewed every `LEASE_RENEW_SECONDS`: a message lost with its function is back this soon
 * instead of after the queue's own visibility timeout, which cannot be shorter than the function's
 * timeout. Three renewals fit in one lease, so one slow or failed renewal does not let it lapse.
 */
export const LEASED_MESSAGE_VISIBILITY_SECONDS = 10;
export const LEASE_RENEW_SECONDS = 3;
