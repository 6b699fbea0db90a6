/**
 * EventBridge, locally: a `PutEvents` API (awsJson1_1, `AWSEvents.PutEvents`) that builds the event
 * envelope and delivers it to the targets of every enabled rule on the bus whose pattern matches.
 * Lambda targets are invoked asynchronously (a failed invocation is retried twice, as Lambda does for
 * asynchronous invocations); SQS and Step Functions targets are supported too. Scheduled rules with a
 * `rate(...)` expression fire on their schedule; `cron(...)` schedules do not run locally.
 */
import { randomUUID } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { matchesPattern } from "../functions/domain/event-pattern.ts";
import { AwsServiceError, type Operation } from "./aws-json.ts";
import type { IntrinsicResolver } from "./intrinsics.ts";
import type { LambdaHost } from "./lambda-host.ts";
import type { LocalNames } from "./physical-names.ts";
import { type CfnTemplate, isRecord, props, resourcesOfType } from "./template.ts";

export interface RuleTarget {
  readonly id: string;
  readonly arn: string;
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: { readonly pathsMap: Record<string, string>; readonly template: string };
}

export interface EventRule {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly bus: string;
  /** The event pattern; undefined for a scheduled rule. */
  readonly pattern?: Record<string, unknown>;
  /** The period of a `rate(...)` scheduled rule. */
  readonly rateMs?: number;
  readonly targets: readonly RuleTarget[];
}

export interface EventBridgeConfig {
  /** Bus names; `default` always exists. */
  readonly buses: ReadonlySet<string>;
  readonly rules: readonly EventRule[];
  readonly skipped: readonly string[];
}

export function eventBridgeConfig(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
  names: LocalNames,
): EventBridgeConfig {
  const buses = new Set(["default"]);
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::Events::EventBus")) {
    const name = names.valuesOf(logicalId, resource)?.ref;
    if (name !== undefined) buses.add(name);
  }
  const rules: EventRule[] = [];
  const skipped: string[] = [];
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::Events::Rule")) {
    const p = resolver.resolve(props(resource), `Properties of rule ${logicalId}`) as Record<string, unknown>;
    if (p.State === "DISABLED") {
      skipped.push(`rule ${logicalId}: disabled`);
      continue;
    }
    let rateMs: number | undefined;
    if (p.EventPattern === undefined) {
      rateMs = rateMilliseconds(String(p.ScheduleExpression));
      if (rateMs === undefined) {
        skipped.push(
          `rule ${logicalId}: schedule ${String(p.ScheduleExpression)} does not run locally (only rate(...))`,
        );
        continue;
      }
    }
    const pattern = typeof p.EventPattern === "string" ? JSON.parse(p.EventPattern) : p.EventPattern;
    const targets = (Array.isArray(p.Targets) ? p.Targets : []).filter(isRecord).map(
      (target): RuleTarget => ({
        id: String(target.Id),
        arn: String(target.Arn),
        input: typeof target.Input === "string" ? target.Input : undefined,
        inputPath: typeof target.InputPath === "string" ? target.InputPath : undefined,
        inputTransformer: isRecord(target.InputTransformer)
          ? {
              pathsMap: (target.InputTransformer.InputPathsMap ?? {}) as Record<string, string>,
              template: String(target.InputTransformer.InputTemplate),
            }
          : undefined,
      }),
    );
    const values = names.valuesOf(logicalId, resource);
    rules.push({
      logicalId,
      name: values?.ref ?? logicalId,
      arn: values?.attributes.Arn ?? logicalId,
      bus: busName(typeof p.EventBusName === "string" ? p.EventBusName : "default"),
      pattern: pattern as Record<string, unknown> | undefined,
      rateMs,
      targets,
    });
  }
  return { buses, rules, skipped };
}

/** The period of `rate(5 minutes)`, or undefined for anything else. */
export function rateMilliseconds(expression: string): number | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (match === null) return undefined;
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[(match[2] ?? "").replace(/s$/, "")] ?? 0;
  return Number(match[1]) * unit;
}

/** A bus name from a name or an ARN (`…:event-bus/<name>`). */
function busName(nameOrArn: string): string {
  return nameOrArn.includes(":event-bus/") ? (nameOrArn.split(":event-bus/")[1] ?? nameOrArn) : nameOrArn;
}

export interface EventBridgeDeps {
  readonly host: LambdaHost;
  readonly sqs: SQSClient;
  readonly names: LocalNames;
  readonly region: string;
  readonly accountId: string;
  /** Starts a state machine execution (a Step Functions target). */
  readonly startExecution?: (stateMachineArn: string, input: unknown) => Promise<unknown>;
}

