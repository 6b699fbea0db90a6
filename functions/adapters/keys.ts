import { createHash } from "node:crypto";
import { WebhooksPartition } from "../shared/names.ts";

/**
 * How records are keyed. Every key of tenant data starts with the tenant, so a query can only ever
 * reach the caller's own records: tenancy is enforced by the key design, not by filtering.
 */
export const Keys = {
  tenant: (tenantId: string) => `${WebhooksPartition.tenant}${tenantId}`,
  webhook: (webhookId: string) => `WEBHOOK#${webhookId}`,
  webhookPrefix: "WEBHOOK#",
  /** The version of a tenant's subscriptions, beside its webhooks (see `changeSubscriptions`). */
  subscriptionsSort: "SUBSCRIPTIONS",
  rateLimit: (webhookId: string) => `RATELIMIT#${webhookId}`,
  /** A webhook's in-flight slots, beside the webhook. */
  inFlight: (webhookId: string) => `INFLIGHT#${webhookId}`,
  apiKey: (keyHash: string) => `${WebhooksPartition.apiKey}${keyHash}`,
  apiKeySort: "APIKEY",
  event: (tenantId: string, eventId: string) => `TENANT#${tenantId}#EVENT#${eventId}`,
  eventSort: "EVENT",
  tenantEvents: (tenantId: string) => `TENANT#${tenantId}#EVENTS`,
  /** A tenant's publish-rate bucket, in the events table, alone in its partition. */
  publishRate: (tenantId: string) => `TENANT#${tenantId}#PUBLISH_RATE`,
  publishRateSort: "PUBLISH_RATE",
  webhookDeliveries: (tenantId: string, webhookId: string) => `TENANT#${tenantId}#WEBHOOK#${webhookId}`,
  delivery: (deliveryId: string) => `DELIVERY#${deliveryId}`,
  deliveryPrefix: "DELIVERY#",
  /** An ordered webhook's order record (see ordering.ts), beside its deliveries. */
  deliveryOrder: "ORDER",
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

/** Records awaiting a next step are spread over this many partitions of the due index. */
export const DUE_SHARDS = 4;

export function dueShardOf(id: string): string {
  const digest = createHash("sha256").update(id).digest();
  return `DUE#${(digest[0] ?? 0) % DUE_SHARDS}`;
}
