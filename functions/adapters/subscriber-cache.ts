import type { SubscriberSnapshot, SubscriberSource } from "../domain/ports.ts";

export interface SubscriberCacheOptions {
  /** How long a snapshot is reused; it only bounds memory, since every use is checked by version. */
  readonly ttlMs: number;
  /** The most tenants kept; the oldest entry is dropped first. */
  readonly maxTenants: number;
  readonly now: () => number;
}

/**
 * Keeps each tenant's last subscriber snapshot in a warm function, so that publishing to a tenant
 * whose webhooks did not change reads nothing. It is safe because a publish checks the snapshot's
 * version before it stores anything (see `publishEvent`): a stale snapshot is refused there and read
 * fresh.
 */
export function cachedSubscriberSnapshots(
  source: Pick<SubscriberSource, "subscriberSnapshot">,
  options: SubscriberCacheOptions,
): SubscriberSource["subscriberSnapshot"] {
  const cache = new Map<string, { readonly snapshot: SubscriberSnapshot; readonly expires: number }>();
  return async (tenantId, fresh = false) => {
    const cached = cache.get(tenantId);
    if (!fresh && cached && cached.expires > options.now()) return cached.snapshot;
    const snapshot = await source.subscriberSnapshot(tenantId, true);
    cache.delete(tenantId);
    if (cache.size >= options.maxTenants) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(tenantId, { snapshot, expires: options.now() + options.ttlMs });
    return snapshot;
  };
}