export class LocalEventBridge {
  readonly #config: EventBridgeConfig;
  readonly #deps: EventBridgeDeps;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(config: EventBridgeConfig, deps: EventBridgeDeps) {
    this.#config = config;
    this.#deps = deps;
  }

  /** Checks at start-up that every target is something the local runtime can deliver to. */
  validate(): void {
    for (const rule of this.#config.rules) {
      for (const target of rule.targets) {
        const where = `rule ${rule.logicalId} target ${target.id}`;
        if (target.arn.includes(":lambda:")) this.#deps.host.assertRunnable(target.arn, where);
        else if (!target.arn.includes(":sqs:") && !target.arn.includes(":states:")) {
          throw new Error(
            `${where}: target ${target.arn} is not a Lambda function, SQS queue or state machine`,
          );
        }
      }
    }
  }

  /** Fires the scheduled rules, each first one period (its own, or `periodOverrideMs`) from now. */
  startSchedules(periodOverrideMs?: number): void {
    for (const rule of this.#config.rules) {
      if (rule.rateMs === undefined) continue;
      this.#timers.push(setInterval(() => this.#fireSchedule(rule), periodOverrideMs ?? rule.rateMs));
    }
  }

  stopSchedules(): void {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
  }

  #fireSchedule(rule: EventRule): void {
    const event = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: this.#deps.accountId,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.#deps.region,
      resources: [rule.arn],
      detail: {},
    };
    for (const target of rule.targets) this.#deliver(rule, target, event);
  }

  operations(): Record<string, Operation> {
    return { PutEvents: (input) => this.putEvents(input) };
  }

  putEvents(input: Record<string, unknown>): { FailedEntryCount: number; Entries: Record<string, string>[] } {
    const entries = Array.isArray(input.Entries) ? input.Entries : [];
    if (entries.length === 0 || entries.length > 10) {
      throw new AwsServiceError("ValidationException", "Entries must hold between 1 and 10 events");
    }
    const results = entries.map((entry: unknown) => this.#put(isRecord(entry) ? entry : {}));
    return { FailedEntryCount: results.filter((result) => "ErrorCode" in result).length, Entries: results };
  }

  #put(entry: Record<string, unknown>): Record<string, string> {
    if (typeof entry.Source !== "string" || entry.Source === "")
      return failure("InvalidArgument", "Source is required");
    if (typeof entry.DetailType !== "string" || entry.DetailType === "") {
      return failure("InvalidArgument", "DetailType is required");
    }
    let detail: unknown;
    try {
      detail = JSON.parse(typeof entry.Detail === "string" ? entry.Detail : "");
    } catch {
      return failure("MalformedDetail", "Detail is malformed.");
    }
    if (!isRecord(detail)) return failure("MalformedDetail", "Detail is malformed.");
    const bus = busName(
      typeof entry.EventBusName === "string" && entry.EventBusName !== "" ? entry.EventBusName : "default",
    );
    if (!this.#config.buses.has(bus))
      return failure("ResourceNotFoundException", `Event bus ${bus} does not exist.`);
    const time = typeof entry.Time === "number" ? new Date(entry.Time * 1_000) : new Date();
    const event = {
      version: "0",
      id: randomUUID(),
      "detail-type": entry.DetailType,
      source: entry.Source,
      account: this.#deps.accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.#deps.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail,
    };
    for (const rule of this.#config.rules) {
      if (rule.pattern === undefined || rule.bus !== bus || !matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) this.#deliver(rule, target, event);
    }
    return { EventId: event.id };
  }

  #deliver(rule: EventRule, target: RuleTarget, event: Record<string, unknown>): void {
    let payload: unknown;
    try {
      payload = targetInput(target, event, rule);
    } catch (error) {
      console.error(`[local] rule ${rule.logicalId} target ${target.id}: ${(error as Error).message}`);
      return;
    }
    if (target.arn.includes(":lambda:")) {
      this.#deps.host.invokeAsync(target.arn, payload);
      return;
    }
    const delivery = target.arn.includes(":sqs:")
      ? this.#deps.sqs.send(
          new SendMessageCommand({
            QueueUrl: this.#deps.names.queueUrl(target.arn.split(":").pop() ?? ""),
            MessageBody: typeof payload === "string" ? payload : JSON.stringify(payload),
          }),
        )
      : this.#deps.startExecution?.(target.arn, payload);
    void Promise.resolve(delivery).catch((error: unknown) =>
      console.error(`[local] rule ${rule.logicalId} target ${target.id} failed:`, (error as Error).message),
    );
  }
}

function failure(code: string, message: string): Record<string, string> {
  return { ErrorCode: code, ErrorMessage: message };
}

/** What a target receives: the event, or its `Input`, `InputPath` or `InputTransformer` rendering. */
export function targetInput(
  target: RuleTarget,
  event: Record<string, unknown>,
  rule: { name: string },
): unknown {
  if (target.input !== undefined) return JSON.parse(target.input);
  if (target.inputPath !== undefined) return jsonPath(event, target.inputPath);
  if (target.inputTransformer === undefined) return event;
  const values: Record<string, unknown> = {
    "aws.events.rule-name": rule.name,
    "aws.events.event": event,
    "aws.events.event.json": event,
    "aws.events.event.ingestion-time": event.time,
  };
  for (const [name, path] of Object.entries(target.inputTransformer.pathsMap))
    values[name] = jsonPath(event, path);
  const rendered = target.inputTransformer.template.replace(
    /("?)<([\w.-]+)>("?)/g,
    (whole, open: string, name: string, close: string) => {
      if (!(name in values)) return whole;
      const value = values[name];
      if (open === '"' && close === '"') {
        return typeof value === "string"
          ? JSON.stringify(value)
          : JSON.stringify(JSON.stringify(value) ?? "");
      }
      return `${open}${JSON.stringify(value) ?? "null"}${close}`;
    },
  );
  try {
    return JSON.parse(rendered);
  } catch {
    return rendered;
  }
}

/** The simple JSONPath EventBridge accepts: `$`, `$.a.b`, `$.a[0]`. */
function jsonPath(document: unknown, path: string): unknown {
  if (!path.startsWith("$")) throw new Error(`unsupported JSONPath ${path}`);
  const steps = path.slice(1).match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  let current: unknown = document;
  for (const step of steps) {
    if (current === undefined || current === null) return undefined;
    current = step.startsWith("[")
      ? (current as unknown[])[Number(step.slice(1, -1))]
      : (current as Record<string, unknown>)[step.slice(1)];
  }
  return current;
}
