import type { Webhook } from "../domain/model.ts";
import type { WebhookReader } from "../domain/ports.ts";
import { remember } from "./lru.ts";

export interface WebhookCacheOptions {
  /** How long a tenant's subscriptions version is reused before it is read again. */
  readonly ttlMs: number;
  readonly now: () => number;
  /**
   * Webhooks (and tenants' versions) an instance keeps; past it, the least recently used go. A webhook
   * item is a few kilobytes at most, so the default keeps the cache under about 20 MB.
   * @default 5000
   */
  readonly maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 5_000;

/**
 * Reads webhooks for a warm delivery function. A healthy webhook is kept with the tenant's
 * subscriptions version it was read under, and reused while that version holds: the version (one read
 * a tenant every `ttlMs`, on one of its 8 copies) moves with every change to the tenant's webhooks and
 * every circuit that opens, so a change reaches every instance within `ttlMs`, and the tenant's own
 * partition, where its webhooks live, is read only when one of them changed. Per webhook it would be a
 * read every `ttlMs` by every instance, which at fan-out 10 was the tenant's hottest key (issue 14).
 *
 * Webhooks with failures are never cached, so that an instance that knows of them sees an opening
 * circuit at once; neither is a miss. Every webhook read is strongly consistent, after the version:
 * a change between the two leaves the webhook newer than its version, which only costs a read later.
 * A webhook older than the version the caller knows of (`atLeast`) is read again, as is every read that
 * asks for `fresh`.
 */
export function cachedWebhookReader(
  store: { get(tenantId: string, webhookId: string, consistent?: boolean): Promise<Webhook | undefined> },
  subscriptionsVersion: (tenantId: string) => Promise<number>,
  options: WebhookCacheOptions,
): WebhookReader {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const cache = new Map<string, { readonly webhook: Webhook; readonly version: number }>();
  const versions = new Map<string, { readonly version: Promise<number>; readonly expires: number }>();
  /** Concurrent deliveries of a tenant share one read of its version. */
  const tenantVersion = (tenantId: string): Promise<number> => {
    const known = versions.get(tenantId);
    if (known && known.expires > options.now()) return known.version;
    const version = subscriptionsVersion(tenantId);
    remember(versions, tenantId, { version, expires: options.now() + options.ttlMs }, maxEntries);
    version.catch(() => {
      if (versions.get(tenantId)?.version === version) versions.delete(tenantId);
    });
    return version;
  };
  return async (tenantId, webhookId, fresh, atLeast) => {
    const key = `${tenantId}/${webhookId}`;
    const version = await tenantVersion(tenantId);
    const cached = cache.get(key);
    if (
      !fresh &&
      cached?.version === version &&
      (atLeast === undefined || cached.webhook.updatedAt >= atLeast)
    ) {
      remember(cache, key, cached, maxEntries);
      return cached.webhook;
    }
    const webhook = await store.get(tenantId, webhookId, true);
    const healthy = webhook?.circuit.state === "closed" && webhook.circuit.consecutiveFailures === 0;
    if (webhook && healthy) remember(cache, key, { webhook, version }, maxEntries);
    else cache.delete(key);
    return webhook;
  };
}
