import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { DeliveryMessage } from "../domain/messages.ts";
import { RetryStep, retryRunName } from "../shared/names.ts";

/** The state the retry workflow carries between its steps: the message of the next attempt, and the wait before it. */
export type RetryState = Omit<DeliveryMessage, "payload"> & { readonly [RetryStep.waitSeconds]: number };

/**
 * Starts the retry workflow for a delivery's next attempt. The execution name is derived from the
 * delivery and the attempt, so a duplicate start (SQS redelivery, a crash and a reconciler) is refused
 * by Step Functions instead of running the schedule twice.
 */
export async function startRetryWorkflow(
  client: SFNClient,
  stateMachineArn: string,
  message: DeliveryMessage,
  waitSeconds: number,
): Promise<void> {
  const { payload: _payload, ...rest } = message;
  const state: RetryState = { ...rest, [RetryStep.waitSeconds]: waitSeconds };
  try {
    await client.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: retryRunName(message.deliveryId, message.attempt),
        input: JSON.stringify(state),
      }),
    );
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
  }
}

/**
 * Whether the named retry workflow execution is still running. One that ended, or that does not exist
 * (its start was lost with a crash), carries nothing on.
 */
export async function retryRunIsRunning(
  client: SFNClient,
  stateMachineArn: string,
  runName: string,
): Promise<boolean> {
  const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${runName}`;
  try {
    const { status } = await client.send(new DescribeExecutionCommand({ executionArn }));
    return status === "RUNNING";
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) return false;
    throw error;
  }
}
