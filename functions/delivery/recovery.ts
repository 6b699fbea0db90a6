import * as z from "zod";
import type { DeliveryStore, StoredDelivery } from "../adapters/delivery-store.ts";
import { ConflictError, NotFoundError } from "../domain/errors.ts";
import type { DeliveryQueue } from "../domain/publish.ts";
import { resumeMessage } from "./process.ts";

export interface RecoveryDeps {
  readonly deliveries: Pick<DeliveryStore, "get" | "reopen">;
  readonly queue: DeliveryQueue;
  readonly now: () => Date;
}

/**
 * Sends a `failed` or `dead_lettered` delivery again, with a fresh schedule: the same `webhook-id`,
 * a new timestamp and signature. Throws NotFoundError or ConflictError when it cannot be retried.
 */
export async function retryDelivery(
  deps: RecoveryDeps,
  tenantId: string,
  webhookId: string,
  deliveryId: string,
): Promise<StoredDelivery> {
  const current = await deps.deliveries.get(tenantId, webhookId, deliveryId);
  if (!current) throw new NotFoundError(`delivery ${deliveryId} not found`);
  const reopened = await deps.deliveries.reopen(tenantId, webhookId, deliveryId, deps.now());
  if (!reopened) {
    throw new ConflictError(
      `delivery ${deliveryId} is ${current.status}; only failed or dead_lettered deliveries can be retried`,
    );
  }
  await deps.queue.enqueue([resumeMessage(reopened, reopened.createdAt)]);
  return reopened;
}

/** One message as read from the dead-letter queue. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiptHandle: string;
}

export interface DeadLetterSource {
  /** The next messages, hidden from other readers for a while; empty when none are left. */
  receive(): Promise<DeadLetter[]>;
  remove(letters: readonly DeadLetter[]): Promise<void>;
}

/**
 * What the dead-letter queue holds: a delivery the retry workflow gave up on, or a message the
 * delivery queue gave up on after repeated failures (a delivery or a circuit probe).
 */
const DeliveryReference = z.looseObject({
  tenantId: z.string().min(1),
  webhookId: z.string().min(1),
  deliveryId: z.string().min(1),
});
const ProbeReference = z.looseObject({ kind: z.literal("probe") });

export type RedriveOutcome =
  /** Re-opened and queued with a fresh schedule. */
  | "redriven"
  /** Queued again: its record was still waiting for this message. */
  | "requeued"
  /** Its delivery already ended another way (delivered, retried by hand, webhook deleted). */
  | "settled"
  /** A circuit probe: dropped, since the reconciler resumes parked deliveries without it. */
  | "probe_dropped"
  /** Not a message Hookline wrote: left on the queue for a person to look at. */
  | "unrecognised";

export interface RedriveSummary {
  readonly redriven: number;
  readonly requeued: number;
  readonly settled: number;
  readonly probesDropped: number;
  readonly unrecognised: number;
}

/** Decides what one dead letter needs and does it; returns the outcome. */
async function redriveOne(deps: RecoveryDeps, letter: DeadLetter): Promise<RedriveOutcome> {
  let body: unknown;
  try {
    body = JSON.parse(letter.body);
  } catch {
    return "unrecognised";
  }
  if (ProbeReference.safeParse(body).success) return "probe_dropped";
  const reference = DeliveryReference.safeParse(body);
  if (!reference.success) return "unrecognised";
  const { tenantId, webhookId, deliveryId } = reference.data;
  const current = await deps.deliveries.get(tenantId, webhookId, deliveryId);
  if (!current || current.status === "delivered") return "settled";
  if (current.status === "failed" || current.status === "dead_lettered") {
    const reopened = await deps.deliveries.reopen(tenantId, webhookId, deliveryId, deps.now());
    if (!reopened) return "settled";
    await deps.queue.enqueue([resumeMessage(reopened, reopened.createdAt)]);
    return "redriven";
  }
  await deps.queue.enqueue([resumeMessage(current, current.createdAt)]);
  return "requeued";
}

/**
 * Drains the dead-letter queue: every delivery on it is sent again with a fresh schedule (as a manual
 * retry would), and removed from the queue once that is queued. Messages it does not recognise stay.
 */
export async function redriveDeadLetters(
  deps: RecoveryDeps & { readonly deadLetters: DeadLetterSource },
  onProgress: (summary: RedriveSummary) => void = () => {},
): Promise<RedriveSummary> {
  const counts = { redriven: 0, requeued: 0, settled: 0, probesDropped: 0, unrecognised: 0 };
  for (;;) {
    const letters = await deps.deadLetters.receive();
    if (letters.length === 0) return counts;
    const handled: DeadLetter[] = [];
    for (const letter of letters) {
      const outcome = await redriveOne(deps, letter);
      if (outcome === "unrecognised") counts.unrecognised += 1;
      else {
        handled.push(letter);
        if (outcome === "probe_dropped") counts.probesDropped += 1;
        else counts[outcome] += 1;
      }
    }
    await deps.deadLetters.remove(handled);
    onProgress({ ...counts });
  }
}
