import { App, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Key } from "aws-cdk-lib/aws-kms";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import { FAN_OUT_SETTLED_SECONDS } from "../../functions/shared/limits.ts";
import {
  BY_TIME_INDEX,
  BY_TIME_PROJECTION,
  ConsoleRoute,
  DEFAULT_EVENT_SOURCE,
  EnvVar,
  FALLBACK_ROUTE,
  IngestRoute,
  ManagementRoute,
  OPEN_CIRCUITS_INDEX,
  PublicRoute,
  RetrySlotField,
  StackOutput,
  TableKey,
} from "../../functions/shared/names.ts";
import { Hookline } from "../../lib/hookline.ts";
import { HooklineStack } from "../../lib/hookline-stack.ts";

/** Environment variables of the function whose description mentions `what`. */
function environmentOf(template: Template, what: string): Record<string, unknown> {
  const functions = template.findResources("AWS::Lambda::Function", {
    Properties: { Description: Match.stringLikeRegexp(what) },
  });
  const [resource] = Object.values(functions);
  return (resource as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties
    .Environment.Variables;
}

describe("Hookline stack with default props", () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(new HooklineStack(new App(), "Hookline"));
  });

  it("runs every function on Node.js 22, arm64, with a log group that has a retention", () => {
    const functions = template.findResources("AWS::Lambda::Function");
    expect(Object.keys(functions)).toHaveLength(8);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"] });
    }
    // One per function, the retry workflow's, and the HTTP API's access log.
    template.resourceCountIs("AWS::Logs::LogGroup", 10);
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("keeps two on-demand tables with point-in-time recovery and TTL, retained on delete", () => {
    template.resourceCountIs("AWS::DynamoDB::GlobalTable", 2);
    template.allResourcesProperties("AWS::DynamoDB::GlobalTable", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: TableKey.partition, KeyType: "HASH" },
        { AttributeName: TableKey.sort, KeyType: "RANGE" },
      ],
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
    // Both: only the webhooks table's replaced request settings carry the attribute there.
    template.allResourcesProperties("AWS::DynamoDB::GlobalTable", {
      TimeToLiveSpecification: { AttributeName: TableKey.expiresAt, Enabled: true },
    });
    template.hasResource("AWS::DynamoDB::GlobalTable", { DeletionPolicy: "Retain" });
  });

  it("feeds the delivery function from an encrypted queue with a dead-letter queue and partial batch failures", () => {
    // The two lanes, the dead-letter queue, the ingest one and the stats stream's failure queue.
    template.resourceCountIs("AWS::SQS::Queue", 5);
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it("gives high-priority event types a lane of their own: a queue and a delivery function fed only by it", () => {
    const mappings = Object.values(template.findResources("AWS::Lambda::EventSourceMapping")).map((mapping) =>
      JSON.stringify(mapping.Properties),
    );
    // The two lanes', and the stats function's on the events table's stream.
    expect(mappings).toHaveLength(3);
    expect(mappings.filter((mapping) => mapping.includes("StreamArn"))).toHaveLength(1);
    expect(mappings.filter((mapping) => mapping.includes("DeliveryPriorityQueue"))).toHaveLength(1);
    expect(mappings.filter((mapping) => mapping.includes("DeliveryPriorityFunction"))).toHaveLength(1);
    const priority = environmentOf(template, "high-priority event types");
    expect(priority[EnvVar.priorityQueueUrl]).toBeDefined();
    const catalogue = JSON.parse(String(priority[EnvVar.eventTypes])) as {
      name: string;
      priority?: string;
    }[];
    expect(catalogue.filter((type) => type.priority === "high").map((type) => type.name)).toEqual([
      "quota.warning",
      "quota.exceeded",
    ]);
    template.hasOutput("PriorityEventTypes", { Value: '["quota.warning","quota.exceeded"]' });
  });

  it("lists the catalogue's event types in an output, so the CLI refuses an unknown one before publishing", () => {
    const catalogue = JSON.parse(
      String(environmentOf(template, "high-priority event types")[EnvVar.eventTypes]),
    ) as { name: string }[];
    const listed = template.findOutputs("EventTypes").EventTypes?.Value;
    expect(JSON.parse(String(listed))).toEqual(catalogue.map((type) => type.name));
    expect(catalogue).toHaveLength(11);
  });

  it("gives the delivery function a 10 s attempt timeout by default", () => {
    expect(environmentOf(template, "signs and POSTs")[EnvVar.deliveryTimeoutSeconds]).toBe("10");
  });

  it("exposes every tenant route behind the API-key authorizer, and only health, the document, the console's files and $default without", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "REQUEST",
      EnableSimpleResponses: true,
      IdentitySource: ["$request.header.Authorization"],
      AuthorizerResultTtlInSeconds: 60,
    });
    const routes = template.findResources("AWS::ApiGatewayV2::Route");
    const keys = Object.values(routes).map(
      (route) => (route as { Properties: { RouteKey: string } }).Properties.RouteKey,
    );
    const open = [...Object.values(PublicRoute), ...Object.values(ConsoleRoute), FALLBACK_ROUTE];
    const guarded = [...Object.values(ManagementRoute), ...Object.values(IngestRoute)];
    expect(keys.sort()).toEqual([...guarded, ...open].sort());
    for (const route of Object.values(routes)) {
      const { RouteKey, AuthorizationType } = (
        route as { Properties: { RouteKey: string; AuthorizationType?: string } }
      ).Properties;
      expect(AuthorizationType ?? "NONE", RouteKey).toBe(open.includes(RouteKey) ? "NONE" : "CUSTOM");
    }
  });

  it("puts the events list, event detail and recover routes behind the authorizer, on the management function", () => {
    for (const routeKey of [
      ManagementRoute.listEvents,
      ManagementRoute.getEvent,
      ManagementRoute.recoverWebhook,
    ]) {
      template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
        RouteKey: routeKey,
        AuthorizationType: "CUSTOM",
        AuthorizerId: Match.anyValue(),
        Target: {
          "Fn::Join": ["", ["integrations/", { Ref: Match.stringLikeRegexp("ManagementIntegration") }]],
        },
      });
    }
  });

  it("indexes events by tenant and time, and deliveries by event, in one by-time index that copies no payload", () => {
    // The event list reads its summaries from it; event detail finds the keys of an event's deliveries
    // there and reads the records, so a delivery's progress never rewrites the index.
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: BY_TIME_INDEX,
          KeySchema: [
            { AttributeName: TableKey.byTimePartition, KeyType: "HASH" },
            { AttributeName: TableKey.byTimeSort, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...BY_TIME_PROJECTION] },
        },
      ]),
    });
  });

  it("lets the management function read the queues' depths, and do nothing else with the dead-letter queue", () => {
    const environment = environmentOf(template, "management API");
    expect(environment).toHaveProperty(EnvVar.deadLetterQueueUrl);
    expect(environment).toHaveProperty(EnvVar.deliveryQueueUrl);
    const statements = Object.entries(template.findResources("AWS::IAM::Policy"))
      .filter(([logicalId]) => logicalId.includes("ManagementFunction"))
      .flatMap(
        ([, policy]) =>
          (
            policy as {
              Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
            }
          ).Properties.PolicyDocument.Statement,
      );
    const onDeadLetters = statements.filter((statement) =>
      JSON.stringify(statement.Resource).includes("DeliveryDeadLetterQueue"),
    );
    expect(onDeadLetters.flatMap((statement) => [statement.Action].flat())).toEqual([
      "sqs:GetQueueAttributes",
    ]);
    const onQueue = statements.filter((statement) =>
      /DeliveryQueue[0-9A-F]{8}"/.test(JSON.stringify(statement.Resource)),
    );
    expect(onQueue.flatMap((statement) => [statement.Action].flat())).toContain("sqs:GetQueueAttributes");
  });

  it("keeps a keys-only sparse index of open circuits on the webhooks table", () => {
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      GlobalSecondaryIndexes: [
        {
          IndexName: OPEN_CIRCUITS_INDEX,
          KeySchema: [{ AttributeName: TableKey.openCircuit, KeyType: "HASH" }],
          Projection: { ProjectionType: "KEYS_ONLY" },
        },
      ],
    });
  });

  it("routes catalogue events from the default source on a bus of its own to the ingest function", () => {
    const buses = template.findResources("AWS::Events::EventBus");
    const [busId] = Object.keys(buses);
    expect(Object.keys(buses)).toHaveLength(1);
    template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: busId },
      EventPattern: {
        source: [DEFAULT_EVENT_SOURCE],
        "detail-type": DEFAULT_EVENT_TYPES.map((type) => type.name),
        detail: { tenant_id: [{ exists: true }] },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86_400 },
          DeadLetterConfig: {
            Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("IngestDeadLetterQueue"), "Arn"] },
          },
        }),
      ],
    });
  });

  it("hands an EventBridge event ingest failed on after Lambda's retries to the ingest dead-letter queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: Match.stringLikeRegexp("IngestFunction") },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21_600,
      DestinationConfig: {
        OnFailure: {
          Destination: { "Fn::GetAtt": [Match.stringLikeRegexp("IngestDeadLetterQueue"), "Arn"] },
        },
      },
    });
    template.hasOutput(StackOutput.ingestDeadLetterQueueUrl, {
      Value: { Ref: Match.stringLikeRegexp("IngestDeadLetterQueue") },
    });
  });

  it("gives functions the strict endpoint policy and the catalogue", () => {
    const environment = environmentOf(template, "management API");
    expect(JSON.parse(String(environment[EnvVar.endpointPolicy]))).toEqual({
      allowInsecureHttp: false,
      allowPrivateTargets: false,
      allowedPorts: [443, 8443, 80, 8080],
    });
    // Names, descriptions and lanes: the schemas travel in the bundles of the functions that use them.
    expect(JSON.parse(String(environment[EnvVar.eventTypes]))).toEqual(
      DEFAULT_EVENT_TYPES.map(({ schema: _schema, ...entry }) => entry),
    );
    expect(environment[EnvVar.retentionDays]).toBe("30");
  });

  it("grants least privilege: the authorizer only reads, the delivery function sends only to its queues", () => {
    const policies = template.findResources("AWS::IAM::Policy");
    const statementsOf = (fragment: string) =>
      Object.entries(policies)
        .filter(([logicalId]) => logicalId.includes(fragment))
        .flatMap(
          ([, policy]) =>
            (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown }[] } } }).Properties
              .PolicyDocument.Statement,
        )
        .flatMap((statement) => [statement.Action].flat() as string[]);
    const authorizer = statementsOf("AuthorizerFunction");
    expect(authorizer.length).toBeGreaterThan(0);
    expect(authorizer.some((action) => /Put|Update|Delete|Write/.test(action))).toBe(false);
    const deliveryStatements = Object.entries(policies)
      .filter(([logicalId]) => logicalId.includes("DeliveryFunction"))
      .flatMap(
        ([, policy]) =>
          (
            policy as {
              Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
            }
          ).Properties.PolicyDocument.Statement,
      );
    const sqsTargets = deliveryStatements
      .filter((statement) => [statement.Action].flat().includes("sqs:SendMessage"))
      .map((statement) => JSON.stringify(statement.Resource));
    expect(sqsTargets).toHaveLength(3);
    for (const target of sqsTargets) {
      expect(target).toMatch(/DeliveryQueue|DeliveryPriorityQueue|DeliveryDeadLetterQueue/);
    }
    expect(statementsOf("DeliveryFunction")).toContain("states:StartExecution");
  });

  it("carries each retry slot in a Standard JSONPath workflow: wait for the slot's time, then release it", () => {
    const machines = template.findResources("AWS::StepFunctions::StateMachine");
    expect(Object.keys(machines)).toHaveLength(1);
    const [machine] = Object.values(machines) as { Properties: Record<string, unknown> }[];
    if (!machine) throw new Error("no state machine");
    expect(machine.Properties.StateMachineType).toBe("STANDARD");
    const definition = JSON.parse(
      (machine.Properties.DefinitionString as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1]
        .map((part) => (typeof part === "string" ? part : "TOKEN"))
        .join(""),
    );
    expect(definition.QueryLanguage ?? "JSONPath").toBe("JSONPath");
    expect(definition.StartAt).toBe("WaitForSlot");
    expect(definition.States.WaitForSlot).toMatchObject({
      Type: "Wait",
      TimestampPath: `$.${RetrySlotField.at}`,
      Next: "Release",
    });
    // Two states a slot, whatever the number of deliveries in it.
    expect(Object.keys(definition.States).sort()).toEqual(["Release", "ReleaseFailed", "WaitForSlot"]);
    expect(definition.States.Release).toMatchObject({ Type: "Task", End: true });
    // A throttled or failing Lambda service is retried with jittered backoff before the release is given up.
    expect(definition.States.Release.Retry).toEqual([
      {
        ErrorEquals: [
          "Lambda.TooManyRequestsException",
          "Lambda.ServiceException",
          "Lambda.AWSLambdaException",
          "Lambda.SdkClientException",
          "Lambda.ClientExecutionTimeoutException",
        ],
        IntervalSeconds: 1,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        MaxAttempts: 8,
        JitterStrategy: "FULL",
      },
    ]);
    expect(definition.States.Release.Catch).toEqual([{ ErrorEquals: ["States.ALL"], Next: "ReleaseFailed" }]);
    expect(definition.States.ReleaseFailed.Type).toBe("Fail");
  });

  it("gives the delivery function the default retry schedule and circuit breaker", () => {
    const environment = environmentOf(template, "signs and POSTs");
    expect(environment[EnvVar.retrySchedule]).toBe("1,5,30,300,1800");
    expect(environment[EnvVar.circuitFailureThreshold]).toBe("5");
    expect(environment[EnvVar.circuitCooldownSeconds]).toBe("300");
  });

  it("logs at INFO in every function by default", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    for (const fn of functions) {
      expect(
        (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment
          .Variables[EnvVar.logLevel],
      ).toBe("INFO");
    }
  });

  it("runs the reconciler every minute", () => {
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(1 minute)" });
  });

  it("outputs what the CLI and the local runtime need", () => {
    for (const name of Object.values(StackOutput)) template.hasOutput(name, {});
  });

  it("outputs the log group the delivery function writes to, for hookline tail", () => {
    const [delivery] = Object.values(
      template.findResources("AWS::Lambda::Function", {
        Properties: { Description: Match.stringLikeRegexp("signs and POSTs") },
      }),
    );
    const properties = (delivery?.Properties ?? {}) as { LoggingConfig?: { LogGroup?: unknown } };
    const logGroup = properties.LoggingConfig?.LogGroup;
    expect(logGroup).toBeDefined();
    template.hasOutput(StackOutput.deliveryLogGroupName, { Value: logGroup });
  });
});

