import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { DELIVERY_SORT_PREFIX } from "../../functions/shared/names.ts";
import { Hookline } from "../../lib/hookline.ts";
import { DEFAULT_STATS_PROPS, HooklineStats, type HooklineStatsProps } from "../../lib/stats.ts";
import { HooklineStorage } from "../../lib/storage.ts";

/** An app that skips bundling the functions: these tests read the template, not the code. */
const appWithoutBundling = () => new App({ context: { "aws:cdk:bundling-stacks": [] } });

function statsTemplate(props: Partial<HooklineStatsProps> = {}): Template {
  const stack = new Stack(appWithoutBundling(), "Test");
  const storage = new HooklineStorage(stack, "Storage");
  new HooklineStats(stack, "Stats", { eventsTable: storage.eventsTable, environment: {}, ...props });
  return Template.fromStack(stack);
}

describe("the stats counters' stream consumer", () => {
  it("reads the events table's stream with both images", () => {
    statsTemplate().hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      KeySchema: Match.anyValue(),
      StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
      GlobalSecondaryIndexes: Match.anyValue(),
    });
  });

  it("applies each documented default when built with no props", () => {
    const mapping = statsTemplate().findResources("AWS::Lambda::EventSourceMapping");
    const [properties] = Object.values(mapping).map(
      (resource) => (resource as { Properties: Record<string, unknown> }).Properties,
    );
    expect(properties).toMatchObject({
      StartingPosition: "TRIM_HORIZON",
      BatchSize: DEFAULT_STATS_PROPS.batchSize,
      MaximumBatchingWindowInSeconds: DEFAULT_STATS_PROPS.maxBatchingWindow.toSeconds(),
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: DEFAULT_STATS_PROPS.retryAttempts,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [expect.stringMatching(/^StatsFailureQueue/), "Arn"] } },
      },
    });
    expect(DEFAULT_STATS_PROPS).toEqual({
      batchSize: 1000,
      maxBatchingWindow: Duration.seconds(5),
      retryAttempts: 10,
    });
  });

  it("takes its props", () => {
    statsTemplate({
      batchSize: 500,
      maxBatchingWindow: Duration.seconds(2),
      retryAttempts: 3,
    }).hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 2,
      MaximumRetryAttempts: 3,
    });
  });

  it("is invoked only for delivery records that end, record an attempt or are re-opened", () => {
    const mapping = Object.values(statsTemplate().findResources("AWS::Lambda::EventSourceMapping"))[0] as {
      Properties: { FilterCriteria: { Filters: { Pattern: string }[] } };
    };
    const patterns = mapping.Properties.FilterCriteria.Filters.map((filter) => JSON.parse(filter.Pattern));
    const keys = { Keys: { sk: { S: [{ prefix: DELIVERY_SORT_PREFIX }] } } };
    expect(patterns).toEqual([
      {
        eventName: ["INSERT", "MODIFY"],
        dynamodb: {
          ...keys,
          NewImage: { status: { S: ["retrying", "delivered", "failed", "dead_lettered"] } },
        },
      },
      {
        eventName: ["MODIFY"],
        dynamodb: {
          ...keys,
          NewImage: { status: { S: ["pending"] } },
          OldImage: { status: { S: ["failed", "dead_lettered"] } },
        },
      },
    ]);
  });

  it("runs on Node.js 22, arm64, and writes only the events table's tenant items", () => {
    const template = statsTemplate();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.handler",
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Description: Match.stringLikeRegexp("stats counters"),
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["TENANT#*"] } },
          }),
        ]),
      },
    });
  });

  it("alarms on the first batch given up on, in the stack's monitoring", () => {
    const stack = new Stack(appWithoutBundling(), "Test");
    new Hookline(stack, "Hookline");
    const alarms = Object.values(Template.fromStack(stack).findResources("AWS::CloudWatch::Alarm")).map(
      (resource) => (resource as { Properties: { AlarmName: string; Threshold: number } }).Properties,
    );
    const failures = alarms.filter((alarm) => /StatsFailures-Queue-Message-Count/.test(alarm.AlarmName));
    expect(failures).toHaveLength(1);
    expect(failures[0]?.Threshold).toBe(0);
  });
});
