import type { Webhook } from "../domain/model.ts";
import type { WebhookReader } from "../domain/ports.ts";
import { remember } from "./lru.ts";

export interface WebhookCacheOptions {
  /**
   * Webhooks (and tenants' versions) an instance keeps; past it, the least recently used go. A webhook
   * item is a few kilobytes at most, so the default keeps the cache under about 20 MB.
   * @default 5000
   */
  readonly maxEntries?: number;
}

/** A webhook reader whose tenants' versions hold until `newInvocation` is called. */
export interface CachedWebhookReader {
  readonly read: WebhookReader;
  /** Forgets every tenant's version: each is read again, once, by the next delivery that needs it. */
  readonly newInvocation: () => void;
}

const DEFAULT_MAX_ENTRIES = 5_000;

/**
 * Reads webhooks for a warm delivery function. A healthy webhook is kept with the tenant's
 * subscriptions version it was read under, and reused while that version holds. The version moves with
 * every change to the tenant's webhooks and every circuit that opens. A first attempt's message names
 * the version its publish stored it under (`atVersion`), so a change or an opening circuit before the
 * publish takes effect on it with no read of the version at all: a delivery published to a webhook
 * whose circuit is open never sends. A message without one has the version read once per tenant per
 * invocation (call `newInvocation` as each begins), on one of its 8 copies, shared by the invocation's
 * concurrent deliveries. The tenant's own partition, where its webhooks live, is read only when one of
 * them changed. Per webhook it would be a read per delivery, which at fan-out 10 was the tenant's
 * hottest key (issue 14).
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
  options: WebhookCacheOptions = {},
): CachedWebhookReader {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const cache = new Map<string, { readonly webhook: Webhook; readonly version: number }>();
  const versions = new Map<string, Promise<number>>();
  /** Concurrent deliveries of a tenant share one read of its version. */
  const tenantVersion = (tenantId: string): Promise<number> => {
    const known = versions.get(tenantId);
    if (known) return known;
    const version = subscriptionsVersion(tenantId);
    remember(versions, tenantId, version, maxEntries);
    version.catch(() => {
      if (versions.get(tenantId) === version) versions.delete(tenantId);
    });
    return version;
  };
  const read: WebhookReader = async (tenantId, webhookId, fresh, atLeast, atVersion) => {
    const key = `${tenantId}/${webhookId}`;
    // A cached webhook holds every change up to the version it was read at; a webhook read now holds
    // every change up to a version the message names, the publish having read it before.
    const version = atVersion ?? (await tenantVersion(tenantId));
    const cached = cache.get(key);
    if (
      !fresh &&
      cached !== undefined &&
      cached.version >= version &&
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
  return { read, newInvocation: () => versions.clear() };
}
