import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { counted } from "./request-counter.ts";
import { traced } from "./tracing.ts";

/** The function's DynamoDB document client; undefined attributes are dropped rather than rejected. */
export const dynamodb = DynamoDBDocumentClient.from(counted(traced(new DynamoDBClient({})), "DynamoDB"), {
  marshallOptions: { removeUndefinedValues: true },
});
