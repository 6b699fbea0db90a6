import * as z from "zod";
import { ConflictError, NotFoundError, ValidationError } from "../domain/errors.ts";
import { deliveryIdRange, deliveryIdTime } from "../domain/ids.ts";
import type { Delivery, Webhook } from "../domain/model.ts";
import type {
  DeadLetter,
  DeadLetterSource,
  DeliveryHistory,
  DeliveryQueue,
  DeliveryStore,
  StoredDelivery,
} from "../domain/ports.ts";
import { resumeMessage } from "./delivery-step.ts";

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

/** One recover request queues at most this many deliveries; `next_since` says where to go on. */
export const RECOVER_CAP = 1000;

/** One recover request reads at most this many pages of a webhook's deliveries. */
const RECOVER_MAX_PAGES = 20;

/**
 * A recover request starts no new page after this long, so that it answers well within the management
 * function's 10 s timeout; `next_since` then says where to go on.
 */
export const RECOVER_TIME_BUDGET_MS = 5000;

/** Deliveries re-opened and queued at the same time, so that a full request fits in its time budget. */
export const RECOVER_CONCURRENCY = 20;

export interface WebhookRecoveryDeps extends RecoveryDeps {
  readonly deliveries: RecoveryDeps["deliveries"] & Pick<DeliveryHistory, "deliveryPage">;
  readonly retentionDays: number;
}

export interface RecoverySummary {
  /** Deliveries re-opened and queued by this request. */
  readonly recovering: number;
  /**
   * Where to go on when this request stopped at its cap: recover again with this `since` (deliveries
   * already re-opened are no longer failed, so nothing is sent twice); undefined when it got through.
   */
  readonly nextSince?: string;
}

/**
 * Sends every `failed` and `dead_lettered` delivery of a webhook created since `since` again, oldest
 * first, each as a manual retry does (see `retryDelivery`). A webhook that is not active is a
 * ConflictError: recover after re-enabling it. Bounded work per request: at most `RECOVER_CAP`
 * deliveries queued, `RECOVER_MAX_PAGES` pages read, and no new page after `RECOVER_TIME_BUDGET_MS`.
 */
export async function recoverWebhook(
  deps: WebhookRecoveryDeps,
  webhook: Webhook,
  since: Date,
): Promise<RecoverySummary> {
  const now = deps.now();
  if (since.getTime() > now.getTime()) {
    throw new ValidationError("since is in the future", [
      { path: "since", message: "must not be in the future" },
    ]);
  }
  const oldest = now.getTime() - deps.retentionDays * 86_400_000;
  if (since.getTime() < oldest) {
    throw new ValidationError(`since is more than the ${deps.retentionDays}-day retention period back`, [
      { path: "since", message: `must be within the last ${deps.retentionDays} days` },
    ]);
  }
  if (!webhook.active) {
    throw new ConflictError(
      `webhook ${webhook.id} is not active${webhook.disabledReason ? ` (${webhook.disabledReason})` : ""}: re-enable it with PATCH {"active": true}, then recover`,
    );
  }
  const { from, to } = deliveryIdRange(since);
  let recovering = 0;
  let afterId: string | undefined;
  for (let read = 0; read < RECOVER_MAX_PAGES; read++) {
    if (afterId !== undefined && deps.now().getTime() - now.getTime() > RECOVER_TIME_BUDGET_MS) break;
    const page = await deps.deliveries.deliveryPage(webhook.tenantId, webhook.id, {
      limit: 100,
      statuses: ["failed", "dead_lettered"],
      fromId: from,
      toId: to,
      oldestFirst: true,
      ...(afterId === undefined ? {} : { afterId }),
    });
    const room = RECOVER_CAP - recovering;
    const taken = page.deliveries.slice(0, room);
    recovering += await retryAll(deps, taken);
    const rest = page.deliveries[taken.length];
    if (rest) return { recovering, nextSince: rest.createdAt };
    if (page.lastId === undefined) return { recovering };
    afterId = page.lastId;
    if (recovering >= RECOVER_CAP) return { recovering, nextSince: deliveryIdTime(afterId).toISOString() };
  }
  return {
    recovering,
    ...(afterId === undefined ? {} : { nextSince: deliveryIdTime(afterId).toISOString() }),
  };
}

/** Retries deliveries a few at a time; returns how many were queued (another process may get there first). */
async function retryAll(deps: RecoveryDeps, deliveries: readonly Delivery[]): Promise<number> {
  let queued = 0;
  let next = 0;
  const worker = async () => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++];
      if (!delivery) return;
      try {
        await retryDelivery(deps, delivery.tenantId, delivery.webhookId, delivery.id);
        queued += 1;
      } catch (error) {
        // Retried or expired since it was read: nothing to do for it.
        if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RECOVER_CONCURRENCY, deliveries.length) }, worker));
  return queued;
}

/**
 * What the dead-letter queue holds: a delivery the retry workflow gave up on, or a message the
 * delivery queue gave up on after repeated failures (a delivery or a circuit probe).
 */
const DeliveryReference = z.looseObject({
  tenantId: z.string().min(1),
  webhookId: z.string().min(1),
  deliveryId: z.string().min(1),
  /** Set on the letters of deliveries whose schedule ran out; absent on messages SQS gave up on. */
  deadLetteredAt: z.string().optional(),
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
  const { tenantId, webhookId, deliveryId, deadLetteredAt } = reference.data;
  const current = await deps.deliveries.get(tenantId, webhookId, deliveryId);
  if (!current || current.status === "delivered") return "settled";
  // A delivery is marked dead-lettered before its letter is sent, so a letter whose delivery is no
  // longer ended was already acted on: a second copy (a crash between the send and the settling, or
  // the reconciler's) or one a manual retry overtook. Queuing it again would send it twice.
  if (deadLetteredAt !== undefined && current.status !== "failed" && current.status !== "dead_lettered") {
    return "settled";
  }
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
