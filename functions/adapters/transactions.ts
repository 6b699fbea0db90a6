import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";

export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** A transaction that lost a race with another one on the same items is tried again this often. */
const TRANSACTION_ATTEMPTS = 4;

/**
 * Writes `items` in one transaction. One that lost a race with another transaction is sent again after
 * a short random pause; one cancelled because a condition failed answers which item's condition did
 * (by its position in `items`); anything else is thrown.
 */
export async function writeTransaction(
  client: DynamoDBDocumentClient,
  items: readonly TransactItem[],
): Promise<{ readonly written: true } | { readonly written: false; readonly failedConditions: number[] }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.send(new TransactWriteCommand({ TransactItems: [...items] }));
      return { written: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failedConditions = reasons.flatMap((reason, index) =>
        reason.Code === "ConditionalCheckFailed" ? [index] : [],
      );
      if (failedConditions.length > 0) return { written: false, failedConditions };
      const conflict = reasons.some((reason) => reason.Code === "TransactionConflict");
      if (!conflict || attempt >= TRANSACTION_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
    }
  }
}
