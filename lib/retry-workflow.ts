import { type CfnElement, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  DefinitionBody,
  Fail,
  JitterType,
  LogLevel,
  QueryLanguage,
  StateMachine,
  StateMachineType,
  Wait,
  WaitTime,
} from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { RetrySlotField } from "../functions/shared/names.ts";
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
  /** The delivery function; it releases each slot whose wait is over. */
  readonly deliveryFunction: IFunction;
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
 * The retry schedule, as a Standard workflow: one execution per retry slot of a webhook (see
 * functions/domain/retry-slot.ts), which waits until the slot's time and has the delivery function
 * send the slot's deliveries back to the queue for their next attempt. An attempt that fails again
 * joins a later slot; the last one dead-letters its delivery. Two state transitions per slot (Wait,
 * Release), shared by every delivery in it: a Map over the slot's deliveries would take at least one
 * more per delivery and attempt, and the queue already gives each attempt its webhook's in-flight cap,
 * rate limit and circuit.
 */
export class HooklineRetryWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: HooklineRetryWorkflowProps) {
    super(scope, id);

    const wait = new Wait(this, "WaitForSlot", {
      time: WaitTime.timestampPath(`$.${RetrySlotField.at}`),
    });
    const release = new LambdaInvoke(this, "Release", {
      lambdaFunction: props.deliveryFunction,
      payloadResponseOnly: true,
      // CDK's default retrier leaves out throttling: a delivery function at its concurrency limit (its
      // lane's maximum, or the account's) would fail the execution and wait for the reconciler's grace.
      retryOnServiceExceptions: false,
    });
    release.addRetry({
      errors: [...LAMBDA_SERVICE_ERRORS],
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxDelay: Duration.minutes(1),
      maxAttempts: 8,
      // Throttled releases of many executions would otherwise come back in lockstep and throttle again.
      jitterStrategy: JitterType.FULL,
    });
    // A release the function itself could not complete ends the execution as failed; its deliveries
    // stay retrying with a due time, so the reconciler drives them on.
    const releaseFailed = new Fail(this, "ReleaseFailed", {
      error: "ReleaseFailed",
      cause: "the delivery function failed; the reconciler will resume this slot's deliveries",
    });
    release.addCatch(releaseFailed, { errors: ["States.ALL"] });

    this.stateMachine = new StateMachine(this, "StateMachine", {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      queryLanguage: QueryLanguage.JSON_PATH,
      comment: "Hookline: a webhook's retry slot, released when its wait is over",
      definitionBody: DefinitionBody.fromChainable(wait.next(release)),
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
      "AwsSolutions-SF1": "ERROR only: ALL would log every transition's input at a cost per retry slot",
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
