/**
 * Step Functions, locally: the template's state machines run in `aws-local-stepfunctions`, behind a
 * Step Functions API (awsJson1_0: StartExecution, DescribeExecution, ListExecutions, StopExecution,
 * DescribeStateMachine). Every `Task` state is overridden by name to run here: Lambda tasks (the
 * `lambda:invoke` integration or a function ARN as Resource) invoke the local Lambda host;
 * `sqs:sendMessage`, `events:putEvents` and the DynamoDB item integrations use the local emulators.
 * Any other Task resource, and any JSONata or variables (`Assign`) — which the library ignores — are
 * rejected at start-up with the state's name.
 *
 * Executions live in memory: they do not survive a restart.
 */
import { randomUUID } from "node:crypto";
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";
import { AwsServiceError, type Operation } from "./aws-json.ts";
import type { IntrinsicResolver } from "./intrinsics.ts";
import type { LambdaHost } from "./lambda-host.ts";
import type { LocalNames } from "./physical-names.ts";
import { type CfnTemplate, isRecord, props, resourcesOfType } from "./template.ts";

export interface StateMachineConfig {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly definition: Record<string, unknown>;
  readonly roleArn?: string;
}

export function stateMachineConfigs(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
  names: LocalNames,
): StateMachineConfig[] {
  return resourcesOfType(template, "AWS::StepFunctions::StateMachine").map(({ logicalId, resource }) => {
    const p = props(resource);
    const where = `state machine ${logicalId}`;
    const values = names.valuesOf(logicalId, resource);
    let definition: unknown;
    if (p.DefinitionString !== undefined) {
      let text = resolver.resolveString(p.DefinitionString, `DefinitionString of ${where}`);
      const substitutions = resolver.resolve(
        p.DefinitionSubstitutions ?? {},
        `DefinitionSubstitutions of ${where}`,
      );
      for (const [key, value] of Object.entries(isRecord(substitutions) ? substitutions : {})) {
        text = text.replaceAll(`\${${key}}`, String(value));
      }
      definition = JSON.parse(text);
    } else if (p.Definition !== undefined) {
      definition = resolver.resolve(p.Definition, `Definition of ${where}`);
    } else {
      throw new Error(`${where}: only DefinitionString or Definition can run locally (not an S3 location)`);
    }
    if (!isRecord(definition)) throw new Error(`${where}: the definition is not a JSON object`);
    rejectUnsupportedLanguage(definition, where);
    let roleArn: string | undefined;
    try {
      roleArn =
        p.RoleArn === undefined ? undefined : resolver.resolveString(p.RoleArn, `RoleArn of ${where}`);
    } catch {
      roleArn = undefined;
    }
    return {
      logicalId,
      name: values?.attributes.Name ?? logicalId,
      arn: values?.ref ?? logicalId,
      definition,
      roleArn,
    };
  });
}

/** aws-local-stepfunctions silently ignores JSONata and variables; refuse them instead. */
export function rejectUnsupportedLanguage(definition: Record<string, unknown>, where: string): void {
  if (definition.QueryLanguage === "JSONata") {
    throw new Error(
      `${where}: QueryLanguage JSONata is not supported locally; write the definition with JSONPath`,
    );
  }
  for (const [name, state] of allStates(definition)) {
    if (state.QueryLanguage === "JSONata" || "Arguments" in state || "Output" in state) {
      throw new Error(
        `${where}, state "${name}": JSONata (QueryLanguage/Arguments/Output) is not supported locally; use JSONPath`,
      );
    }
    if ("Assign" in state) {
      throw new Error(`${where}, state "${name}": variables (Assign) are not supported locally`);
    }
  }
}

/** Every state of a definition, including those inside Map and Parallel states. */
function allStates(definition: Record<string, unknown>): [string, Record<string, unknown>][] {
  const found: [string, Record<string, unknown>][] = [];
  const states = isRecord(definition.States) ? definition.States : {};
  for (const [name, state] of Object.entries(states)) {
    if (!isRecord(state)) continue;
    found.push([name, state]);
    for (const nested of [state.Iterator, state.ItemProcessor])
      if (isRecord(nested)) found.push(...allStates(nested));
    if (Array.isArray(state.Branches))
      for (const branch of state.Branches.filter(isRecord)) found.push(...allStates(branch));
  }
  return found;
}

type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

interface Execution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  abort: () => void;
}

