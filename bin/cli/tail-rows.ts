/**
 * What `hookline tail` shows: one row per delivery step, read from the delivery function's log lines
 * (Powertools JSON with `message` "delivery <step>" and the delivery's ids). Pure: no I/O.
 */

/** The steps the delivery function logs, as `delivery <step>`. */
export const TAIL_STEPS = ["delivered", "retry", "failed", "dead_letter", "parked", "deferred"] as const;
export type TailStep = (typeof TAIL_STEPS)[number];

export interface TailRow {
  readonly time: string;
  readonly status: TailStep;
  readonly tenant_id: string | null;
  readonly webhook_id: string | null;
  readonly delivery_id: string | null;
  readonly event_id: string | null;
  readonly attempt: number | null;
  readonly status_code: number | null;
  readonly duration_ms: number | null;
  readonly error: string | null;
}

export interface TailFilter {
  readonly tenantId?: string | undefined;
  readonly webhookId?: string | undefined;
}

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);
const number = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/**
 * The row for one log line, or undefined for any other line (another message, not JSON, another
 * function's output). `receivedAt` stands in for a line without its own timestamp.
 */
export function tailRowFromLogLine(line: string, receivedAt?: string): TailRow | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{") || !trimmed.includes('"delivery ')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const fields = parsed as Record<string, unknown>;
  const message = text(fields.message);
  const step = message?.startsWith("delivery ") ? message.slice("delivery ".length) : undefined;
  if (!TAIL_STEPS.includes(step as TailStep)) return undefined;
  return {
    time: text(fields.timestamp) ?? receivedAt ?? "",
    status: step as TailStep,
    tenant_id: text(fields.tenant_id),
    webhook_id: text(fields.webhook_id),
    delivery_id: text(fields.delivery_id),
    event_id: text(fields.event_id),
    attempt: number(fields.attempt),
    status_code: number(fields.status_code),
    duration_ms: number(fields.duration_ms),
    error: text(fields.error) ?? text(fields.reason),
  };
}

export function matchesFilter(row: TailRow, filter: TailFilter): boolean {
  return (
    (filter.tenantId === undefined || row.tenant_id === filter.tenantId) &&
    (filter.webhookId === undefined || row.webhook_id === filter.webhookId)
  );
}

/** Fixed column widths: rows are printed as they come, so they cannot be measured first. */
const COLUMNS = [
  ["TIME", 12],
  ["STATUS", 11],
  ["ATTEMPT", 7],
  ["CODE", 4],
  ["DURATION", 8],
  ["DELIVERY", 30],
  ["WEBHOOK", 29],
  ["ERROR", 0],
] as const;

function line(cells: readonly string[]): string {
  return cells
    .map((value, index) => value.padEnd(COLUMNS[index]?.[1] ?? 0))
    .join("  ")
    .trimEnd();
}

export function tailHeader(): string {
  return line(COLUMNS.map(([title]) => title));
}

/** One row as a person reads it: the time of day (UTC, to the millisecond) and the step's details. */
export function formatTailRow(row: TailRow): string {
  const time = Number.isNaN(Date.parse(row.time)) ? row.time : new Date(row.time).toISOString().slice(11, 23);
  return line([
    time,
    row.status,
    row.attempt === null ? "" : String(row.attempt),
    row.status_code === null ? "" : String(row.status_code),
    row.duration_ms === null ? "" : `${Math.round(row.duration_ms)} ms`,
    row.delivery_id ?? "",
    row.webhook_id ?? "",
    row.error ?? "",
  ]);
}