describe("Hookline props", () => {
  it("applies custom event types, bus sources, endpoint policy, retention, timeout and logging", () => {
    const stack = new Stack(new App(), "Custom");
    new Hookline(stack, "Hookline", {
      eventTypes: [{ name: "order.paid", description: "An order was paid." }],
      eventSources: ["com.example.orders"],
      endpointSafety: { allowlistPattern: "https://hooks\\.example\\.com/.*" },
      retentionDays: 7,
      attemptTimeout: Duration.seconds(5),
      tableRemovalPolicy: RemovalPolicy.DESTROY,
      logLevel: "WARN",
      logRetention: RetentionDays.ONE_WEEK,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { "detail-type": ["order.paid"], source: ["com.example.orders"] },
    });
    expect(() => new Hookline(new Stack(new App(), "NoSources"), "Hookline", { eventSources: [] })).toThrow(
      /eventSources must list at least one/,
    );
    const environment = environmentOf(template, "signs and POSTs");
    expect(JSON.parse(String(environment[EnvVar.endpointPolicy]))).toMatchObject({
      allowInsecureHttp: false,
      allowlistPattern: "https://hooks\\.example\\.com/.*",
    });
    expect(environment[EnvVar.retentionDays]).toBe("7");
    expect(environment[EnvVar.deliveryTimeoutSeconds]).toBe("5");
    expect(environment[EnvVar.logLevel]).toBe("WARN");
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 7 });
    template.hasResource("AWS::DynamoDB::GlobalTable", { DeletionPolicy: "Delete" });
  });

  it("fails synth, naming the type, on a schema that does not compile or refuses its own examples", () => {
    const synth = (schema: Record<string, unknown>) => () =>
      new Hookline(new Stack(new App(), "Schemas"), "Hookline", {
        eventTypes: [
          { name: "order.created", description: "An order was created." },
          { name: "order.paid", description: "An order was paid.", schema },
        ],
      });
    expect(synth({ type: "objekt" })).toThrow(
      /^Hookline: eventTypes "order\.paid": schema is not a usable JSON Schema \(draft 2020-12\): schema is invalid: data\/type must be equal to one of the allowed values/,
    );
    // A typo is an unknown keyword, not a constraint silently ignored.
    expect(synth({ type: "object", requried: ["amount"] })).toThrow(
      /eventTypes "order\.paid": schema is not a usable JSON Schema \(draft 2020-12\): strict mode: unknown keyword: "requried"/,
    );
    expect(synth({ $ref: "https://example.com/order.json" })).toThrow(
      /eventTypes "order\.paid": .*can't resolve reference/,
    );
    expect(
      synth({ type: "object", properties: { amount: { type: "number" } }, examples: [{ amount: "12" }, []] }),
    ).toThrow(
      'Hookline: eventTypes "order.paid": schema.examples[0] does not match the schema: data.amount must be number; ' +
        'eventTypes "order.paid": schema.examples[1] must be a JSON object, as event data is',
    );
    // Without examples, test sends would send Hookline's sample, which this schema refuses.
    expect(synth({ type: "object", required: ["amount"] })).toThrow(
      /eventTypes "order\.paid": schema refuses Hookline's test sample \{"test":true,.*give it `examples`/,
    );
    expect(synth({ type: "object", properties: { amount: { type: "number", minimum: 0 } } })).not.toThrow();
  });

  it("refuses an empty event catalogue", () => {
    expect(() => new Hookline(new Stack(new App(), "Empty"), "Hookline", { eventTypes: [] })).toThrow(
      /at least one/,
    );
  });
});

