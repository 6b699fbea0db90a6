import { ArnFormat, Duration, Stack, Token } from "aws-cdk-lib";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DUE_INDEX, EnvVar, OPEN_CIRCUITS_INDEX, WebhooksPartition } from "../functions/shared/names.ts";
import { acknowledge } from "./acknowledge.ts";
import { HooklineFunction } from "./function.ts";
import { grantTableAccess } from "./table-access.ts";

export interface HooklineReconcilerProps {
  readonly webhooksTable: ITableV2;
  readonly eventsTable: ITableV2;
  readonly deliveryQueue: IQueue;
  /** The priority lane's queue, for high-priority event types. */
  readonly priorityQueue: IQueue;
  /** Where a dead-lettered delivery's message goes when a crash left it unsent. */
  readonly deadLetterQueue: IQueue;
  readonly environment: Readonly<Record<string, string>>;
  /** The retry workflow's name, whose executions it asks whether a retrying delivery's still runs. */
  readonly retryStateMachineName: string;
  /**
   * How often the reconciler runs.
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Active X-Ray tracing on the functions.
   * @default false
   */
  readonly tracing?: boolean;
}

/** Self-healing: a scheduled function that drives on every record whose next step is overdue. */
export class HooklineReconciler extends Construct {
  readonly function: HooklineFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: HooklineReconcilerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.function = new HooklineFunction(this, "Function", {
      entry: "reconciler/handler.ts",
      description: "Hookline: drives on overdue fan-outs and deliveries",
      timeout: Duration.minutes(5),
      environment: {
        ...props.environment,
        [EnvVar.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
        [EnvVar.retryStateMachineArn]: stack.formatArn({
          service: "states",
          resource: "stateMachine",
          resourceName: props.retryStateMachineName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    });
    // A resumed fan-out's pages of webhooks, and the open-circuits gauge (a keys-only index).
    grantTableAccess(this.function, props.webhooksTable, {
      actions: ["Query"],
      leadingKeys: [`${WebhooksPartition.tenant}*`],
      queriedIndexes: [OPEN_CIRCUITS_INDEX],
    });
    // Overdue records from the due index, claimed by moving their deadline; a resumed fan-out puts each
    // missing delivery on condition and marks the event.
    grantTableAccess(this.function, props.eventsTable, {
      actions: ["PutItem", "UpdateItem"],
      queriedIndexes: [DUE_INDEX],
    });
    props.deliveryQueue.grantSendMessages(this.function);
    props.priorityQueue.grantSendMessages(this.function);
    props.deadLetterQueue.grantSendMessages(this.function);
    const executions = stack.formatArn({
      service: "states",
      resource: "execution",
      resourceName: `${props.retryStateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ["states:DescribeExecution"], resources: [executions] }),
    );
    this.schedule = new Rule(this, "Schedule", {
      description: "Hookline: run the reconciler",
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.function)],
    });
    // A run that fails loses nothing: the next one, an interval later, finds the same overdue records.
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    acknowledge(this, {
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${shown(stack.region, "Region")}:${shown(stack.account, "AccountId")}:execution:${props.retryStateMachineName}:*]`]:
        "the retry workflow's executions, each named after a delivery, are only described",
      "Serverless-EventBusDLQ": "a lost scheduled run is made up by the next one",
      "Serverless-LambdaDLQ": "a failed scheduled run is made up by the next one",
    });
  }
}
