/**
 * Adapters: the only code that talks to DynamoDB, SQS, Step Functions and the outbound HTTP client.
 * Each implements ports from functions/domain/ports.ts and imports nothing above it (no service, no
 * handler). This module builds a function's DynamoDB stores once, from its settings.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dynamoDeliveryStore } from "./delivery-store.ts";
import { dynamoDueRecords } from "./due-records.ts";
import { dynamoEventStore } from "./event-store.ts";
import { dynamoStatsStore } from "./stats-store.ts";
import { dynamoWebhookStore } from "./webhook-store.ts";

/** The settings the stores are built from (a function's `loadConfig` result has them). */
export interface StoreSettings {
  readonly webhooksTable: string;
  readonly eventsTable: string;
  readonly retentionDays: number;
  readonly reconcileGraceSeconds: number;
  readonly fanOutPageSize: number;
}

/** Every DynamoDB store over the two tables; building them reads and writes nothing. */
export function dynamoStores(client: DynamoDBDocumentClient, settings: StoreSettings) {
  const webhooks = dynamoWebhookStore(
    client,
    settings.webhooksTable,
    settings.fanOutPageSize,
    settings.retentionDays,
  );
  const { eventsTable, retentionDays, reconcileGraceSeconds } = settings;
  return {
    webhooks,
    events: dynamoEventStore(client, eventsTable, retentionDays, reconcileGraceSeconds),
    deliveries: dynamoDeliveryStore(client, eventsTable, retentionDays, reconcileGraceSeconds),
    stats: dynamoStatsStore(client, eventsTable, retentionDays),
    due: dynamoDueRecords(client, eventsTable),
  };
}

export type Stores = ReturnType<typeof dynamoStores>;
