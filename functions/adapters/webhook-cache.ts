import type { Webhook } from "../domain/model.ts";
import type { WebhookReader } from "../domain/ports.ts";

/**
 * Reads webhooks for a warm delivery function: a healthy webhook's settings are reused for `ttlMs`,
 * which keeps DynamoDB reads far below one per delivery. Webhooks with failures are always read fresh,
 * so that every instance sees an opening circuit at once; so is every read that asks for `fresh`.
 */
export function cachedWebhookReader(
  store: { get(tenantId: string, webhookId: string): Promise<Webhook | undefined> },
  options: { readonly ttlMs: number; readonly now: () => number },
): WebhookReader {
  const cache = new Map<string, { readonly webhook: Webhook | undefined; readonly expires: number }>();
  return async (tenantId, webhookId, fresh) => {
    const key = `${tenantId}/${webhookId}`;
    const cached = cache.get(key);
    if (!fresh && cached && cached.expires > options.now()) return cached.webhook;
    const webhook = await store.get(tenantId, webhookId);
    const healthy = webhook?.circuit.state === "closed" && webhook.circuit.consecutiveFailures === 0;
    if (healthy || !webhook) cache.set(key, { webhook, expires: options.now() + options.ttlMs });
    else cache.delete(key);
    return webhook;
  };
}
