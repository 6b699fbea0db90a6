import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Topic } from "aws-cdk-lib/aws-sns";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_METRICS_NAMESPACE,
  EnvVar,
  METRICS_DIMENSION,
  MetricName,
  SERVICE_NAME,
  StackOutput,
} from "../../functions/shared/names.ts";
import { Hookline, type HooklineProps } from "../../lib/hookline.ts";
import { HooklineStack } from "../../lib/hookline-stack.ts";
import { CIRCUIT_GAUGE_GAPS_TOLERATED, DEFAULT_MONITORING_THRESHOLDS } from "../../lib/monitoring.ts";

/** An app that skips bundling the functions: these tests read the template, not the code. */
const appWithoutBundling = () => new App({ context: { "aws:cdk:bundling-stacks": [] } });

function hooklineTemplate(props: HooklineProps = {}): Template {
  const stack = new Stack(appWithoutBundling(), "Test");
  new Hookline(stack, "Hookline", props);
  return Template.fromStack(stack);
}

interface AlarmProperties {
  AlarmName: string;
  ComparisonOperator: string;
  Threshold: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  TreatMissingData: string;
  AlarmActions: unknown[];
  OKActions: unknown[];
  Metrics: {
    Id: string;
    Expression?: string;
    MetricStat?: { Metric: Record<string, unknown>; Period: number; Stat: string };
  }[];
}

function alarms(template: Template): AlarmProperties[] {
  return Object.values(template.findResources("AWS::CloudWatch::Alarm")).map(
    (resource) => (resource as { Properties: AlarmProperties }).Properties,
  );
}

/** The one alarm whose name matches `pattern`. */
function alarm(template: Template, pattern: RegExp): AlarmProperties {
  const found = alarms(template).filter((candidate) => pattern.test(candidate.AlarmName));
  expect(found, `alarms named ${pattern}`).toHaveLength(1);
  return found[0] as AlarmProperties;
}

/** The metric an alarm watches (`id` picks one metric of an expression). */
function metricOf(properties: AlarmProperties, id = "m1") {
  const metric = properties.Metrics.find((candidate) => candidate.Id === id)?.MetricStat;
  if (!metric) throw new Error(`${properties.AlarmName} has no metric ${id}`);
  return metric;
}

function expressionOf(properties: AlarmProperties): string {
  const expression = properties.Metrics.find((candidate) => candidate.Expression !== undefined)?.Expression;
  if (!expression) throw new Error(`${properties.AlarmName} has no expression`);
  return expression;
}

function logicalIdOf(template: Template, type: string, fragment: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(fragment));
  expect(ids, `${type} ${fragment}`).toHaveLength(1);
  return ids[0] as string;
}

const hooklineDimensions = [{ Name: METRICS_DIMENSION, Value: SERVICE_NAME }];

/** The functions and the part of their logical ids that names them. */
const FUNCTIONS = {
  Ingest: "HooklineIngestFunction",
  Delivery: "HooklineDeliveryFunction",
  PriorityDelivery: "HooklineDeliveryPriorityFunction",
  Reconciler: "HooklineReconcilerFunction",
  Management: "HooklineApiManagementFunction",
  Authorizer: "HooklineApiAuthorizerFunction",
  Stats: "HooklineStatsFunction",
} as const;

