import type { Webhook } from "../domain/model.ts";
import type { WebhookReader } from "../domain/ports.ts";

/**
 * Reads webhooks for a warm delivery function: a healthy webhook's settings are reused for `ttlMs`,
 * which keeps DynamoDB reads far below one per delivery. Webhooks with failures are always read fresh,
 * so that every instance sees an opening circuit at once; so is every read that asks for `fresh`.
 *
 * An eventually consistent read can miss a webhook created a moment ago, or answer the version from
 * before a change: a miss, a version older than the one the caller knows of (`atLeast`), or a webhook
 * with failures (whose circuit may have opened since) is read again strongly consistent before anyone
 * decides on it, and a miss is never cached.
 */
export function cachedWebhookReader(
  store: { get(tenantId: string, webhookId: string, consistent?: boolean): Promise<Webhook | undefined> },
  options: { readonly ttlMs: number; readonly now: () => number },
): WebhookReader {
  const cache = new Map<string, { readonly webhook: Webhook; readonly expires: number }>();
  const recentEnough = (webhook: Webhook | undefined, atLeast: string | undefined): webhook is Webhook =>
    webhook !== undefined && (atLeast === undefined || webhook.updatedAt >= atLeast);
  return async (tenantId, webhookId, fresh, atLeast) => {
    const key = `${tenantId}/${webhookId}`;
    const cached = cache.get(key);
    if (!fresh && cached && cached.expires > options.now() && recentEnough(cached.webhook, atLeast))
      return cached.webhook;
    const isHealthy = (candidate: Webhook | undefined) =>
      candidate?.circuit.state === "closed" && candidate.circuit.consecutiveFailures === 0;
    let webhook = fresh ? undefined : await store.get(tenantId, webhookId);
    // A stale read of a failing webhook may show its circuit closed a moment after it opened.
    if (!recentEnough(webhook, atLeast) || !isHealthy(webhook))
      webhook = await store.get(tenantId, webhookId, true);
    const healthy = isHealthy(webhook);
    if (webhook && healthy) cache.set(key, { webhook, expires: options.now() + options.ttlMs });
    else cache.delete(key);
    return webhook;
  };
}
