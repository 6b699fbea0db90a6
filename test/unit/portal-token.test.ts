import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ForbiddenError } from "../../functions/domain/errors.ts";
import {
  assertPortalAllows,
  isPortalToken,
  type PortalScope,
  portalKey,
  portalUrl,
  signPortalToken,
  verifyPortalToken,
} from "../../functions/domain/portal-token.ts";
import { ManagementRoute } from "../../functions/shared/names.ts";

const key = portalKey(randomBytes(32));
const now = new Date("2026-12-01T12:00:00Z");
const inAnHour = Math.floor(now.getTime() / 1000) + 3600;
const tenantWide: PortalScope = { tenantId: "acme", readOnly: false, expiresAt: inAnHour };
const oneWebhook: PortalScope = {
  tenantId: "acme",
  webhookIds: ["wh_1"],
  readOnly: true,
  expiresAt: inAnHour,
};

describe("portal tokens", () => {
  it("verify to the scope they were signed with, until they expire", () => {
    const token = signPortalToken(key, oneWebhook);
    expect(isPortalToken(token)).toBe(true);
    expect(verifyPortalToken(key, token, now)).toEqual(oneWebhook);
    expect(verifyPortalToken(key, signPortalToken(key, tenantWide), now)).toEqual(tenantWide);
    expect(verifyPortalToken(key, token, new Date(inAnHour * 1000 - 1))).toEqual(oneWebhook);
    expect(verifyPortalToken(key, token, new Date(inAnHour * 1000))).toBeUndefined();
  });

  it("are refused when signed with another key (another deployment, or a rotated cursor key)", () => {
    const token = signPortalToken(portalKey(randomBytes(32)), tenantWide);
    expect(verifyPortalToken(key, token, now)).toBeUndefined();
  });

  it("are refused after any change to the claims, e.g. another tenant, more webhooks or writes", () => {
    const token = signPortalToken(key, oneWebhook);
    const [payload = "", mac = ""] = token.slice(4).split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    for (const forged of [
      { ...claims, t: "globex" },
      { ...claims, w: null },
      { ...claims, w: ["wh_1", "wh_2"] },
      { ...claims, ro: false },
      { ...claims, exp: claims.exp + 86_400 },
    ]) {
      const encoded = Buffer.from(JSON.stringify(forged)).toString("base64url");
      expect(verifyPortalToken(key, `hlp_${encoded}.${mac}`, now)).toBeUndefined();
    }
  });

  it("are refused when any character of them changes", () => {
    const token = signPortalToken(key, oneWebhook);
    fc.assert(
      fc.property(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(..."AZaz09-_."),
        (index, replacement) => {
          fc.pre(token[index] !== replacement);
          const altered = token.slice(0, index) + replacement + token.slice(index + 1);
          expect(verifyPortalToken(key, altered, now)).toBeUndefined();
        },
      ),
    );
  });

  it("refuse what is not one: an API key, an empty string, a cursor-shaped string", () => {
    for (const text of ["hk_abc", "", "hlp_", "hlp_a.b.c", "hlp_e30.AAAA", `hlp_${"a".repeat(5000)}.x`]) {
      expect(verifyPortalToken(key, text, now)).toBeUndefined();
    }
  });

  it("put the token in the URL's fragment, which browsers do not send to servers", () => {
    const url = new URL(portalUrl("https://api.example.com", "/console/", "hlp_x.y"));
    expect(url.pathname).toBe("/console/");
    expect(url.search).toBe("");
    expect(url.hash).toBe("#portal=hlp_x.y");
  });
});

describe("what a portal token may do", () => {
  const forbidden = (scope: PortalScope, route: string, webhookId?: string) => {
    try {
      assertPortalAllows(scope, route, webhookId, now);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(ForbiddenError);
      return (error as Error).message;
    }
  };

  it("reads the webhooks in its scope and nothing beyond", () => {
    expect(forbidden(oneWebhook, ManagementRoute.getWebhook, "wh_1")).toBeUndefined();
    expect(forbidden(oneWebhook, ManagementRoute.listDeliveries, "wh_1")).toBeUndefined();
    expect(forbidden(oneWebhook, ManagementRoute.getDelivery, "wh_1")).toBeUndefined();
    expect(forbidden(oneWebhook, ManagementRoute.getWebhook, "wh_2")).toMatch(/does not cover webhook wh_2/);
    expect(forbidden(oneWebhook, ManagementRoute.listDeliveries, "wh_2")).toMatch(/does not cover/);
  });

  it("writes nothing when read-only, and anything in scope when not", () => {
    for (const route of [
      ManagementRoute.updateWebhook,
      ManagementRoute.deleteWebhook,
      ManagementRoute.rotateSecret,
      ManagementRoute.testWebhook,
      ManagementRoute.retryDelivery,
      ManagementRoute.recoverWebhook,
    ]) {
      expect(forbidden(oneWebhook, route, "wh_1")).toMatch(/read-only/);
      expect(forbidden({ ...oneWebhook, readOnly: false }, route, "wh_1")).toBeUndefined();
      expect(forbidden({ ...oneWebhook, readOnly: false }, route, "wh_2")).toMatch(/does not cover/);
    }
  });

  it("reaches the tenant's events and creates webhooks only when it covers the whole tenant", () => {
    const writableOne = { ...oneWebhook, readOnly: false };
    expect(forbidden(writableOne, ManagementRoute.listEvents)).toMatch(/whole tenant/);
    expect(forbidden(writableOne, ManagementRoute.getEvent)).toMatch(/whole tenant/);
    expect(forbidden(writableOne, ManagementRoute.createWebhook)).toMatch(/whole tenant/);
    expect(forbidden(tenantWide, ManagementRoute.listEvents)).toBeUndefined();
    expect(forbidden(tenantWide, ManagementRoute.createWebhook)).toBeUndefined();
    expect(forbidden({ ...tenantWide, readOnly: true }, ManagementRoute.createWebhook)).toMatch(/read-only/);
  });

  it("never mints links, reads deployment health or publishes", () => {
    for (const route of [
      ManagementRoute.createPortalLink,
      ManagementRoute.healthDetails,
      "POST /v1/events",
    ]) {
      expect(forbidden(tenantWide, route)).toMatch(/not accepted/);
    }
  });

  it("stops at its expiry even when the authorizer's cached answer still lets it in", () => {
    expect(
      forbidden({ ...tenantWide, expiresAt: Math.floor(now.getTime() / 1000) }, ManagementRoute.listWebhooks),
    ).toMatch(/expired/);
  });
});
