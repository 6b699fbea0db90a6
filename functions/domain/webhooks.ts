import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { type Circuit, CLOSED_CIRCUIT } from "./circuit.ts";
import { type CursorPosition, decodeCursor, encodeCursor } from "./cursor.ts";
import { customHeaderProblems } from "./custom-headers.ts";
import { checkEndpointHost, checkEndpointUrl, type EndpointPolicy } from "./endpoint-url.ts";
import { ConflictError, LimitExceededError, NotFoundError, ValidationError } from "./errors.ts";
import { type EventPattern, patternPathText, patternProblem } from "./event-pattern.ts";
import { assertValidSubscriptions } from "./event-types.ts";
import { newWebhookId } from "./ids.ts";
import type { Ordering, Webhook } from "./model.ts";
import type { WebhookStore } from "./ports.ts";
import { validateRetrySchedule } from "./retry-schedule.ts";
import { rotatedSecret } from "./secret-rotation.ts";
import { generateSecret, type RandomBytes } from "./signing.ts";

export interface EndpointCheckDeps {
  readonly catalogue: readonly EventTypeDefinition[];
  readonly endpointPolicy: EndpointPolicy;
  readonly resolveHost: (hostname: string) => Promise<readonly string[]>;
}

export interface WebhookRegistrationDeps extends EndpointCheckDeps {
  readonly store: WebhookStore;
  readonly now: () => Date;
  readonly randomBytes: RandomBytes;
  /** Webhooks one tenant may have (`maxWebhooksPerTenant`). */
  readonly maxWebhooksPerTenant: number;
}

