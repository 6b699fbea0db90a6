import { createHmac, timingSafeEqual } from "node:crypto";

/** Standard Webhooks prefix of a signing secret. */
export const SECRET_PREFIX = "whsec_";

/** Bytes of randomness in a new signing secret (the spec allows 24 to 64). */
export const SECRET_BYTES = 32;

export type RandomBytes = (size: number) => Buffer;

/** A new signing secret: `whsec_` followed by the base64 of random bytes. */
export function generateSecret(randomBytes: RandomBytes): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, "base64");
}

/**
 * The `v1,<base64>` signature of a message per the Standard Webhooks spec: HMAC-SHA256, keyed by the
 * decoded secret, over `<msgId>.<timestamp>.<body>`.
 */
export function sign(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const digest = createHmac("sha256", secretKey(secret))
    .update(`${msgId}.${timestampSeconds}.${body}`)
    .digest("base64");
  return `v1,${digest}`;
}

/**
 * The value of the `webhook-signature` header: one signature per active secret, space-separated, so a
 * receiver holding either secret can verify during a rotation.
 */
export function signatureHeader(
  secrets: readonly string[],
  msgId: string,
  timestampSeconds: number,
  body: string,
): string {
  return secrets.map((secret) => sign(secret, msgId, timestampSeconds, body)).join(" ");
}

/** Constant-time comparison of two strings that may differ in length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
