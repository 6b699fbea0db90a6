import type { TestProject } from "vitest/node";
import { dynamoDbLocalProcesses, type RunningStack, startStack } from "../support/start-stack.ts";

let stack: RunningStack | undefined;

/**
 * The end-to-end stack runs with a schedule of seconds instead of minutes, as the README shows for
 * local testing: retries after 1, 2, 2, 2 and 2 s; circuits open after 5 failures for 3 s; attempts
 * time out after 2 s; the reconciler drives on anything 20 s overdue. It models DynamoDB's stale
 * reads and Lambda's recursive loop detection (local/README.md).
 */
export const E2E_STACK_ENV = {
  HOOKLINE_RETRY_SCHEDULE: "1,2,2,2,2",
  HOOKLINE_CIRCUIT_THRESHOLD: "5",
  HOOKLINE_CIRCUIT_COOLDOWN: "3",
  HOOKLINE_DELIVERY_TIMEOUT: "2",
  HOOKLINE_RECONCILE_GRACE: "20",
  HOOKLINE_LOCAL_SCHEDULE_SECONDS: "2",
  // AWS behaviours the emulators lack: reads that may be stale see the tables as they were a second
  // ago, and SQS → Lambda chains stop after 16 invocations unless the function allows the loop.
  HOOKLINE_LOCAL_STALE_READS_MS: "1000",
  HOOKLINE_LOCAL_LOOP_DETECTION: "true",
};

/** One local stack, started as `npm start` starts it, serves every end-to-end test file. */
export async function setup(project: TestProject): Promise<void> {
  stack = await startStack({ name: "e2e", env: E2E_STACK_ENV });
  project.provide("localStack", stack.info);
}

export async function teardown(): Promise<void> {
  if (!stack) return;
  const code = await stack.stop("SIGTERM");
  if (code !== 0)
    throw new Error(`local stack exited with ${code} on SIGTERM:\n${stack.output().slice(-4000)}`);
  const leftovers = dynamoDbLocalProcesses(stack.info.stateDir);
  if (leftovers.length > 0) throw new Error(`DynamoDB Local outlived the stack:\n${leftovers.join("\n")}`);
}
