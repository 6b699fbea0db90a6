import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Token } from "aws-cdk-lib";
import { Architecture, RecursiveLoop, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { EnvVar, SERVICE_NAME } from "../functions/shared/names.ts";
import { acknowledge } from "./acknowledge.ts";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Lambda refuses a function whose environment variables, names and values, exceed 4 KB. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * What a value known only at deploy time (a table name, a queue URL, an ARN) is counted as: longer than
 * those Hookline's resources get, so an environment that passes here fits once deployed.
 */
export const DEPLOY_TIME_VALUE_BYTES = 160;

/** The environment's size as Lambda counts it, each deploy-time value at `DEPLOY_TIME_VALUE_BYTES`. */
export function environmentBytes(environment: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(environment)) {
    bytes += Buffer.byteLength(name);
    bytes += Token.isUnresolved(value) ? DEPLOY_TIME_VALUE_BYTES : Buffer.byteLength(value);
  }
  return bytes;
}

export interface HooklineFunctionProps {
  /** Handler module, relative to `functions/`, e.g. `delivery/handler.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Settings too large for the environment (by variable name), written into the bundle as constants:
   * the handler reads each by its literal name (`loadConfig`). Changing one changes the code asset.
   * @default - none
   */
  readonly bundledSettings?: Readonly<Record<string, string>>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.DESTROY (log groups only) */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Active X-Ray tracing: Lambda samples requests and the function may send its own segments.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Let the function run on in a chain of invocations through SQS that Lambda would stop after 16 as a
   * recursive loop. Only for a function whose loops are intended and bounded.
   * @default false
   */
  readonly allowRecursiveLoop?: boolean;
  /**
   * Shell commands run after esbuild has bundled the handler, given the bundle's folder: what they write
   * there ships in the function's asset.
   * @default - none
   */
  readonly afterBundling?: (outputDir: string) => string[];
}

/**
 * A Hookline Lambda function: Node.js 22 on arm64, bundled by a local esbuild into one minified ES
 * module (no Docker), with its own log group and retention.
 */
export class HooklineFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HooklineFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    const environment = {
      [EnvVar.serviceName]: SERVICE_NAME,
      NODE_OPTIONS: "--enable-source-maps",
      ...props.environment,
    };
    // `cdk deploy` would otherwise pass synth and fail at CreateFunction, half-way through a deployment.
    const bytes = environmentBytes(environment);
    if (bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
      const [largest = "", largestValue = ""] =
        Object.entries(environment).sort(([, a], [, b]) => Buffer.byteLength(b) - Buffer.byteLength(a))[0] ??
        [];
      throw new Error(
        `Hookline: the environment of function ${id} would be about ${bytes} bytes, over Lambda's ` +
          `${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit; its largest variable is ${largest} ` +
          `(${Buffer.byteLength(largestValue)} bytes)${largest === EnvVar.eventTypes ? ": shorten the eventTypes descriptions or list fewer types" : ""}`,
      );
    }
    super(scope, id, {
      entry: path.join(projectRoot, "functions", props.entry),
      handler: "handler",
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      logGroup,
      ...(props.tracing === true ? { tracing: Tracing.ACTIVE } : {}),
      ...(props.allowRecursiveLoop === true ? { recursiveLoop: RecursiveLoop.ALLOW } : {}),
      projectRoot,
      depsLockFilePath: path.join(projectRoot, "package-lock.json"),
      environment,
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: "node22",
        mainFields: ["module", "main"],
        // The AWS SDK v3 is not bundled: the nodejs22.x runtime provides it, and a function loads it from
        // there (the delivery bundle went from 934 KB to 573 KB; see README, Performance). The trade-offs:
        // the module load is slower, since the SDK comes as many files rather than one minified bundle
        // (measured on the shared 2-core machine, interleaved: median 398 ms against 261 ms for the same
        // delivery code with the SDK bundled, a cold-start cost only); and a function runs against the
        // runtime's SDK version, which AWS updates, not the one package-lock.json pins (the v3 API is stable;
        // the local runtime resolves the same packages from node_modules). Bundle it again
        // (`externalModules: []`) to pin the SDK and load faster, at about 600 KB per bundle.
        // The rest of the way to 202 KB: functions import zod as a namespace (`import * as z`), which lets
        // esbuild drop zod's 40-odd unused locales (258 KB); `import { z }` keeps them all.
        externalModules: ["@aws-sdk/*", "@smithy/*"],
        // Decided at build time, so that a function built without tracing carries no X-Ray SDK.
        define: {
          "process.env.HOOKLINE_TRACING": JSON.stringify(String(props.tracing === true)),
          ...Object.fromEntries(
            Object.entries(props.bundledSettings ?? {}).map(([name, value]) => [
              `process.env.${name}`,
              JSON.stringify(value),
            ]),
          ),
        },
        banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
        forceDockerBundling: false,
        ...(props.afterBundling === undefined
          ? {}
          : {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) =>
                  props.afterBundling?.(outputDir) ?? [],
              },
            }),
      },
    });
    acknowledge(this, {
      "AwsSolutions-L1":
        "Node.js 22 on purpose: the local runtime, its emulators and the tests run the bundles on Node 22",
      "Serverless-LambdaLatestVersion":
        "Node.js 22 on purpose: the local runtime, its emulators and the tests run the bundles on Node 22",
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]":
        "the basic execution role only lets the function write its own logs",
      ...(props.tracing === true
        ? {
            "AwsSolutions-IAM5[Resource::*]":
              "X-Ray's PutTraceSegments and PutTelemetryRecords accept only the resource *",
          }
        : {
            "Serverless-LambdaTracing":
              "X-Ray is opt-in with the tracing prop: it costs per trace (see the README's Operations)",
          }),
    });
  }
}
