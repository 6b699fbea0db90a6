import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";

/** The DynamoDB actions Hookline's functions call; a transaction needs the action of each of its items. */
export type TableAction =
  | "GetItem"
  | "Query"
  | "PutItem"
  | "UpdateItem"
  | "DeleteItem"
  | "BatchWriteItem"
  | "ConditionCheckItem";

/** What one function may do with one table: exactly the calls its code makes, no more. */
export interface TableAccess {
  /** Actions on the table's own items. */
  readonly actions: readonly TableAction[];
  /**
   * Partition-key patterns (IAM `StringLike`) of the only items the actions may touch, e.g. `APIKEY#*`.
   * @default - every item of the table
   */
  readonly leadingKeys?: readonly string[];
  /**
   * Indexes the function queries. Only `Query`, and without the leading-key condition, which would
   * apply to the index's own partition key.
   * @default - none
   */
  readonly queriedIndexes?: readonly string[];
}

/**
 * Grants exactly `access` on `table`, in place of the table's `grantReadData`/`grantReadWriteData`, which
 * also allow Scan, BatchGet, Delete and more on every item. A customer-managed key is granted apart.
 */
export function grantTableAccess(grantee: IGrantable, table: ITableV2, access: TableAccess): void {
  if (access.actions.length > 0) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: access.actions.map((action) => `dynamodb:${action}`),
        resources: [table.tableArn],
        ...(access.leadingKeys === undefined
          ? {}
          : {
              conditions: {
                "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [...access.leadingKeys] },
              },
            }),
      }),
    );
  }
  const indexes = access.queriedIndexes ?? [];
  if (indexes.length > 0) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: indexes.map((index) => `${table.tableArn}/index/${index}`),
      }),
    );
  }
}
