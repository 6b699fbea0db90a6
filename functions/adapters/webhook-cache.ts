import type { Webhook } from "../domain/model.ts";
import type { WebhookReader } from "../domain/ports.ts";

/**
 * Reads webhooks for a warm delivery function: a healthy webhook's settings are reused for `ttlMs`,
 * which keeps DynamoDB reads far below one per delivery. Webhooks with failures are always read fresh,
 * so that every instance sees an opening circuit at once; so is every read that asks for `fresh`.
 *
 * An eventually consistent read can miss a webhook created a moment ago, or answer the version from
 * before a change: a miss, or a version older than the one the caller knows of (`atLeast`), is read
 * again strongly consistent before anyone decides on it, and a miss is never cached.
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
    let webhook = fresh ? undefined : await store.get(tenantId, webhookId);
    if (!recentEnough(webhook, atLeast)) webhook = await store.get(tenantId, webhookId, true);
    const healthy = webhook?.circuit.state === "closed" && webhook.circuit.consecutiveFailures === 0;
    if (webhook && healthy) cache.set(key, { webhook, expires: options.now() + options.ttlMs });
    else cache.delete(key);
    return webhook;
  };
}
