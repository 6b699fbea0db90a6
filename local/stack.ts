/**
 * Starts the synthesized stack on this machine: synth → emulators → tables and queues → Lambda host,
 * HTTP API, SQS and DynamoDB Streams pollers, EventBridge and Step Functions. `start.ts` is the command-line front; tests may
 * call `startLocalStack` directly.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { readAssembly } from "./assembly.ts";
import { AwsJsonServer } from "./aws-json.ts";
import { DynamoDbStreamSource, dynamoDbStreamSources } from "./dynamodb-stream-source.ts";
import { assertStateDirFree, killStaleJvm, startDynamoDbLocal, startSqs } from "./emulators.ts";
import { eventBridgeConfig, LocalEventBridge } from "./eventbridge.ts";
import { functionDefinitions } from "./functions.ts";
import { HttpApiServer, httpApiConfig } from "./http-api.ts";
import { IntrinsicResolver } from "./intrinsics.ts";
import { LambdaHost, type LogLine } from "./lambda-host.ts";
import { LogRing } from "./logs.ts";
import { SqsChainProxy } from "./loop-detection.ts";
import { EmfCollector } from "./metrics.ts";
import { LocalNames } from "./physical-names.ts";
import { createQueues, createTables } from "./resources.ts";
import { SqsEventSource, sqsEventSources } from "./sqs-event-source.ts";
import { StaleReadsProxy } from "./stale-reads.ts";
import { LocalStepFunctions, stateMachineConfigs } from "./step-functions.ts";
import { synthesize } from "./synth.ts";
import { synthesizeCached, synthKey } from "./synth-cache.ts";
import type { CfnTemplate } from "./template.ts";
import { UsageRecorder } from "./usage.ts";

export const LOCAL_ACCOUNT_ID = "000000000000";

export interface LocalStackOptions {
  readonly projectRoot: string;
  readonly stateDir: string;
  /** Port of the HTTP API; 0 picks a free one. */
  readonly port: number;
  readonly hostname: string;
  /** Wipe the DynamoDB and SQS data first. */
  readonly fresh: boolean;
  /** CDK context for the synth (e.g. `hookline:local`). */
  readonly context: Readonly<Record<string, string>>;
  /** The CDK app command; defaults to cdk.json's. */
  readonly app?: string;
  readonly synthMode: "direct" | "cli";
  /** Skip the synth and run the assembly already in `<stateDir>/cdk.out`. */
  readonly skipSynth?: boolean;
  /**
   * Reuse the assembly synthesized from the same inputs, kept in this folder (local/synth-cache.ts).
   * @default - no cache: every start synthesizes
   */
  readonly synthCacheDir?: string;
  readonly stackName?: string;
  readonly region: string;
  /** Execution environments per function without reserved concurrency. */
  readonly concurrency: number;
  /**
   * Lambda's concurrency limits (the throttling model): reserved concurrency and this account limit
   * refuse invocations above them with `TooManyRequestsException`, as in AWS.
   * @default - off: an invocation waits for an execution environment however many run
   */
  readonly throttling?: { readonly accountConcurrency: number };
  /**
   * Run both emulators in memory: faster (DynamoDB Local writes no SQLite file), but nothing survives a
   * stop. The benchmark uses it; `npm start` keeps its data on disk unless asked.
   * @default false
   */
  readonly inMemory?: boolean;
  /**
   * Run every `rate(...)` scheduled rule at this period instead of its own, so that a reconciler that
   * runs every minute in AWS can be exercised in seconds. Local only.
   */
  readonly schedulePeriodMs?: number;
  /**
   * Model DynamoDB's eventual consistency: the functions' reads that may be stale in AWS see the items
   * as they were this long ago (local/stale-reads.ts). Off when absent or 0.
   */
  readonly staleReadsMs?: number;
  /**
   * Model Lambda's recursive loop detection: an SQS → Lambda chain stops at its 17th invocation unless
   * the function's `RecursiveLoop` is `Allow` (local/loop-detection.ts).
   * @default false
   */
  readonly loopDetection?: boolean;
  readonly progress?: (message: string) => void;
  readonly onLogLine?: (line: LogLine) => void;
  readonly printLogLine?: (line: LogLine) => void;
}

