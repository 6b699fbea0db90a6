import { Duration } from "aws-cdk-lib";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { FilterCriteria, FilterRule, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import {
  DELIVERY_SORT_PREFIX,
  DELIVERY_STATUS_ATTRIBUTE,
  DeliveryStatusName,
  TableKey,
  WebhooksPartition,
} from "../functions/shared/names.ts";
import { acknowledge } from "./acknowledge.ts";
import { HooklineFunction } from "./function.ts";
import { grantTableAccess } from "./table-access.ts";

export interface HooklineStatsProps {
  /** The events table, whose stream (NEW_AND_OLD_IMAGES) carries the delivery records' changes. */
  readonly eventsTable: ITableV2;
  /** Settings every function shares (tables, retention). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Most stream records in one invocation: 1 to 10,000. Each batch writes one item per webhook and hour.
   * @default 1000
   */
  readonly batchSize?: number;
  /**
   * How long records are gathered into a batch: how far the stats trail the deliveries. Up to 300 s.
   * @default Duration.seconds(5)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failed batch (split in two at each failure) before its records go, uncounted, to the
   * failure queue: 0 to 10,000.
   * @default 10
   */
  readonly retryAttempts?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Active X-Ray tracing on the function.
   * @default false
   */
  readonly tracing?: boolean;
}

/** The settings applied when a prop is not given; exported so tests can check each documented default. */
export const DEFAULT_STATS_PROPS = {
  batchSize: 1000,
  maxBatchingWindow: Duration.seconds(5),
  retryAttempts: 10,
} as const;

/**
 * Stream records that can move a counter, and only those: a delivery record (its sort key) that ends,
 * records an attempt (its status is then retrying or an outcome), or is re-opened from an outcome.
 */
function countedChanges(): ReturnType<typeof FilterCriteria.filter>[] {
  const status = (...values: string[]) => ({ [DELIVERY_STATUS_ATTRIBUTE]: { S: FilterRule.or(...values) } });
  const keys = { Keys: { [TableKey.sort]: { S: FilterRule.beginsWith(DELIVERY_SORT_PREFIX) } } };
  const { pending, retrying, delivered, failed, deadLettered } = DeliveryStatusName;
  return [
    FilterCriteria.filter({
      eventName: FilterRule.or("INSERT", "MODIFY"),
      dynamodb: { ...keys, NewImage: status(retrying, delivered, failed, deadLettered) },
    }),
    FilterCriteria.filter({
      eventName: FilterRule.isEqual("MODIFY"),
      dynamodb: { ...keys, NewImage: status(pending), OldImage: status(failed, deadLettered) },
    }),
  ];
}

/**
 * The webhooks' stats counters, kept by a function reading the events table's stream: batches of
 * delivery record changes, summed per webhook and hour and written once each (functions/stats/handler.ts),
 * with the batches Lambda gives up on in a failure queue.
 */
export class HooklineStats extends Construct {
  readonly function: HooklineFunction;
  /** Where Lambda puts what it knows of a batch it gave up on (shard and sequence numbers, not the records). */
  readonly failureQueue: Queue;

  constructor(scope: Construct, id: string, props: HooklineStatsProps) {
    super(scope, id);
    this.function = new HooklineFunction(this, "Function", {
      entry: "stats/handler.ts",
      description:
        "Hookline: adds delivery record changes from the events table's stream to the stats counters",
      timeout: Duration.seconds(60),
      environment: props.environment,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    });
    this.failureQueue = new Queue(this, "FailureQueue", {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(this.failureQueue, {
      "Serverless-SQSRedrivePolicy":
        "it is the stream mapping's failure destination, a dead-letter queue itself",
      "AwsSolutions-SQS3": "it is the stream mapping's failure destination, a dead-letter queue itself",
    });
    // The hour buckets, beside each webhook's deliveries: added to, and their watermarks read on a conflict.
    grantTableAccess(this.function, props.eventsTable, {
      actions: ["GetItem", "UpdateItem"],
      leadingKeys: [`${WebhooksPartition.tenant}*`],
    });
    this.function.addEventSource(
      new DynamoEventSource(props.eventsTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? DEFAULT_STATS_PROPS.batchSize,
        maxBatchingWindow: props.maxBatchingWindow ?? DEFAULT_STATS_PROPS.maxBatchingWindow,
        bisectBatchOnError: true,
        retryAttempts: props.retryAttempts ?? DEFAULT_STATS_PROPS.retryAttempts,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.failureQueue),
        filters: countedChanges(),
      }),
    );
    acknowledge(this.function, {
      "Serverless-LambdaDLQ": "never invoked asynchronously: only by its stream's event source mapping",
    });
  }
}
