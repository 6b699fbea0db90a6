import { App, Duration, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { TableV2 } from "aws-cdk-lib/aws-dynamodb";
import { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { IN_FLIGHT_LEASE_MS } from "../../functions/domain/in-flight.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { EnvVar, StackOutput } from "../../functions/shared/names.ts";
import { HooklineApi } from "../../lib/api.ts";
import { HooklineDelivery } from "../../lib/delivery.ts";
import { Hookline, type HooklineProps } from "../../lib/hookline.ts";
import { HooklineStack } from "../../lib/hookline-stack.ts";

/** The message of what `build` throws, or undefined when it throws nothing. */
function synthError(build: () => unknown): string | undefined {
  try {
    build();
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

const hookline = (props: HooklineProps) => () => new Hookline(new Stack(new App(), "Bad"), "Hookline", props);

describe("props out of range fail synth, naming the prop", () => {
  it.each<[string, HooklineProps, string]>([
    [
      "a 45 s attempt timeout",
      { attemptTimeout: Duration.seconds(45) },
      "attemptTimeout must be a whole number, at least 1 s and at most 30 s; found 45 s",
    ],
    [
      "a fractional attempt timeout",
      { attemptTimeout: Duration.millis(1500) },
      "attemptTimeout must be a whole number, at least 1 s and at most 30 s; found 1.5 s",
    ],
    [
      "no retention",
      { retentionDays: 0 },
      "retentionDays must be a whole number, at least 1 day and at most 3650 days; found 0 days",
    ],
    [
      "a retention past ten years",
      { retentionDays: 3651 },
      "retentionDays must be a whole number, at least 1 day and at most 3650 days; found 3651 days",
    ],
    [
      "half a day of retention",
      { retentionDays: 7.5 },
      "retentionDays must be a whole number, at least 1 day and at most 3650 days; found 7.5 days",
    ],
    [
      "a circuit threshold of 0",
      { circuitFailureThreshold: 0 },
      "circuitFailureThreshold must be a whole number, at least 1 and at most 1000; found 0",
    ],
    [
      "a circuit threshold past 1000",
      { circuitFailureThreshold: 1001 },
      "circuitFailureThreshold must be a whole number, at least 1 and at most 1000; found 1001",
    ],
    [
      "a two-day cooldown",
      { circuitCooldown: Duration.days(2) },
      "circuitCooldown must be a whole number, at least 1 s and at most 1 day; found 2 days",
    ],
    [
      "no reconciler grace",
      { reconcileGrace: Duration.seconds(0) },
      "reconcileGrace must be a whole number, at least 1 s and at most 1 day; found 0 s",
    ],
    [
      "a 31-day rotation overlap",
      { secretRotationOverlap: Duration.days(31) },
      "secretRotationOverlap must be a whole number, at least 0 s and at most 30 days; found 31 days",
    ],
    [
      "one delivery instance",
      { deliveryConcurrency: 1 },
      "deliveryConcurrency must be a whole number, at least 2 and at most 1000; found 1",
    ],
    [
      "a two-hour authorizer cache",
      { authorizerCacheTtl: Duration.hours(2) },
      "authorizerCacheTtl must be a whole number, at least 0 s and at most 3600 s; found 7200 s",
    ],
    [
      "an empty retry schedule",
      { retryScheduleSeconds: [] },
      "retryScheduleSeconds must have at least 1 delay",
    ],
    [
      "a zero delay",
      { retryScheduleSeconds: [1, 0] },
      "retryScheduleSeconds[1] must be a whole number of seconds, at least 1; found 0",
    ],
    [
      "a schedule past 3 days",
      { retryScheduleSeconds: [3 * 86_400, 1] },
      "retryScheduleSeconds delays must add up to at most 259200 seconds (3 days); found 259201",
    ],
    ["an empty catalogue", { eventTypes: [] }, "eventTypes must list at least one event type"],
  ])("%s", (_, props, problem) => {
    expect(synthError(hookline(props))).toBe(`Hookline: ${problem}`);
  });

  it("lists every bad prop at once, so one synth shows all there is to fix", () => {
    const message = synthError(
      hookline({
        attemptTimeout: Duration.seconds(45),
        circuitFailureThreshold: 0,
        retryScheduleSeconds: [],
      }),
    );
    expect(message).toMatch(
      /^Hookline: attemptTimeout .*; circuitFailureThreshold .*; retryScheduleSeconds /,
    );
  });

  it("accepts the ends of every range", () => {
    // Only the checks are under test here, so the functions' bundles need not be built.
    const app = () => new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const lowest = {
      attemptTimeout: Duration.seconds(1),
      retentionDays: 1,
      circuitFailureThreshold: 1,
      circuitCooldown: Duration.seconds(1),
      reconcileGrace: Duration.seconds(1),
      secretRotationOverlap: Duration.seconds(0),
      deliveryConcurrency: 2,
      authorizerCacheTtl: Duration.seconds(0),
      retryScheduleSeconds: [1],
    } satisfies HooklineProps;
    const highest = {
      attemptTimeout: Duration.seconds(30),
      retentionDays: 3650,
      circuitFailureThreshold: 1000,
      circuitCooldown: Duration.days(1),
      reconcileGrace: Duration.days(1),
      secretRotationOverlap: Duration.days(30),
      deliveryConcurrency: 1000,
      authorizerCacheTtl: Duration.hours(1),
      retryScheduleSeconds: [...Array(14).fill(1), 3 * 86_400 - 14],
    } satisfies HooklineProps;
    for (const props of [lowest, highest]) {
      expect(synthError(() => new HooklineStack(app(), "Edges", { hookline: props }))).toBeUndefined();
    }
  });

  it("holds the delivery and API constructs, used on their own, to the same ranges", () => {
    const stack = new Stack(new App(), "Parts");
    const table = TableV2.fromTableName(stack, "Table", "table");
    const queue = Queue.fromQueueArn(stack, "Queue", "arn:aws:sqs:us-east-1:111122223333:queue");
    expect(
      synthError(
        () =>
          new HooklineDelivery(stack, "Delivery", {
            webhooksTable: table,
            eventsTable: table,
            environment: {},
            retryStateMachineArn: "arn:aws:states:us-east-1:111122223333:stateMachine:retries",
            attemptTimeout: Duration.seconds(45),
            maxConcurrency: 1,
          }),
      ),
    ).toBe(
      "HooklineDelivery: attemptTimeout must be a whole number, at least 1 s and at most 30 s; found 45 s; " +
        "maxConcurrency must be a whole number, at least 2 and at most 1000; found 1",
    );
    expect(
      synthError(
        () =>
          new HooklineApi(stack, "Api", {
            webhooksTable: table,
            eventsTable: table,
            ingestFunction: LambdaFunction.fromFunctionName(stack, "Ingest", "ingest"),
            eventCatalogue: DEFAULT_EVENT_TYPES,
            deliveryQueue: queue,
            priorityQueue: queue,
            deadLetterQueue: queue,
            environment: {},
            secretRotationOverlapSeconds: 31 * 86_400,
          }),
      ),
    ).toBe(
      "HooklineApi: secretRotationOverlapSeconds must be a whole number, at least 0 s and at most 30 days; found 31 days",
    );
  });

  it("refuses a visibility timeout shorter than the delivery function's timeout, as Lambda would", () => {
    const stack = new Stack(new App(), "Visibility");
    const table = TableV2.fromTableName(stack, "Table", "table");
    expect(
      synthError(
        () =>
          new HooklineDelivery(stack, "Delivery", {
            webhooksTable: table,
            eventsTable: table,
            environment: {},
            retryStateMachineArn: "arn:aws:states:us-east-1:111122223333:stateMachine:retries",
            visibilityTimeout: Duration.seconds(30),
          }),
      ),
    ).toBe(
      "HooklineDelivery: visibilityTimeout must be at least the delivery function's timeout (40 s) and at most 12 hours; found 30 s",
    );
  });

  it("warns at synth when the reconciler's grace does not exceed the visibility timeout", () => {
    const stack = new HooklineStack(new App(), "ShortGrace", {
      hookline: { reconcileGrace: Duration.seconds(20) },
    });
    Annotations.fromStack(stack).hasWarning(
      "*",
      Match.stringLikeRegexp("reconcileGrace \\(20 s\\) does not exceed"),
    );
  });
});

/** Environment variables of the function whose description mentions `what`. */
function environmentOf(template: Template, what: string): Record<string, unknown> {
  const [resource] = Object.values(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Description: Match.stringLikeRegexp(what) },
    }),
  );
  return (resource as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties
    .Environment.Variables;
}

describe("a Hookline with no props gets every documented @default", () => {
  let stack: HooklineStack;
  let template: Template;
  beforeAll(() => {
    stack = new HooklineStack(new App(), "Defaults");
    template = Template.fromStack(stack);
  });

  it("delivers with a 10 s attempt timeout, the 6-attempt schedule and a circuit of 5 failures and 5 minutes", () => {
    expect(environmentOf(template, "signs and POSTs")).toMatchObject({
      [EnvVar.deliveryTimeoutSeconds]: "10",
      [EnvVar.retrySchedule]: "1,5,30,300,1800",
      [EnvVar.circuitFailureThreshold]: "5",
      [EnvVar.circuitCooldownSeconds]: "300",
    });
  });

  it("keeps records 30 days, with a 50 s reconciler grace, running the reconciler every minute", () => {
    for (const fn of ["signs and POSTs", "drives on overdue", "management API", "resolves API keys"]) {
      expect(environmentOf(template, fn)).toMatchObject({
        [EnvVar.retentionDays]: "30",
        [EnvVar.reconcileGraceSeconds]: "50",
      });
    }
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(1 minute)" });
    expect(stack.hookline.retentionDays).toBe(30);
    expect(stack.hookline.reconcileGraceSeconds).toBe(50);
    template.hasOutput(StackOutput.retentionDays, { Value: "30" });
    template.hasOutput(StackOutput.reconcileGraceSeconds, { Value: "50" });
  });

  it("hides a received delivery message 45 s, no shorter than the delivery function may run, and less than the grace", () => {
    const queues = template.findResources("AWS::SQS::Queue", {
      Properties: { RedrivePolicy: Match.anyValue() },
    });
    expect(Object.values(queues).map((queue) => queue.Properties.VisibilityTimeout)).toEqual([45, 45]);
    const deliveryFunctions = template.findResources("AWS::Lambda::Function", {
      Properties: { Description: Match.stringLikeRegexp("signs and POSTs") },
    });
    for (const fn of Object.values(deliveryFunctions)) expect(fn.Properties.Timeout).toBeLessThanOrEqual(45);
    // An in-flight slot that a crashed function held lapses once it could no longer be running, so
    // its messages find the slot free when they come back.
    for (const fn of Object.values(deliveryFunctions))
      expect(fn.Properties.Timeout * 1000).toBe(IN_FLIGHT_LEASE_MS);
    expect(IN_FLIGHT_LEASE_MS).toBeLessThan(45_000);
    expect(stack.hookline.reconcileGraceSeconds).toBeGreaterThan(45);
    Annotations.fromStack(stack).hasNoWarning("*", Match.stringLikeRegexp("reconcileGrace"));
  });

  it("keeps a rotated-out secret 24 hours, caches authorizer answers 60 s, and runs up to 50 delivery instances", () => {
    expect(environmentOf(template, "management API")).toMatchObject({
      [EnvVar.secretRotationOverlapSeconds]: "86400",
      [EnvVar.deliveryTimeoutSeconds]: "10",
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", { AuthorizerResultTtlInSeconds: 60 });
    // Every queue's mapping (the stats function's reads a stream, one batch per shard at a time).
    const queueMappings = Object.values(template.findResources("AWS::Lambda::EventSourceMapping")).filter(
      (mapping) => !JSON.stringify(mapping.Properties.EventSourceArn).includes("StreamArn"),
    );
    expect(queueMappings).toHaveLength(2);
    for (const mapping of queueMappings)
      expect(mapping.Properties).toMatchObject({ ScalingConfig: { MaximumConcurrency: 50 } });
  });

  it("limits each tenant to 1,000 events/s (bursts of 2,000) and 1,000 webhooks, and each webhook to 10 deliveries in flight", () => {
    expect(environmentOf(template, "stores published events")).toMatchObject({
      [EnvVar.tenantPublishRatePerSecond]: "1000",
      [EnvVar.tenantPublishBurst]: "2000",
    });
    expect(environmentOf(template, "management API")).toMatchObject({
      [EnvVar.maxWebhooksPerTenant]: "1000",
    });
    expect(environmentOf(template, "signs and POSTs")).toMatchObject({
      [EnvVar.maxDeliveriesInFlightPerWebhook]: "10",
    });
  });

  it("fans out 100 webhooks a page in every function that may fan out", () => {
    for (const fn of ["stores published events", "signs and POSTs", "drives on overdue", "management API"]) {
      expect(environmentOf(template, fn)).toMatchObject({ [EnvVar.fanOutPageSize]: "100" });
    }
  });

  it("refuses a fan-out page size outside 10 to 100 at synth", () => {
    for (const fanOutPageSize of [9, 101]) {
      expect(() => new HooklineStack(new App(), "BadPage", { hookline: { fanOutPageSize } })).toThrow(
        `fanOutPageSize must be a whole number, at least 10 and at most 100; found ${fanOutPageSize}`,
      );
    }
  });

  it("refuses fairness limits outside their ranges at synth", () => {
    expect(
      () => new HooklineStack(new App(), "NoInFlight", { hookline: { maxDeliveriesInFlightPerWebhook: 0 } }),
    ).toThrow("maxDeliveriesInFlightPerWebhook must be a whole number, at least 1 and at most 1000; found 0");
    expect(
      () => new HooklineStack(new App(), "NoPublishing", { hookline: { tenantPublishRateLimit: 0 } }),
    ).toThrow("tenantPublishRateLimit must be a whole number, at least 1 and at most 100000; found 0");
  });

  it("uses the default catalogue, the strict endpoint policy, INFO logs kept a month, the Hookline namespace, no tracing", () => {
    const environment = environmentOf(template, "signs and POSTs");
    // Names, descriptions and lanes: the schemas travel in the bundles of the functions that use them.
    expect(JSON.parse(String(environment[EnvVar.eventTypes]))).toEqual(
      DEFAULT_EVENT_TYPES.map(({ schema: _schema, ...entry }) => entry),
    );
    expect(JSON.parse(String(environment[EnvVar.endpointPolicy]))).toEqual({
      allowInsecureHttp: false,
      allowPrivateTargets: false,
      allowedPorts: [443, 8443, 80, 8080],
    });
    expect(environment).toMatchObject({ [EnvVar.logLevel]: "INFO", [EnvVar.metricsNamespace]: "Hookline" });
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    for (const fn of Object.values(template.findResources("AWS::Lambda::Function"))) {
      expect(fn.Properties).not.toHaveProperty("TracingConfig");
    }
  });

  it("retains the tables and includes the monitoring", () => {
    template.allResources("AWS::DynamoDB::GlobalTable", { DeletionPolicy: "Retain" });
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.hasOutput(StackOutput.alarmTopicArn, {});
  });

  it("outputs every setting in effect at its default, for hookline status", () => {
    const settings = JSON.parse(
      String(template.findOutputs(StackOutput.settings)[StackOutput.settings]?.Value),
    );
    expect(settings).toMatchObject({
      retryScheduleSeconds: { value: [1, 5, 30, 300, 1800], unit: "seconds" },
      circuitCooldown: { value: 300, default: 300, unit: "seconds" },
      retentionDays: { value: 30, default: 30, unit: "days" },
      endpointSafety: { value: { allowInsecureHttp: false, allowPrivateTargets: false } },
    });
    for (const [name, setting] of Object.entries(
      settings as Record<string, { value: unknown; default: unknown }>,
    )) {
      expect(setting.value, name).toEqual(setting.default);
    }
  });

  it("outputs a setting a prop changes beside its default", () => {
    const changed = new HooklineStack(new App(), "Changed", {
      hookline: { circuitCooldown: Duration.seconds(3), endpointSafety: { allowInsecureHttp: true } },
    });
    const output = Template.fromStack(changed).findOutputs(StackOutput.settings)[StackOutput.settings]?.Value;
    expect(JSON.parse(String(output))).toMatchObject({
      circuitCooldown: { value: 3, default: 300 },
      endpointSafety: { value: { allowInsecureHttp: true }, default: { allowInsecureHttp: false } },
    });
  });
});
