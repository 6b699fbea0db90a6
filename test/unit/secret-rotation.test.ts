import { randomBytes } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import { type DeliveryPorts, deliveryStep, type OutboundRequest } from "../../functions/domain/deliver.ts";
import { ConflictError, NotFoundError } from "../../functions/domain/errors.ts";
import type { Webhook } from "../../functions/domain/model.ts";
import type { WebhookStore } from "../../functions/domain/ports.ts";
import { rotatedSecret, signingSecrets } from "../../functions/domain/secret-rotation.ts";
import { generateSecret } from "../../functions/domain/signing.ts";
import { rotateWebhookSecret } from "../../functions/domain/webhooks.ts";

const OVERLAP = 24 * 3600;
const old = generateSecret(randomBytes);
const hook: Webhook = {
  id: "wh_1",
  tenantId: "t1",
  url: "https://example.com/hook",
  eventTypes: ["*"],
  description: "",
  active: true,
  secret: old,
  createdAt: "2026-11-25T10:00:00.000Z",
  updatedAt: "2026-11-25T10:00:00.000Z",
  circuit: CLOSED_CIRCUIT,
};
const at = new Date("2026-11-25T12:00:00.000Z");
const later = (seconds: number) => new Date(at.getTime() + seconds * 1000);

describe("rotating a secret", () => {
  it("signs with the new secret and keeps the old one for the overlap", () => {
    const rotated = rotatedSecret(hook, "whsec_new", at, OVERLAP);
    expect(rotated).toEqual({
      ...hook,
      secret: "whsec_new",
      previousSecret: old,
      previousSecretExpiresAt: "2026-11-26T12:00:00.000Z",
      updatedAt: at.toISOString(),
    });
  });

  it("keeps only the secret it replaces when rotated again during the overlap, with a fresh overlap", () => {
    const once = rotatedSecret(hook, "whsec_middle", at, OVERLAP);
    const twice = rotatedSecret(once, "whsec_latest", later(60), OVERLAP);
    expect(twice.previousSecret).toBe("whsec_middle");
    expect(twice.previousSecretExpiresAt).toBe(later(60 + OVERLAP).toISOString());
    expect(signingSecrets(twice, later(61))).toEqual(["whsec_latest", "whsec_middle"]);
  });

  it("retires the old secret at once with an overlap of 0", () => {
    const rotated = rotatedSecret(rotatedSecret(hook, "whsec_a", at, OVERLAP), "whsec_b", at, 0);
    expect(rotated).not.toHaveProperty("previousSecret");
    expect(rotated).not.toHaveProperty("previousSecretExpiresAt");
    expect(signingSecrets(rotated, at)).toEqual(["whsec_b"]);
  });

  it("signs with the previous secret until, and not at, its expiry", () => {
    const rotated = rotatedSecret(hook, "whsec_new", at, OVERLAP);
    expect(signingSecrets(hook, at)).toEqual([old]);
    expect(signingSecrets(rotated, later(OVERLAP - 1))).toEqual(["whsec_new", old]);
    expect(signingSecrets(rotated, later(OVERLAP))).toEqual(["whsec_new"]);
    expect(signingSecrets(rotated, later(OVERLAP + 3600))).toEqual(["whsec_new"]);
  });
});

describe("deliveries after a rotation", () => {
  function deliveryPorts(webhook: Webhook, now: Date): DeliveryPorts & { sent: OutboundRequest[] } {
    const sent: OutboundRequest[] = [];
    return {
      sent,
      webhook: async () => webhook,
      eventPayload: async () => undefined,
      claimProbe: async () => true,
      olderWaiting: async () => false,
      send: async (request) => {
        sent.push(request);
        return { statusCode: 200, responseBody: "", durationMs: 1 };
      },
      reserveSlot: async () => now.getTime(),
      maxSlotWaitMs: 5_000,
      sleep: async () => {},
      now: () => now,
      random: () => 0.5,
      timeoutMs: 10_000,
      userAgent: "Hookline/test",
      defaultSchedule: [1],
      circuitPolicy: { failureThreshold: 5, cooldownSeconds: 300 },
    };
  }
  const message = {
    tenantId: "t1",
    webhookId: "wh_1",
    deliveryId: "msg_1",
    eventId: "evt_1",
    eventType: "memory.created",
    acceptedAt: "2026-11-25T12:00:00.000Z",
    payload: '{"id":"evt_1","data":{"n":1}}',
    attempt: 1,
    scheduleStart: 0,
  };

  it("carry two signatures during the overlap, each verified by standardwebhooks with its own secret", async () => {
    // standardwebhooks checks the timestamp against the clock, so this delivery is made now.
    const now = new Date();
    const fresh = generateSecret(randomBytes);
    const ports = deliveryPorts(rotatedSecret(hook, fresh, now, OVERLAP), now);
    await deliveryStep(ports, message);
    const [request] = ports.sent;
    if (!request) throw new Error("nothing sent");
    expect(String(request.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    for (const secret of [old, fresh]) {
      expect(new StandardWebhook(secret).verify(request.body, request.headers)).toEqual(
        JSON.parse(request.body),
      );
    }
    expect(() =>
      new StandardWebhook(generateSecret(randomBytes)).verify(request.body, request.headers),
    ).toThrow();
  });

  it("carry only the new signature once the overlap is over", async () => {
    const now = new Date();
    const fresh = generateSecret(randomBytes);
    const rotated = rotatedSecret(hook, fresh, new Date(now.getTime() - (OVERLAP + 1) * 1000), OVERLAP);
    const ports = deliveryPorts(rotated, now);
    await deliveryStep(ports, message);
    const [request] = ports.sent;
    if (!request) throw new Error("nothing sent");
    expect(String(request.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(() => new StandardWebhook(fresh).verify(request.body, request.headers)).not.toThrow();
    expect(() => new StandardWebhook(old).verify(request.body, request.headers)).toThrow();
  });
});

describe("rotateWebhookSecret", () => {
  function store(conflicts: number, stored: Webhook | null = hook) {
    const writes: Webhook[] = [];
    let left = conflicts;
    const fake: WebhookStore = {
      create: async () => true,
      get: async () => stored ?? undefined,
      list: async () => ({ webhooks: [] }),
      update: async (_before, after) => {
        if (left-- > 0) return false;
        writes.push(after);
        return true;
      },
      remove: async () => false,
    };
    return { fake, writes };
  }
  const deps = (s: WebhookStore) => ({
    store: s,
    now: () => at,
    randomBytes: () => Buffer.alloc(32, 7),
    overlapSeconds: OVERLAP,
  });

  it("writes the new secret and the previous one, reading again after a concurrent change", async () => {
    const { fake, writes } = store(1);
    const rotated = await rotateWebhookSecret(deps(fake), "t1", "wh_1");
    expect(rotated.secret).toBe(`whsec_${Buffer.alloc(32, 7).toString("base64")}`);
    expect(writes).toEqual([rotated]);
    expect(rotated).toMatchObject({
      previousSecret: old,
      previousSecretExpiresAt: later(OVERLAP).toISOString(),
    });
  });

  it("gives up with a conflict when the webhook keeps changing, and 404s a missing one", async () => {
    await expect(rotateWebhookSecret(deps(store(3).fake), "t1", "wh_1")).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(rotateWebhookSecret(deps(store(0, null).fake), "t1", "wh_x")).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});
