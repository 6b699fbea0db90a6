/**
 * The floor: the least AWS work a first-try delivery can cost while Hookline keeps what issue 14 keeps,
 * however the rest is designed, as long as the publish-rate limit and the in-flight cap are held in
 * DynamoDB (an SQS-carried cap would take the cap's two writes away; docs/performance.md). A lower
 * bound, not an estimate: only request-priced work is counted (no Lambda duration, no log bytes), every
 * item is taken at 1 KB or less, and every batch as full. Pure.
 *
 * Per event, whatever its fan-out:
 * - the tenant's publish-rate token (a conditional write: the limit holds across ingest environments);
 * - the event itself (its payload is what every delivery signs, and a retry reads it) and its one
 *   by-time index entry (the events listing and its cursors);
 * - one strongly consistent read of the tenant's subscriptions version (a webhook change takes effect
 *   on the very next publish);
 * - one publish request, one ingest invocation and one `SendMessageBatch` per ten deliveries.
 *
 * Per delivery:
 * - its record, written once with its outcome (one terminal record per event and webhook);
 * - a slot of the webhook's in-flight cap, claimed and given back: two conditional writes, since the cap
 *   holds across delivery environments;
 * - a tenth of a delivery invocation, of a `ReceiveMessage` and of a `DeleteMessageBatch` (full batches).
 */
import type { WorkPerDelivery } from "./cost.ts";

/** The least work of one event, shared by its deliveries. */
export const FLOOR_PER_EVENT = {
  dynamodbWriteUnits: 3,
  dynamodbReadUnits: 1,
  lambdaInvocations: 1,
  httpApiRequests: 1,
} as const;

/** The least work of each delivery of an event. */
export const FLOOR_PER_DELIVERY = {
  dynamodbWriteUnits: 3,
  sqsRequests: 0.2,
  lambdaInvocations: 0.1,
} as const;

/** Messages one `SendMessageBatch` holds. */
const SQS_BATCH = 10;

/** The least work per first-try delivery when each event goes to `webhooksPerEvent` webhooks. */
export function firstTryFloor(webhooksPerEvent: number): WorkPerDelivery {
  if (!Number.isInteger(webhooksPerEvent) || webhooksPerEvent < 1) {
    throw new RangeError("webhooksPerEvent must be a whole number of at least 1");
  }
  const shared = (perEvent: number) => perEvent / webhooksPerEvent;
  return {
    dynamodbWriteUnits: shared(FLOOR_PER_EVENT.dynamodbWriteUnits) + FLOOR_PER_DELIVERY.dynamodbWriteUnits,
    dynamodbReadUnits: shared(FLOOR_PER_EVENT.dynamodbReadUnits),
    sqsRequests: shared(Math.ceil(webhooksPerEvent / SQS_BATCH)) + FLOOR_PER_DELIVERY.sqsRequests,
    stateTransitions: 0,
    lambdaInvocations: shared(FLOOR_PER_EVENT.lambdaInvocations) + FLOOR_PER_DELIVERY.lambdaInvocations,
    lambdaGbSeconds: 0,
    httpApiRequests: shared(FLOOR_PER_EVENT.httpApiRequests),
    eventBridgeEvents: 0,
    logBytes: 0,
  };
}
