import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
} from "@aws-sdk/lib-dynamodb";
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
  };
}

const SUBSCRIBER_PAGE_SIZE = 100;

/** Webhooks live in the webhooks table under their tenant's partition. */
export function dynamoWebhookStore(
  client: DynamoDBDocumentClient,
  tableName: string,
): WebhookStore & SubscriberSource {
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
