import type { Webhook } from "./model.ts";

/**
 * Secret rotation without downtime: after a rotation the webhook keeps its previous secret for an
 * overlap period, and every request is signed with both (Standard Webhooks' `webhook-signature` is a
 * space-separated list), so receivers holding either secret verify while they switch.
 */

/**
 * The webhook after a secret rotation (pure): `newSecret` signs from now on, and the secret it replaces
 * stays valid, signed with after it, for `overlapSeconds`. A rotation during an overlap drops the
 * older previous secret: only the secret that was current until now stays valid, so at most two
 * signatures are ever sent. An overlap of 0 retires the old secret at once.
 */
export function rotatedSecret(
  webhook: Webhook,
  newSecret: string,
  now: Date,
  overlapSeconds: number,
): Webhook {
  const { previousSecret: _secret, previousSecretExpiresAt: _expiry, ...rest } = webhook;
  return {
    ...rest,
    secret: newSecret,
    updatedAt: now.toISOString(),
    ...(overlapSeconds > 0
      ? {
          previousSecret: webhook.secret,
          previousSecretExpiresAt: new Date(now.getTime() + overlapSeconds * 1000).toISOString(),
        }
      : {}),
  };
}

/**
 * The secrets a request sent at `at` is signed with: the current one first, then the previous one
 * while its overlap lasts.
 */
export function signingSecrets(webhook: Webhook, at: Date): string[] {
  const previousValid =
    webhook.previousSecret !== undefined &&
    webhook.previousSecretExpiresAt !== undefined &&
    Date.parse(webhook.previousSecretExpiresAt) > at.getTime();
  return previousValid && webhook.previousSecret !== undefined
    ? [webhook.secret, webhook.previousSecret]
    : [webhook.secret];
}
