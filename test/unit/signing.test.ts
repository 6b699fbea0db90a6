import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { webhookHeaders } from "../../functions/domain/deliver.ts";
import {
  constantTimeEqual,
  generateSecret,
  SECRET_PREFIX,
  sign,
  signatureHeader,
} from "../../functions/domain/signing.ts";

describe("signing", () => {
  it("matches the Standard Webhooks reference library's known-answer vector", () => {
    const signature = sign(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("generates secrets of whsec_ and the base64 of 24 to 64 random bytes", () => {
    const secret = generateSecret(randomBytes);
    expect(secret.startsWith(SECRET_PREFIX)).toBe(true);
    const bytes = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
    expect(bytes.length).toBeGreaterThanOrEqual(24);
    expect(bytes.length).toBeLessThanOrEqual(64);
    expect(generateSecret(randomBytes)).not.toBe(secret);
  });

  it("produces headers that the standardwebhooks library verifies, for any body", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 2 ** 31 }), (data, offset) => {
        const secret = generateSecret(randomBytes);
        const body = JSON.stringify({ id: "evt_1", type: "memory.created", data });
        const now = Math.floor(Date.now() / 1000);
        const headers = webhookHeaders([secret], `msg_${offset}`, now, body, "Hookline/test");
        const verified = new StandardWebhook(secret).verify(body, headers);
        expect(verified).toEqual(JSON.parse(body));
      }),
      { numRuns: 50 },
    );
  });

  it("carries one signature per secret during a rotation, and either secret verifies", () => {
    const oldSecret = generateSecret(randomBytes);
    const newSecret = generateSecret(randomBytes);
    const body = '{"id":"evt_1"}';
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader([oldSecret, newSecret], "msg_1", now, body);
    expect(header.split(" ")).toHaveLength(2);
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": header };
    expect(new StandardWebhook(oldSecret).verify(body, headers)).toEqual({ id: "evt_1" });
    expect(new StandardWebhook(newSecret).verify(body, headers)).toEqual({ id: "evt_1" });
  });

  it("rejects a tampered body", () => {
    const secret = generateSecret(randomBytes);
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders([secret], "msg_1", now, '{"a":1}', "Hookline/test");
    expect(() => new StandardWebhook(secret).verify('{"a":2}', headers)).toThrow();
  });

  it("compares strings in constant time, including different lengths", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});
