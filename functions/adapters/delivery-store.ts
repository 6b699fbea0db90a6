import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AttemptOutcome } from "../domain/deliver.ts";
import type { Delivery, DeliveryMessage, DeliveryStatus } from "../domain/model.ts";
import type { DeliveryRecorder } from "../domain/publish.ts";
import { TableKey } from "../shared/names.ts";
import { expiryEpochSeconds, Keys } from "./keys.ts";

const BATCH_WRITE_LIMIT = 25;
const BATCH_WRITE_ATTEMPTS = 8;

export interface DeliveryStore extends DeliveryRecorder {
  /** Writes an attempt's outcome unless the delivery already reached a terminal state; says whether it did. */
  recordOutcome(message: DeliveryMessage, outcome: AttemptOutcome): Promise<boolean>;
  /** A webhook's deliveries, newest first. */
  list(
    tenantId: string,
    webhookId: string,
    options: { status?: DeliveryStatus; limit: number },
  ): Promise<Delivery[]>;
}

interface DeliveryItem {
  readonly id: string;
  readonly tenant_id: string;
  readonly webhook_id: string;
  readonly event_id: string;
  readonly event_type: string;
  readonly status: DeliveryStatus;
  readonly attempt_count: number;
  readonly last_status_code?: number;
  readonly last_error?: string;
  readonly duration_ms?: number;
  readonly created_at: string;
  readonly completed_at?: string;
}

function fromItem(item: Record<string, unknown>): Delivery {
  const stored = item as unknown as DeliveryItem;
  return {
    id: stored.id,
    tenantId: stored.tenant_id,
    webhookId: stored.webhook_id,
    eventId: stored.event_id,
    eventType: stored.event_type,
    status: stored.status,
    attemptCount: stored.attempt_count,
    ...(stored.last_status_code === undefined ? {} : { lastStatusCode: stored.last_status_code }),
    ...(stored.last_error === undefined ? {} : { lastError: stored.last_error }),
    ...(stored.duration_ms === undefined ? {} : { durationMs: stored.duration_ms }),
    createdAt: stored.created_at,
    ...(stored.completed_at === undefined ? {} : { completedAt: stored.completed_at }),
  };
}

const deliveryKey = (tenantId: string, webhookId: string, deliveryId: string) => ({
  [TableKey.partition]: Keys.webhookDeliveries(tenantId, webhookId),
  [TableKey.sort]: Keys.delivery(deliveryId),
});

/** Deliveries live in the events table under their webhook's partition, and are indexed by event. */
export function dynamoDeliveryStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  retentionDays: number,
): DeliveryStore {
  const toItem = (delivery: Delivery) => ({
    ...deliveryKey(delivery.tenantId, delivery.webhookId, delivery.id),
    [TableKey.byTimePartition]: Keys.event(delivery.tenantId, delivery.eventId),
    [TableKey.byTimeSort]: Keys.delivery(delivery.id),
    [TableKey.expiresAt]: expiryEpochSeconds(new Date(delivery.createdAt), retentionDays),
    id: delivery.id,
    tenant_id: delivery.tenantId,
    webhook_id: delivery.webhookId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    status: delivery.status,
    attempt_count: delivery.attemptCount,
    created_at: delivery.createdAt,
  });

  async function batchPut(deliveries: readonly Delivery[]): Promise<void> {
    for (let start = 0; start < deliveries.length; start += BATCH_WRITE_LIMIT) {
      let requests: { PutRequest: { Item: Record<string, unknown> } }[] = deliveries
        .slice(start, start + BATCH_WRITE_LIMIT)
        .map((delivery) => ({ PutRequest: { Item: toItem(delivery) } }));
      for (let attempt = 1; requests.length > 0; attempt += 1) {
        if (attempt > BATCH_WRITE_ATTEMPTS) throw new Error("DynamoDB kept throttling the delivery records");
        const { UnprocessedItems } = await client.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
          request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
        );
        if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
    }
  }

  async function putIfAbsent(delivery: Delivery): Promise<void> {
    try {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: toItem(delivery),
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TableKey.partition },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  return {
    async createPending(deliveries, { resume }) {
      // A fresh fan-out cannot collide with existing records, so it can use cheap unconditional batches;
      // a resumed one must not reset deliveries that already progressed.
      if (resume) await Promise.all(deliveries.map(putIfAbsent));
      else await batchPut(deliveries);
    },

    async recordOutcome(message, outcome) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: deliveryKey(message.tenantId, message.webhookId, message.deliveryId),
            ConditionExpression: "attribute_exists(#pk) AND #status IN (:pending, :retrying)",
            UpdateExpression: [
              "SET #status = :status, completed_at = :completedAt, updated_at = :completedAt, duration_ms = :duration",
              outcome.statusCode === undefined ? "" : ", last_status_code = :code",
              outcome.error === undefined ? "" : ", last_error = :error",
              outcome.attempted ? ", attempts = list_append(if_not_exists(attempts, :none), :attempt)" : "",
              " ADD attempt_count :increment",
            ].join(""),
            ExpressionAttributeNames: { "#pk": TableKey.partition, "#status": "status" },
            ExpressionAttributeValues: {
              ":pending": "pending",
              ":retrying": "retrying",
              ":status": outcome.status,
              ":completedAt": outcome.completedAt,
              ":duration": outcome.durationMs,
              ":increment": outcome.attempted ? 1 : 0,
              ...(outcome.statusCode === undefined ? {} : { ":code": outcome.statusCode }),
              ...(outcome.error === undefined ? {} : { ":error": outcome.error }),
              ...(outcome.attempted
                ? {
                    ":none": [],
                    ":attempt": [
                      {
                        at: outcome.completedAt,
                        status_code: outcome.statusCode ?? null,
                        duration_ms: outcome.durationMs,
                        error: outcome.error ?? null,
                        response_body: outcome.responseBody,
                      },
                    ],
                  }
                : {}),
            },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },

    async list(tenantId, webhookId, { status, limit }) {
      const pages = paginateQuery(
        { client, pageSize: limit },
        {
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          ScanIndexForward: false,
          ExpressionAttributeNames: {
            "#pk": TableKey.partition,
            "#sk": TableKey.sort,
            ...(status ? { "#status": "status" } : {}),
          },
          ExpressionAttributeValues: {
            ":pk": Keys.webhookDeliveries(tenantId, webhookId),
            ":prefix": Keys.deliveryPrefix,
            ...(status ? { ":status": status } : {}),
          },
          ...(status ? { FilterExpression: "#status = :status" } : {}),
        },
      );
      const deliveries: Delivery[] = [];
      for await (const page of pages) {
        deliveries.push(...(page.Items ?? []).map(fromItem));
        if (deliveries.length >= limit) break;
      }
      return deliveries.slice(0, limit);
    },
  };
}