export interface LocalEndpointUrls {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly eventbridge: string;
  readonly stepfunctions: string;
}

export interface LocalStack {
  readonly stackName: string;
  readonly apiUrl: string;
  readonly endpoints: LocalEndpointUrls;
  readonly outputs: Readonly<Record<string, string>>;
  /** True when DynamoDB data from an earlier run was found (not `--fresh`). */
  readonly keptData: boolean;
  readonly summary: string;
  readonly warnings: readonly string[];
  /** Where the emulators keep their data; absent when they run in memory. */
  readonly dataDirs?: { readonly dynamodb: string; readonly sqs: string };
  readonly ddb: DynamoDBClient;
  stop(): Promise<void>;
}

export function statePaths(stateDir: string) {
  return {
    cdkOut: path.join(stateDir, "cdk.out"),
    dynamodb: path.join(stateDir, "dynamodb"),
    dynamodbPid: path.join(stateDir, "dynamodb.pid"),
    sqs: path.join(stateDir, "sqs"),
    localJson: path.join(stateDir, "local.json"),
    /** Everything the functions print, this run (`npm start`). */
    functionsLog: path.join(stateDir, "functions.log"),
    scratch: path.join(stateDir, "tmp"),
  };
}

async function synthesizeOrReuse(
  options: LocalStackOptions,
  paths: ReturnType<typeof statePaths>,
  progress: (message: string) => void,
): Promise<void> {
  const synthesizeInto = (outDir: string) =>
    synthesize({
      projectRoot: options.projectRoot,
      outDir,
      scratchDir: paths.scratch,
      app: options.app,
      context: options.context,
      mode: options.synthMode,
    });
  const key =
    options.synthCacheDir === undefined
      ? undefined
      : await synthKey({
          projectRoot: options.projectRoot,
          context: options.context,
          mode: options.synthMode,
          app: options.app,
          env: process.env,
          nodeVersion: process.version,
        });
  if (options.synthCacheDir === undefined || key === undefined) {
    const started = Date.now();
    await synthesizeInto(paths.cdkOut);
    progress(`synthesized in ${seconds(Date.now() - started)}`);
    return;
  }
  const result = await synthesizeCached({
    cacheDir: options.synthCacheDir,
    key,
    outDir: paths.cdkOut,
    synthesize: synthesizeInto,
  });
  if (result.reused) {
    const at = `${result.synthesizedAt.toISOString().slice(0, 19).replace("T", " ")} UTC`;
    progress(`reused the app synthesized at ${at} (nothing it depends on changed)`);
    return;
  }
  progress(`synthesized in ${seconds(result.durationMs)}`);
  if (result.storeError !== undefined) {
    console.error(
      `[local] could not keep the synthesized app for later starts: ${result.storeError.message}`,
    );
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const progress = options.progress ?? (() => {});
  const paths = statePaths(options.stateDir);
  await mkdir(options.stateDir, { recursive: true });
  // Before the wipe and the synth below, both of which would pull files from under a running stack.
  await assertStateDirFree(paths.dynamodbPid);
  if (options.fresh) {
    await killStaleJvm(paths.dynamodbPid);
    await Promise.all(
      [paths.dynamodb, paths.sqs, paths.localJson].map((dir) => rm(dir, { recursive: true, force: true })),
    );
  }
  const credentials = { accessKeyId: "local", secretAccessKey: "local", sessionToken: "local" };
  const cleanups: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const cleanup = () => {
    stopped ??= (async () => {
      for (const step of [...cleanups].reverse()) {
        await step().catch((error: unknown) =>
          console.error("[local] while stopping:", (error as Error).message),
        );
      }
    })();
    return stopped;
  };

  try {
    const apiServer = new HttpApiServer({ region: options.region, accountId: LOCAL_ACCOUNT_ID });
    const servicesServer = new AwsJsonServer();
    const synth = options.skipSynth ? Promise.resolve() : synthesizeOrReuse(options, paths, progress);
    const emulatorsStarted = Date.now();
    const inMemory = options.inMemory === true;
    const dynamoStart = startDynamoDbLocal({
      dataDir: paths.dynamodb,
      pidFile: paths.dynamodbPid,
      inMemory,
    });
    const sqsStart = startSqs({ dataDir: paths.sqs, region: options.region, inMemory });
    // Register clean-ups as each piece comes up, so that a failure elsewhere still stops it.
    const dynamo = dynamoStart.then((started) => {
      cleanups.push(() => started.stop());
      return started;
    });
    const sqsEmulator = sqsStart.then((started) => {
      cleanups.push(() => started.stop());
      return started;
    });
    const apiUrl = apiServer.listen(options.port, options.hostname).then(
      (url) => {
        cleanups.push(() => apiServer.close());
        return url;
      },
      (error: NodeJS.ErrnoException) => {
        if (error.code !== "EADDRINUSE") throw error;
        throw new Error(
          `port ${options.port} on ${options.hostname} is in use; set PORT (0 picks a free one)`,
        );
      },
    );
    const servicesUrl = servicesServer.listen(0, "127.0.0.1").then((url) => {
      cleanups.push(() => servicesServer.close());
      return url;
    });
    const emulators = Promise.all([dynamo, sqsEmulator]).then((started) => {
      progress(`DynamoDB Local and SQS up in ${seconds(Date.now() - emulatorsStarted)}`);
      return started;
    });
    const [[ddbLocal, sqsLocal], api, services] = await settleAll(emulators, apiUrl, servicesUrl, synth);

    // With loop detection, the functions reach SQS (and queue URLs point) through the proxy that keeps
    // each message's chain depth; the runtime's own client goes to the emulator directly.
    let functionsSqs = sqsLocal.endpoint;
    if (options.loopDetection === true) {
      const chainProxy = new SqsChainProxy({ target: sqsLocal.endpoint });
      functionsSqs = await chainProxy.listen();
      cleanups.push(() => chainProxy.close());
    }
    const assembly = await readAssembly(paths.cdkOut, options.stackName);
    const names = new LocalNames({
      region: options.region,
      accountId: LOCAL_ACCOUNT_ID,
      endpoints: { sqs: functionsSqs, api },
    });
    const pseudo = { region: options.region, accountId: LOCAL_ACCOUNT_ID, stackName: assembly.stackName };
    const resolver = new IntrinsicResolver(assembly.template, names, pseudo);
    names.bind(resolver);
    const template = withoutFalseConditions(assembly.template, resolver);

    const ddb = new DynamoDBClient({ region: options.region, endpoint: ddbLocal.endpoint, credentials });
    const sqs = new SQSClient({ region: options.region, endpoint: sqsLocal.endpoint, credentials });
    const streams = new DynamoDBStreamsClient({
      region: options.region,
      endpoint: ddbLocal.endpoint,
      credentials,
    });
    cleanups.push(async () => {
      ddb.destroy();
      sqs.destroy();
      streams.destroy();
    });
    const [tables, queues] = await Promise.all([
      createTables(template, resolver, names, ddb),
      createQueues(template, resolver, names, sqs),
    ]);
    progress(`${count(tables.tables.length, "table")} and ${count(queues.length, "queue")} ready`);

    // The functions and the workflows' DynamoDB tasks go through the model; local.json's endpoint, for
    // tools and tests, stays strongly consistent.
    let functionsDynamoDb = ddbLocal.endpoint;
    let workflowsDdb = ddb;
    if ((options.staleReadsMs ?? 0) > 0) {
      const proxy = new StaleReadsProxy({
        target: ddbLocal.endpoint,
        lagMs: options.staleReadsMs ?? 0,
        tables: tables.keys,
      });
      functionsDynamoDb = await proxy.listen();
      workflowsDdb = new DynamoDBClient({ region: options.region, endpoint: functionsDynamoDb, credentials });
      const client = workflowsDdb;
      cleanups.push(async () => {
        client.destroy();
        await proxy.close();
      });
      progress(`DynamoDB reads that may be stale see the tables as they were ${options.staleReadsMs} ms ago`);
    }

    const endpoints: LocalEndpointUrls = {
      dynamodb: ddbLocal.endpoint,
      sqs: functionsSqs,
      eventbridge: services,
      stepfunctions: services,
    };
    const functions = functionDefinitions(template, assembly.dir, resolver, names);
    const metrics = new EmfCollector();
    const logs = new LogRing();
    const usage = new UsageRecorder();
    const memoryOf = new Map(functions.map((definition) => [definition.logicalId, definition.memoryMb]));
    const host = new LambdaHost({
      functions,
      defaultConcurrency: options.concurrency,
      runtimeModulesFrom: path.join(options.projectRoot, "package.json"),
      runtimeEnvironment: {
        AWS_REGION: options.region,
        AWS_DEFAULT_REGION: options.region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        AWS_ENDPOINT_URL_DYNAMODB: functionsDynamoDb,
        AWS_ENDPOINT_URL_SQS: endpoints.sqs,
        AWS_ENDPOINT_URL_SFN: endpoints.stepfunctions,
        AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
        // `npm run bench` only: the functions count their AWS requests (functions/adapters/request-counter.ts).
        ...(process.env.HOOKLINE_COUNT_AWS_REQUESTS === "true"
          ? { HOOKLINE_COUNT_AWS_REQUESTS: "true" }
          : {}),
      },
      ...(options.throttling === undefined ? {} : { throttling: options.throttling }),
      onAsyncFailure: async ({ function: definition, destination, condition, attempts, record }) => {
        if (destination?.includes(":sqs:")) {
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: names.queueUrl(destination.split(":").pop() ?? ""),
              MessageBody: JSON.stringify(record),
            }),
          );
          return;
        }
        console.error(
          `[local] ${definition.logicalId}: asynchronous invocation failed ${attempts} times, dropping the event (${condition}, no on-failure destination):`,
          JSON.stringify(record.responsePayload),
        );
      },
      onUsage: (event) => usage.observe(event),
      onLogLine: (line) => {
        metrics.observe(line);
        logs.observe(line);
        usage.observeLog(line, memoryOf.get(line.functionLogicalId) ?? 0);
        options.onLogLine?.(line);
      },
      print: options.printLogLine,
    });
    cleanups.push(() => host.stop());

    const apiConfig = httpApiConfig(template, resolver, names);
    for (const route of apiConfig?.routes ?? []) {
      host.assertRunnable(route.functionName, `route ${route.routeKey}`);
      if (route.authorizer)
        host.assertRunnable(route.authorizer.functionName, `authorizer ${route.authorizer.logicalId}`);
    }

    const { sources, skipped } = sqsEventSources(template, resolver, names);
    const pollers = sources.map((source) => {
      const definition = host.assertRunnable(source.functionName, `event source mapping ${source.logicalId}`);
      // In AWS the pollers scale regardless of the function's reserved concurrency, and throttle against
      // it; without the throttling model they are kept within the pool, so that none waits for it.
      const poolSize =
        options.throttling === undefined
          ? (definition.reservedConcurrency ?? options.concurrency)
          : Number.POSITIVE_INFINITY;
      return new SqsEventSource(source, {
        sqs,
        host,
        region: options.region,
        pollers: Math.max(1, Math.min(source.maximumConcurrency ?? 5, poolSize)),
        stopsLoops: options.loopDetection === true && !definition.recursiveLoopAllowed,
        onRequest: (operation) => usage.eventSourceRequest("SQS", operation),
      });
    });

    const streamMappings = dynamoDbStreamSources(template, resolver, names);
    const streamPollers = streamMappings.sources.map((source) => {
      const definition = host.assertRunnable(source.functionName, `event source mapping ${source.logicalId}`);
      return new DynamoDbStreamSource(source, {
        streams,
        ddb,
        sqs,
        host,
        region: options.region,
        functionArn: definition.arn,
        onRequest: (operation) => usage.eventSourceRequest("SQS", operation),
      });
    });

    // Step Functions' events:putEvents tasks and EventBridge's state machine targets refer to each other.
    const stepFunctions: LocalStepFunctions = new LocalStepFunctions(
      stateMachineConfigs(template, resolver, names),
      {
        host,
        sqs,
        ddb: workflowsDdb,
        names,
        region: options.region,
        accountId: LOCAL_ACCOUNT_ID,
        putEvents: (input) => eventBridge.putEvents(input),
        onStateTransition: () => usage.stateTransition(),
        onServiceRequest: (service, operation) => usage.serviceRequest(service, operation),
      },
    );
    const events = eventBridgeConfig(template, resolver, names);
    const eventBridge: LocalEventBridge = new LocalEventBridge(events, {
      host,
      sqs,
      names,
      region: options.region,
      accountId: LOCAL_ACCOUNT_ID,
      startExecution: async (stateMachineArn, input) =>
        stepFunctions.startExecution({ stateMachineArn, input: JSON.stringify(input) }),
    });
    eventBridge.validate();

    servicesServer.serve({
      AWSEvents: { contentType: "application/x-amz-json-1.1", operations: eventBridge.operations() },
      AWSStepFunctions: { contentType: "application/x-amz-json-1.0", operations: stepFunctions.operations() },
    });
    apiServer.serve(apiConfig, host);
    apiServer.serveLocal("/_local/metrics", () => metrics.snapshot());
    apiServer.serveLocal("/_local/logs", (query) => logs.serve(query));
    apiServer.serveLocal("/_local/usage", () => usage.snapshot());
    apiServer.serveLocal("/_local/capacity", () => usage.takeCapacity());
    for (const poller of pollers) poller.start();
    eventBridge.startSchedules(options.schedulePeriodMs);
    // Stop order: stop taking work, let running invocations finish briefly, then the emulators.
    cleanups.push(async () => {
      eventBridge.stopSchedules();
      await apiServer.close();
      stepFunctions.stop();
      const stopping = Promise.all([...pollers, ...streamPollers].map((poller) => poller.stop()));
      await host.stop();
      await stopping;
    });
    // After the clean-up above, which stops them; awaited, so that a `LATEST` mapping sees every write
    // made once the stack is up.
    await Promise.all(streamPollers.map((poller) => poller.start()));

    const warnings = [...tables.warnings, ...skipped, ...streamMappings.skipped, ...events.skipped];
    for (const definition of functions) {
      if (definition.problem !== undefined) warnings.push(`unused ${definition.problem}`);
      const destination = definition.asyncOnFailure;
      if (destination !== undefined && !destination.includes(":sqs:")) {
        warnings.push(
          `function ${definition.logicalId}: on-failure destination ${destination} is not an SQS queue; failed asynchronous events are dropped locally`,
        );
      }
    }
    const outputs = resolveOutputs(template, resolver, warnings);
    const summary = [
      count(functions.length, "function"),
      count(apiConfig?.routes.length ?? 0, "route"),
      count(sources.length, "SQS event source"),
      count(streamMappings.sources.length, "DynamoDB stream event source"),
      count(events.rules.filter((rule) => rule.pattern !== undefined).length, "rule"),
      count(events.rules.filter((rule) => rule.rateMs !== undefined).length, "schedule"),
      count(stepFunctions.stateMachines.length, "state machine"),
    ].join(", ");

    return {
      stackName: assembly.stackName,
      apiUrl: api,
      endpoints,
      outputs,
      keptData: ddbLocal.hadData,
      summary,
      warnings,
      ...(inMemory ? {} : { dataDirs: { dynamodb: paths.dynamodb, sqs: paths.sqs } }),
      ddb,
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Waits for all; if one fails, still waits for the others (so that their clean-ups are registered). */
async function settleAll<A, B, C>(
  a: Promise<A>,
  b: Promise<B>,
  c: Promise<C>,
  d: Promise<void>,
): Promise<[A, B, C]> {
  const results = await Promise.allSettled([a, b, c, d]);
  const failed = results.find((result) => result.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  return [await a, await b, await c];
}

function withoutFalseConditions(template: CfnTemplate, resolver: IntrinsicResolver): CfnTemplate {
  const resources = Object.fromEntries(
    Object.entries(template.Resources).filter(
      ([, resource]) => resource.Condition === undefined || resolver.condition(resource.Condition),
    ),
  );
  return { ...template, Resources: resources };
}

function resolveOutputs(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
  warnings: string[],
): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    try {
      outputs[name] = resolver.resolveString(output.Value, `output ${name}`);
    } catch (error) {
      warnings.push((error as Error).message);
    }
  }
  return outputs;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}