describe("Hookline monitoring with default props", () => {
  let template: Template;
  let topic: { Ref: string };
  beforeAll(() => {
    template = Template.fromStack(new HooklineStack(appWithoutBundling(), "Hookline"));
    topic = { Ref: logicalIdOf(template, "AWS::SNS::Topic", "AlarmTopic") };
  });

  it("builds one dashboard showing deliveries, latency, circuits, queues, workflows, API, functions and tables", () => {
    const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify((dashboards[0] as { Properties: { DashboardBody: unknown } }).Properties);
    for (const name of Object.values(MetricName)) expect(body).toContain(`\\"${name}\\"`);
    for (const awsMetric of [
      "ApproximateNumberOfMessagesVisible",
      "ApproximateAgeOfOldestMessage",
      "ExecutionsStarted",
      "ExecutionsFailed",
      "AWS/ApiGateway",
      "4xx",
      "5xx",
      "Latency",
      "AWS/Lambda",
      "Errors",
      "Throttles",
      "Duration",
      "ReadThrottleEvents",
      "WriteThrottleEvents",
    ]) {
      expect(body).toContain(awsMetric);
    }
    expect(body).toContain(`\\"${DEFAULT_METRICS_NAMESPACE}\\"`);
    expect(body).toContain(`\\"${METRICS_DIMENSION}\\",\\"${SERVICE_NAME}\\"`);
    expect(body).toContain("Success rate");
    expect(body).toContain("p99");
  });

  it("has exactly the documented alarms, each notifying the topic when it fires and when it recovers", () => {
    // Success rate, open circuits, depth and message age of each lane's queue, depth of each DLQ and of
    // the stats stream's failure queue, failed workflows, API 5xx, and errors and throttles of each function.
    expect(alarms(template)).toHaveLength(11 + 2 * Object.keys(FUNCTIONS).length);
    for (const properties of alarms(template)) {
      expect(properties.AlarmActions, properties.AlarmName).toEqual([topic]);
      expect(properties.OKActions, properties.AlarmName).toEqual([topic]);
    }
  });

  it("creates the alarm topic without subscriptions and outputs its ARN", () => {
    template.resourceCountIs("AWS::SNS::Topic", 1);
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    template.hasOutput(StackOutput.alarmTopicArn, { Value: topic });
  });

  it("alarms when fewer than 95 % of finished deliveries succeeded over 15 minutes, never on no traffic", () => {
    const properties = alarm(template, /DeliverySuccessRate/);
    expect(properties).toMatchObject({
      ComparisonOperator: "LessThanThreshold",
      Threshold: DEFAULT_MONITORING_THRESHOLDS.minSuccessRatePercent,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: "notBreaching",
    });
    expect(expressionOf(properties)).toBe(
      "IF(FILL(ok, 0) + FILL(failed, 0) + FILL(dead, 0) > 0, 100 * FILL(ok, 0) / (FILL(ok, 0) + FILL(failed, 0) + FILL(dead, 0)))",
    );
    for (const [id, metricName] of [
      ["ok", MetricName.deliveriesSucceeded],
      ["failed", MetricName.deliveriesFailed],
      ["dead", MetricName.deliveriesDeadLettered],
    ] as const) {
      expect(metricOf(properties, id)).toEqual({
        Metric: {
          MetricName: metricName,
          Namespace: DEFAULT_METRICS_NAMESPACE,
          Dimensions: hooklineDimensions,
        },
        Period: 900,
        Stat: "Sum",
      });
    }
  });

  it("alarms when some circuit stayed open for 15 minutes of the reconciler's gauge, with up to 3 readings missing", () => {
    const properties = alarm(template, /OpenCircuits/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      EvaluationPeriods: 15 + CIRCUIT_GAUGE_GAPS_TOLERATED,
      DatapointsToAlarm: 15,
      TreatMissingData: "notBreaching",
    });
    expect(metricOf(properties)).toEqual({
      Metric: {
        MetricName: MetricName.openCircuits,
        Namespace: DEFAULT_METRICS_NAMESPACE,
        Dimensions: hooklineDimensions,
      },
      Period: 60,
      Stat: "Minimum",
    });
  });

  it("alarms when more than 10,000 messages wait in the delivery queue for 15 minutes", () => {
    const properties = alarm(template, /DeliveryQueue-Queue-Message-Count/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 10_000,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: "notBreaching",
    });
    expect(metricOf(properties)).toEqual({
      Metric: {
        MetricName: "ApproximateNumberOfMessagesVisible",
        Namespace: "AWS/SQS",
        Dimensions: [
          {
            Name: "QueueName",
            Value: { "Fn::GetAtt": [logicalIdOf(template, "AWS::SQS::Queue", "DeliveryQueue"), "QueueName"] },
          },
        ],
      },
      Period: 300,
      Stat: "Maximum",
    });
  });

  it("alarms when the oldest message of the delivery queue is older than 15 minutes", () => {
    const properties = alarm(template, /DeliveryQueue-Queue-Message-Age/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 900,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: "notBreaching",
    });
    expect(metricOf(properties)).toMatchObject({
      Metric: {
        MetricName: "ApproximateAgeOfOldestMessage",
        Namespace: "AWS/SQS",
        Dimensions: [
          {
            Name: "QueueName",
            Value: { "Fn::GetAtt": [logicalIdOf(template, "AWS::SQS::Queue", "DeliveryQueue"), "QueueName"] },
          },
        ],
      },
      Period: 300,
      Stat: "Maximum",
    });
  });

  it("alarms when more than 100 messages wait in the dead-letter queue", () => {
    const properties = alarm(template, /DeliveryQueue-DLQ-Queue-Message-Count/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 100,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: "notBreaching",
    });
    expect(metricOf(properties)).toEqual({
      Metric: {
        MetricName: "ApproximateNumberOfMessagesVisible",
        Namespace: "AWS/SQS",
        Dimensions: [
          {
            Name: "QueueName",
            Value: {
              "Fn::GetAtt": [
                logicalIdOf(template, "AWS::SQS::Queue", "DeliveryDeadLetterQueue"),
                "QueueName",
              ],
            },
          },
        ],
      },
      Period: 300,
      Stat: "Maximum",
    });
  });

  it("alarms on the first batch the stats stream's mapping gives up on", () => {
    const properties = alarm(template, /StatsFailures-Queue-Message-Count/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: DEFAULT_MONITORING_THRESHOLDS.maxStatsFailureQueueDepth,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: "notBreaching",
    });
    expect(DEFAULT_MONITORING_THRESHOLDS.maxStatsFailureQueueDepth).toBe(0);
    expect(metricOf(properties)).toMatchObject({
      Metric: {
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [
          {
            Name: "QueueName",
            Value: {
              "Fn::GetAtt": [logicalIdOf(template, "AWS::SQS::Queue", "StatsFailureQueue"), "QueueName"],
            },
          },
        ],
      },
    });
  });

  it("alarms on the first event in the ingest dead-letter queue and shows that queue on the dashboard", () => {
    const properties = alarm(template, /IngestDLQ-Queue-Message-Count/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: "notBreaching",
    });
    const queueName = {
      "Fn::GetAtt": [logicalIdOf(template, "AWS::SQS::Queue", "IngestDeadLetterQueue"), "QueueName"],
    };
    expect(metricOf(properties)).toEqual({
      Metric: {
        MetricName: "ApproximateNumberOfMessagesVisible",
        Namespace: "AWS/SQS",
        Dimensions: [{ Name: "QueueName", Value: queueName }],
      },
      Period: 300,
      Stat: "Maximum",
    });
    const dashboard = Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0];
    const body = JSON.stringify(dashboard);
    expect(body).toContain("Ingest dead-letter queue");
    expect(body).toContain(JSON.stringify(queueName));
  });

  it("alarms when any retry workflow fails", () => {
    const properties = alarm(template, /RetryWorkflows-Failure-Count/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: "notBreaching",
    });
    expect(metricOf(properties)).toEqual({
      Metric: {
        MetricName: "ExecutionsFailed",
        Namespace: "AWS/States",
        Dimensions: [
          {
            Name: "StateMachineArn",
            Value: { Ref: logicalIdOf(template, "AWS::StepFunctions::StateMachine", "") },
          },
        ],
      },
      Period: 300,
      Stat: "Sum",
    });
  });

  it("alarms when more than 1 % of API requests get a 5xx answer for 15 minutes, never on no traffic", () => {
    const properties = alarm(template, /Api5xx/);
    expect(properties).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: "notBreaching",
    });
    expect(expressionOf(properties)).toBe("IF(FILL(total, 0) > 0, 100 * FILL(errors, 0) / (FILL(total, 0)))");
    const api = [
      { Name: "ApiId", Value: { Ref: logicalIdOf(template, "AWS::ApiGatewayV2::Api", "HttpApi") } },
      { Name: "Stage", Value: "$default" },
    ];
    expect(metricOf(properties, "errors")).toEqual({
      Metric: { MetricName: "5xx", Namespace: "AWS/ApiGateway", Dimensions: api },
      Period: 300,
      Stat: "Sum",
    });
    expect(metricOf(properties, "total")).toEqual({
      Metric: { MetricName: "Count", Namespace: "AWS/ApiGateway", Dimensions: api },
      Period: 300,
      Stat: "Sum",
    });
  });

  it.each(Object.entries(FUNCTIONS))(
    "alarms on errors and throttles of the %s function for 15 minutes",
    (name, fragment) => {
      const functionRef = { Ref: logicalIdOf(template, "AWS::Lambda::Function", fragment) };
      for (const [kind, metricName] of [
        ["Fault-Count", "Errors"],
        ["Throttled-Count", "Throttles"],
      ] as const) {
        const properties = alarm(template, new RegExp(`-${name}Function-${kind}`));
        expect(properties).toMatchObject({
          ComparisonOperator: "GreaterThanThreshold",
          Threshold: 0,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 3,
          TreatMissingData: "notBreaching",
        });
        expect(metricOf(properties)).toEqual({
          Metric: {
            MetricName: metricName,
            Namespace: "AWS/Lambda",
            Dimensions: [{ Name: "FunctionName", Value: functionRef }],
          },
          Period: 300,
          Stat: "Sum",
        });
      }
    },
  );

  it("tells every function its metrics namespace and service name", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    expect(functions).toHaveLength(8);
    for (const fn of functions) {
      expect(
        (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment
          .Variables,
      ).toMatchObject({
        [EnvVar.metricsNamespace]: DEFAULT_METRICS_NAMESPACE,
        [EnvVar.serviceName]: SERVICE_NAME,
      });
    }
  });

  it("does not trace by default", () => {
    for (const fn of Object.values(template.findResources("AWS::Lambda::Function"))) {
      expect((fn as { Properties: Record<string, unknown> }).Properties.TracingConfig).toBeUndefined();
    }
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      TracingConfiguration: Match.absent(),
    });
  });
});

