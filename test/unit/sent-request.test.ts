import { describe, expect, it } from "vitest";
import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import { outboundRequest } from "../../functions/domain/deliver.ts";
import type { AttemptRecord, Delivery, Webhook } from "../../functions/domain/model.ts";
import {
  requestSettingsOf,
  type SentRequestPorts,
  type SettingsRevision,
  sentView,
} from "../../functions/domain/sent-request.ts";

const webhook: Webhook = {
  id: "wh_01",
  tenantId: "acme",
  url: "https://new.example.com/hooks",
  eventTypes: ["memory.created"],
  description: "",
  active: true,
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  createdAt: "2026-11-25T10:00:00.000Z",
  updatedAt: "2026-11-25T12:00:00.000Z",
  headers: { "X-Team": "blue" },
  circuit: CLOSED_CIRCUIT,
};

const payload =
  '{"id":"evt_1","type":"memory.created","timestamp":"2026-11-25T11:00:00.000Z","data":{"a":1}}';

function attempt(number: number, at: string, webhookVersion?: string): AttemptRecord {
  return {
    attempt: number,
    at,
    statusCode: 500,
    durationMs: 12,
    responseBody: "",
    ...(webhookVersion === undefined ? {} : { webhookVersion }),
  };
}

function delivery(attempts: AttemptRecord[]): Delivery {
  return {
    id: "dlv_1",
    tenantId: "acme",
    webhookId: "wh_01",
    eventId: "evt_1",
    eventType: "memory.created",
    status: "retrying",
    attemptCount: attempts.length,
    createdAt: "2026-11-25T11:00:00.000Z",
    attempts,
  };
}

function ports(current: Webhook | undefined, revisions: SettingsRevision[] = []): SentRequestPorts {
  return {
    webhook: async () => current,
    revisionAfter: async (_tenant, _webhook, version) =>
      revisions
        .filter((revision) => revision.until > version)
        .sort((a, b) => (a.until < b.until ? -1 : 1))[0],
    eventPayload: async () => payload,
    userAgent: "Hookline/0.1.0",
  };
}

describe("a delivery's request as sent", () => {
  it("is the request the attempt made, with its signature masked", async () => {
    // Prepare: the request the delivery function built for the attempt
    const at = new Date("2026-11-25T12:30:00.250Z");
    const sent = outboundRequest(webhook, "dlv_1", at, payload, "Hookline/0.1.0", 10_000);

    // Act
    const view = await sentView(ports(webhook), delivery([attempt(1, at.toISOString(), webhook.updatedAt)]));

    // Assess
    expect(view.request).toEqual({
      method: "POST",
      url: sent.url,
      headers: { ...sent.headers, "webhook-signature": "v1,****" },
      body: sent.body,
    });
    expect(JSON.stringify(view)).not.toContain(sent.headers["webhook-signature"]?.slice(3));
    expect(view.attemptUrls.size).toBe(0);
  });

  it("shows one masked signature per secret while a rotation's overlap lasts", async () => {
    const rotated: Webhook = {
      ...webhook,
      previousSecret: "whsec_old",
      previousSecretExpiresAt: "2026-11-26T12:00:00.000Z",
    };
    const view = await sentView(
      ports(rotated),
      delivery([attempt(1, "2026-11-25T12:30:00.000Z", rotated.updatedAt)]),
    );
    expect(view.request?.headers["webhook-signature"]).toBe("v1,**** v1,****");
  });

  it("shows an attempt made before a change with the URL and headers it was sent with", async () => {
    // Prepare: version 11:00 sent to the old URL; a PATCH at 12:00 replaced it
    const old: SettingsRevision = {
      ...requestSettingsOf({
        ...webhook,
        url: "https://old.example.com/hooks",
        headers: { "X-Team": "red" },
      }),
      until: webhook.updatedAt,
    };
    const attempts = [
      attempt(1, "2026-11-25T11:00:01.000Z", "2026-11-25T11:00:00.000Z"),
      attempt(2, "2026-11-25T12:00:05.000Z", webhook.updatedAt),
    ];

    // Act
    const latest = await sentView(ports(webhook, [old]), delivery(attempts));
    const earlier = await sentView(ports(webhook, [old]), delivery(attempts.slice(0, 1)));

    // Assess
    expect(latest.request?.url).toBe("https://new.example.com/hooks");
    expect(latest.attemptUrls).toEqual(new Map([[1, "https://old.example.com/hooks"]]));
    expect(earlier.request?.url).toBe("https://old.example.com/hooks");
    expect(earlier.request?.headers["X-Team"]).toBe("red");
  });

  it("still shows the request of a deleted webhook's delivery, from what its deletion kept", async () => {
    const kept: SettingsRevision = { ...requestSettingsOf(webhook), until: "2026-11-25T13:00:00.000Z" };
    const view = await sentView(
      ports(undefined, [kept]),
      delivery([attempt(1, "2026-11-25T12:30:00.000Z", webhook.updatedAt)]),
    );
    expect(view.request?.url).toBe(webhook.url);
    expect(view.request?.headers["X-Team"]).toBe("blue");
  });

  it("shows no request before an attempt, for one that built none, or once the event expired", async () => {
    expect((await sentView(ports(webhook), delivery([]))).request).toBeUndefined();
    expect(
      (await sentView(ports(webhook), delivery([attempt(1, "2026-11-25T12:30:00.000Z")]))).request,
    ).toBeUndefined();
    const expired = { ...ports(webhook), eventPayload: async () => undefined };
    expect(
      (await sentView(expired, delivery([attempt(1, "2026-11-25T12:30:00.000Z", webhook.updatedAt)])))
        .request,
    ).toBeUndefined();
  });
});
