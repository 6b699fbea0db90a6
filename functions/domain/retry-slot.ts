/**
 * Retry slots: a webhook's failed deliveries that fall due at about the same time wait together, in
 * one retry workflow execution, instead of one execution each. Each execution costs its state
 * transitions (a Wait and the release: two per slot) whatever the number of deliveries in it, so ten
 * deliveries of a failing webhook share what one alone would pay.
 *
 * Pure: the time is a parameter.
 */
import * as z from "zod";
import { RetrySlotField } from "../shared/names.ts";

/**
 * How finely a slot's time is chosen, by the wait before it: the coarsest step no longer than a
 * quarter of the wait. A delivery may wait up to one step more than its schedule says (at most a
 * quarter more, on top of the schedule's own ±20 % jitter); in return the deliveries of one webhook
 * that failed within one step of each other share the slot.
 */
const SLOT_STEPS_SECONDS = [1, 5, 15, 60, 300, 900, 3600] as const;

export const RetrySlotSchema = z
  .object({
    [RetrySlotField.tenantId]: z.string().min(1),
    [RetrySlotField.webhookId]: z.string().min(1),
    /** When the slot's deliveries are sent again (ISO time, on a whole step): the Wait state's time. */
    [RetrySlotField.at]: z.iso.datetime(),
  })
  .readonly();
export type RetrySlot = z.infer<typeof RetrySlotSchema>;

/**
 * How long after its slot's release the delivery at `position` in the slot is sent: the deliveries go
 * out `perSecond` at a time (the webhook's cap on deliveries in flight), a second apart, so a slot of
 * many does not send its webhook more than it takes at once, each of the rest waiting for an in-flight
 * slot in turn. SQS delays at most 15 minutes; past that the rest go together.
 */
export function releaseDelaySeconds(position: number, perSecond: number): number {
  return Math.min(MAX_RELEASE_DELAY_SECONDS, Math.floor(position / Math.max(1, perSecond)));
}

const MAX_RELEASE_DELAY_SECONDS = 900;

/** The step slots are placed on for a wait of `waitSeconds`. */
export function slotStepSeconds(waitSeconds: number): number {
  let chosen: number = SLOT_STEPS_SECONDS[0];
  for (const step of SLOT_STEPS_SECONDS) if (step <= waitSeconds / 4) chosen = step;
  return chosen;
}

/**
 * The slot a delivery of `webhookId` joins when its next attempt is due at `nextAttemptAt`, after a
 * wait of `waitSeconds`: the first whole step at or after that time.
 */
export function retrySlotFor(
  tenantId: string,
  webhookId: string,
  nextAttemptAt: Date,
  waitSeconds: number,
): RetrySlot {
  const stepMs = slotStepSeconds(waitSeconds) * 1000;
  const at = Math.ceil(nextAttemptAt.getTime() / stepMs) * stepMs;
  return { tenantId, webhookId, at: new Date(at).toISOString() };
}
