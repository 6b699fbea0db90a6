/**
 * Runs the stack's Lambda functions. Each function has a small pool of execution environments (worker
 * threads running `lambda-worker.ts`), created on demand — a cold start — and kept warm. An invocation
 * waits for a free environment when all are busy. An invocation that outlives the function's timeout
 * fails and its environment is replaced, as is one whose code crashed.
 *
 * Worker output goes to the console, each line prefixed with the function's logical id, and to the
 * optional log listener.
 *
 * With the throttling model on, Lambda's concurrency limits apply as in AWS: an invocation above the
 * function's reserved concurrency, or above what the account limit leaves to functions without one, is
 * refused at once with `TooManyRequestsException` instead of waiting. An asynchronous invocation that is
 * throttled goes back to Lambda's internal queue and is tried again with backoff until its maximum event
 * age; one whose code fails is retried `MaximumRetryAttempts` times. What is left is handed to the
 * function's on-failure destination, as the record Lambda writes there.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import type { LambdaCode } from "./assembly.ts";
import type { InvokeMessage, LambdaError, WorkerData, WorkerMessage } from "./lambda-worker.ts";
import { functionNameFromArn } from "./physical-names.ts";

export interface FunctionDefinition {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Why this function cannot run locally, if it cannot (the message names the function). */
  readonly problem?: string;
  readonly code?: LambdaCode;
  readonly handlerSpec: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly reservedConcurrency?: number;
  /** Retries of a failed asynchronous invocation (`AWS::Lambda::EventInvokeConfig`, default 2). */
  readonly asyncRetryAttempts: number;
  /** How long an asynchronous event may wait to be run (`MaximumEventAgeInSeconds`, default 6 hours). */
  readonly asyncMaxEventAgeSeconds: number;
  /** ARN of the on-failure destination of asynchronous invocations, if it has one. */
  readonly asyncOnFailure?: string;
  /** The function's `RecursiveLoop`: whether Lambda lets it run on in a recursive loop (default no). */
  readonly recursiveLoopAllowed: boolean;
}

/** Lambda's answer to an invocation above a concurrency limit. */
export const THROTTLED: LambdaError = {
  errorType: "TooManyRequestsException",
  errorMessage: "Rate Exceeded.",
};

/** An asynchronous event Lambda gave up on, with what its on-failure destination receives. */
export interface AsyncInvocationFailure {
  readonly function: FunctionDefinition;
  readonly destination?: string;
  /** Why Lambda gave up, and after how many attempts. */
  readonly condition: "RetriesExhausted" | "EventAgeExceeded";
  readonly attempts: number;
  /** The record Lambda sends to an on-failure destination. */
  readonly record: Record<string, unknown>;
}

export interface LogLine {
  readonly functionLogicalId: string;
  readonly functionName: string;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
  /** The invocation that was running when the line was written, if any. */
  readonly requestId?: string;
}

export type InvokeResult =
  | { readonly ok: true; readonly requestId: string; readonly payload: unknown }
  | {
      readonly ok: false;
      readonly requestId: string;
      readonly error: LambdaError;
      readonly timedOut: boolean;
      /** Refused by a concurrency limit before the function ran (only with the throttling model on). */
      readonly throttled?: boolean;
    };

export interface LambdaHostOptions {
  readonly functions: readonly FunctionDefinition[];
  /** Variables every environment gets on top of the function's own (region, credentials, endpoints). */
  readonly runtimeEnvironment: Readonly<Record<string, string>>;
  /** Pool size of a function without reserved concurrency. */
  readonly defaultConcurrency: number;
  /** A file whose directory's node_modules provides the AWS SDK, as the Lambda runtime does. */
  readonly runtimeModulesFrom: string;
  /** Prints a worker's output line; the default writes `[LogicalId] line` to the console. */
  readonly print?: (line: LogLine) => void;
  readonly onLogLine?: (line: LogLine) => void;
  /** Pauses before the retries of a failed asynchronous invocation (Lambda waits 1 and 2 minutes). */
  readonly asyncRetryDelaysMs?: readonly number[];
  /**
   * Lambda's concurrency limits; absent, an invocation waits for a free environment however many run
   * (the emulator's kindness). `accountConcurrency` is the account's limit (1,000 by default in AWS).
   */
  readonly throttling?: { readonly accountConcurrency: number };
  /**
   * Pauses before the retries of a throttled asynchronous invocation, the last repeated until the event's
   * maximum age (Lambda backs off from a second up to 5 minutes, for up to 6 hours).
   */
  readonly asyncThrottleDelaysMs?: readonly number[];
  /** Told of every asynchronous event given up on; the default prints it. */
  readonly onAsyncFailure?: (failure: AsyncInvocationFailure) => Promise<void>;
  /** Told of every finished init phase and invocation, with its duration (what Lambda bills). */
  readonly onUsage?: (usage: FunctionUsageEvent) => void;
}

