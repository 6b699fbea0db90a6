/**
 * What travels on Hookline's queues, defined once: each schema is what the delivery function parses a
 * message with, and its type (inferred from it) is what the senders build, so the two cannot drift.
 */
import * as z from "zod";

const id = z.string().min(1);

/**
 * What a queue message carries: ids, and the payload itself when it is small enough, so that the
 * common case needs no read of the event. The event record stays the source of truth.
 */
const deliveryFields = z.object({
  tenantId: id,
  webhookId: id,
  deliveryId: id,
  eventId: id,
  eventType: id,
  acceptedAt: id,
  payload: z.string().optional(),
  /** The number of the attempt this message asks for (1 for the first). */
  attempt: z.number().int().min(1),
  /**
   * Attempts made before the current retry schedule began: 0, or the count at a manual retry, which
   * gives the delivery a fresh schedule.
   */
  scheduleStart: z.number().int().min(0),
  /** Set when the message resumes a stored delivery: its webhook is then read fresh, never from a cache. */
  resumed: z.boolean().optional(),
  /**
   * The webhook's `updatedAt` as the fan-out read it: the delivery never uses an older version (a
   * cached or eventually consistent read from before a change of its URL, say).
   */
  webhookUpdatedAt: z.string().optional(),
  /**
   * The tenant's subscriptions version the fan-out was stored under: the delivery uses no read of the
   * webhook from before it, so a change or an opening circuit that came before the publish holds.
   */
  subscriptionsVersion: z.number().int().min(0).optional(),
  /** A rate-limit slot this delivery already holds (epoch ms), when it was deferred to wait for it. */
  rateSlotAt: z.number().optional(),
});
export const DeliveryMessageSchema = deliveryFields.readonly();
export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;

/**
 * A message that asks for a circuit's probe once its cooldown is over; `openedAt` names the opening it
 * was sent for, so that one an opening since superseded is dropped. Each opening sends one, which waits
 * out the cooldown and a probe in flight; a message with `once` looks only when it arrives, and is
 * dropped if no probe can be admitted then (a second look, or a probe handed over by a delivery).
 */
export const ProbeMessageSchema = z
  .object({
    kind: z.literal("probe"),
    tenantId: id,
    webhookId: id,
    openedAt: z.string().optional(),
    once: z.literal(true).optional(),
    /** The delivery that left the due probe to an older waiting one, and sent this message for it. */
    handedOverBy: id.optional(),
  })
  .readonly();
export type ProbeMessage = z.infer<typeof ProbeMessageSchema>;

/**
 * The rest of a fan-out too large for one invocation: the next page of subscribers is handled by
 * another invocation, so no invocation's work grows with the number of webhooks.
 */
export const FanOutContinuationSchema = z
  .object({
    kind: z.literal("fanout"),
    tenantId: id,
    eventId: id,
    eventType: id,
    /** Where the next page of subscribers starts. */
    after: id,
    deliveriesSoFar: z.number().int().min(0),
    resume: z.boolean(),
  })
  .readonly();
export type FanOutContinuation = z.infer<typeof FanOutContinuationSchema>;

/** What lands on the dead-letter queue: enough to find the delivery and send it again. */
export const DeadLetterMessageSchema = deliveryFields
  .omit({ payload: true })
  .extend({ deadLetteredAt: id, lastError: z.string().optional() })
  .readonly();
export type DeadLetterMessage = z.infer<typeof DeadLetterMessageSchema>;

/** Everything the delivery queues carry: probes, fan-out continuations and delivery steps. */
export const QueueMessageSchema = z.union([
  ProbeMessageSchema,
  FanOutContinuationSchema,
  DeliveryMessageSchema,
]);
export type QueueMessage = z.infer<typeof QueueMessageSchema>;
