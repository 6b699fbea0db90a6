import { DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { writeTransaction } from "../../functions/adapters/transactions.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const items = [
  { Put: { TableName: "t", Item: { pk: "a" } } },
  { ConditionCheck: { TableName: "t", Key: { pk: "b" }, ConditionExpression: "attribute_exists(pk)" } },
];

describe("writeTransaction", () => {
  it("sends a transaction that lost a race again, and reports it written", async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled("None", "TransactionConflict")).resolves({});
    expect(await writeTransaction(client, items)).toEqual({ written: true });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it("says which items' conditions failed, without sending it again", async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled("None", "ConditionalCheckFailed"));
    expect(await writeTransaction(client, items)).toEqual({ written: false, failedConditions: [1] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it("gives up on a race it keeps losing, and throws any other cancellation", async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled("TransactionConflict", "None"));
    await expect(writeTransaction(client, items)).rejects.toThrow(TransactionCanceledException);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(4);

    ddb.reset();
    ddb.on(TransactWriteCommand).rejects(cancelled("ValidationError", "None"));
    await expect(writeTransaction(client, items)).rejects.toThrow(TransactionCanceledException);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});