/** An init phase or an invocation of one function, as its `REPORT` line would show it. */
export type FunctionUsageEvent =
  | { readonly kind: "init"; readonly function: FunctionDefinition; readonly durationMs: number }
  | { readonly kind: "invoke"; readonly function: FunctionDefinition; readonly durationMs: number };

const INIT_TIMEOUT_MS = 10_000;
const WORKER_URL = new URL("./lambda-worker.ts", import.meta.url);

/** What an invocation carries besides its event. */
export interface InvokeOptions {
  /** The X-Ray trace header the invocation runs with (`_X_AMZN_TRACE_ID`), e.g. a chain's lineage. */
  readonly traceHeader?: string;
}

interface Pending {
  readonly event: string;
  readonly options: InvokeOptions;
  readonly resolve: (result: InvokeResult) => void;
}

export class LambdaHost {
  readonly #options: LambdaHostOptions;
  readonly #pools = new Map<string, FunctionPool>();
  readonly #byName = new Map<string, FunctionDefinition>();
  #stopped = false;
  readonly #asyncInFlight = new Set<Promise<void>>();
  /** Invocations admitted and not finished, by function name, and of functions without reserved concurrency. */
  readonly #running = new Map<string, number>();
  #runningUnreserved = 0;
  readonly #unreservedLimit: number;

  constructor(options: LambdaHostOptions) {
    this.#options = options;
    for (const definition of options.functions) {
      this.#byName.set(definition.name, definition);
      this.#byName.set(definition.logicalId, definition);
    }
    const reserved = options.functions.reduce(
      (sum, definition) => sum + (definition.reservedConcurrency ?? 0),
      0,
    );
    this.#unreservedLimit = (options.throttling?.accountConcurrency ?? 0) - reserved;
  }

  /** The function a name, logical id or (possibly qualified) ARN refers to. */
  find(nameOrArn: string): FunctionDefinition | undefined {
    return this.#byName.get(functionNameFromArn(nameOrArn) ?? nameOrArn);
  }

  /** Throws if the function does not exist or cannot run here; `usedBy` names what needs it. */
  assertRunnable(nameOrArn: string, usedBy: string): FunctionDefinition {
    const definition = this.find(nameOrArn);
    if (definition === undefined)
      throw new Error(`${usedBy} targets function ${nameOrArn}, which is not in the stack`);
    if (definition.problem !== undefined) throw new Error(`${usedBy} needs ${definition.problem}`);
    return definition;
  }