export interface StepFunctionsDeps {
  readonly host: LambdaHost;
  readonly sqs: SQSClient;
  readonly ddb: DynamoDBClient;
  readonly names: LocalNames;
  readonly region: string;
  readonly accountId: string;
  readonly putEvents?: (input: Record<string, unknown>) => { FailedEntryCount: number; Entries: unknown[] };
  /** Told of every state transition (a state entered, or a retry of one): what Standard workflows bill. */
  readonly onStateTransition?: () => void;
  /** Told of every request a service integration (`sqs:sendMessage`, `dynamodb:*`) makes. */
  readonly onServiceRequest?: (service: string, operation: string) => void;
}

type TaskHandler = (input: unknown) => Promise<unknown>;

/** Execution names: 1–80 characters, none of them white space, control characters or `<>{}[]?*"#%\^|~`$&,;:/`. */
function isValidName(name: string): boolean {
  if (!/^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/.test(name)) return false;
  return [...name].every((character) => {
    const code = character.charCodeAt(0);
    return code >= 0x20 && (code < 0x7f || code > 0x9f);
  });
}

export class LocalStepFunctions {
  readonly #machines = new Map<
    string,
    { config: StateMachineConfig; machine: StateMachine; handlers: Record<string, TaskHandler> }
  >();
  readonly #executions = new Map<string, Execution>();
  readonly #deps: StepFunctionsDeps;

  /** Builds and validates every machine; throws on a Task the local runtime cannot run. */
  constructor(configs: readonly StateMachineConfig[], deps: StepFunctionsDeps) {
    this.#deps = deps;
    for (const config of configs) {
      const where = `state machine ${config.logicalId}`;
      let machine: StateMachine;
      try {
        machine = new StateMachine(config.definition as unknown as StateMachineDefinition, {
          validationOptions: { checkArn: false },
        });
      } catch (error) {
        throw new Error(`${where}: invalid definition: ${(error as Error).message}`);
      }
      const handlers: Record<string, TaskHandler> = {};
      for (const [name, state] of allStates(config.definition)) {
        if (state.Type === "Task")
          handlers[name] = this.#taskHandler(String(state.Resource ?? ""), `${where}, state "${name}"`);
      }
      this.#machines.set(config.arn, { config, machine, handlers });
    }
  }

  get stateMachines(): StateMachineConfig[] {
    return [...this.#machines.values()].map(({ config }) => config);
  }

  operations(): Record<string, Operation> {
    return {
      StartExecution: (input) => this.startExecution(input),
      DescribeExecution: (input) => this.#describe(this.#execution(input.executionArn)),
      ListExecutions: (input) => this.#list(input),
      StopExecution: (input) => this.#stop(input),
      DescribeStateMachine: (input) => this.#describeMachine(input),
      ListStateMachines: () => ({
        stateMachines: this.stateMachines.map((config) => ({
          stateMachineArn: config.arn,
          name: config.name,
          type: "STANDARD",
          creationDate: 0,
        })),
      }),
    };
  }

  startExecution(input: Record<string, unknown>): { executionArn: string; startDate: number } {
    const arn = String(input.stateMachineArn ?? "");
    const entry = this.#machines.get(arn);
    if (entry === undefined)
      throw new AwsServiceError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`);
    const name = input.name === undefined ? randomUUID() : String(input.name);
    if (!isValidName(name)) throw new AwsServiceError("InvalidName", `Invalid Name: '${name}'`);
    const inputText = input.input === undefined ? "{}" : String(input.input);
    let parsed: unknown;
    try {
      parsed = JSON.parse(inputText);
    } catch {
      throw new AwsServiceError(
        "InvalidExecutionInput",
        `Invalid State Machine Execution Input: '${inputText}'`,
      );
    }
    const executionArn = `arn:aws:states:${this.#deps.region}:${this.#deps.accountId}:execution:${entry.config.name}:${name}`;
    const existing = this.#executions.get(executionArn);
    if (existing !== undefined) {
      // Like Step Functions: the same name and input while running is the same execution (idempotent).
      if (existing.status === "RUNNING" && existing.input === inputText) {
        return { executionArn, startDate: seconds(existing.startDate) };
      }
      throw new AwsServiceError("ExecutionAlreadyExists", `Execution Already Exists: '${executionArn}'`);
    }
    const startDate = new Date();
    const run = entry.machine.run(parsed as never, {
      overrides: { taskResourceLocalHandlers: entry.handlers as never },
      context: {
        Execution: {
          Id: executionArn,
          Input: parsed as never,
          Name: name,
          RoleArn: entry.config.roleArn,
          StartTime: startDate.toISOString(),
          RedriveCount: 0,
        },
        StateMachine: { Id: arn, Name: entry.config.name },
      },
    });
    const execution: Execution = {
      executionArn,
      stateMachineArn: arn,
      name,
      input: inputText,
      startDate,
      status: "RUNNING",
      abort: run.abort,
    };
    this.#executions.set(executionArn, execution);
    void this.#follow(execution, run.result);
    const onTransition = this.#deps.onStateTransition;
    if (onTransition !== undefined) void countTransitions(run.eventLogs, onTransition);
    return { executionArn, startDate: seconds(startDate) };
  }

  /** Aborts running executions (when the local stack stops). */
  stop(): void {
    for (const execution of this.#executions.values()) {
      if (execution.status === "RUNNING") execution.abort();
    }
  }

  async #follow(execution: Execution, result: Promise<unknown>): Promise<void> {
    try {
      const output = await result;
      if (execution.status !== "RUNNING") return;
      execution.status = "SUCCEEDED";
      execution.output = JSON.stringify(output);
    } catch (error) {
      if (execution.status !== "RUNNING") return;
      if (error instanceof ExecutionAbortedError) {
        execution.status = "ABORTED";
      } else if (error instanceof ExecutionTimeoutError) {
        execution.status = "TIMED_OUT";
        execution.error = "States.Timeout";
      } else {
        execution.status = "FAILED";
        const cause =
          error instanceof ExecutionError && error.cause instanceof Error ? error.cause : (error as Error);
        execution.error = cause.name;
        execution.cause = cause.message;
      }
    }
    execution.stopDate = new Date();
  }

  #execution(arn: unknown): Execution {
    const execution = this.#executions.get(String(arn ?? ""));
    if (execution === undefined)
      throw new AwsServiceError("ExecutionDoesNotExist", `Execution Does Not Exist: '${String(arn)}'`);
    return execution;
  }

