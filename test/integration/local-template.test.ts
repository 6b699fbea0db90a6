/**
 * The pure parts of the local runtime: intrinsic resolution, route selection, API Gateway response and
 * policy mapping, EventBridge input transformers, the refusal of JSONata state machines, partial batch
 * responses and which event source mappings run.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub strings use CloudFormation's ${…} syntax
import { afterEach, describe, expect, it, vi } from "vitest";
import { dynamoDbStreamSources } from "../../local/dynamodb-stream-source.ts";
import { LocalEventBridge, rateMilliseconds, targetInput } from "../../local/eventbridge.ts";
import { mapResponse, policyAllows } from "../../local/http-api.ts";
import { matchRoute, parseRouteKey } from "../../local/http-routes.ts";
import { IntrinsicResolver, UnresolvableValueError } from "../../local/intrinsics.ts";
import type { LambdaHost } from "../../local/lambda-host.ts";
import { LocalNames } from "../../local/physical-names.ts";
import { sqsEventSources, succeededMessages } from "../../local/sqs-event-source.ts";
import { rejectUnsupportedLanguage } from "../../local/step-functions.ts";
import type { CfnTemplate } from "../../local/template.ts";

const template: CfnTemplate = {
  Parameters: { Stage: { Type: "String", Default: "dev" }, NoDefault: { Type: "String" } },
  Conditions: { IsDev: { "Fn::Equals": [{ Ref: "Stage" }, "dev"] } },
  Mappings: { Sizes: { dev: { memory: "256" } } },
  Resources: {
    Table: { Type: "AWS::DynamoDB::Table", Properties: { KeySchema: [] } },
    Named: {
      Type: "AWS::DynamoDB::Table",
      Properties: { TableName: { "Fn::Sub": "${AWS::StackName}-named" } },
    },
    Queue: { Type: "AWS::SQS::Queue" },
    Fifo: { Type: "AWS::SQS::Queue", Properties: { FifoQueue: true } },
    Fn: { Type: "AWS::Lambda::Function" },
    Machine: { Type: "AWS::StepFunctions::StateMachine" },
    Api: { Type: "AWS::ApiGatewayV2::Api" },
    Widget: { Type: "AWS::Some::Widget" },
  },
};

/** The local names and resolver of a template, as the local stack makes them. */
function localValues(of: CfnTemplate) {
  const names = new LocalNames({
    region: "us-east-1",
    accountId: "000000000000",
    endpoints: { sqs: "http://127.0.0.1:4566", api: "http://127.0.0.1:3000" },
  });
  const resolve = new IntrinsicResolver(of, names, {
    region: "us-east-1",
    accountId: "000000000000",
    stackName: "Stack",
  });
  names.bind(resolve);
  return { names, resolve };
}

function resolver() {
  return localValues(template).resolve;
}

describe("intrinsic resolution", () => {
  const r = resolver();
  const resolve = (value: unknown) => r.resolve(value, "test");

  it("gives resources their local names, URLs and ARNs", () => {
    expect(resolve({ Ref: "Table" })).toBe("Table");
    expect(resolve({ Ref: "Named" })).toBe("Stack-named");
    expect(resolve({ Ref: "Queue" })).toBe("http://127.0.0.1:4566/000000000000/Queue");
    expect(resolve({ "Fn::GetAtt": ["Queue", "Arn"] })).toBe("arn:aws:sqs:us-east-1:000000000000:Queue");
    expect(resolve({ "Fn::GetAtt": ["Fifo", "QueueName"] })).toBe("Fifo.fifo");
    expect(resolve({ "Fn::GetAtt": "Fn.Arn" })).toBe("arn:aws:lambda:us-east-1:000000000000:function:Fn");
    expect(resolve({ Ref: "Machine" })).toBe("arn:aws:states:us-east-1:000000000000:stateMachine:Machine");
    expect(resolve({ "Fn::GetAtt": ["Api", "ApiEndpoint"] })).toBe("http://127.0.0.1:3000");
  });

  it("rewrites the API's execute-api URL to the local one", () => {
    const url = resolve({
      "Fn::Join": [
        "",
        [
          "https://",
          { Ref: "Api" },
          ".execute-api.",
          { Ref: "AWS::Region" },
          ".",
          { Ref: "AWS::URLSuffix" },
          "/",
        ],
      ],
    });
    expect(url).toBe("http://127.0.0.1:3000/");
  });

  it("evaluates Join, Sub, Select, Split, If, FindInMap, Base64 and pseudo parameters", () => {
    expect(resolve({ "Fn::Join": ["-", ["a", { Ref: "AWS::AccountId" }, { Ref: "Stage" }]] })).toBe(
      "a-000000000000-dev",
    );
    expect(resolve({ "Fn::Sub": "${Table}/${Queue.QueueName}/${AWS::Region}/${!Literal}" })).toBe(
      "Table/Queue/us-east-1/${Literal}",
    );
    expect(resolve({ "Fn::Sub": ["${x}-${Stage}", { x: { Ref: "Table" } }] })).toBe("Table-dev");
    expect(resolve({ "Fn::Select": [1, { "Fn::Split": [",", "a,b,c"] }] })).toBe("b");
    expect(resolve({ "Fn::If": ["IsDev", "yes", "no"] })).toBe("yes");
    expect(resolve({ "Fn::FindInMap": ["Sizes", { Ref: "Stage" }, "memory"] })).toBe("256");
    expect(resolve({ "Fn::Base64": "hi" })).toBe("aGk=");
    expect(resolve({ Ref: "AWS::Partition" })).toBe("aws");
  });

  it("drops AWS::NoValue from objects and lists", () => {
    expect(resolve({ a: 1, b: { Ref: "AWS::NoValue" }, c: [1, { Ref: "AWS::NoValue" }, 2] })).toEqual({
      a: 1,
      c: [1, 2],
    });
  });

  it("fails with the place and the resource when a value has no local equivalent", () => {
    expect(() => r.resolve({ Ref: "Widget" }, "Environment.Variables of Fn")).toThrow(
      new UnresolvableValueError(
        "Environment.Variables of Fn: Ref to Widget (AWS::Some::Widget) has no local value; the local runtime does not emulate this resource type",
      ),
    );
    expect(() => resolve({ "Fn::GetAtt": ["Table", "Nope"] })).toThrow(
      /Fn::GetAtt Table\.Nope \(AWS::DynamoDB::Table\)/,
    );
    expect(() => resolve({ "Fn::ImportValue": "shared" })).toThrow(/cannot resolve Fn::ImportValue/);
    expect(() => resolve({ Ref: "NoDefault" })).toThrow(/parameter NoDefault has no default/);
    expect(() => resolve({ Ref: "Ghost" })).toThrow(/Ghost is neither a resource nor a parameter/);
  });
});

