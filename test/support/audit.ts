import { HISTORY_HEAD, HISTORY_TAIL } from "../../functions/domain/attempt-history.ts";
import { type DeliveryRecord, deliveryRecords, type LocalStackInfo } from "./local-stack.ts";
import { eventually, type Receiver } from "./receiver.ts";

const TERMINAL = new Set(["delivered", "failed", "dead_lettered"]);

/** A webhook under audit: its receiver and which of the published events it subscribed to. */
export interface AuditedWebhook {
  readonly id: string;
  readonly receiver: Receiver;
  readonly subscribes: (eventType: string) => boolean;
}

/**
 * Whether a subscription covers an event type, written out here rather than taken from the product,
 * so the audit does not trust the code it checks: a name, `prefix.*`, or `*`.
 */
export function subscribesTo(patterns: readonly string[]): (eventType: string) => boolean {
  return (eventType) =>
    patterns.some(
      (pattern) =>
        pattern === "*" ||
        pattern === eventType ||
        (pattern.endsWith(".*") && eventType.startsWith(pattern.slice(0, -1))),
    );
}

/** An event the API accepted (answered 202). */
export interface AcceptedEvent {
  readonly id: string;
  readonly type: string;
}

export interface AuditReport {
  readonly events: number;
  readonly deliveries: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly attempts: number;
  readonly receiverRequests: number;
  /** Requests a receiver saw beyond the attempts recorded for their delivery (at-least-once). */
  readonly duplicates: number;
  /** Everything that breaks the guarantees; empty when all holds. */
  readonly problems: readonly string[];
}

/** Every record of every audited webhook, by webhook id. */
async function recordsOf(
  stack: LocalStackInfo,
  tenantId: string,
  webhooks: readonly AuditedWebhook[],
): Promise<Map<string, DeliveryRecord[]>> {
  const entries = await Promise.all(
    webhooks.map(
      async (webhook) => [webhook.id, await deliveryRecords(stack, tenantId, webhook.id)] as const,
    ),
  );
  return new Map(entries);
}

/**
 * Waits until every (accepted event, subscribed webhook) pair has a record in a terminal state, and
 * no record is left non-terminal. Returns how long that took, in ms.
 */
export async function settled(
  stack: () => LocalStackInfo,
  tenantId: string,
  webhooks: readonly AuditedWebhook[],
  events: readonly AcceptedEvent[],
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  let last = "";
  await eventually(
    "every delivery to reach a terminal state",
    async () => {
      const records = await recordsOf(stack(), tenantId, webhooks);
      let waiting = 0;
      for (const webhook of webhooks) {
        const mine = records.get(webhook.id) ?? [];
        const expected = events.filter((event) => webhook.subscribes(event.type)).length;
        const nonTerminal = mine.filter((record) => !TERMINAL.has(record.status)).length;
        waiting += nonTerminal + Math.max(expected - mine.length, 0);
      }
      last = `${waiting} waiting`;
      return waiting === 0 ? true : undefined;
    },
    timeoutMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${last}`);
  });
  return Date.now() - started;
}

/**
 * Checks what the records and the receivers' logs say against each other: exactly one terminal record
 * per (event, webhook) pair, every delivered one answered 2xx by its receiver at least once, every
 * recorded status code one its receiver really answered, and no request a record does not explain.
 * `extraEvents` allows records of events whose publish did not get its answer (a crash mid-request).
 */
export async function audit(
  stack: LocalStackInfo,
  tenantId: string,
  webhooks: readonly AuditedWebhook[],
  events: readonly AcceptedEvent[],
  options: { readonly extraEvents?: boolean } = {},
): Promise<AuditReport> {
  const records = await recordsOf(stack, tenantId, webhooks);
  const problems: string[] = [];
  const byStatus: Record<string, number> = {};
  let deliveries = 0;
  let attempts = 0;
  let receiverRequests = 0;
  let duplicates = 0;
  for (const webhook of webhooks) {
    const mine = records.get(webhook.id) ?? [];
    const byEvent = new Map<string, DeliveryRecord[]>();
    for (const record of mine)
      byEvent.set(record.event_id, [...(byEvent.get(record.event_id) ?? []), record]);
    for (const event of events) {
      const found = byEvent.get(event.id) ?? [];
      const expected = webhook.subscribes(event.type) ? 1 : 0;
      if (found.length !== expected) {
        problems.push(
          `${webhook.id}: event ${event.id} (${event.type}) has ${found.length} records, expected ${expected}`,
        );
      }
    }
    const accepted = new Set(events.map((event) => event.id));
    for (const [eventId, found] of byEvent) {
      if (accepted.has(eventId)) continue;
      if (!options.extraEvents) problems.push(`${webhook.id}: a record for event ${eventId}, never accepted`);
      else if (found.length > 1) problems.push(`${webhook.id}: event ${eventId} has ${found.length} records`);
    }

    const requestsById = new Map<string, NonNullable<Receiver["requests"][number]>[]>();
    for (const request of webhook.receiver.requests) {
      const id = String(request.headers["webhook-id"]);
      requestsById.set(id, [...(requestsById.get(id) ?? []), request]);
    }
    receiverRequests += webhook.receiver.requests.length;
    const recordIds = new Set(mine.map((record) => record.id));
    for (const id of requestsById.keys()) {
      if (!recordIds.has(id)) problems.push(`${webhook.id}: the receiver got ${id}, which has no record`);
    }
    for (const record of mine) {
      deliveries += 1;
      attempts += record.attempt_count;
      byStatus[record.status] = (byStatus[record.status] ?? 0) + 1;
      if (!TERMINAL.has(record.status)) problems.push(`${record.id}: still ${record.status}`);
      const seen = requestsById.get(record.id) ?? [];
      duplicates += Math.max(seen.length - record.attempt_count, 0);
      if (seen.length < record.attempt_count) {
        problems.push(
          `${record.id}: ${record.attempt_count} attempts recorded, the receiver saw ${seen.length}`,
        );
      }
      // The history keeps the first and the latest attempts of a long delivery, not all of them.
      const kept = [...(record.attempts ?? []), ...(record.attempts_tail ?? [])];
      if (kept.length !== Math.min(record.attempt_count, HISTORY_HEAD + HISTORY_TAIL)) {
        problems.push(`${record.id}: attempt_count ${record.attempt_count} but ${kept.length} attempts kept`);
      }
      const answered = new Set(seen.map((request) => request.answer));
      for (const attempt of kept) {
        if (attempt.status_code !== undefined && !answered.has(attempt.status_code)) {
          problems.push(
            `${record.id}: attempt ${attempt.attempt} recorded ${attempt.status_code}, never answered`,
          );
        }
      }
      if (
        record.status === "delivered" &&
        !seen.some((request) => typeof request.answer === "number" && request.answer < 300)
      ) {
        problems.push(`${record.id}: delivered, but its receiver never answered it 2xx`);
      }
    }
  }
  return { events: events.length, deliveries, byStatus, attempts, receiverRequests, duplicates, problems };
}

/** One line of figures for the test log. */
export function describeReport(title: string, report: AuditReport, tookMs: number): string {
  const statuses = Object.entries(report.byStatus)
    .map(([status, count]) => `${status} ${count}`)
    .join(", ");
  return (
    `${title}: ${report.events} events → ${report.deliveries} deliveries (${statuses}); ` +
    `${report.attempts} attempts recorded, ${report.receiverRequests} requests at the receivers, ` +
    `${report.duplicates} duplicates seen by receivers; settled in ${(tookMs / 1000).toFixed(1)} s`
  );
}
