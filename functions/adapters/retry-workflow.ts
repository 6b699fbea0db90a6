import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { RetryRunState } from "../domain/ports.ts";
import type { RetrySlot } from "../domain/retry-slot.ts";
import { retryRunName } from "../shared/names.ts";

/**
 * Starts the retry workflow execution of a webhook's retry slot. Every delivery joining the slot asks
 * for the same name and input: while it runs, Step Functions answers with the running execution; once
 * it ended, the start is refused, and the joiner learns from the slot's mark that it was released.
 */
export async function startRetryWorkflow(
  client: SFNClient,
  stateMachineArn: string,
  slot: RetrySlot,
): Promise<void> {
  try {
    await client.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: retryRunName(slot.webhookId, slot.at),
        input: JSON.stringify(slot),
      }),
    );
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
  }
}

/**
 * Where the named retry workflow execution is: running, done (it released its slot), or stopped
 * without doing so (failed, aborted, timed out, or never started: its start was lost with a crash).
 */
export async function retryRunState(
  client: SFNClient,
  stateMachineArn: string,
  runName: string,
): Promise<RetryRunState> {
  const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${runName}`;
  try {
    const { status } = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (status === "RUNNING") return "running";
    return status === "SUCCEEDED" ? "released" : "stopped";
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) return "stopped";
    throw error;
  }
}
