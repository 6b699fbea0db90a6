import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";
import {
  BY_TIME_INDEX,
  DUE_INDEX,
  EnvVar,
  ManagementRoute,
  OPEN_CIRCUITS_INDEX,
  PARKED_INDEX,
  PublicRoute,
} from "../../functions/shared/names.ts";
import { DEFAULT_API_THROTTLING } from "../../lib/api.ts";
import {
  DEPLOY_TIME_VALUE_BYTES,
  environmentBytes,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
} from "../../lib/function.ts";
import { Hookline, type HooklineProps } from "../../lib/hookline.ts";
import { type AlarmDefinition, alarmStates, firstAlarm } from "../support/alarm-evaluator.ts";

/** An app that skips bundling the functions: these tests read the template, not the code. */
const appWithoutBundling = () => new App({ context: { "aws:cdk:bundling-stacks": [] } });

function hooklineTemplate(props: HooklineProps = {}): Template {
  const stack = new Stack(appWithoutBundling(), "Test");
  new Hookline(stack, "Hookline", props);
  return Template.fromStack(stack);
}

function logicalIdOf(template: Template, type: string, fragment: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(fragment));
  expect(ids, `${type} ${fragment}`).toHaveLength(1);
  return ids[0] as string;
}

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of the policies attached to the role of the function whose logical id has `fragment`. */
function statementsOf(template: Template, fragment: string): Statement[] {
  return Object.entries(template.findResources("AWS::IAM::Policy"))
    .filter(([logicalId]) => logicalId.startsWith(`Hookline${fragment}ServiceRoleDefaultPolicy`))
    .flatMap(
      ([, policy]) =>
        (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
          .Statement,
    );
}

const actionsOf = (statement: Statement) => [statement.Action].flat();
const resourcesOf = (statement: Statement) => [statement.Resource].flat();

/** DynamoDB access of one function to one table: actions on its items, conditions, indexes queried. */
function tableAccess(template: Template, fragment: string, tableFragment: string) {
  const table = logicalIdOf(template, "AWS::DynamoDB::GlobalTable", tableFragment);
  const tableArn = { "Fn::GetAtt": [table, "Arn"] };
  const statements = statementsOf(template, fragment).filter((statement) =>
    actionsOf(statement).some((action) => action.startsWith("dynamodb:")),
  );
  const onItems = statements.filter((statement) =>
    resourcesOf(statement).some((resource) => JSON.stringify(resource) === JSON.stringify(tableArn)),
  );
  const onIndexes = statements.filter((statement) =>
    resourcesOf(statement).some((resource) => JSON.stringify(resource).includes(`"${table}"`)),
  );
  return {
    actions: onItems.flatMap(actionsOf).sort(),
    leadingKeys: onItems.map(
      (statement) => statement.Condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"],
    ),
    indexes: onIndexes
      .filter((statement) => !onItems.includes(statement))
      .flatMap((statement) => {
        expect(actionsOf(statement)).toEqual(["dynamodb:Query"]);
        return resourcesOf(statement).map((resource) => /\/index\/(.+)$/.exec(JSON.stringify(resource))?.[1]);
      })
      .map((index) => index?.replace(/"\]\]\}$/, ""))
      .sort(),
  };
}

const dynamo = (...actions: string[]) => actions.map((action) => `dynamodb:${action}`).sort();

describe("production wiring", () => {
  let template: Template;
  beforeAll(() => {
    template = hooklineTemplate();
  });

  describe("alarm notifications", () => {
    it("lets CloudWatch alarms of this account publish to the alarm topic, beside the deny of plain HTTP", () => {
      const topic = logicalIdOf(template, "AWS::SNS::Topic", "AlarmTopic");
      const policies = Object.values(template.findResources("AWS::SNS::TopicPolicy")) as {
        Properties: { Topics: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } };
      }[];
      expect(policies).toHaveLength(1);
      const [policy] = policies;
      expect(policy?.Properties.Topics).toEqual([{ Ref: topic }]);
      const statements = policy?.Properties.PolicyDocument.Statement ?? [];
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
      expect(statements).toContainEqual({
        Sid: "AllowCloudWatchAlarms",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: { Ref: topic },
        Condition: {
          StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
          ArnLike: {
            "aws:SourceArn": {
              "Fn::Join": [
                "",
                [
                  "arn:",
                  { Ref: "AWS::Partition" },
                  ":cloudwatch:",
                  { Ref: "AWS::Region" },
                  ":",
                  { Ref: "AWS::AccountId" },
                  ":alarm:*",
                ],
              ],
            },
          },
        },
      });
    });
  });

  describe("the open-circuit alarm", () => {
    let definition: AlarmDefinition;
    beforeAll(() => {
      const found = Object.values(template.findResources("AWS::CloudWatch::Alarm"))
        .map((resource) => (resource as { Properties: AlarmDefinition & { AlarmName: string } }).Properties)
        .filter((properties) => /OpenCircuits/.test(properties.AlarmName));
      expect(found).toHaveLength(1);
      definition = found[0] as AlarmDefinition;
    });
    const open = (minutes: number) => Array.from({ length: minutes }, () => 1);
    const closed = (minutes: number) => Array.from({ length: minutes }, () => 0);

    it("fires once a circuit has been open for 15 readings of the gauge in a row", () => {
      expect(firstAlarm(definition, [...closed(5), ...open(20)])).toBe(5 + 14);
    });

    it("still fires when a reconciler run is missing from the 15 minutes, which a 15-of-15 alarm would not", () => {
      const withGap = [...closed(3), ...open(8), undefined, ...open(12)];
      expect(firstAlarm(definition, withGap)).toBeDefined();
      const fifteenOfFifteen = { ...definition, EvaluationPeriods: 15, DatapointsToAlarm: 15 };
      expect(firstAlarm(fifteenOfFifteen, withGap)).toBeUndefined();
      expect(firstAlarm(definition, [...open(8), undefined, undefined, undefined, ...open(7)])).toBe(17);
    });

    it("stays quiet for a circuit open a little under 15 minutes, for an idle system, and after recovery", () => {
      expect(firstAlarm(definition, [...open(14), ...closed(30)])).toBeUndefined();
      expect(
        firstAlarm(
          definition,
          Array.from({ length: 60 }, () => undefined),
        ),
      ).toBeUndefined();
      const states = alarmStates(definition, [...open(20), ...closed(20)]);
      expect(states.at(-1)).toBe("OK");
    });
  });

  describe("the priority lane", () => {
    it("has depth and age alarms like the delivery queue", () => {
      const queue = logicalIdOf(template, "AWS::SQS::Queue", "DeliveryPriorityQueue");
      for (const metricName of ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"]) {
        template.hasResourceProperties("AWS::CloudWatch::Alarm", {
          AlarmName: Match.stringLikeRegexp("PriorityQueue"),
          Metrics: Match.arrayWith([
            Match.objectLike({
              MetricStat: Match.objectLike({
                Metric: {
                  MetricName: metricName,
                  Namespace: "AWS/SQS",
                  Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queue, "QueueName"] } }],
                },
              }),
            }),
          ]),
        });
      }
    });
  });

  describe("the HTTP API", () => {
    it("throttles its stage (1000 requests/s, bursts of 2000 by default) and writes JSON access logs", () => {
      const logGroup = logicalIdOf(template, "AWS::Logs::LogGroup", "AccessLogs");
      template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
      const stages = Object.values(template.findResources("AWS::ApiGatewayV2::Stage")) as {
        Properties: {
          StageName: string;
          AutoDeploy: boolean;
          DefaultRouteSettings: Record<string, number>;
          AccessLogSettings: { DestinationArn: unknown; Format: string };
        };
      }[];
      expect(stages).toHaveLength(1);
      const stage = stages[0]?.Properties;
      expect(stage).toMatchObject({
        StageName: "$default",
        AutoDeploy: true,
        DefaultRouteSettings: {
          ThrottlingRateLimit: DEFAULT_API_THROTTLING.rateLimit,
          ThrottlingBurstLimit: DEFAULT_API_THROTTLING.burstLimit,
        },
      });
      expect(stage?.AccessLogSettings.DestinationArn).toEqual({ "Fn::GetAtt": [logGroup, "Arn"] });
      const format = JSON.parse(stage?.AccessLogSettings.Format ?? "{}");
      expect(format).toMatchObject({
        requestId: "$context.requestId",
        routeKey: "$context.routeKey",
        status: "$context.status",
      });
      // No path or query string: ids and pagination cursors stay out of the log.
      expect(Object.values(format)).not.toContain("$context.path");
    });

    it("takes the throttling props", () => {
      hooklineTemplate({ apiThrottlingRateLimit: 50, apiThrottlingBurstLimit: 80 }).hasResourceProperties(
        "AWS::ApiGatewayV2::Stage",
        { DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 } },
      );
      expect(() => hooklineTemplate({ apiThrottlingBurstLimit: 0 })).toThrow(/throttlingBurstLimit/);
    });

    it("answers liveness without a key, and the deployment's figures only behind the authorizer", () => {
      const authorizationOf = (routeKey: string) => {
        const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route")).filter(
          (route) => (route as { Properties: { RouteKey: string } }).Properties.RouteKey === routeKey,
        ) as { Properties: { AuthorizationType?: string } }[];
        expect(routes, routeKey).toHaveLength(1);
        return routes[0]?.Properties.AuthorizationType ?? "NONE";
      };
      expect(authorizationOf(PublicRoute.health)).toBe("NONE");
      expect(authorizationOf(ManagementRoute.healthDetails)).toBe("CUSTOM");
    });
  });

  describe("least privilege on the tables", () => {
    it("grants no function Scan, BatchGetItem or table-wide reads it never makes", () => {
      const all = Object.values(template.findResources("AWS::IAM::Policy")).flatMap((policy) =>
        (
          policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }
        ).Properties.PolicyDocument.Statement.flatMap(actionsOf),
      );
      for (const action of ["dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:*"]) {
        expect(all).not.toContain(action);
      }
    });

    it("lets the authorizer read API keys and the key portal tokens are signed with only, one at a time", () => {
      expect(tableAccess(template, "ApiAuthorizerFunction", "WebhooksTable")).toEqual({
        actions: dynamo("GetItem"),
        leadingKeys: [["APIKEY#*", "CONFIG"]],
        indexes: [],
      });
      expect(tableAccess(template, "ApiAuthorizerFunction", "EventsTable").actions).toEqual([]);
    });

    it("keeps ingest to tenants' subscribers, and to writing events and deliveries", () => {
      expect(tableAccess(template, "IngestFunction", "WebhooksTable")).toEqual({
        actions: dynamo("GetItem", "Query"),
        leadingKeys: [["TENANT#*"]],
        indexes: [],
      });
      expect(tableAccess(template, "IngestFunction", "EventsTable")).toEqual({
        actions: dynamo("BatchWriteItem", "GetItem", "PutItem", "UpdateItem"),
        leadingKeys: [undefined],
        indexes: [],
      });
    });

    it("keeps the reconciler to tenants' subscribers, the open-circuit and due indexes", () => {
      expect(tableAccess(template, "ReconcilerFunction", "WebhooksTable")).toEqual({
        actions: dynamo("Query"),
        leadingKeys: [["TENANT#*"]],
        indexes: [OPEN_CIRCUITS_INDEX],
      });
      expect(tableAccess(template, "ReconcilerFunction", "EventsTable")).toEqual({
        actions: dynamo("PutItem", "UpdateItem"),
        leadingKeys: [undefined],
        indexes: [DUE_INDEX],
      });
    });

    it("gives both delivery functions tenants' webhooks and deliveries (an ordered webhook's next one is queried), without deletes", () => {
      for (const fragment of ["DeliveryFunction", "DeliveryPriorityFunction"]) {
        expect(tableAccess(template, fragment, "WebhooksTable"), fragment).toEqual({
          actions: dynamo("GetItem", "PutItem", "Query", "UpdateItem"),
          leadingKeys: [["TENANT#*"]],
          indexes: [],
        });
        expect(tableAccess(template, fragment, "EventsTable"), fragment).toEqual({
          actions: dynamo("BatchWriteItem", "GetItem", "PutItem", "Query", "UpdateItem"),
          leadingKeys: [undefined],
          indexes: [PARKED_INDEX],
        });
      }
    });

    it("lets the management API change tenants' webhooks and the cursor key, never API keys", () => {
      expect(tableAccess(template, "ApiManagementFunction", "WebhooksTable")).toEqual({
        actions: dynamo("DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"),
        leadingKeys: [["TENANT#*", "CONFIG"]],
        indexes: [OPEN_CIRCUITS_INDEX],
      });
      expect(tableAccess(template, "ApiManagementFunction", "EventsTable")).toEqual({
        actions: dynamo("GetItem", "Query", "UpdateItem"),
        leadingKeys: [undefined],
        indexes: [BY_TIME_INDEX],
      });
    });
  });

  describe("what outlives a mistake", () => {
    it("protects both tables from deletion, unless they are to be destroyed with the stack", () => {
      template.resourceCountIs("AWS::DynamoDB::GlobalTable", 2);
      template.allResourcesProperties("AWS::DynamoDB::GlobalTable", {
        Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })],
      });
      hooklineTemplate({ tableRemovalPolicy: RemovalPolicy.DESTROY }).allResourcesProperties(
        "AWS::DynamoDB::GlobalTable",
        { Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] },
      );
    });

    it("logs the retry workflow under /aws/vendedlogs/states/, removed with the stack like the other logs", () => {
      const logGroup = logicalIdOf(template, "AWS::Logs::LogGroup", "RetryWorkflowLogs");
      const resource = template.findResources("AWS::Logs::LogGroup")[logGroup] as {
        DeletionPolicy: string;
        Properties: { LogGroupName: unknown; RetentionInDays: number };
      };
      expect(JSON.stringify(resource.Properties.LogGroupName)).toContain("/aws/vendedlogs/states/");
      expect(resource.Properties.RetentionInDays).toBe(30);
      expect(resource.DeletionPolicy).toBe("Delete");
    });
  });

  describe("Lambda's 4 KB environment limit", () => {
    it("counts every deploy-time value generously", () => {
      expect(environmentBytes({ A: "bc", B: "é" })).toBe(1 + 2 + 1 + 2);
      const stack = new Stack(appWithoutBundling(), "Sizes");
      expect(environmentBytes({ A: stack.account })).toBe(1 + DEPLOY_TIME_VALUE_BYTES);
    });

    it("leaves room for the default catalogue, and fails synth, naming the variable, for one of 30 described types", () => {
      expect(() => hooklineTemplate({ eventTypes: DEFAULT_EVENT_TYPES })).not.toThrow();
      const thirty = Array.from({ length: 30 }, (_, index) => ({
        name: `billing.invoice_${index}_updated`,
        description: `An invoice changed state (${index}): paid, voided, refunded or disputed.`,
      }));
      expect(() => hooklineTemplate({ eventTypes: thirty })).toThrow(
        new RegExp(
          `environment of function \\w+ would be about \\d+ bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit; its largest variable is ${EnvVar.eventTypes}`,
        ),
      );
    });
  });

  describe("recursive loops", () => {
    it("lets only the delivery functions, which feed their own queues on purpose, loop past 16 invocations", () => {
      const functions = template.findResources("AWS::Lambda::Function");
      const allowed = Object.entries(functions)
        .filter(([, resource]) => resource.Properties?.RecursiveLoop === "Allow")
        .map(([id]) => id.replace(/[0-9A-F]{8}$/, ""))
        .sort();
      expect(allowed).toEqual(["HooklineDeliveryFunction", "HooklineDeliveryPriorityFunction"]);
    });
  });
});
