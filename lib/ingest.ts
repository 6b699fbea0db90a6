import { Duration } from "aws-cdk-lib";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { type IEventBus, Match, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { WebhooksPartition } from "../functions/shared/names.ts";
import { acknowledge } from "./acknowledge.ts";
import { HooklineFunction } from "./function.ts";
import { grantTableAccess } from "./table-access.ts";

export interface HooklineIngestProps {
  readonly webhooksTable: ITableV2;
  readonly eventsTable: ITableV2;
  readonly deliveryQueue: IQueue;
  /** The priority lane's queue, for high-priority event types. */
  readonly priorityQueue: IQueue;
  readonly environment: Readonly<Record<string, string>>;
  /** Names of the event types in the catalogue; the rule matches only these. */
  readonly eventTypeNames: readonly string[];
  /** The bus whose events Hookline publishes. */
  readonly eventBus: IEventBus;
  /**
   * EventBridge `source` values accepted; any source when empty.
   * @default []
   */
  readonly eventSources?: readonly string[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Active X-Ray tracing on the functions.
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * Ingest: stores each published event and fans it out to the delivery queue. Serves `POST /v1/events`
 * (wired by the API construct) and an EventBridge rule whose `detail-type` is a catalogue event type.
 */
export class HooklineIngest extends Construct {
  readonly function: HooklineFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: HooklineIngestProps) {
    super(scope, id);
    this.function = new HooklineFunction(this, "Function", {
      entry: "ingest/handler.ts",
      description: "Hookline: stores published events and fans them out to the delivery queue",
      timeout: Duration.seconds(30),
      environment: props.environment,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    });
    // A tenant's subscribers and the version its fan-out is checked against; never an API key.
    grantTableAccess(this.function, props.webhooksTable, {
      actions: ["GetItem", "Query", "ConditionCheckItem"],
      leadingKeys: [`${WebhooksPartition.tenant}*`],
    });
    // The event (a duplicate's is read back) and its deliveries, in a transaction or in batches.
    grantTableAccess(this.function, props.eventsTable, {
      actions: ["GetItem", "PutItem", "UpdateItem", "BatchWriteItem"],
    });
    props.deliveryQueue.grantSendMessages(this.function);
    props.priorityQueue.grantSendMessages(this.function);

    const sources = props.eventSources ?? [];
    this.rule = new Rule(this, "EventRule", {
      eventBus: props.eventBus,
      description: "Hookline: events to deliver to webhooks",
      eventPattern: {
        detailType: [...props.eventTypeNames],
        detail: { tenant_id: Match.exists() },
        ...(sources.length > 0 ? { source: [...sources] } : {}),
      },
      targets: [new LambdaFunction(this.function, { retryAttempts: 8 })],
    });
    // Known gap, tracked in issue 13 ("EventBridge delivery to the ingest function"): an event whose
    // processing still fails after the retries is dropped.
    acknowledge(this, {
      "Serverless-EventBusDLQ": "open in issue 13: the rule target gets a dead-letter queue there",
      "Serverless-LambdaDLQ": "open in issue 13: the async invoke gets an on-failure destination there",
    });
  }
}
