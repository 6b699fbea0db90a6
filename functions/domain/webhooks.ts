import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { CLOSED_CIRCUIT } from "./circuit.ts";
import { checkEndpointHost, checkEndpointUrl, type EndpointPolicy } from "./endpoint-url.ts";
import { NotFoundError } from "./errors.ts";
import { assertValidSubscriptions } from "./event-types.ts";
import { newWebhookId } from "./ids.ts";
import type { Webhook } from "./model.ts";
import { validateRetrySchedule } from "./retry-schedule.ts";
import { generateSecret, type RandomBytes } from "./signing.ts";

export interface WebhookStore {
  create(webhook: Webhook): Promise<void>;
  get(tenantId: string, webhookId: string): Promise<Webhook | undefined>;
  /** Returns false when there was nothing to delete. */
  remove(tenantId: string, webhookId: string): Promise<boolean>;
}

export interface WebhookRegistrationDeps {
  readonly store: WebhookStore;
  readonly catalogue: readonly EventTypeDefinition[];
  readonly endpointPolicy: EndpointPolicy;
  readonly resolveHost: (hostname: string) => Promise<readonly string[]>;
  readonly now: () => Date;
  readonly randomBytes: RandomBytes;
}

export interface NewWebhook {
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly description?: string;
  readonly retryScheduleSeconds?: readonly number[];
}

/** Validates and stores a new webhook with a fresh signing secret. */
export async function registerWebhook(
  deps: WebhookRegistrationDeps,
  tenantId: string,
  input: NewWebhook,
): Promise<Webhook> {
  assertValidSubscriptions(deps.catalogue, input.eventTypes);
  if (input.retryScheduleSeconds) validateRetrySchedule(input.retryScheduleSeconds);
  const url = checkEndpointUrl(input.url, deps.endpointPolicy);
  await checkEndpointHost(url, deps.endpointPolicy, deps.resolveHost);
  const now = deps.now();
  const webhook: Webhook = {
    id: newWebhookId(now),
    tenantId,
    url: url.href,
    eventTypes: [...new Set(input.eventTypes)],
    description: input.description ?? "",
    active: true,
    secret: generateSecret(deps.randomBytes),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...(input.retryScheduleSeconds ? { retryScheduleSeconds: [...input.retryScheduleSeconds] } : {}),
    circuit: CLOSED_CIRCUIT,
  };
  await deps.store.create(webhook);
  return webhook;
}

export async function findWebhook(
  store: WebhookStore,
  tenantId: string,
  webhookId: string,
): Promise<Webhook> {
  const webhook = await store.get(tenantId, webhookId);
  if (!webhook) throw new NotFoundError(`webhook ${webhookId} not found`);
  return webhook;
}

export async function deleteWebhook(store: WebhookStore, tenantId: string, webhookId: string): Promise<void> {
  if (!(await store.remove(tenantId, webhookId))) {
    throw new NotFoundError(`webhook ${webhookId} not found`);
  }
}
