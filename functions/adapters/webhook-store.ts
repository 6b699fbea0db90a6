import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type Circuit, type CircuitState, CLOSED_CIRCUIT } from "../domain/circuit.ts";
import type { Webhook } from "../domain/model.ts";
import type { SubscriberSource } from "../domain/publish.ts";
import type { WebhookStore } from "../domain/webhooks.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

interface WebhookItem {
  readonly id: string;
  readonly tenant_id: string;
  readonly url: string;
  readonly event_types: readonly string[];
  readonly description: string;
  readonly active: boolean;
  readonly secret: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly retry_schedule_seconds?: readonly number[];
  readonly disabled_reason?: string;
  readonly circuit_state?: CircuitState;
  readonly consecutive_failures?: number;
  readonly circuit_opened_at?: string;
  readonly probe_claimed_at?: string;
  readonly circuit_version?: number;
}

function toItem(webhook: Webhook): WebhookItem & Record<string, unknown> {
  return {
    [TableKey.partition]: Keys.tenant(webhook.tenantId),
    [TableKey.sort]: Keys.webhook(webhook.id),
    id: webhook.id,
    tenant_id: webhook.tenantId,
    url: webhook.url,
    event_types: webhook.eventTypes,
    description: webhook.description,
    active: webhook.active,
    secret: webhook.secret,
    created_at: webhook.createdAt,
    updated_at: webhook.updatedAt,
    ...(webhook.retryScheduleSeconds ? { retry_schedule_seconds: webhook.retryScheduleSeconds } : {}),
    ...circuitAttributes(webhook.circuit),
  };
}

function circuitAttributes(circuit: Circuit) {
  return {
    circuit_state: circuit.state,
    consecutive_failures: circuit.consecutiveFailures,
    circuit_version: circuit.version,
    ...(circuit.openedAt ? { circuit_opened_at: circuit.openedAt } : {}),
    ...(circuit.probeClaimedAt ? { probe_claimed_at: circuit.probeClaimedAt } : {}),
  };
}

function fromItem(item: Record<string, unknown>): Webhook {
  const stored = item as unknown as WebhookItem;
  return {
    id: stored.id,
    tenantId: stored.tenant_id,
    url: stored.url,
    eventTypes: stored.event_types,
    description: stored.description,
    active: stored.active,
    secret: stored.secret,
    createdAt: stored.created_at,
    updatedAt: stored.updated_at,
    ...(stored.retry_schedule_seconds ? { retryScheduleSeconds: stored.retry_schedule_seconds } : {}),
    ...(stored.disabled_reason ? { disabledReason: stored.disabled_reason } : {}),
    circuit:
      stored.circuit_state === undefined
        ? CLOSED_CIRCUIT
        : {
            state: stored.circuit_state,
            consecutiveFailures: stored.consecutive_failures ?? 0,
            version: stored.circuit_version ?? 0,
            ...(stored.circuit_opened_at ? { openedAt: stored.circuit_opened_at } : {}),
            ...(stored.probe_claimed_at ? { probeClaimedAt: stored.probe_claimed_at } : {}),
          },
  };
}

const SUBSCRIBER_PAGE_SIZE = 100;

/** Webhooks live in the webhooks table under their tenant's partition. */
function circuitUpdateExpression(to: Circuit): string {
  const set = ["circuit_state = :state", "consecutive_failures = :failures", "circuit_version = :version"];
  const remove: string[] = [];
  if (to.openedAt) set.push("circuit_opened_at = :openedAt");
  else remove.push("circuit_opened_at");
  if (to.probeClaimedAt) set.push("probe_claimed_at = :claimedAt");
  else remove.push("probe_claimed_at");
  return `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`;
}

export interface CircuitStore {
  /** Replaces the circuit only if its stored version is still `from.version`; says whether it did. */
  saveCircuit(tenantId: string, webhookId: string, from: Circuit, to: Circuit): Promise<boolean>;
  /** Deactivates a webhook on Hookline's own initiative, with the reason shown on it. */
  deactivate(tenantId: string, webhookId: string, reason: string, at: string): Promise<void>;
}

export function dynamoWebhookStore(
  client: DynamoDBDocumentClient,
  tableName: string,
): WebhookStore &
  SubscriberSource &
  CircuitStore & {
    /** Every webhook of a tenant, active or not, in id order (oldest first: ids are ULIDs). */
    list(tenantId: string): Promise<Webhook[]>;
  } {
  const key = (tenantId: string, webhookId: string) => ({
    [TableKey.partition]: Keys.tenant(tenantId),
    [TableKey.sort]: Keys.webhook(webhookId),
  });
  return {
    async create(webhook) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: toItem(webhook),
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TableKey.partition },
        }),
      );
    },
    async get(tenantId, webhookId) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: key(tenantId, webhookId) }),
      );
      return Item ? fromItem(Item) : undefined;
    },
    async remove(tenantId, webhookId) {
      const { Attributes } = await client.send(
        new DeleteCommand({ TableName: tableName, Key: key(tenantId, webhookId), ReturnValues: "ALL_OLD" }),
      );
      return Attributes !== undefined;
    },
    async saveCircuit(tenantId, webhookId, from, to) {
      const next = circuitAttributes(to);
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(tenantId, webhookId),
            ConditionExpression:
              from.version === 0
                ? "attribute_exists(#pk) AND (attribute_not_exists(circuit_version) OR circuit_version = :from)"
                : "attribute_exists(#pk) AND circuit_version = :from",
            UpdateExpression: circuitUpdateExpression(to),
            ExpressionAttributeNames: { "#pk": TableKey.partition },
            ExpressionAttributeValues: {
              ":from": from.version,
              ":state": next.circuit_state,
              ":failures": next.consecutive_failures,
              ":version": next.circuit_version,
              ...(to.openedAt ? { ":openedAt": to.openedAt } : {}),
              ...(to.probeClaimedAt ? { ":claimedAt": to.probeClaimedAt } : {}),
            },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async deactivate(tenantId, webhookId, reason, at) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(tenantId, webhookId),
            ConditionExpression: "attribute_exists(#pk)",
            UpdateExpression: "SET active = :false, disabled_reason = :reason, updated_at = :at",
            ExpressionAttributeNames: { "#pk": TableKey.partition },
            ExpressionAttributeValues: { ":false": false, ":reason": reason, ":at": at },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
    async list(tenantId) {
      const webhooks: Webhook[] = [];
      const pages = paginateQuery(
        { client, pageSize: SUBSCRIBER_PAGE_SIZE },
        {
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          ExpressionAttributeNames: { "#pk": TableKey.partition, "#sk": TableKey.sort },
          ExpressionAttributeValues: { ":pk": Keys.tenant(tenantId), ":prefix": Keys.webhookPrefix },
        },
      );
      for await (const page of pages) webhooks.push(...(page.Items ?? []).map(fromItem));
      return webhooks;
    },
    async *activeWebhooks(tenantId) {
      const pages = paginateQuery(
        { client, pageSize: SUBSCRIBER_PAGE_SIZE },
        {
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          FilterExpression: "#active = :true",
          ExpressionAttributeNames: { "#pk": TableKey.partition, "#sk": TableKey.sort, "#active": "active" },
          ExpressionAttributeValues: {
            ":pk": Keys.tenant(tenantId),
            ":prefix": Keys.webhookPrefix,
            ":true": true,
          },
        },
      );
      for await (const page of pages) {
        yield (page.Items ?? []).map(fromItem);
      }
    },
  };
}
