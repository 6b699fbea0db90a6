/**
 * Reads the template's `AWS::Lambda::Function`s into what the Lambda host runs: code location, resolved
 * environment, timeout, memory and concurrency. A function that cannot run here (inline code, another
 * runtime, an environment value with no local equivalent) is kept with a `problem`, reported when
 * something in the stack needs it.
 */
import { lambdaCode } from "./assembly.ts";
import type { IntrinsicResolver } from "./intrinsics.ts";
import type { FunctionDefinition } from "./lambda-host.ts";
import type { LocalNames } from "./physical-names.ts";
import { type CfnTemplate, isRecord, props, resourcesOfType } from "./template.ts";

export function functionDefinitions(
  template: CfnTemplate,
  assemblyDir: string,
  resolver: IntrinsicResolver,
  names: LocalNames,
): FunctionDefinition[] {
  const asyncConfigs = asyncInvokeConfigs(template, resolver);
  return resourcesOfType(template, "AWS::Lambda::Function").map(({ logicalId, resource }) => {
    const p = props(resource);
    const values = names.valuesOf(logicalId, resource);
    const name = values?.ref ?? logicalId;
    const asyncConfig = asyncConfigs.get(name) ?? {};
    const definition = {
      logicalId,
      name,
      arn: values?.attributes.Arn ?? name,
      handlerSpec: typeof p.Handler === "string" ? p.Handler : "",
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
      reservedConcurrency:
        p.ReservedConcurrentExecutions === undefined ? undefined : Number(p.ReservedConcurrentExecutions),
      asyncRetryAttempts: asyncConfig.retryAttempts ?? 2,
      asyncMaxEventAgeSeconds: asyncConfig.maxEventAgeSeconds ?? 21_600,
      ...(asyncConfig.onFailure === undefined ? {} : { asyncOnFailure: asyncConfig.onFailure }),
      recursiveLoopAllowed: p.RecursiveLoop === "Allow",
    };
    const problemOf = (reason: string) => `function ${logicalId}, which cannot run locally: ${reason}`;
    const runtime = typeof p.Runtime === "string" ? p.Runtime : "";
    if (!runtime.startsWith("nodejs")) {
      return { ...definition, environment: {}, problem: problemOf(`runtime "${runtime}" is not Node.js`) };
    }
    try {
      const code = lambdaCode(assemblyDir, logicalId, resource);
      const variables = isRecord(p.Environment) ? p.Environment.Variables : undefined;
      const resolved = resolver.resolve(variables ?? {}, `Environment.Variables of function ${logicalId}`);
      const environment: Record<string, string> = {};
      for (const [key, value] of Object.entries(resolved as Record<string, unknown>)) {
        environment[key] = typeof value === "string" ? value : JSON.stringify(value);
      }
      return { ...definition, code, environment };
    } catch (error) {
      return { ...definition, environment: {}, problem: problemOf((error as Error).message) };
    }
  });
}

interface AsyncInvokeConfig {
  readonly retryAttempts?: number;
  readonly maxEventAgeSeconds?: number;
  readonly onFailure?: string;
}

/** Each function's `AWS::Lambda::EventInvokeConfig`, by function name. */
function asyncInvokeConfigs(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
): Map<string, AsyncInvokeConfig> {
  const configs = new Map<string, AsyncInvokeConfig>();
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::Lambda::EventInvokeConfig")) {
    const p = props(resource);
    const name = resolver.resolveString(p.FunctionName, `FunctionName of ${logicalId}`);
    const destinations = resolver.resolve(p.DestinationConfig ?? {}, `DestinationConfig of ${logicalId}`);
    const onFailure =
      isRecord(destinations) && isRecord(destinations.OnFailure)
        ? destinations.OnFailure.Destination
        : undefined;
    configs.set(name, {
      ...(p.MaximumRetryAttempts === undefined ? {} : { retryAttempts: Number(p.MaximumRetryAttempts) }),
      ...(p.MaximumEventAgeInSeconds === undefined
        ? {}
        : { maxEventAgeSeconds: Number(p.MaximumEventAgeInSeconds) }),
      ...(typeof onFailure === "string" ? { onFailure } : {}),
    });
  }
  return configs;
}
