import { Duration } from "aws-cdk-lib";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { EnvVar } from "../functions/shared/names.ts";
import { HooklineFunction } from "./function.ts";

export interface HooklineDeliveryProps {
  readonly webhooksTable: ITableV2;
  readonly eventsTable: ITableV2;
  /** Settings every function shares (tables, catalogue, endpoint policy, version). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How long one delivery attempt may take before it counts as a timeout.
   * @default Duration.seconds(10)
   */
  readonly attemptTimeout?: Duration;
  /**
   * Most delivery function instances polling the queue at once.
   * @default 50
   */
  readonly maxConcurrency?: number;
  /**
   * Receives of one message (each a failed processing by the platform, not a failed attempt at the
   * endpoint) before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Active X-Ray tracing on the functions.
   * @default false
   */
  readonly tracing?: boolean;
  /** ARN of the retry workflow the function starts when a first attempt fails (named, to avoid a cycle). */
  readonly retryStateMachineArn: string;
}

/**
 * The delivery queue, its dead-letter queue, and the function that signs and POSTs each delivery: first
 * attempts from the queue, retries from the retry workflow.
 */
export class HooklineDelivery extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: HooklineFunction;

  constructor(scope: Construct, id: string, props: HooklineDeliveryProps) {
    super(scope, id);
    const attemptTimeout = props.attemptTimeout ?? Duration.seconds(10);
    // Records of a batch are attempted in parallel, so one batch takes about one attempt's time.
    const functionTimeout = Duration.seconds(attemptTimeout.toSeconds() + 20);

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, "Queue", {
      // Six times the function timeout, as Lambda's SQS guidance recommends, so a slow batch is not redelivered mid-flight.
      visibilityTimeout: Duration.seconds(functionTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    this.function = new HooklineFunction(this, "Function", {
      entry: "delivery/handler.ts",
      description: "Hookline: signs and POSTs each queued delivery",
      timeout: functionTimeout,
      environment: {
        ...props.environment,
        [EnvVar.deliveryTimeoutSeconds]: String(attemptTimeout.toSeconds()),
        [EnvVar.deliveryQueueUrl]: this.queue.queueUrl,
        [EnvVar.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
        [EnvVar.retryStateMachineArn]: props.retryStateMachineArn,
      },
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    });
    // Read and write: circuit state and 410 deactivations live on the webhook.
    props.webhooksTable.grantReadWriteData(this.function);
    props.eventsTable.grantReadWriteData(this.function);
    // Its own queue for circuit probes and released deliveries; the dead-letter queue for a delivery
    // whose schedule ran out outside the workflow.
    this.queue.grantSendMessages(this.function);
    this.deadLetterQueue.grantSendMessages(this.function);
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ["states:StartExecution"], resources: [props.retryStateMachineArn] }),
    );
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(0),
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 50,
      }),
    );
  }
}