  /** A synchronous (RequestResponse) invocation. Never rejects: failures are results. */
  invoke(nameOrArn: string, event: unknown, options: InvokeOptions = {}): Promise<InvokeResult> {
    const requestId = randomUUID();
    const definition = this.find(nameOrArn);
    const fail = (errorType: string, errorMessage: string): Promise<InvokeResult> =>
      Promise.resolve({ ok: false, requestId, error: { errorType, errorMessage }, timedOut: false });
    if (definition === undefined)
      return fail("ResourceNotFoundException", `Function not found: ${nameOrArn}`);
    if (definition.problem !== undefined) return fail("Local.UnsupportedFunction", definition.problem);
    if (this.#stopped) return fail("Local.Stopped", "the local stack is stopping");
    if (this.#options.throttling === undefined)
      return this.#pool(definition).invoke(JSON.stringify(event ?? null), options);
    if (this.#atLimit(definition)) {
      return Promise.resolve({ ok: false, requestId, error: THROTTLED, timedOut: false, throttled: true });
    }
    this.#admit(definition, 1);
    return this.#pool(definition)
      .invoke(JSON.stringify(event ?? null), options)
      .finally(() => this.#admit(definition, -1));
  }

  #atLimit(definition: FunctionDefinition): boolean {
    const running = this.#running.get(definition.name) ?? 0;
    if (definition.reservedConcurrency !== undefined) return running >= definition.reservedConcurrency;
    return this.#runningUnreserved >= this.#unreservedLimit;
  }

  #admit(definition: FunctionDefinition, change: 1 | -1): void {
    this.#running.set(definition.name, (this.#running.get(definition.name) ?? 0) + change);
    if (definition.reservedConcurrency === undefined) this.#runningUnreserved += change;
  }

  /**
   * An asynchronous (Event) invocation, as EventBridge makes. A throttled try does not count as an
   * attempt: it is tried again with backoff until the event is `asyncMaxEventAgeSeconds` old. A failed
   * attempt is retried `asyncRetryAttempts` times (default 2). An event given up on goes to
   * `onAsyncFailure`, with the record Lambda would send to the function's on-failure destination.
   */
  invokeAsync(nameOrArn: string, event: unknown): void {
    const definition = this.find(nameOrArn);
    const delays = this.#options.asyncRetryDelaysMs ?? [1_000, 2_000];
    const throttleDelays = this.#options.asyncThrottleDelaysMs ?? [1_000, 2_000, 4_000, 8_000, 16_000];
    const attempts = (definition?.asyncRetryAttempts ?? 2) + 1;
    const expiresAt = Date.now() + (definition?.asyncMaxEventAgeSeconds ?? 21_600) * 1_000;
    const requestId = randomUUID();
    const task = (async () => {
      let attempt = 0;
      let throttles = 0;
      while (!this.#stopped) {
        const result = await this.invoke(nameOrArn, event);
        if (result.ok) return;
        if (result.throttled === true) {
          const pause = throttleDelays[Math.min(throttles, throttleDelays.length - 1)] ?? 1_000;
          throttles++;
          if (Date.now() + pause > expiresAt) {
            return this.#giveUp(
              nameOrArn,
              definition,
              event,
              requestId,
              "EventAgeExceeded",
              attempt,
              result.error,
            );
          }
          await sleep(pause);
          continue;
        }
        attempt++;
        if (attempt >= attempts) {
          return this.#giveUp(
            nameOrArn,
            definition,
            event,
            requestId,
            "RetriesExhausted",
            attempt,
            result.error,
          );
        }
        await sleep(delays[Math.min(attempt - 1, delays.length - 1)] ?? 1_000);
      }
    })();
    this.#asyncInFlight.add(task);
    void task.finally(() => this.#asyncInFlight.delete(task));
  }

  async #giveUp(
    nameOrArn: string,
    definition: FunctionDefinition | undefined,
    event: unknown,
    requestId: string,
    condition: "RetriesExhausted" | "EventAgeExceeded",
    attempts: number,
    error: LambdaError,
  ): Promise<void> {
    const record = {
      version: "1.0",
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId,
        functionArn: `${definition?.arn ?? nameOrArn}:$LATEST`,
        condition,
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      responsePayload: { errorType: error.errorType, errorMessage: error.errorMessage },
    };
    const report = this.#options.onAsyncFailure;
    if (report !== undefined && definition !== undefined) {
      await report({
        function: definition,
        destination: definition.asyncOnFailure,
        condition,
        attempts,
        record,
      }).catch((failure: unknown) =>
        console.error(
          `[local] could not hand over a failed event of ${nameOrArn}:`,
          (failure as Error).message,
        ),
      );
      return;
    }
    console.error(
      `[local] asynchronous invocation of ${nameOrArn} failed ${attempts} times, dropping the event (${condition}): ${error.errorType}: ${error.errorMessage}`,
    );
  }

  /** Waits up to `graceMs` for running invocations, then ends every execution environment. */
  async stop(graceMs = 2_000): Promise<void> {
    this.#stopped = true;
    const pools = [...this.#pools.values()];
    await Promise.race([Promise.all(pools.map((pool) => pool.idle())), sleep(graceMs)]);
    await Promise.all(pools.map((pool) => pool.terminate()));
  }

  #pool(definition: FunctionDefinition): FunctionPool {
    let pool = this.#pools.get(definition.name);
    if (pool === undefined) {
      // The pool is this machine's limit, not Lambda's: above it, admitted invocations wait.
      const size =
        definition.reservedConcurrency !== undefined
          ? Math.max(1, definition.reservedConcurrency)
          : this.#options.defaultConcurrency;
      pool = new FunctionPool(definition, size, this.#options);
      this.#pools.set(definition.name, pool);
    }
    return pool;
  }
}