describe("HTTP API route selection", () => {
  const routes = [
    "GET /v1/webhooks/{webhookId}",
    "GET /v1/webhooks/{webhookId}/deliveries",
    "GET /v1/webhooks/special",
    "ANY /v1/webhooks/special",
    "ANY /files/{proxy+}",
    "POST /v1/events",
    "$default",
  ].map((routeKey) => ({ routeKey }));
  const route = (method: string, path: string) => matchRoute(routes, method, path);

  it("matches literal segments, parameters and greedy paths", () => {
    expect(route("GET", "/v1/webhooks/wh_1")).toEqual({
      route: { routeKey: "GET /v1/webhooks/{webhookId}" },
      pathParameters: { webhookId: "wh_1" },
    });
    expect(route("GET", "/v1/webhooks/wh_1/deliveries")?.pathParameters).toEqual({ webhookId: "wh_1" });
    expect(route("PUT", "/files/a/b/c")).toEqual({
      route: { routeKey: "ANY /files/{proxy+}" },
      pathParameters: { proxy: "a/b/c" },
    });
  });

  it("prefers the most specific route, and a named method over ANY", () => {
    expect(route("GET", "/v1/webhooks/special")?.route.routeKey).toBe("GET /v1/webhooks/special");
    expect(route("DELETE", "/v1/webhooks/special")?.route.routeKey).toBe("ANY /v1/webhooks/special");
  });

  it("falls back to $default, or to nothing", () => {
    expect(route("GET", "/files")?.route.routeKey).toBe("$default");
    expect(route("GET", "/v1/events")?.route.routeKey).toBe("$default");
    expect(matchRoute([{ routeKey: "GET /a" }], "GET", "/b")).toBeUndefined();
  });

  it("rejects malformed route keys", () => {
    expect(() => parseRouteKey("/no-method")).toThrow(/METHOD \/path/);
    expect(() => parseRouteKey("GET /{proxy+}/more")).toThrow(/greedy/);
  });
});

