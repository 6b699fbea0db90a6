/**
 * A delivery's request as it was sent, rebuilt rather than stored: the body is the event's payload,
 * kept with the event; the Standard Webhooks headers follow from the delivery id and the attempt's
 * time; the URL and custom headers come from the webhook version the attempt recorded. A change of
 * those settings (or a deletion) keeps what it replaces as a revision, so an attempt made before a
 * change still shows what it was sent with, and the delivery record grows by no request per attempt.
 */
import { standardHeaders } from "./deliver.ts";
import type { AttemptRecord, Delivery, Webhook } from "./model.ts";

/** What shapes a request besides its body and time. Never a secret: only when the previous one expires. */
export interface RequestSettings {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** While a rotation's overlap lasts, requests carry a second signature. */
  readonly previousSecretExpiresAt?: string;
}

/** The settings a change or a deletion replaced, in effect for every version before `until`. */
export interface SettingsRevision extends RequestSettings {
  /** The webhook's `updatedAt` that replaced them, or when it was deleted. */
  readonly until: string;
}

/** One request as the receiver got it, its signatures masked. */
export interface SentRequest {
  readonly method: "POST";
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The exact JSON text sent. */
  readonly body: string;
}

export interface SentRequestPorts {
  readonly webhook: (tenantId: string, webhookId: string) => Promise<Webhook | undefined>;
  /** The oldest revision replaced after `version` (its `until` later than `version`), if any. */
  readonly revisionAfter: (
    tenantId: string,
    webhookId: string,
    version: string,
  ) => Promise<SettingsRevision | undefined>;
  /** The event's payload, undefined once it expired. */
  readonly eventPayload: (tenantId: string, eventId: string) => Promise<string | undefined>;
  readonly userAgent: string;
}

export interface SentView {
  /** The latest attempt's request; absent before any attempt, or when it could not be built. */
  readonly request?: SentRequest;
  /** By attempt number, the URL of each attempt that went somewhere else than `request`. */
  readonly attemptUrls: ReadonlyMap<number, string>;
}

/** What a shown signature looks like: its scheme, never the value. */
const MASKED_SIGNATURE = "v1,****";

export function requestSettingsOf(webhook: Webhook): RequestSettings {
  return {
    url: webhook.url,
    ...(webhook.headers === undefined ? {} : { headers: webhook.headers }),
    ...(webhook.previousSecret === undefined || webhook.previousSecretExpiresAt === undefined
      ? {}
      : { previousSecretExpiresAt: webhook.previousSecretExpiresAt }),
  };
}

/** Whether a change from `before` to `after` changes what a request is built from. */
export function requestSettingsChanged(before: Webhook, after: Webhook): boolean {
  const sorted = (headers: Readonly<Record<string, string>> | undefined) =>
    JSON.stringify(Object.entries(headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return (
    before.url !== after.url ||
    sorted(before.headers) !== sorted(after.headers) ||
    before.secret !== after.secret ||
    before.previousSecretExpiresAt !== after.previousSecretExpiresAt
  );
}

/**
 * The settings of webhook version `version`: those of the first revision that replaced it, or, when
 * none did, the webhook's own (nothing that shapes a request changed since).
 */
export function settingsAt(
  version: string,
  revision: SettingsRevision | undefined,
  current: Webhook | undefined,
): RequestSettings | undefined {
  if (revision !== undefined && revision.until > version) return revision;
  return current !== undefined && current.updatedAt >= version ? requestSettingsOf(current) : undefined;
}

/** The request of one attempt, built from its settings, with one masked signature per secret it was signed with. */
export function sentRequest(
  deliveryId: string,
  attempt: AttemptRecord,
  settings: RequestSettings,
  body: string,
  userAgent: string,
): SentRequest {
  const at = Date.parse(attempt.at);
  const signatures =
    settings.previousSecretExpiresAt !== undefined && Date.parse(settings.previousSecretExpiresAt) > at
      ? 2
      : 1;
  return {
    method: "POST",
    url: settings.url,
    headers: {
      ...settings.headers,
      ...standardHeaders(
        deliveryId,
        Math.floor(at / 1000),
        userAgent,
        Array(signatures).fill(MASKED_SIGNATURE).join(" "),
      ),
    },
    body,
  };
}

/**
 * The latest attempt's request and where the earlier ones went. Reads the webhook, one revision per
 * version the attempts used that is no longer the webhook's, and the event's payload.
 */
export async function sentView(ports: SentRequestPorts, delivery: Delivery): Promise<SentView> {
  const built = (delivery.attempts ?? []).filter(
    (attempt): attempt is AttemptRecord & { webhookVersion: string } => attempt.webhookVersion !== undefined,
  );
  if (built.length === 0) return { attemptUrls: new Map() };
  const current = await ports.webhook(delivery.tenantId, delivery.webhookId);
  const versions = [...new Set(built.map((attempt) => attempt.webhookVersion))];
  const settings = new Map(
    await Promise.all(
      versions.map(async (version) => {
        const revision =
          current?.updatedAt === version
            ? undefined
            : await ports.revisionAfter(delivery.tenantId, delivery.webhookId, version);
        return [version, settingsAt(version, revision, current)] as const;
      }),
    ),
  );
  const latest = delivery.attempts?.at(-1);
  const latestSettings =
    latest?.webhookVersion === undefined ? undefined : settings.get(latest.webhookVersion);
  const body =
    latest === undefined || latestSettings === undefined
      ? undefined
      : await ports.eventPayload(delivery.tenantId, delivery.eventId);
  const request =
    latest === undefined || latestSettings === undefined || body === undefined
      ? undefined
      : sentRequest(delivery.id, latest, latestSettings, body, ports.userAgent);
  const reference = request?.url ?? current?.url;
  const attemptUrls = new Map<number, string>();
  for (const attempt of built) {
    const url = settings.get(attempt.webhookVersion)?.url;
    if (url !== undefined && url !== reference) attemptUrls.set(attempt.attempt, url);
  }
  return { ...(request === undefined ? {} : { request }), attemptUrls };
}