/** The execution environments of one function and the invocations waiting for one. */
class FunctionPool {
  readonly #definition: FunctionDefinition;
  readonly #size: number;
  readonly #options: LambdaHostOptions;
  readonly #environments = new Set<ExecutionEnvironment>();
  readonly #idle: ExecutionEnvironment[] = [];
  readonly #waiting: Pending[] = [];
  #running = 0;
  #onIdle: (() => void)[] = [];

  constructor(definition: FunctionDefinition, size: number, options: LambdaHostOptions) {
    this.#definition = definition;
    this.#size = size;
    this.#options = options;
  }

  invoke(event: string, options: InvokeOptions): Promise<InvokeResult> {
    return new Promise((resolve) => {
      this.#waiting.push({ event, options, resolve });
      this.#dispatch();
    });
  }

  idle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#onIdle.push(resolve));
  }

  async terminate(): Promise<void> {
    for (const pending of this.#waiting.splice(0)) {
      pending.resolve({
        ok: false,
        requestId: randomUUID(),
        error: { errorType: "Local.Stopped", errorMessage: "the local stack stopped" },
        timedOut: false,
      });
    }
    await Promise.all([...this.#environments].map((environment) => environment.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      let environment = this.#idle.pop();
      // An idle environment whose runtime crashed after its last invocation (a stray timer's exception) is gone.
      while (environment !== undefined && !environment.usable) {
        this.#environments.delete(environment);
        environment = this.#idle.pop();
      }
      if (environment === undefined && this.#environments.size < this.#size) {
        environment = new ExecutionEnvironment(this.#definition, this.#options);
        this.#environments.add(environment);
      }
      if (environment === undefined) return;
      const pending = this.#waiting.shift();
      if (pending === undefined) return;
      this.#run(environment, pending);
    }
  }

  #run(environment: ExecutionEnvironment, pending: Pending): void {
    this.#running++;
    void environment.invoke(pending.event, pending.options).then((result) => {
      this.#running--;
      if (environment.usable) this.#idle.push(environment);
      else this.#environments.delete(environment);
      pending.resolve(result);
      this.#dispatch();
      if (this.#running === 0 && this.#waiting.length === 0) {
        for (const resolve of this.#onIdle.splice(0)) resolve();
      }
    });
  }
}

/** One worker thread: a warm container. */
class ExecutionEnvironment {
  readonly #definition: FunctionDefinition;
  readonly #options: LambdaHostOptions;
  readonly #worker: Worker;
  readonly #ready: Promise<LambdaError | undefined>;
  readonly #logStreamName: string;
  #current: { requestId: string; settle: (result: InvokeResult) => void } | undefined;
  #alive = true;

  constructor(definition: FunctionDefinition, options: LambdaHostOptions) {
    this.#definition = definition;
    this.#options = options;
    const code = definition.code;
    if (code === undefined) throw new Error(`function ${definition.logicalId} has no code`);
    const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
    this.#logStreamName = `${day}/[$LATEST]${randomBytes(16).toString("hex")}`;
    const workerData: WorkerData = {
      bundleDir: code.dir,
      file: code.file,
      exportName: code.exportName,
      handlerSpec: definition.handlerSpec,
      runtimeModulesFrom: options.runtimeModulesFrom,
    };
    this.#worker = new Worker(WORKER_URL, {
      workerData,
      env: this.#environment(code),
      stdout: true,
      stderr: true,
    });
    this.#forward(this.#worker.stdout, "stdout");
    this.#forward(this.#worker.stderr, "stderr");

    const initStarted = performance.now();
    this.#ready = new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({ errorType: "Runtime.InitTimeout", errorMessage: `init took over ${INIT_TIMEOUT_MS} ms` }),
        INIT_TIMEOUT_MS,
      );
      const onMessage = (message: WorkerMessage) => {
        if (message.type === "ready" || message.type === "init-error") {
          clearTimeout(timer);
          this.#worker.off("message", onMessage);
          options.onUsage?.({
            kind: "init",
            function: definition,
            durationMs: performance.now() - initStarted,
          });
          resolve(message.type === "init-error" ? message.error : undefined);
        }
      };
      this.#worker.on("message", onMessage);
      this.#worker.once("exit", () => {
        clearTimeout(timer);
        resolve({ errorType: "Runtime.ExitError", errorMessage: "the runtime exited during init" });
      });
    });
    this.#worker.on("message", (message: WorkerMessage) => {
      if (message.type !== "result" && message.type !== "error") return;
      const current = this.#current;
      if (current === undefined || current.requestId !== message.requestId) return;
      if (message.type === "result") {
        current.settle({ ok: true, requestId: current.requestId, payload: JSON.parse(message.payload) });
      } else {
        current.settle({ ok: false, requestId: current.requestId, error: message.error, timedOut: false });
      }
    });
    // An exception nothing caught (or a rejection nothing handled) crashes the runtime, as in Lambda.
    this.#worker.on("error", (error) => {
      this.#alive = false;
      const current = this.#current;
      if (current === undefined) return this.#log(`uncaught ${error.name}: ${error.message}`);
      current.settle({
        ok: false,
        requestId: current.requestId,
        error: { errorType: error.name, errorMessage: error.message, trace: error.stack?.split("\n") },
        timedOut: false,
      });
    });
    this.#worker.on("exit", (exitCode) => {
      this.#alive = false;
      const current = this.#current;
      current?.settle({
        ok: false,
        requestId: current.requestId,
        error: {
          errorType: "Runtime.ExitError",
          errorMessage: `RequestId: ${current.requestId} Error: Runtime exited with error: exit status ${exitCode}`,
        },
        timedOut: false,
      });
    });
  }

  get usable(): boolean {
    return this.#alive;
  }

  async invoke(event: string, options: InvokeOptions): Promise<InvokeResult> {
    const requestId = randomUUID();
    const initError = await this.#ready;
    if (initError !== undefined) {
      this.#log(`INIT_REPORT Status: error Error Type: ${initError.errorType} ${initError.errorMessage}`);
      await this.terminate();
      return { ok: false, requestId, error: initError, timedOut: false };
    }
    const { name, arn, memoryMb, timeoutSeconds } = this.#definition;
    const deadline = Date.now() + timeoutSeconds * 1_000;
    const message: InvokeMessage = {
      type: "invoke",
      requestId,
      event,
      deadline,
      functionName: name,
      invokedFunctionArn: arn,
      memoryLimitInMB: String(memoryMb),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: this.#logStreamName,
      ...(options.traceHeader === undefined ? {} : { traceHeader: options.traceHeader }),
    };
    const invokeStarted = performance.now();
    const result = await new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => {
        const seconds = timeoutSeconds.toFixed(2);
        this.#log(`${new Date().toISOString()} ${requestId} Task timed out after ${seconds} seconds`);
        this.#alive = false;
        void this.#worker.terminate();
        settle({
          ok: false,
          requestId,
          error: {
            errorType: "Sandbox.Timedout",
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds`,
          },
          timedOut: true,
        });
      }, deadline - Date.now());
      const settle = (value: InvokeResult) => {
        clearTimeout(timer);
        this.#current = undefined;
        resolve(value);
      };
      this.#current = { requestId, settle };
      this.#worker.postMessage(message);
    });
    this.#options.onUsage?.({
      kind: "invoke",
      function: this.#definition,
      durationMs: performance.now() - invokeStarted,
    });
    if (!result.ok && !result.timedOut) {
      this.#log(
        `${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(result.error)}`,
      );
    }
    return result;
  }

  async terminate(): Promise<void> {
    this.#alive = false;
    await this.#worker.terminate();
  }

  #environment(code: LambdaCode): Record<string, string> {
    const { name, memoryMb } = this.#definition;
    return {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      LANG: "en_US.UTF-8",
      ...this.#definition.environment,
      ...this.#options.runtimeEnvironment,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: this.#logStreamName,
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
      LAMBDA_TASK_ROOT: code.dir,
      _HANDLER: this.#definition.handlerSpec,
    };
  }

  #forward(stream: Readable, kind: "stdout" | "stderr"): void {
    let buffered = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        this.#emit(buffered.slice(0, newline), kind);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
      }
    });
    stream.on("end", () => {
      if (buffered !== "") this.#emit(buffered, kind);
    });
  }

  #log(line: string): void {
    this.#emit(line, "stderr");
  }

  #emit(line: string, stream: "stdout" | "stderr"): void {
    const entry: LogLine = {
      functionLogicalId: this.#definition.logicalId,
      functionName: this.#definition.name,
      stream,
      line,
      requestId: this.#current?.requestId,
    };
    (this.#options.print ?? printLine)(entry);
    this.#options.onLogLine?.(entry);
  }
}

function printLine(entry: LogLine): void {
  const target = entry.stream === "stdout" ? process.stdout : process.stderr;
  target.write(`[${entry.functionLogicalId}] ${entry.line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
