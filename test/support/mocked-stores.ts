import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dynamoStores } from "../../functions/adapters/stores.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";

/**
 * The product's DynamoDB stores on a client that `mockClient(DynamoDBDocumentClient)` intercepts, for
 * unit tests that read the requests a store sends.
 */
export function storesOnMockedClient(reconcileGraceSeconds: number) {
  return dynamoStores(DynamoDBDocumentClient.from(new DynamoDBClient({})), {
    webhooksTable: "webhooks",
    eventsTable: "events",
    retentionDays: 30,
    reconcileGraceSeconds,
    fanOutPageSize: 100,
  });
}

/** The queue message of a delivery's first attempt (tenant t1, webhook wh_1), for the stores' tests. */
export function firstAttemptMessage(deliveryId = "msg_1"): DeliveryMessage {
  return {
    tenantId: "t1",
    webhookId: "wh_1",
    deliveryId,
    eventId: "evt_1",
    eventType: "memory.created",
    acceptedAt: "2026-11-25T10:00:00.000Z",
    attempt: 1,
    scheduleStart: 0,
  };
}