describe("API Gateway mapping", () => {
  it("maps payload 2.0 results the way API Gateway does", () => {
    const structured = mapResponse({
      statusCode: 201,
      headers: { "Content-Type": "text/plain", "X-Count": 3 },
      multiValueHeaders: { "X-Multi": ["a", "b"] },
      cookies: ["a=1"],
      body: "created",
    });
    expect(structured).toMatchObject({
      statusCode: 201,
      headers: { "content-type": "text/plain", "x-count": "3", "x-multi": "a, b" },
      cookies: ["a=1"],
    });
    expect(structured?.body.toString()).toBe("created");
    expect(
      mapResponse({
        statusCode: 200,
        body: Buffer.from("bin").toString("base64"),
        isBase64Encoded: true,
      })?.body.toString(),
    ).toBe("bin");
    const inferred = mapResponse({ hello: "world" });
    expect(inferred).toMatchObject({ statusCode: 200, headers: { "content-type": "application/json" } });
    expect(inferred?.body.toString()).toBe('{"hello":"world"}');
    expect(mapResponse("plain")?.body.toString()).toBe("plain");
    expect(mapResponse({ statusCode: "teapot" })).toBeUndefined();
  });

  it("evaluates an authorizer's IAM policy against the route ARN", () => {
    const arn = "arn:aws:execute-api:us-east-1:000000000000:abc/$default/GET/v1/webhooks/1";
    const policy = (effect: string, resource: string) => ({
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: [resource] }],
    });
    expect(policyAllows(policy("Allow", "arn:aws:execute-api:us-east-1:000000000000:abc/*"), arn)).toBe(true);
    expect(
      policyAllows(policy("Allow", "arn:aws:execute-api:us-east-1:000000000000:abc/*/POST/*"), arn),
    ).toBe(false);
    expect(policyAllows(policy("Deny", "*"), arn)).toBe(false);
  });
});

describe("EventBridge target input", () => {
  const event = { id: "e1", source: "shop", detail: { orderId: "o1", amount: 5, items: ["a"] } };
  const rule = { name: "rule" };

  it("passes the event, a constant, a path or a transformed template", () => {
    expect(targetInput({ id: "t", arn: "a" }, event, rule)).toBe(event);
    expect(targetInput({ id: "t", arn: "a", input: '{"fixed":true}' }, event, rule)).toEqual({ fixed: true });
    expect(targetInput({ id: "t", arn: "a", inputPath: "$.detail.items[0]" }, event, rule)).toBe("a");
    expect(
      targetInput(
        {
          id: "t",
          arn: "a",
          inputTransformer: {
            pathsMap: { order: "$.detail.orderId", amount: "$.detail.amount" },
            template: '{"order": "<order>", "amount": <amount>, "rule": "<aws.events.rule-name>"}',
          },
        },
        event,
        rule,
      ),
    ).toEqual({ order: "o1", amount: 5, rule: "rule" });
  });
});

describe("scheduled rules", () => {
  it("run rate(...) expressions and leave cron(...) out", () => {
    expect(rateMilliseconds("rate(1 minute)")).toBe(60_000);
    expect(rateMilliseconds("rate(5 minutes)")).toBe(300_000);
    expect(rateMilliseconds("rate(2 hours)")).toBe(7_200_000);
    expect(rateMilliseconds("rate(1 day)")).toBe(86_400_000);
    expect(rateMilliseconds("cron(0 12 * * ? *)")).toBeUndefined();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("invoke their targets with a Scheduled Event once per period", () => {
    vi.useFakeTimers();
    const invoked: { target: string; event: Record<string, unknown> }[] = [];
    const host = {
      invokeAsync: (target: string, event: Record<string, unknown>) => invoked.push({ target, event }),
    } as unknown as LambdaHost;
    const ruleArn = "arn:aws:events:us-east-1:000000000000:rule/Tick";
    const bridge = new LocalEventBridge(
      {
        buses: new Set(["default"]),
        skipped: [],
        rules: [
          {
            logicalId: "Tick",
            name: "Tick",
            arn: ruleArn,
            bus: "default",
            rateMs: 60_000,
            targets: [{ id: "t", arn: "arn:aws:lambda:us-east-1:000000000000:function:Reconciler" }],
          },
        ],
      },
      {
        host,
        sqs: undefined as never,
        names: undefined as never,
        region: "us-east-1",
        accountId: "000000000000",
      },
    );
    bridge.startSchedules();
    vi.advanceTimersByTime(59_999);
    expect(invoked).toHaveLength(0);
    vi.advanceTimersByTime(60_001);
    expect(invoked).toHaveLength(2);
    expect(invoked[0]?.target).toBe("arn:aws:lambda:us-east-1:000000000000:function:Reconciler");
    expect(invoked[0]?.event).toMatchObject({
      "detail-type": "Scheduled Event",
      source: "aws.events",
      resources: [ruleArn],
      detail: {},
    });
    bridge.stopSchedules();
    vi.advanceTimersByTime(120_000);
    expect(invoked).toHaveLength(2);
  });
});

describe("state machine definitions", () => {
  it("refuses JSONata and variables, which aws-local-stepfunctions would silently ignore", () => {
    const task = { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", End: true };
    expect(() =>
      rejectUnsupportedLanguage({ QueryLanguage: "JSONata", StartAt: "A", States: { A: task } }, "sm"),
    ).toThrow(/QueryLanguage JSONata is not supported locally/);
    expect(() =>
      rejectUnsupportedLanguage(
        { StartAt: "A", States: { A: { ...task, Arguments: { a: "{% 1 %}" } } } },
        "sm",
      ),
    ).toThrow(/state "A": JSONata/);
    const nested = {
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          End: true,
          ItemProcessor: { StartAt: "B", States: { B: { ...task, Assign: { x: 1 } } } },
        },
      },
    };
    expect(() => rejectUnsupportedLanguage(nested, "sm")).toThrow(/state "B": variables/);
    expect(() => rejectUnsupportedLanguage({ StartAt: "A", States: { A: task } }, "sm")).not.toThrow();
  });
});

describe("SQS batch responses", () => {
  const records = [{ messageId: "m1" }, { messageId: "m2" }, { messageId: "m3" }];
  const ids = (result: { succeeded: { messageId: string }[] }) =>
    result.succeeded.map((record) => record.messageId);

  it("deletes everything but the reported failures", () => {
    const result = succeededMessages(records, { batchItemFailures: [{ itemIdentifier: "m2" }] }, true);
    expect(ids(result)).toEqual(["m1", "m3"]);
    expect(result.invalid).toBeUndefined();
  });

  it("treats no response, no list and an empty list as full success", () => {
    for (const payload of [null, undefined, {}, { batchItemFailures: null }, { batchItemFailures: [] }]) {
      expect(ids(succeededMessages(records, payload, true))).toEqual(["m1", "m2", "m3"]);
    }
  });

  it("fails the whole batch on an invalid response", () => {
    for (const payload of [
      "ok",
      { batchItemFailures: "m1" },
      { batchItemFailures: [{ itemIdentifier: "" }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ id: "m1" }] },
      { batchItemFailures: [{ itemIdentifier: "not-in-batch" }] },
    ]) {
      const result = succeededMessages(records, payload, true);
      expect(result.succeeded).toEqual([]);
      expect(result.invalid).toBeDefined();
    }
  });

  it("ignores the response without ReportBatchItemFailures", () => {
    expect(
      ids(succeededMessages(records, { batchItemFailures: [{ itemIdentifier: "m2" }] }, false)),
    ).toHaveLength(3);
  });
});