describe("Hookline monitoring props", () => {
  it("applies every threshold, the namespace and the reconciler's interval", () => {
    const template = hooklineTemplate({
      metricsNamespace: "Acme/Webhooks",
      reconcileInterval: Duration.minutes(2),
      monitoring: {
        dashboardName: "acme-webhooks",
        minSuccessRatePercent: 99,
        successRateWindow: Duration.minutes(30),
        maxDeliveryQueueDepth: 500,
        maxQueuedMessageAge: Duration.minutes(5),
        maxDeadLetterQueueDepth: 1,
        maxIngestDeadLetterQueueDepth: 6,
        maxStatsFailureQueueDepth: 7,
        maxCircuitOpenDuration: Duration.minutes(30),
        maxFunctionErrors: 2,
        maxFunctionThrottles: 3,
        maxApi5xxPercent: 5,
        maxFailedRetryWorkflows: 4,
      },
    });
    template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "acme-webhooks" });
    for (const properties of alarms(template)) expect(properties.AlarmName).toMatch(/^acme-webhooks-/);

    const successRate = alarm(template, /DeliverySuccessRate/);
    expect(successRate.Threshold).toBe(99);
    expect(metricOf(successRate, "ok")).toMatchObject({
      Period: 1800,
      Metric: { Namespace: "Acme/Webhooks" },
    });
    const circuits = alarm(template, /OpenCircuits/);
    expect(circuits).toMatchObject({
      EvaluationPeriods: 15 + CIRCUIT_GAUGE_GAPS_TOLERATED,
      DatapointsToAlarm: 15,
    });
    expect(metricOf(circuits)).toMatchObject({ Period: 120, Metric: { Namespace: "Acme/Webhooks" } });
    expect(alarm(template, /DeliveryQueue-Queue-Message-Count/).Threshold).toBe(500);
    expect(alarm(template, /DeliveryQueue-Queue-Message-Age/).Threshold).toBe(300);
    expect(alarm(template, /DeliveryQueue-DLQ-Queue-Message-Count/).Threshold).toBe(1);
    expect(alarm(template, /IngestDLQ-Queue-Message-Count/).Threshold).toBe(6);
    expect(alarm(template, /StatsFailures-Queue-Message-Count/).Threshold).toBe(7);
    expect(alarm(template, /RetryWorkflows-Failure-Count/).Threshold).toBe(4);
    expect(alarm(template, /Api5xx/).Threshold).toBe(5);
    for (const name of Object.keys(FUNCTIONS)) {
      expect(alarm(template, new RegExp(`-${name}Function-Fault-Count`)).Threshold).toBe(2);
      expect(alarm(template, new RegExp(`-${name}Function-Throttled-Count`)).Threshold).toBe(3);
    }
    template.allResourcesProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ [EnvVar.metricsNamespace]: "Acme/Webhooks" }) },
    });
  });

  it("refuses windows that are not whole minutes and impossible success rates", () => {
    expect(() => hooklineTemplate({ monitoring: { successRateWindow: Duration.seconds(90) } })).toThrow(
      /successRateWindow must be a whole number of minutes/,
    );
    expect(() => hooklineTemplate({ monitoring: { maxCircuitOpenDuration: Duration.seconds(0) } })).toThrow(
      /maxCircuitOpenDuration must be a whole number of minutes/,
    );
    expect(() => hooklineTemplate({ monitoring: { minSuccessRatePercent: 120 } })).toThrow(
      /minSuccessRatePercent/,
    );
  });

  it("subscribes alarmEmails to the new topic", () => {
    const template = hooklineTemplate({
      monitoring: { alarmEmails: ["ops@example.com", "oncall@example.com"] },
    });
    const topic = { Ref: logicalIdOf(template, "AWS::SNS::Topic", "AlarmTopic") };
    template.resourceCountIs("AWS::SNS::Subscription", 2);
    for (const endpoint of ["ops@example.com", "oncall@example.com"]) {
      template.hasResourceProperties("AWS::SNS::Subscription", {
        Protocol: "email",
        Endpoint: endpoint,
        TopicArn: topic,
      });
    }
  });

  it("notifies an existing alarmTopic instead of creating one", () => {
    const stack = new Stack(appWithoutBundling(), "Test");
    const arn = "arn:aws:sns:eu-west-1:123456789012:ops-alarms";
    new Hookline(stack, "Hookline", { monitoring: { alarmTopic: Topic.fromTopicArn(stack, "Ops", arn) } });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SNS::Topic", 0);
    expect(alarms(template).length).toBeGreaterThan(0);
    for (const properties of alarms(template)) expect(properties.AlarmActions).toEqual([arn]);
  });

  it("outputs the ARN of a given alarm topic", () => {
    const app = appWithoutBundling();
    const arn = "arn:aws:sns:eu-west-1:123456789012:ops-alarms";
    const topicStack = new Stack(app, "Topics");
    const stack = new HooklineStack(app, "Hookline", {
      hookline: { monitoring: { alarmTopic: Topic.fromTopicArn(topicStack, "Ops", arn) } },
    });
    Template.fromStack(stack).hasOutput(StackOutput.alarmTopicArn, { Value: arn });
  });

  it("leaves out the dashboard, alarms, topic and its output when disabled", () => {
    const template = Template.fromStack(
      new HooklineStack(appWithoutBundling(), "Hookline", { hookline: { monitoring: { enabled: false } } }),
    );
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 0);
    template.resourceCountIs("AWS::SNS::Topic", 0);
    expect(template.findOutputs(StackOutput.alarmTopicArn)).toEqual({});
    template.hasOutput(StackOutput.deadLetterQueueUrl, {});
  });

  it("traces every function and the retry workflow when tracing is on", () => {
    const template = hooklineTemplate({ tracing: true });
    template.resourceCountIs("AWS::Lambda::Function", 8);
    template.allResourcesProperties("AWS::Lambda::Function", { TracingConfig: { Mode: "Active" } });
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      TracingConfiguration: { Enabled: true },
    });
    const policies = JSON.stringify(template.findResources("AWS::IAM::Policy"));
    expect(policies).toContain("xray:PutTraceSegments");
  });
});
