import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dynamoStores } from "../../functions/adapters/stores.ts";

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