/** The settings a caller chooses for a webhook (everything but its identity, secret and state). */
export interface NewWebhook {
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly description?: string;
  readonly active?: boolean;
  readonly retryScheduleSeconds?: readonly number[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutSeconds?: number;
  readonly rateLimitPerSecond?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly filter?: EventPattern;
  readonly ordering?: Ordering;
}

/**
 * A partial update. An absent field keeps its value; `null` puts an optional setting back to its
 * default (the deployment's schedule or timeout, no rate limit, no filter).
 */
export interface WebhookPatch {
  readonly url?: string;
  readonly eventTypes?: readonly string[];
  readonly description?: string;
  readonly active?: boolean;
  readonly retryScheduleSeconds?: readonly number[] | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutSeconds?: number | null;
  readonly rateLimitPerSecond?: number | null;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly filter?: EventPattern | null;
  readonly ordering?: Ordering;
}

/** Refuses a filter the matcher could not evaluate, naming the first problem's place in it. */
function assertValidFilter(filter: EventPattern | null | undefined): void {
  if (filter === undefined || filter === null) return;
  const problem = patternProblem(filter);
  if (problem === undefined) return;
  const path = patternPathText("filter", problem.path);
  throw new ValidationError(`filter is not valid: ${path}: ${problem.message}`, [
    { path, message: problem.message },
  ]);
}

function assertValidHeaders(headers: Readonly<Record<string, string>> | undefined): void {
  if (headers === undefined) return;
  const problems = customHeaderProblems(headers);
  if (problems.length > 0) {
    throw new ValidationError(
      `headers are not valid: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
      problems,
    );
  }
}

/** The endpoint checks: a URL that passes them, normalized (`new URL(...).href`). */
async function checkedUrl(deps: EndpointCheckDeps, raw: string): Promise<string> {
  const url = checkEndpointUrl(raw, deps.endpointPolicy);
  await checkEndpointHost(url, deps.endpointPolicy, deps.resolveHost);
  return url.href;
}

/** Validates and stores a new webhook with a fresh signing secret. */
export async function registerWebhook(
  deps: WebhookRegistrationDeps,
  tenantId: string,
  input: NewWebhook,
): Promise<Webhook> {
  assertValidSubscriptions(deps.catalogue, input.eventTypes);
  if (input.retryScheduleSeconds) validateRetrySchedule(input.retryScheduleSeconds);
  assertValidHeaders(input.headers);
  assertValidFilter(input.filter);
  const url = await checkedUrl(deps, input.url);
  const now = deps.now();
  const webhook: Webhook = {
    id: newWebhookId(now),
    tenantId,
    url,
    eventTypes: [...new Set(input.eventTypes)],
    description: input.description ?? "",
    active: input.active ?? true,
    secret: generateSecret(deps.randomBytes),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...(input.retryScheduleSeconds ? { retryScheduleSeconds: [...input.retryScheduleSeconds] } : {}),
    ...(input.headers && Object.keys(input.headers).length > 0 ? { headers: { ...input.headers } } : {}),
    ...(input.timeoutSeconds === undefined ? {} : { timeoutSeconds: input.timeoutSeconds }),
    ...(input.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: input.rateLimitPerSecond }),
    ...(input.metadata && Object.keys(input.metadata).length > 0 ? { metadata: { ...input.metadata } } : {}),
    ...(input.filter === undefined ? {} : { filter: input.filter }),
    ...(input.ordering === "fifo" ? { ordering: "fifo" as const } : {}),
    circuit: CLOSED_CIRCUIT,
  };
  if (!(await deps.store.create(webhook, deps.maxWebhooksPerTenant))) {
    throw new LimitExceededError(
      `this tenant has ${deps.maxWebhooksPerTenant} webhooks, as many as it may have; delete one to register another`,
    );
  }
  return webhook;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The webhook after a patch (pure; the URL is taken as already checked). Setting `active: true` on a
 * webhook Hookline deactivated (it has a `disabledReason`) re-enables it: the reason is cleared and
 * its circuit is closed, with the next version so that the write is conditional on the one read.
 */
export function applyWebhookPatch(webhook: Webhook, patch: WebhookPatch, now: Date): Webhook {
  const next: Mutable<Webhook> = { ...webhook, updatedAt: now.toISOString() };
  if (patch.url !== undefined) next.url = patch.url;
  if (patch.eventTypes !== undefined) next.eventTypes = [...new Set(patch.eventTypes)];
  if (patch.description !== undefined) next.description = patch.description;
  if (patch.retryScheduleSeconds === null) delete next.retryScheduleSeconds;
  else if (patch.retryScheduleSeconds !== undefined)
    next.retryScheduleSeconds = [...patch.retryScheduleSeconds];
  if (patch.timeoutSeconds === null) delete next.timeoutSeconds;
  else if (patch.timeoutSeconds !== undefined) next.timeoutSeconds = patch.timeoutSeconds;
  if (patch.rateLimitPerSecond === null) delete next.rateLimitPerSecond;
  else if (patch.rateLimitPerSecond !== undefined) next.rateLimitPerSecond = patch.rateLimitPerSecond;
  if (patch.headers !== undefined) {
    if (Object.keys(patch.headers).length === 0) delete next.headers;
    else next.headers = { ...patch.headers };
  }
  if (patch.metadata !== undefined) {
    if (Object.keys(patch.metadata).length === 0) delete next.metadata;
    else next.metadata = { ...patch.metadata };
  }
  if (patch.filter === null) delete next.filter;
  else if (patch.filter !== undefined) next.filter = patch.filter;
  if (patch.ordering === "none") delete next.ordering;
  else if (patch.ordering === "fifo") next.ordering = "fifo";
  if (patch.active !== undefined) {
    next.active = patch.active;
    if (patch.active && webhook.disabledReason !== undefined) {
      delete next.disabledReason;
      next.circuit = closedAfter(webhook.circuit);
    }
  }
  return next;
}

function closedAfter(circuit: Circuit): Circuit {
  return { state: "closed", consecutiveFailures: 0, version: circuit.version + 1 };
}

const UPDATE_ATTEMPTS = 3;

/**
 * Validates a patch exactly as a registration (a new URL runs the endpoint checks again) and writes
 * it, conditional on the webhook being unchanged since it was read; a concurrent change (a
 * deactivation, a circuit transition) makes it read and apply the patch again.
 */
export async function updateWebhook(
  deps: EndpointCheckDeps & { readonly store: WebhookStore; readonly now: () => Date },
  tenantId: string,
  webhookId: string,
  patch: WebhookPatch,
): Promise<Webhook> {
  if (patch.eventTypes !== undefined) assertValidSubscriptions(deps.catalogue, patch.eventTypes);
  if (patch.retryScheduleSeconds) validateRetrySchedule(patch.retryScheduleSeconds);
  assertValidHeaders(patch.headers);
  assertValidFilter(patch.filter);
  const checked: WebhookPatch =
    patch.url === undefined ? patch : { ...patch, url: await checkedUrl(deps, patch.url) };
  for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
    const current = await findWebhook(deps.store, tenantId, webhookId);
    const updated = applyWebhookPatch(current, checked, deps.now());
    if (await deps.store.update(current, updated)) return updated;
  }
  throw new ConflictError(`webhook ${webhookId} kept changing while it was updated; try again`);
}

/**
 * Gives a webhook a new signing secret, keeping the current one valid for `overlapSeconds`; written
 * conditionally on the webhook being unchanged since it was read, like an update.
 */
export async function rotateWebhookSecret(
  deps: {
    readonly store: WebhookStore;
    readonly now: () => Date;
    readonly randomBytes: RandomBytes;
    readonly overlapSeconds: number;
  },
  tenantId: string,
  webhookId: string,
): Promise<Webhook> {
  const secret = generateSecret(deps.randomBytes);
  for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
    const current = await findWebhook(deps.store, tenantId, webhookId);
    const rotated = rotatedSecret(current, secret, deps.now(), deps.overlapSeconds);
    if (await deps.store.update(current, rotated)) return rotated;
  }
  throw new ConflictError(`webhook ${webhookId} kept changing while its secret was rotated; try again`);
}

export interface WebhookListDeps {
  readonly store: WebhookStore;
  /** The key cursors are signed with. */
  readonly cursorKey: () => Promise<Uint8Array>;
}

/** One page of a tenant's webhooks, newest first, with an opaque cursor to the next page. */
export async function listWebhooks(
  deps: WebhookListDeps,
  tenantId: string,
  query: { readonly limit: number; readonly active?: boolean; readonly cursor?: string },
): Promise<{ webhooks: readonly Webhook[]; nextCursor: string | null }> {
  const key = await deps.cursorKey();
  const after = query.cursor === undefined ? undefined : decodeCursor(key, tenantId, query.cursor);
  const page = await deps.store.list(tenantId, {
    limit: query.limit,
    ...(query.active === undefined ? {} : { active: query.active }),
    ...(after === undefined ? {} : { after }),
  });
  return {
    webhooks: page.webhooks,
    nextCursor: page.next === undefined ? null : encodeCursor(key, tenantId, page.next),
  };
}

export async function findWebhook(
  store: WebhookStore,
  tenantId: string,
  webhookId: string,
): Promise<Webhook> {
  // Strongly consistent: the API reads its own writes (a webhook created a moment ago is found, and a
  // change starts from the version stored now).
  const webhook = await store.get(tenantId, webhookId, true);
  if (!webhook) throw new NotFoundError(`webhook ${webhookId} not found`);
  return webhook;
}

export async function deleteWebhook(store: WebhookStore, tenantId: string, webhookId: string): Promise<void> {
  if (!(await store.remove(tenantId, webhookId))) {
    throw new NotFoundError(`webhook ${webhookId} not found`);
  }
}

/** Every webhook of a tenant, active or not, newest first, read a page at a time (operator tools). */
export async function allWebhooks(store: Pick<WebhookStore, "list">, tenantId: string): Promise<Webhook[]> {
  const webhooks: Webhook[] = [];
  let after: CursorPosition | undefined;
  do {
    const page = await store.list(tenantId, { limit: 100, ...(after === undefined ? {} : { after }) });
    webhooks.push(...page.webhooks);
    after = page.next;
  } while (after !== undefined);
  return webhooks;
}
