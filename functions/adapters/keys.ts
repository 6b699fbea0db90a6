import { createHash } from "node:crypto";
import { DELIVERY_SORT_PREFIX, WebhooksPartition } from "../shared/names.ts";

/**
 * How records are keyed. Every key of tenant data starts with the tenant, so a query can only ever
 * reach the caller's own records: tenancy is enforced by the key design, not by filtering.
 */
export const Keys = {
  tenant: (tenantId: string) => `${WebhooksPartition.tenant}${tenantId}`,
  webhook: (webhookId: string) => `WEBHOOK#${webhookId}`,
  webhookPrefix: "WEBHOOK#",
  /** The count of a tenant's webhooks, beside them (see `changeSubscriptions`). */
  subscriptionsSort: "SUBSCRIPTIONS",
  /**
   * One of the copies of a tenant's subscriptions version, each alone in its partition: every change
   * to a webhook moves all of them on, and each publish reads one (see `SUBSCRIPTION_SHARDS`).
   */
  subscriptionsShard: (tenantId: string, shard: number) => `TENANT#${tenantId}#SUBSCRIPTIONS#${shard}`,
  /**
   * A rate-limited webhook's next slot, alone in its partition: it takes a write per delivery, which
   * beside the tenant's webhooks would cap every webhook of the tenant together.
   */
  rateLimit: (tenantId: string, webhookId: string) => `TENANT#${tenantId}#RATELIMIT#${webhookId}`,
  rateLimitSort: "RATELIMIT",
  /**
   * One of the items a webhook's in-flight slots are split over (see `IN_FLIGHT_SHARDS`), each alone in
   * its partition for the same reason: two writes a delivery.
   */
  inFlight: (tenantId: string, webhookId: string, item: number) =>
    `TENANT#${tenantId}#INFLIGHT#${webhookId}#SHARD#${item}`,
  inFlightSort: "INFLIGHT",
  /**
   * What a webhook's requests were built from until `until` (see sent-request.ts), beside the webhook;
   * they sort by `until` (ISO times), so the first after a version is the one that replaced it.
   */
  requestSettings: (webhookId: string, until: string) => `SENT#${webhookId}#${until}`,
  requestSettingsPrefix: (webhookId: string) => `SENT#${webhookId}#`,
  apiKey: (keyHash: string) => `${WebhooksPartition.apiKey}${keyHash}`,
  apiKeySort: "APIKEY",
  event: (tenantId: string, eventId: string) => `TENANT#${tenantId}#EVENT#${eventId}`,
  eventSort: "EVENT",
  /**
   * A tenant's events in the by-time index: one of `EVENT_LIST_SHARDS` partitions, by event id. The
   * unsharded key holds the events stored before the events were spread; listings read it as well.
   */
  tenantEvents: (tenantId: string, shard?: number) =>
    `TENANT#${tenantId}#EVENTS${shard === undefined ? "" : `#${shard}`}`,
  /** A tenant's publish-rate bucket, or one part of it, in the events table, alone in its partition. */
  publishRate: (tenantId: string, shard?: number) =>
    `TENANT#${tenantId}#PUBLISH_RATE${shard === undefined ? "" : `#${shard}`}`,
  publishRateSort: "PUBLISH_RATE",
  /**
   * A webhook's own partition in the events table: its order record, and the delivery records and stats
   * written before they were spread over shards; the parked index's key for its waiting deliveries.
   */
  webhookDeliveries: (tenantId: string, webhookId: string) => `TENANT#${tenantId}#WEBHOOK#${webhookId}`,
  /**
   * One of the `WEBHOOK_DELIVERY_SHARDS` partitions a webhook's delivery records (by hash of their id)
   * and stats buckets are spread over.
   */
  webhookDeliveryShard: (tenantId: string, webhookId: string, shard: number) =>
    `TENANT#${tenantId}#WEBHOOK#${webhookId}#SHARD#${shard}`,
  delivery: (deliveryId: string) => `${DELIVERY_SORT_PREFIX}${deliveryId}`,
  deliveryPrefix: DELIVERY_SORT_PREFIX,
  /** An ordered webhook's order record (see ordering.ts), beside its deliveries. */
  deliveryOrder: "ORDER",
  /**
   * One of a webhook's retry slots (see retry-slot.ts), alone in its partition: its members (sort key
   * `DELIVERY#<id>`) and, once released, its mark.
   */
  retrySlot: (tenantId: string, webhookId: string, at: string) =>
    `TENANT#${tenantId}#RETRY#${webhookId}#${Math.floor(Date.parse(at) / 1000)}`,
  retrySlotReleased: "RELEASED",
  /** A webhook's stats counters live beside its deliveries, one item per hour. */
  statsHour: (hour: string) => `STATS#${hour}`,
  /** Deployment-wide settings Hookline keeps for itself, outside every tenant's partitions. */
  config: WebhooksPartition.config,
  cursorKeySort: "CURSOR_KEY",
} as const;

/** The TTL attribute's value, in epoch seconds, for a record kept `retentionDays` from `from`. */
export function expiryEpochSeconds(from: Date, retentionDays: number): number {
  return Math.floor(from.getTime() / 1000) + retentionDays * 86_400;
}

/**
 * A tenant's events are spread over this many partitions of the by-time index, so that its publishes
 * do not all write to one partition: each takes two write units there (a transactional write), so 32
 * partitions carry 16,000 events a second. A listing reads them all and merges them.
 */
export const EVENT_LIST_SHARDS = 32;

/**
 * A webhook's delivery records and stats buckets are spread over this many partitions, so that its
 * deliveries do not all write to one: each took about 3.6 write units there (the record's creation,
 * its outcome and, before the stats came from the stream, its share of the hour's stats), which on one
 * partition capped a webhook at 277 deliveries a second. A stats bucket now takes one write per stream
 * batch, in the shard its hour hashes to. A listing of the webhook's deliveries reads them all (and the
 * unsharded partition of older records) and merges them.
 */
export const WEBHOOK_DELIVERY_SHARDS = 8;

/** Every partition that may hold a webhook's delivery records or stats: the shards, then its own. */
export function webhookDeliveryPartitions(tenantId: string, webhookId: string): string[] {
  return [
    ...Array.from({ length: WEBHOOK_DELIVERY_SHARDS }, (_, shard) =>
      Keys.webhookDeliveryShard(tenantId, webhookId, shard),
    ),
    Keys.webhookDeliveries(tenantId, webhookId),
  ];
}

/**
 * Copies of each tenant's subscriptions version. A publish reads one copy at random (strongly
 * consistent, one read unit), so one tenant's publishes spread over this many partitions: 8 × 3,000
 * read units a second. A webhook change writes them all in its transaction; changes are rare.
 */
export const SUBSCRIPTION_SHARDS = 8;

/**
 * Records awaiting a next step are spread over this many partitions of the due index. Each delivery
 * enters the index and leaves it (about 3 write units), so one tenant's fan-out of 10 to 5,000 events a
 * second puts 150,000 units a second on it: 256 partitions keep each under 1,000. The reconciler reads
 * every shard once a run.
 */
export const DUE_SHARDS = 256;

/** A stable number in [0, shards) for an id: which shard of a sharded key the id's item belongs to. */
export function shardOf(id: string, shards: number): number {
  return createHash("sha256").update(id).digest().readUInt32BE(0) % shards;
}

export function dueShardOf(id: string): string {
  return `DUE#${shardOf(id, DUE_SHARDS)}`;
}