  #describe(execution: Execution): Record<string, unknown> {
    return {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: seconds(execution.startDate),
      ...(execution.stopDate === undefined ? {} : { stopDate: seconds(execution.stopDate) }),
      input: execution.input,
      inputDetails: { included: true },
      ...(execution.output === undefined
        ? {}
        : { output: execution.output, outputDetails: { included: true } }),
      ...(execution.error === undefined ? {} : { error: execution.error }),
      ...(execution.cause === undefined ? {} : { cause: execution.cause }),
    };
  }

  #list(input: Record<string, unknown>): Record<string, unknown> {
    const arn = String(input.stateMachineArn ?? "");
    if (!this.#machines.has(arn))
      throw new AwsServiceError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`);
    const all = [...this.#executions.values()]
      .filter((execution) => execution.stateMachineArn === arn)
      .filter((execution) => input.statusFilter === undefined || execution.status === input.statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const start = Number(input.nextToken ?? 0);
    const size = Number(input.maxResults ?? 100) || 100;
    const page = all.slice(start, start + size).map((execution) => ({
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: seconds(execution.startDate),
      ...(execution.stopDate === undefined ? {} : { stopDate: seconds(execution.stopDate) }),
    }));
    return { executions: page, ...(start + size < all.length ? { nextToken: String(start + size) } : {}) };
  }

  #stop(input: Record<string, unknown>): { stopDate: number } {
    const execution = this.#execution(input.executionArn);
    if (execution.status === "RUNNING") {
      execution.status = "ABORTED";
      execution.stopDate = new Date();
      if (input.error !== undefined) execution.error = String(input.error);
      if (input.cause !== undefined) execution.cause = String(input.cause);
      execution.abort();
    }
    return { stopDate: seconds(execution.stopDate ?? new Date()) };
  }

  #describeMachine(input: Record<string, unknown>): Record<string, unknown> {
    const arn = String(input.stateMachineArn ?? "");
    const entry = this.#machines.get(arn);
    if (entry === undefined)
      throw new AwsServiceError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`);
    return {
      stateMachineArn: arn,
      name: entry.config.name,
      status: "ACTIVE",
      definition: JSON.stringify(entry.config.definition),
      roleArn: entry.config.roleArn ?? `arn:aws:iam::${this.#deps.accountId}:role/local`,
      type: "STANDARD",
      creationDate: 0,
    };
  }

  #taskHandler(resource: string, where: string): TaskHandler {
    const { host } = this.#deps;
    if (/^arn:aws:states:::lambda:invoke$/.test(resource)) {
      return async (input) => {
        const parameters = isRecord(input) ? input : {};
        const functionName = String(parameters.FunctionName ?? "");
        host.assertRunnable(functionName, where);
        const result = await invokeOrThrow(host, functionName, parameters.Payload ?? {});
        const requestId = randomUUID();
        return {
          ExecutedVersion: "$LATEST",
          Payload: result,
          SdkHttpMetadata: { HttpHeaders: { "x-amzn-RequestId": requestId }, HttpStatusCode: 200 },
          SdkResponseMetadata: { RequestId: requestId },
          StatusCode: 200,
        };
      };
    }
    if (/^arn:aws:lambda:[^:]*:[^:]*:function:/.test(resource)) {
      host.assertRunnable(resource, where);
      return (input) => invokeOrThrow(host, resource, input);
    }
    if (resource === "arn:aws:states:::sqs:sendMessage") {
      return async (input) => {
        const { MessageBody, ...rest } = isRecord(input) ? input : {};
        const body = typeof MessageBody === "string" ? MessageBody : JSON.stringify(MessageBody);
        this.#deps.onServiceRequest?.("SQS", "SendMessage");
        const output = await serviceCall("SQS", () =>
          this.#deps.sqs.send(
            new SendMessageCommand({ ...(rest as { QueueUrl: string }), MessageBody: body }),
          ),
        );
        return withoutMetadata(output);
      };
    }
    if (resource === "arn:aws:states:::events:putEvents") {
      return async (input) => {
        const putEvents = this.#deps.putEvents;
        if (putEvents === undefined) throw new Error(`${where}: EventBridge is not available`);
        const entries = (isRecord(input) && Array.isArray(input.Entries) ? input.Entries : []).map(
          (entry: unknown) =>
            isRecord(entry) && typeof entry.Detail !== "string"
              ? { ...entry, Detail: JSON.stringify(entry.Detail) }
              : entry,
        );
        const output = putEvents({ Entries: entries });
        if (output.FailedEntryCount > 0) throw taskError("EventBridge.FailedEntry", JSON.stringify(output));
        return output;
      };
    }
    const dynamo = /^arn:aws:states:::dynamodb:(getItem|putItem|updateItem|deleteItem)$/.exec(resource)?.[1];
    if (dynamo !== undefined) {
      const { ddb } = this.#deps;
      const send = (input: never): Promise<unknown> => {
        if (dynamo === "getItem") return ddb.send(new GetItemCommand(input));
        if (dynamo === "putItem") return ddb.send(new PutItemCommand(input));
        if (dynamo === "updateItem") return ddb.send(new UpdateItemCommand(input));
        return ddb.send(new DeleteItemCommand(input));
      };
      return async (input) => {
        this.#deps.onServiceRequest?.("DynamoDB", dynamo);
        return withoutMetadata(await serviceCall("DynamoDB", () => send(input as never)));
      };
    }
    throw new Error(`${where}: Task resource ${resource} is not supported by the local runtime`);
  }
}

