import type { TestProject } from "vitest/node";
import { dynamoDbLocalProcesses, type RunningStack, startStack } from "../support/start-stack.ts";

let stack: RunningStack | undefined;

/** One local stack, started as `npm start` starts it, serves every end-to-end test file. */
export async function setup(project: TestProject): Promise<void> {
  stack = await startStack({ name: "e2e" });
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
