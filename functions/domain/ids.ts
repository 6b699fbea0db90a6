import { createHash } from "node:crypto";
import { decodeTime, encodeTime, ulid } from "ulid";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Ids sort by creation time, so listings can be newest first without an extra index. */
export function newWebhookId(now: Date): string {
  return `wh_${ulid(now.getTime())}`;
}

export function newEventId(now: Date): string {
  return `evt_${ulid(now.getTime())}`;
}

/**
 * The id of the delivery of one event to one webhook. It is derived, not random, so that re-running a
 * fan-out (a retried publish, a crashed ingest) finds the same deliveries instead of creating twins;
 * its time prefix is the event's acceptance time, so a webhook's deliveries still sort by time.
 * It is also the `webhook-id` header receivers use to de-duplicate.
 */
export function deliveryIdFor(eventAcceptedAt: Date, eventId: string, webhookId: string): string {
  const digest = createHash("sha256").update(`${eventId}\u0000${webhookId}`).digest();
  let suffix = "";
  for (let index = 0; index < 16; index += 1) {
    suffix += CROCKFORD[(digest[index] ?? 0) & 31];
  }
  return `msg_${encodeTime(eventAcceptedAt.getTime(), 10)}${suffix}`;
}

/**
 * Ids of a test send: an event id and a `webhook-id` that say what they are (`evt_test_`, `msg_test_`),
 * sharing one ULID, so a receiver can tell a test from a real delivery and never mistakes one for the other.
 */
export function newTestIds(now: Date): { eventId: string; messageId: string } {
  const id = ulid(now.getTime());
  return { eventId: `evt_test_${id}`, messageId: `msg_test_${id}` };
}

/** The prefix every delivery id starts with. */
const DELIVERY_ID_PREFIX = "msg_";

/** Sorts after every character of a delivery id, so `…~` bounds all ids with a given prefix. */
const AFTER_EVERY_ID_CHARACTER = "~";

/** Well-formed delivery ids: the prefix, a 10-character time and a 16-character digest. */
export const DELIVERY_ID = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The range of delivery ids (inclusive bounds, compared as strings) of deliveries created at or after
 * `since` and before `until`. Delivery ids start with their event's acceptance time, so a time range
 * is an id range: a webhook's deliveries can be filtered by time with a key condition, not a scan.
 */
export function deliveryIdRange(since?: Date, until?: Date): { readonly from: string; readonly to: string } {
  return {
    from: `${DELIVERY_ID_PREFIX}${since === undefined ? "" : encodeTime(since.getTime(), 10)}`,
    to: `${DELIVERY_ID_PREFIX}${until === undefined ? "" : encodeTime(Math.max(0, until.getTime() - 1), 10)}${AFTER_EVERY_ID_CHARACTER}`,
  };
}

/** When the event behind a delivery id was accepted (the time its id starts with). */
export function deliveryIdTime(deliveryId: string): Date {
  // The rest of the id is ULID-shaped: a 10-character time and 16 more characters.
  return new Date(decodeTime(deliveryId.slice(DELIVERY_ID_PREFIX.length)));
}
