import { Duration } from "aws-cdk-lib";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { type IEventBus, Match, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type IQueue, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { EventTypeDefinition } from "../functions/shared/event-catalogue.ts";
import { INGEST_FUNCTION_TIMEOUT_SECONDS } from "../functions/shared/limits.ts";
import { DEFAULT_EVENT_SOURCE, EnvVar, WebhooksPartition } from "../functions/shared/names.ts";
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
  /** The event-type catalogue with its data schemas, written into the function's bundle. */
  readonly eventCatalogue: readonly EventTypeDefinition[];
  /** Names of the event types in the catalogue; the rule matches only these. */
  readonly eventTypeNames: readonly string[];
  /** The bus whose events Hookline publishes. */
  readonly eventBus: IEventBus;
  /**
   * EventBridge `source` values accepted: the rule matches only these. At least one.
   * @default ["hookline.publisher"]
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
  /**
   * EventBridge events ingest did not take in: those EventBridge could not hand to the function (the
   * event, with its `ERROR_CODE` and `ERROR_MESSAGE` attributes), and those the function rejected or
   * failed on after Lambda's retries (Lambda's on-failure record, with the error). `hookline ingest-dlq`
   * lists and redrives them.
   */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: HooklineIngestProps) {
    super(scope, id);
    this.function = new HooklineFunction(this, "Function", {
      entry: "ingest/handler.ts",
      description: "Hookline: stores published events and fans them out to the delivery queue",
      bundledSettings: { [EnvVar.eventCatalogue]: JSON.stringify(props.eventCatalogue) },
      timeout: Duration.seconds(INGEST_FUNCTION_TIMEOUT_SECONDS),
      environment: props.environment,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    });
    // A tenant's subscribers and the version its fan-out is checked against (read); never an API key.
    grantTableAccess(this.function, props.webhooksTable, {
      actions: ["GetItem", "Query"],
      leadingKeys: [`${WebhooksPartition.tenant}*`],
    });
    // The event (a duplicate's is read back) and its deliveries, in a transaction or in batches.
    grantTableAccess(this.function, props.eventsTable, {
      actions: ["GetItem", "PutItem", "UpdateItem", "BatchWriteItem"],
    });
    props.deliveryQueue.grantSendMessages(this.function);
    props.priorityQueue.grantSendMessages(this.function);

    const sources = props.eventSources ?? [DEFAULT_EVENT_SOURCE];
    if (sources.length === 0 || sources.some((source) => source.trim() === "")) {
      throw new Error(
        "HooklineIngest: eventSources must list at least one non-empty EventBridge source; " +
          "any principal that may put events on the bus can publish as any of them",
      );
    }
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(this.deadLetterQueue, {
      "Serverless-SQSRedrivePolicy": "it is a dead-letter queue; its events are redriven with the CLI",
      "AwsSolutions-SQS3": "it is a dead-letter queue; its events are redriven with the CLI",
    });
    // Lambda's asynchronous invocation: two retries of a failing event, then its on-failure record.
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    this.rule = new Rule(this, "EventRule", {
      eventBus: props.eventBus,
      description: "Hookline: events to deliver to webhooks",
      eventPattern: {
        source: [...sources],
        detailType: [...props.eventTypeNames],
        detail: { tenant_id: Match.exists() },
      },
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
    acknowledge(this.function, {
      "Serverless-LambdaDLQ":
        "asynchronous failures go to the on-failure destination (the ingest dead-letter queue), whose record carries the error a DeadLetterConfig would drop",
    });
  }
}
