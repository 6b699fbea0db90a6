/**
 * One Lambda execution environment, run in a worker thread by `lambda-host.ts`. It loads the bundle
 * once (the init phase), then runs one invocation at a time; module-scope state stays warm between them.
 * Events and results cross the thread boundary as JSON text, as they do through the Lambda API.
 *
 * Module resolution is the Lambda runtime's: the bundle may import only node built-ins, its own files
 * and the AWS SDK v3 that the runtime provides (resolved here from the project's node_modules). Any other
 * bare import fails, as it would in Lambda, instead of silently finding the project's node_modules.
 */
import { builtinModules, registerHooks } from "node:module";
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";

export interface WorkerData {
  readonly bundleDir: string;
  readonly file: string;
  readonly exportName: string;
  readonly handlerSpec: string;
  /** A file in the directory whose node_modules stands in for the runtime's AWS SDK. */
  readonly runtimeModulesFrom: string;
}

export interface InvokeMessage {
  readonly type: "invoke";
  readonly requestId: string;
  readonly event: string;
  readonly deadline: number;
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** Set as `_X_AMZN_TRACE_ID` for this invocation, which the SDK sends on with each request. */
  readonly traceHeader?: string;
}

export interface LambdaError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: string[];
}

export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "init-error"; readonly error: LambdaError }
  | { readonly type: "result"; readonly requestId: string; readonly payload: string }
  | { readonly type: "error"; readonly requestId: string; readonly error: LambdaError };

type Handler = (
  event: unknown,
  context: unknown,
  callback?: (error: unknown, result?: unknown) => void,
) => unknown;

const RUNTIME_PROVIDED = /^@(aws-sdk|smithy|aws-crypto)\//;
const data = workerData as WorkerData;
const port = parentPort;
if (port === null) throw new Error("lambda-worker.ts runs only as a worker thread");
const post = (message: WorkerMessage) => port.postMessage(message);

const bundleUrl = pathToFileURL(`${data.bundleDir}/`).href;
const runtimeModulesParent = pathToFileURL(data.runtimeModulesFrom).href;
const builtins = new Set(builtinModules);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const fromBundle = context.parentURL?.startsWith(bundleUrl) ?? false;
    if (!fromBundle || !isBare(specifier)) return nextResolve(specifier, context);
    if (RUNTIME_PROVIDED.test(specifier)) {
      return nextResolve(specifier, { ...context, parentURL: runtimeModulesParent });
    }
    const resolved = nextResolve(specifier, context);
    if (resolved.url.startsWith(bundleUrl)) return resolved; // shipped inside the asset (nodeModules)
    const error = new Error(
      `Cannot find package '${specifier}' imported from ${context.parentURL}: the Lambda runtime provides only the AWS SDK v3; bundle this package or ship it in the asset`,
    );
    Object.assign(error, { code: "ERR_MODULE_NOT_FOUND" });
    throw error;
  },
});

function isBare(specifier: string): boolean {
  if (/^(\.|\/|[a-z]+:)/i.test(specifier)) return false;
  return !builtins.has(specifier) && !builtins.has(specifier.split("/")[0] ?? "");
}

function toLambdaError(error: unknown, fallbackType = "Error"): LambdaError {
  if (error instanceof Error) {
    return {
      errorType: error.name || fallbackType,
      errorMessage: error.message,
      trace: (error.stack ?? "").split("\n"),
    };
  }
  return { errorType: fallbackType, errorMessage: typeof error === "string" ? error : JSON.stringify(error) };
}

async function loadHandler(): Promise<Handler> {
  if (process.env.NODE_OPTIONS?.includes("--enable-source-maps")) process.setSourceMapsEnabled(true);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(data.file).href)) as Record<string, unknown>;
  } catch (error) {
    const failure = toLambdaError(error);
    throw {
      errorType: error instanceof SyntaxError ? "Runtime.UserCodeSyntaxError" : "Runtime.ImportModuleError",
      errorMessage: `${failure.errorType}: ${failure.errorMessage}`,
      trace: failure.trace,
    } satisfies LambdaError;
  }
  const commonJs = loaded.default as Record<string, unknown> | undefined;
  const handler = loaded[data.exportName] ?? commonJs?.[data.exportName];
  if (typeof handler !== "function") {
    throw {
      errorType: "Runtime.HandlerNotFound",
      errorMessage: `${data.handlerSpec} is undefined or not exported`,
    } satisfies LambdaError;
  }
  return handler as Handler;
}

function run(handler: Handler, event: unknown, context: unknown): Promise<unknown> {
  if (handler.length < 3) return Promise.resolve(handler(event, context));
  return new Promise((resolve, reject) => {
    const returned = handler(event, context, (error, result) => (error ? reject(error) : resolve(result)));
    if (returned instanceof Promise) returned.then(resolve, reject);
  });
}

try {
  const handler = await loadHandler();
  post({ type: "ready" });
  port.on("message", async (message: InvokeMessage) => {
    const { requestId, deadline } = message;
    const context = {
      awsRequestId: requestId,
      functionName: message.functionName,
      functionVersion: "$LATEST",
      invokedFunctionArn: message.invokedFunctionArn,
      memoryLimitInMB: message.memoryLimitInMB,
      logGroupName: message.logGroupName,
      logStreamName: message.logStreamName,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    if (message.traceHeader === undefined) delete process.env._X_AMZN_TRACE_ID;
    else process.env._X_AMZN_TRACE_ID = message.traceHeader;
    try {
      const result = await run(handler, JSON.parse(message.event), context);
      post({ type: "result", requestId, payload: JSON.stringify(result ?? null) });
    } catch (error) {
      post({ type: "error", requestId, error: toLambdaError(error) });
    }
  });
} catch (error) {
  post({ type: "init-error", error: error as LambdaError });
}
