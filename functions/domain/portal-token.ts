/**
 * Portal links: a signed token that opens the web console for one tenant, or some of its webhooks,
 * without an API key, for a bounded time.
 *
 * A token is `hlp_` + `base64url(JSON of the claims)` + `.` + `base64url(HMAC-SHA256)`. The key is
 * derived from the page-cursor key (`adapters/cursor-key.ts`), under its own label, so a cursor's MAC can
 * never pass for a token's or the reverse. The claims bind the tenant, the webhooks, read-only and the
 * expiry; changing any byte breaks the MAC. Nothing is stored per token: a link cannot be revoked before
 * it expires except by rotating the cursor key, which is why links live at most a day.
 *
 * What a token may do is decided here, per route, and enforced by the management function on every
 * request (`functions/api/handler.ts`): the authorizer's answer is cached per Authorization header, not
 * per route, so only the route's own function can be sure which route a token is used on.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ManagementRoute, type ManagementRouteKey } from "../shared/names.ts";
import { ForbiddenError } from "./errors.ts";

export const PORTAL_TOKEN_PREFIX = "hlp_";
export const DEFAULT_PORTAL_LINK_SECONDS = 3600;
export const MAX_PORTAL_LINK_SECONDS = 24 * 3600;
export const MIN_PORTAL_LINK_SECONDS = 60;
export const MAX_PORTAL_WEBHOOKS = 20;
const MAX_TOKEN_LENGTH = 4096;

/** What a portal token grants. `webhookIds` undefined: every webhook of the tenant. */
export interface PortalScope {
  readonly tenantId: string;
  readonly webhookIds?: readonly string[];
  readonly readOnly: boolean;
  /** Unix seconds. */
  readonly expiresAt: number;
}

interface Claims {
  readonly v: 1;
  readonly t: string;
  readonly w: readonly string[] | null;
  readonly ro: boolean;
  readonly exp: number;
}

/** The token key, from the cursor key, so the stack keeps one secret and provisions it one way. */
export function portalKey(cursorKey: Uint8Array): Buffer {
  return createHmac("sha256", cursorKey).update("hookline-portal-key.v1").digest();
}

function mac(key: Uint8Array, encodedClaims: string): Buffer {
  return createHmac("sha256", key).update(`hookline-portal.v1\n${encodedClaims}`).digest();
}

export function signPortalToken(key: Uint8Array, scope: PortalScope): string {
  const claims: Claims = {
    v: 1,
    t: scope.tenantId,
    w: scope.webhookIds === undefined ? null : [...scope.webhookIds],
    ro: scope.readOnly,
    exp: scope.expiresAt,
  };
  const encoded = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${PORTAL_TOKEN_PREFIX}${encoded}.${mac(key, encoded).toString("base64url")}`;
}

export function isPortalToken(credential: string): boolean {
  return credential.startsWith(PORTAL_TOKEN_PREFIX);
}

function isClaims(value: unknown): value is Claims {
  if (typeof value !== "object" || value === null) return false;
  const claims = value as Record<string, unknown>;
  return (
    claims.v === 1 &&
    typeof claims.t === "string" &&
    claims.t !== "" &&
    typeof claims.ro === "boolean" &&
    Number.isInteger(claims.exp) &&
    (claims.w === null ||
      (Array.isArray(claims.w) && claims.w.every((id) => typeof id === "string" && id !== "")))
  );
}

/** The scope a token grants at `now`, or undefined when it is malformed, altered, forged or expired. */
export function verifyPortalToken(key: Uint8Array, token: string, now: Date): PortalScope | undefined {
  if (!isPortalToken(token) || token.length > MAX_TOKEN_LENGTH) return undefined;
  const [encoded, signature, ...rest] = token.slice(PORTAL_TOKEN_PREFIX.length).split(".");
  if (encoded === undefined || signature === undefined || rest.length > 0) return undefined;
  const given = Buffer.from(signature, "base64url");
  // Only the canonical spelling: base64's spare low bits would otherwise let one token take many forms.
  if (given.toString("base64url") !== signature) return undefined;
  const expected = mac(key, encoded);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isClaims(claims)) return undefined;
  const scope: PortalScope = {
    tenantId: claims.t,
    readOnly: claims.ro,
    expiresAt: claims.exp,
    ...(claims.w === null ? {} : { webhookIds: claims.w }),
  };
  return isExpired(scope, now) ? undefined : scope;
}

export function isExpired(scope: PortalScope, now: Date): boolean {
  return now.getTime() >= scope.expiresAt * 1000;
}

/**
 * How a route may be used with a portal token. `read`/`write`: within the token's webhooks (a write
 * only when not read-only); `tenant-*`: only by a token for the whole tenant, because the route reads
 * or creates something that is not one webhook's (the tenant's events and their payloads, a new
 * webhook). A route not listed (health details, minting portal links) never takes a portal token.
 */
const PORTAL_ACCESS: Partial<Record<ManagementRouteKey, "read" | "write" | "tenant-read" | "tenant-write">> =
  {
    [ManagementRoute.listEventTypes]: "read",
    [ManagementRoute.listWebhooks]: "read",
    [ManagementRoute.getWebhook]: "read",
    [ManagementRoute.webhookStats]: "read",
    [ManagementRoute.listDeliveries]: "read",
    [ManagementRoute.getDelivery]: "read",
    [ManagementRoute.filterTest]: "read",
    [ManagementRoute.updateWebhook]: "write",
    [ManagementRoute.deleteWebhook]: "write",
    [ManagementRoute.rotateSecret]: "write",
    [ManagementRoute.testWebhook]: "write",
    [ManagementRoute.retryDelivery]: "write",
    [ManagementRoute.recoverWebhook]: "write",
    [ManagementRoute.createWebhook]: "tenant-write",
    [ManagementRoute.listEvents]: "tenant-read",
    [ManagementRoute.getEvent]: "tenant-read",
  };

/**
 * Throws ForbiddenError unless the token allows this route on this webhook (the route's `{webhookId}`,
 * if it has one) at `now`. Another tenant's data is out of reach anyway: every route reads the tenant
 * the token names and nothing else.
 */
export function assertPortalAllows(
  scope: PortalScope,
  routeKey: string,
  webhookId: string | undefined,
  now: Date,
): void {
  if (isExpired(scope, now)) throw new ForbiddenError("the portal link has expired: ask for a new one");
  const access = PORTAL_ACCESS[routeKey as ManagementRouteKey];
  if (access === undefined) {
    throw new ForbiddenError(`a portal link's token is not accepted by ${routeKey}: use an API key`);
  }
  const tenantWide = scope.webhookIds === undefined;
  if ((access === "tenant-read" || access === "tenant-write") && !tenantWide) {
    throw new ForbiddenError(`${routeKey} needs a portal link for the whole tenant, not some webhooks`);
  }
  if ((access === "write" || access === "tenant-write") && scope.readOnly) {
    throw new ForbiddenError("the portal link is read-only");
  }
  if (webhookId !== undefined && !tenantWide && !scope.webhookIds?.includes(webhookId)) {
    throw new ForbiddenError(`the portal link does not cover webhook ${webhookId}`);
  }
}

/** The console's address for a token: in the fragment, which browsers never send to a server or a log. */
export function portalUrl(origin: string, consolePath: string, token: string): string {
  return `${origin}${consolePath}#portal=${token}`;
}