interface PolicyStatementJson {
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** The actions a function's role may take on resources whose reference mentions `resource`. */
function actionsOn(template: Template, functionFragment: string, resource: string): string[] {
  return Object.entries(template.findResources("AWS::IAM::Policy"))
    .filter(([logicalId]) => logicalId.includes(functionFragment))
    .flatMap(
      ([, policy]) =>
        (policy as { Properties: { PolicyDocument: { Statement: PolicyStatementJson[] } } }).Properties
          .PolicyDocument.Statement,
    )
    .filter((statement) => JSON.stringify(statement.Resource).includes(resource))
    .flatMap((statement) => [statement.Action].flat());
}

function keyLogicalId(template: Template): string {
  const keys = Object.keys(template.findResources("AWS::KMS::Key"));
  expect(keys).toHaveLength(1);
  return keys[0] ?? "";
}

describe("signing secrets", () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(new HooklineStack(new App(), "Hookline"));
  });

  it("encrypts the webhooks table with a customer-managed key that rotates, kept like the tables", () => {
    template.hasResource("AWS::KMS::Key", {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: "Retain",
    });
    const key = keyLogicalId(template);
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: OPEN_CIRCUITS_INDEX })],
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
      Replicas: [Match.objectLike({ SSESpecification: { KMSMasterKeyId: { "Fn::GetAtt": [key, "Arn"] } } })],
    });
  });

  it("lets writers of the webhooks table encrypt and decrypt with its key, and readers only decrypt", () => {
    const key = keyLogicalId(template);
    for (const writer of ["ManagementFunction", "DeliveryFunction", "DeliveryPriorityFunction"]) {
      expect(actionsOn(template, writer, key), writer).toEqual(
        expect.arrayContaining(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]),
      );
    }
    for (const reader of ["AuthorizerFunction", "IngestFunction", "ReconcilerFunction"]) {
      const actions = actionsOn(template, reader, key);
      expect(actions, reader).toContain("kms:Decrypt");
      expect(
        actions.filter((action) => /Encrypt|GenerateDataKey/.test(action)),
        reader,
      ).toEqual([]);
    }
  });

  it("uses TableV2's own customer-managed key encryption, grants included, in a stack with a region", () => {
    const stack = new Stack(new App(), "Regional", { env: { region: "eu-west-1" } });
    new Hookline(stack, "Hookline");
    const regional = Template.fromStack(stack);
    const key = keyLogicalId(regional);
    regional.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
      Replicas: [
        Match.objectLike({
          Region: "eu-west-1",
          SSESpecification: { KMSMasterKeyId: { "Fn::GetAtt": [key, "Arn"] } },
        }),
      ],
    });
    expect(actionsOn(regional, "ManagementFunction", key)).toEqual(
      expect.arrayContaining(["kms:Decrypt", "kms:Encrypt"]),
    );
    expect(actionsOn(regional, "AuthorizerFunction", key)).toContain("kms:Decrypt");
  });

  it("uses a key it is given instead of creating one", () => {
    const stack = new Stack(new App(), "OwnKey");
    const arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    new Hookline(stack, "Hookline", { encryptionKey: Key.fromKeyArn(stack, "Given", arn) });
    const own = Template.fromStack(stack);
    own.resourceCountIs("AWS::KMS::Key", 0);
    own.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      Replicas: [Match.objectLike({ SSESpecification: { KMSMasterKeyId: arn } })],
    });
    expect(actionsOn(own, "ManagementFunction", arn)).toContain("kms:Decrypt");
  });

  it("gives the management function the rotation overlap (24 h by default), the attempt timeout, and time to test", () => {
    const environment = environmentOf(template, "management API");
    expect(environment[EnvVar.secretRotationOverlapSeconds]).toBe("86400");
    expect(environment[EnvVar.deliveryTimeoutSeconds]).toBe("10");
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("management API"),
      Timeout: 25,
    });
    const stack = new Stack(new App(), "Overlap");
    new Hookline(stack, "Hookline", { secretRotationOverlap: Duration.hours(2) });
    expect(
      environmentOf(Template.fromStack(stack), "management API")[EnvVar.secretRotationOverlapSeconds],
    ).toBe("7200");
    expect(
      () =>
        new Hookline(new Stack(new App(), "TooLong"), "Hookline", {
          secretRotationOverlap: Duration.days(31),
        }),
    ).toThrow(/at most 30 days/);
  });

  it("ends every function that publishes before a publish's unqueued deliveries fall due to the reconciler", () => {
    const functions = template.findResources("AWS::Lambda::Function");
    const publishing = Object.values(functions).filter((resource) =>
      /management API|stores published events/.test(String(resource.Properties?.Description)),
    );
    expect(publishing).toHaveLength(2);
    for (const resource of publishing) {
      expect(resource.Properties?.Timeout).toBeLessThan(FAN_OUT_SETTLED_SECONDS);
    }
  });

  it("puts rotate-secret, test, filter-test and stats behind the API-key authorizer", () => {
    for (const routeKey of [
      ManagementRoute.rotateSecret,
      ManagementRoute.testWebhook,
      ManagementRoute.filterTest,
      ManagementRoute.webhookStats,
    ]) {
      template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
        RouteKey: routeKey,
        AuthorizationType: "CUSTOM",
        AuthorizerId: Match.anyValue(),
      });
    }
  });
});
