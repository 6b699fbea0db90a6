/**
 * Who the console signs in as. An API key or a portal token is kept in `sessionStorage` only: gone when
 * the tab closes, never in a cookie, never in the URL (a portal link's token arrives in the fragment and
 * is taken out of it at once).
 */

const STORAGE_KEY = "hookline.credential";
const PORTAL_FRAGMENT = /^#portal=(hlp_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

export interface Session {
  readonly credential: string;
  /** Set for a portal link: what the console shows and offers follows it (the API enforces it). */
  readonly portal?: PortalClaims;
}

export interface PortalClaims {
  readonly webhookIds?: readonly string[];
  readonly readOnly: boolean;
  readonly expiresAt: Date;
}

/** The claims a portal token carries; not secret, and only a hint: the API checks the signature. */
export function portalClaims(token: string): PortalClaims | undefined {
  const encoded = token.replace(/^hlp_/, "").split(".")[0] ?? "";
  try {
    const json = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { w?: string[] | null; ro?: boolean; exp?: number };
    return {
      ...(Array.isArray(claims.w) ? { webhookIds: claims.w } : {}),
      readOnly: claims.ro === true,
      expiresAt: new Date((claims.exp ?? 0) * 1000),
    };
  } catch {
    return undefined;
  }
}

function sessionOf(credential: string): Session {
  if (!credential.startsWith("hlp_")) return { credential };
  const portal = portalClaims(credential);
  return portal === undefined ? { credential } : { credential, portal };
}

/** The session to start with: a portal link just opened, else one kept from earlier in this tab. */
export function initialSession(): Session | undefined {
  const fromLink = PORTAL_FRAGMENT.exec(window.location.hash)?.[1];
  if (fromLink !== undefined) {
    sessionStorage.setItem(STORAGE_KEY, fromLink);
    history.replaceState(null, "", `${window.location.pathname}#/webhooks`);
    return sessionOf(fromLink);
  }
  const kept = sessionStorage.getItem(STORAGE_KEY);
  return kept === null ? undefined : sessionOf(kept);
}

export function signIn(credential: string): Session {
  sessionStorage.setItem(STORAGE_KEY, credential);
  return sessionOf(credential);
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Whether the session may change things: API keys always, portal links unless read-only. */
export function canWrite(session: Session): boolean {
  return session.portal === undefined || !session.portal.readOnly;
}

/** Whether the session sees the tenant's events: API keys, and portal links for the whole tenant. */
export function seesEvents(session: Session): boolean {
  return session.portal === undefined || session.portal.webhookIds === undefined;
}
