import { type CfnElement, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  JitterType,
  JsonPath,
  LogLevel,
  QueryLanguage,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from "aws-cdk-lib/aws-stepfunctions";
import {
  DynamoAttributeValue,
  DynamoUpdateItem,
  LambdaInvoke,
  SqsSendMessage,
} from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { RetryStep, TableKey } from "../functions/shared/names.ts";
import { acknowledge } from "./acknowledge.ts";

/**
 * Errors of the Lambda service itself, not of the delivery function's code: retried with backoff before
 * the attempt counts as one the function could not run.
 */
export const LAMBDA_SERVICE_ERRORS = [
  "Lambda.TooManyRequestsException",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.ClientExecutionTimeoutException",
] as const;

export interface HooklineRetryWorkflowProps {
  /** The delivery function; it makes each attempt and says what comes next. */
  readonly deliveryFunction: IFunction;
  readonly deadLetterQueue: IQueue;
  readonly eventsTable: ITableV2;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** The state machine's name, known in advance so the delivery function can be given its ARN. */
  readonly stateMachineName: string;
  /**
   * X-Ray tracing of the executions.
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * The retry schedule of a failing delivery, as a Standard workflow: wait, attempt, decide — and when the
 * schedule is exhausted, put the delivery on the dead-letter queue and mark it `dead_lettered`. Only
 * deliveries whose first attempt failed ever start it, and each retry costs three state transitions
 * (Wait, Attempt, Choice).
 */
export class HooklineRetryWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: HooklineRetryWorkflowProps) {
    super(scope, id);

    const wait = new Wait(this, "WaitForNextAttempt", {
      time: WaitTime.secondsPath(`$.${RetryStep.waitSeconds}`),
    });
    const attempt = new LambdaInvoke(this, "Attempt", {
      lambdaFunction: props.deliveryFunction,
      payloadResponseOnly: true,
      // CDK's default retrier leaves out throttling: a delivery function at its concurrency limit (its
      // lane's maximum, or the account's) would fail the execution and wait for the reconciler's grace.
      retryOnServiceExceptions: false,
    });
    attempt.addRetry({
      errors: [...LAMBDA_SERVICE_ERRORS],
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxDelay: Duration.minutes(1),
      maxAttempts: 8,
      // Throttled attempts of many executions would otherwise come back in lockstep and throttle again.
      jitterStrategy: JitterType.FULL,
    });
    const done = new Succeed(this, "Done");
    // An attempt the function itself could not complete ends the execution as failed; the delivery stays
    // non-terminal with a due time, so the reconciler drives it on.
    const attemptFailed = new Fail(this, "AttemptCouldNotRun", {
      error: "AttemptCouldNotRun",
      cause: "the delivery function failed; the reconciler will resume this delivery",
    });
    attempt.addCatch(attemptFailed, { errors: ["States.ALL"] });

    const sendToDeadLetterQueue = new SqsSendMessage(this, "SendToDeadLetterQueue", {
      queue: props.deadLetterQueue,
      messageBody: TaskInput.fromJsonPathAt(`$.${RetryStep.deadLetterMessage}`),
      resultPath: JsonPath.DISCARD,
    });
    // The delivery function marked the delivery `dead_lettered` before answering, and left it due so
    // that the reconciler sends a message a crash left unsent; with the message sent, it is settled.
    const markDeadLettered = new DynamoUpdateItem(this, "MarkDeadLettered", {
      table: props.eventsTable,
      key: {
        [TableKey.partition]: DynamoAttributeValue.fromString(
          JsonPath.stringAt(`$.${RetryStep.recordKey}.pk`),
        ),
        [TableKey.sort]: DynamoAttributeValue.fromString(JsonPath.stringAt(`$.${RetryStep.recordKey}.sk`)),
      },
      conditionExpression: "#status = :deadLettered",
      updateExpression: "REMOVE #dueShard, #dueAt",
      expressionAttributeNames: {
        "#status": "status",
        "#dueShard": TableKey.dueShard,
        "#dueAt": TableKey.dueAt,
      },
      expressionAttributeValues: {
        ":deadLettered": DynamoAttributeValue.fromString("dead_lettered"),
      },
      resultPath: JsonPath.DISCARD,
    });
    // The record already moved on (a manual retry re-opened it): nothing to settle.
    markDeadLettered.addCatch(done, { errors: ["DynamoDB.ConditionalCheckFailedException"] });

    const outcome = new Choice(this, "Outcome")
      .when(Condition.stringEquals(`$.${RetryStep.next}`, RetryStep.retry), wait)
      .when(
        Condition.stringEquals(`$.${RetryStep.next}`, RetryStep.deadLetter),
        sendToDeadLetterQueue.next(markDeadLettered),
      )
      .otherwise(done);

    this.stateMachine = new StateMachine(this, "StateMachine", {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      queryLanguage: QueryLanguage.JSON_PATH,
      comment: "Hookline: the retry schedule of one delivery",
      definitionBody: DefinitionBody.fromChainable(wait.next(attempt).next(outcome)),
      timeout: Duration.days(4),
      ...(props.tracing === true ? { tracingEnabled: true } : {}),
      logs: {
        // Under /aws/vendedlogs/, where CloudWatch Logs resource policies for vended logs are sized for
        // many log groups; removed with the stack like the functions' log groups.
        destination: new LogGroup(this, "Logs", {
          logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
          retention: props.logRetention ?? RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: LogLevel.ERROR,
      },
    });
    const deliveryFunctionId = Stack.of(this).getLogicalId(
      props.deliveryFunction.node.defaultChild as CfnElement,
    );
    acknowledge(this.stateMachine, {
      "AwsSolutions-SF1":
        "ERROR only: ALL would log every transition's input, event data included, at a cost per delivery retry",
      [`AwsSolutions-IAM5[Resource::<${deliveryFunctionId}.Arn>:*]`]:
        "invoking the delivery function's versions, as the LambdaInvoke task's grant does",
      "AwsSolutions-IAM5[Resource::*]": "CloudWatch Logs' log-delivery actions accept only the resource *",
      ...(props.tracing === true
        ? {}
        : {
            "AwsSolutions-SF2": "X-Ray is opt-in with the tracing prop: it costs per trace",
            "Serverless-StepFunctionStateMachineXray":
              "X-Ray is opt-in with the tracing prop: it costs per trace",
          }),
    });
  }
}
