/**
 * Reading back what happened: a webhook's deliveries and a tenant's events, a page at a time, with
 * the same signed cursors as the webhook list (see cursor.ts). The stores read their own partitions;
 * this module turns filters into key ranges, and cursors into positions and back.
 */
import { type CursorPosition, decodeCursor, encodeCursor } from "./cursor.ts";
import { NotFoundError, ValidationError } from "./errors.ts";
import { DELIVERY_ID, deliveryIdRange } from "./ids.ts";
import type { Delivery, DeliveryStatus, StoredEvent } from "./model.ts";
import type { DeliveryHistory, EventHistory, EventPosition, EventSummary } from "./ports.ts";

export interface HistoryDeps {
  /** The key cursors are signed with. */
  readonly cursorKey: () => Promise<Uint8Array>;
}

export interface TimeFilter {
  /** Inclusive. */
  readonly since?: Date;
  /** Exclusive. */
  readonly until?: Date;
}

/** A cursor that is genuine but was issued for another listing, or for other filters. */
function foreignCursor(): ValidationError {
  return new ValidationError("cursor is not valid for this listing: pass next_cursor with the same filters", [
    { path: "cursor", message: "issued for another listing or other filters" },
  ]);
}

export interface DeliveryListQuery extends TimeFilter {
  readonly limit: number;
  readonly status?: DeliveryStatus;
  readonly eventType?: string;
  readonly cursor?: string;
}

/** One page of a webhook's deliveries, newest first, filtered, with a cursor to the next page. */
export async function listDeliveries(
  deps: HistoryDeps & { readonly deliveries: DeliveryHistory },
  tenantId: string,
  webhookId: string,
  query: DeliveryListQuery,
): Promise<{ deliveries: readonly Delivery[]; nextCursor: string | null }> {
  const key = await deps.cursorKey();
  const { from, to } = deliveryIdRange(query.since, query.until);
  let afterId: string | undefined;
  if (query.cursor !== undefined) {
    const position = decodeCursor(key, tenantId, query.cursor);
    const id = position.delivery;
    if (typeof id !== "string" || !DELIVERY_ID.test(id) || id < from || id > to) throw foreignCursor();
    afterId = id;
  }
  const page = await deps.deliveries.deliveryPage(tenantId, webhookId, {
    limit: query.limit,
    fromId: from,
    toId: to,
    ...(query.status === undefined ? {} : { statuses: [query.status] }),
    ...(query.eventType === undefined ? {} : { eventType: query.eventType }),
    ...(afterId === undefined ? {} : { afterId }),
  });
  const next: CursorPosition | undefined = page.lastId === undefined ? undefined : { delivery: page.lastId };
  return {
    deliveries: page.deliveries,
    nextCursor: next === undefined ? null : encodeCursor(key, tenantId, next),
  };
}

export interface EventListQuery extends TimeFilter {
  readonly limit: number;
  readonly type?: string;
  readonly cursor?: string;
}

/** One page of a tenant's events, newest first, filtered, with a cursor to the next page. */
export async function listEvents(
  deps: HistoryDeps & { readonly events: EventHistory },
  tenantId: string,
  query: EventListQuery,
): Promise<{ events: readonly EventSummary[]; nextCursor: string | null }> {
  const key = await deps.cursorKey();
  const since = query.since?.toISOString();
  const until = query.until?.toISOString();
  let after: EventPosition | undefined;
  if (query.cursor !== undefined) {
    const { at, event } = decodeCursor(key, tenantId, query.cursor);
    const valid =
      typeof at === "string" &&
      typeof event === "string" &&
      event.length > 0 &&
      !Number.isNaN(Date.parse(at)) &&
      new Date(at).toISOString() === at &&
      (since === undefined || at >= since) &&
      (until === undefined || at < until);
    if (!valid) throw foreignCursor();
    after = { acceptedAt: at, id: event };
  }
  const page = await deps.events.eventPage(tenantId, {
    limit: query.limit,
    ...(query.type === undefined ? {} : { type: query.type }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(after === undefined ? {} : { after }),
  });
  return {
    events: page.events,
    nextCursor:
      page.last === undefined
        ? null
        : encodeCursor(key, tenantId, { at: page.last.acceptedAt, event: page.last.id }),
  };
}

/** An event's detail shows at most this many of its deliveries (an event goes to one per webhook). */
export const MAX_EVENT_DELIVERIES = 1000;

export interface EventDetail {
  readonly event: StoredEvent;
  /** The `data` the event was published with. */
  readonly data: unknown;
  readonly deliveries: readonly Delivery[];
}

/** One of the tenant's events with its data and its deliveries; NotFoundError for anyone else's. */
export async function eventDetail(
  deps: { readonly events: EventHistory; readonly deliveries: DeliveryHistory },
  tenantId: string,
  eventId: string,
): Promise<EventDetail> {
  const event = await deps.events.get(tenantId, eventId);
  if (!event) throw new NotFoundError(`event ${eventId} not found`);
  const deliveries = await deps.deliveries.deliveriesOfEvent(tenantId, eventId, MAX_EVENT_DELIVERIES);
  return { event, data: payloadData(event.payload), deliveries };
}

/** The `data` of a stored payload (`{"id", "type", "timestamp", "data"}`, see publish.ts). */
export function payloadData(payload: string): unknown {
  const parsed: unknown = JSON.parse(payload);
  return typeof parsed === "object" && parsed !== null && "data" in parsed ? parsed.data : null;
}