describe("DynamoDB stream event source mappings", () => {
  const mapping = (source: string, extra: Record<string, unknown> = {}) => ({
    Type: "AWS::Lambda::EventSourceMapping",
    Properties: {
      FunctionName: { Ref: "Fn" },
      EventSourceArn: { "Fn::GetAtt": [source, source === "Queue" ? "Arn" : "StreamArn"] },
      ...(source === "Queue" ? {} : { StartingPosition: "TRIM_HORIZON" }),
      ...extra,
    },
  });
  const streams: CfnTemplate = {
    Resources: {
      Streamed: {
        Type: "AWS::DynamoDB::Table",
        Properties: { StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" } },
      },
      Plain: { Type: "AWS::DynamoDB::Table" },
      Queue: { Type: "AWS::SQS::Queue" },
      Fn: { Type: "AWS::Lambda::Function" },
      Defaults: mapping("Streamed"),
      Unsupported: mapping("Streamed", {
        ParallelizationFactor: 4,
        TumblingWindowInSeconds: 30,
        DestinationConfig: { OnFailure: { Destination: "arn:aws:sns:us-east-1:000000000000:topic" } },
      }),
      NoStream: mapping("Plain"),
      FromQueue: mapping("Queue"),
    },
  };
  const { names, resolve } = localValues(streams);

  it("runs the mappings of the stack's streams with Lambda's defaults", () => {
    const { sources } = dynamoDbStreamSources(streams, resolve, names);
    expect(sources.map((source) => source.logicalId)).toEqual(["Defaults", "Unsupported"]);
    expect(sources[0]).toMatchObject({
      functionName: "Fn",
      tableName: "Streamed",
      streamArn: "arn:aws:dynamodb:us-east-1:000000000000:table/Streamed/stream/local",
      startingPosition: "TRIM_HORIZON",
      batchSize: 100,
      batchingWindowMs: 0,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      filters: [],
    });
    expect(sources[0]).not.toHaveProperty("onFailureQueueUrl");
  });

  it("reports what it does not emulate, and leaves queues to the SQS mappings", () => {
    const { skipped } = dynamoDbStreamSources(streams, resolve, names);
    expect(skipped).toEqual([
      expect.stringMatching(/^event source mapping Unsupported: ParallelizationFactor 4 is not emulated/),
      expect.stringMatching(/^event source mapping Unsupported: TumblingWindowInSeconds is not emulated/),
      expect.stringMatching(
        /^event source mapping Unsupported: on-failure destination .*sns.* is not an SQS queue/,
      ),
      expect.stringMatching(/^event source mapping NoStream: table Plain has no StreamSpecification/),
    ]);
    const sqs = sqsEventSources(streams, resolve, names);
    expect(sqs.sources.map((source) => source.logicalId)).toEqual(["FromQueue"]);
    expect(sqs.skipped).toEqual([]);
  });
});
