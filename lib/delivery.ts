import { Duration } from "aws-cdk-lib";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DELIVERY_FUNCTION_TIMEOUT_SECONDS } from "../functions/shared/limits.ts";
import { EnvVar, PARKED_INDEX, WebhooksPartition } from "../functions/shared/names.ts";
import { Setting } from "../functions/shared/settings.ts";
import { acknowledge } from "./acknowledge.ts";
import { HooklineFunction } from "./function.ts";
import { grantTableAccess } from "./table-access.ts";
import { checkProps, secondsOf } from "./validate.ts";

export interface HooklineDeliveryProps {
  readonly webhooksTable: ITableV2;
  readonly eventsTable: ITableV2;
  /** Settings every function shares (tables, catalogue, endpoint policy, version). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How long one delivery attempt may take before it counts as a timeout: 1 to 30 seconds.
   * @default Duration.seconds(10)
   */
  readonly attemptTimeout?: Duration;
  /**
   * Most delivery function instances polling the queue at once: 2 to 1000.
   * @default 50
   */
  readonly maxConcurrency?: number;
  /**
   * Receives of one message (each a failed processing by the platform, not a failed attempt at the
   * endpoint) before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long a received message stays hidden before SQS delivers it again, until the delivery function
   * takes it over: while it works on a batch, it keeps the messages hidden 10 s at a time, so a message
   * lost with its function (a crash, a timeout) is back within 10 s. At least the delivery function's
   * timeout (Lambda refuses an event source mapping on a queue whose visibility timeout is shorter) and
   * at most 12 hours. The reconciler's grace must exceed it, or it may re-drive a delivery whose
   * message is in flight.
   * @default - the delivery function's timeout plus 5 seconds: 45 seconds
   */
  readonly visibilityTimeout?: Duration;
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
 * The delivery queues, their dead-letter queue, and the function that signs and POSTs each delivery:
 * first attempts from the queues, retries from the retry workflow. High-priority event types have a
 * lane of their own, a queue and a copy of the function, so a backlog of ordinary deliveries never
 * holds them up.
 */
export class HooklineDelivery extends Construct {
  readonly queue: Queue;
  readonly priorityQueue: Queue;
  readonly deadLetterQueue: Queue;
  /** The delivery queues' visibility timeout, resolved. */
  readonly visibilityTimeout: Duration;
  readonly function: HooklineFunction;
  /** The same code as `function`, fed only by the priority queue. */
  readonly priorityFunction: HooklineFunction;

  constructor(scope: Construct, id: string, props: HooklineDeliveryProps) {
    super(scope, id);
    checkProps("HooklineDelivery", [
      ["attemptTimeout", Setting.attemptTimeoutSeconds, secondsOf(props.attemptTimeout)],
      ["maxConcurrency", Setting.deliveryConcurrency, props.maxConcurrency],
    ]);
    const attemptTimeout = props.attemptTimeout ?? Duration.seconds(Setting.attemptTimeoutSeconds.default);
    const functionTimeout = Duration.seconds(DELIVERY_FUNCTION_TIMEOUT_SECONDS);
    this.visibilityTimeout = props.visibilityTimeout ?? functionTimeout.plus(Duration.seconds(5));
    const visibilitySeconds = this.visibilityTimeout.toSeconds();
    if (visibilitySeconds < functionTimeout.toSeconds() || visibilitySeconds > 43_200) {
      throw new Error(
        `HooklineDelivery: visibilityTimeout must be at least the delivery function's timeout (${functionTimeout.toSeconds()} s) and at most 12 hours; found ${visibilitySeconds} s`,
      );
    }

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(this.deadLetterQueue, {
      "Serverless-SQSRedrivePolicy": "it is the dead-letter queue; its messages are redriven with the CLI",
    });
    const deliveryQueue = (queueId: string) =>
      new Queue(this, queueId, {
        // Short, so that a message lost before its function took it over comes back soon (the function's
        // lease brings back one lost after within seconds). Lambda's guidance of six times the function
        // timeout leaves room for throttled invokes; the event source's maximum concurrency keeps those
        // rare, and a message delivered again is checked against its record before sending.
        visibilityTimeout: this.visibilityTimeout,
        retentionPeriod: Duration.days(14),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
      });
    this.queue = deliveryQueue("Queue");
    this.priorityQueue = deliveryQueue("PriorityQueue");

    const deliveryFunction = (functionId: string, description: string, source: Queue) => {
      const fn = new HooklineFunction(this, functionId, {
        entry: "delivery/handler.ts",
        description,
        timeout: functionTimeout,
        environment: {
          ...props.environment,
          [EnvVar.deliveryTimeoutSeconds]: String(attemptTimeout.toSeconds()),
          [EnvVar.deliveryQueueUrl]: this.queue.queueUrl,
          [EnvVar.priorityQueueUrl]: this.priorityQueue.queueUrl,
          [EnvVar.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
          [EnvVar.retryStateMachineArn]: props.retryStateMachineArn,
        },
        ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
        ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
        // The function feeds the queues it consumes: a circuit's probe every cooldown for as long as an
        // endpoint is down, rate-limit deferrals, a large fan-out's next page, parked deliveries released
        // when a circuit closes. Lambda would stop each such chain after 16 invocations and dead-letter
        // the message. Every one of these loops ends: the probe with the webhook (deleted, disabled or
        // answering), a deferral with its slot, a fan-out with its last page.
        allowRecursiveLoop: true,
      });
      // Tenants' items only: the webhook (circuit state, 410 deactivations, with the subscriptions
      // item), its rate-limit slot, and a continued fan-out's page of webhooks.
      grantTableAccess(fn, props.webhooksTable, {
        actions: ["GetItem", "Query", "PutItem", "UpdateItem"],
        leadingKeys: [`${WebhooksPartition.tenant}*`],
      });
      // Attempts, stats, parked deliveries and retry slots; a continued fan-out writes a page of
      // deliveries, in one batch when fresh and one conditional put each when resumed.
      grantTableAccess(fn, props.eventsTable, {
        // Query: an ordered webhook's next waiting delivery, read from its partitions, and the members
        // of a retry slot being released.
        actions: ["GetItem", "Query", "PutItem", "UpdateItem", "BatchWriteItem"],
        queriedIndexes: [PARKED_INDEX],
      });
      // The queues for circuit probes, released and deferred deliveries and retry slots' deliveries;
      // the dead-letter queue for a delivery whose schedule ran out.
      this.queue.grantSendMessages(fn);
      this.priorityQueue.grantSendMessages(fn);
      this.deadLetterQueue.grantSendMessages(fn);
      fn.addToRolePolicy(
        new PolicyStatement({ actions: ["states:StartExecution"], resources: [props.retryStateMachineArn] }),
      );
      fn.addEventSource(
        new SqsEventSource(source, {
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(0),
          reportBatchItemFailures: true,
          maxConcurrency: props.maxConcurrency ?? Setting.deliveryConcurrency.default,
        }),
      );
      acknowledge(fn, {
        "Serverless-LambdaDLQ":
          "never invoked asynchronously: by its queue's event source mapping and synchronously by the retry workflow",
        "Serverless-LambdaEventSourceMappingDestination":
          "a message that keeps failing moves to the dead-letter queue through the queue's redrive policy",
      });
      return fn;
    };
    this.function = deliveryFunction(
      "Function",
      "Hookline: signs and POSTs each queued delivery",
      this.queue,
    );
    this.priorityFunction = deliveryFunction(
      "PriorityFunction",
      "Hookline: signs and POSTs deliveries of high-priority event types",
      this.priorityQueue,
    );
  }
}