async function countTransitions(
  events: AsyncGenerator<{ readonly type: string }>,
  onTransition: () => void,
): Promise<void> {
  try {
    for await (const event of events) {
      if (event.type === "StateEntered" || event.type === "StateRetried") onTransition();
    }
  } catch {
    // The execution's own outcome is followed elsewhere; the log ends with it.
  }
}

/** Invokes a function; a function error becomes a task error named by its errorType, as in Step Functions. */
async function invokeOrThrow(host: LambdaHost, functionName: string, payload: unknown): Promise<unknown> {
  const result = await host.invoke(functionName, payload);
  if (result.ok) return result.payload;
  if (result.throttled === true) {
    throw taskError(`Lambda.${result.error.errorType}`, JSON.stringify(result.error));
  }
  const { errorType, errorMessage, trace } = result.error;
  const name = errorType.startsWith("Runtime.") || result.timedOut ? "Lambda.Unknown" : errorType;
  throw taskError(
    result.timedOut ? "Sandbox.Timedout" : name,
    JSON.stringify({ errorMessage, errorType, trace }),
  );
}

async function serviceCall<T>(service: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const failure = error as Error;
    throw taskError(`${service}.${failure.name}`, failure.message);
  }
}

function taskError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

function withoutMetadata(output: unknown): unknown {
  if (!isRecord(output)) return output;
  const { $metadata: _metadata, ...rest } = output;
  return rest;
}

function seconds(date: Date): number {
  return date.getTime() / 1_000;
}
