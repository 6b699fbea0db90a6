import { ArnFormat, Duration, Names, Stack } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import { ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { BillingMode, type ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import {
  ApiGatewayV2HttpApiMetricFactory,
  type CustomAlarmThreshold,
  DefaultDashboardFactory,
  type MetricFactory,
  MetricStatistic,
  type MetricWithAlarmSupport,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from "cdk-monitoring-constructs";
import { Construct } from "constructs";
import {
  METRICS_DIMENSION,
  MetricName,
  type MetricNameValue,
  SERVICE_NAME,
} from "../functions/shared/names.ts";

/** What to watch, when to alarm, and whom to tell. Every threshold has a default; see the README's "Operations". */
export interface HooklineMonitoringProps {
  /**
   * Create the dashboard, the alarms and the alarm topic.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * An existing topic the alarms notify (and `alarmEmails` subscribe to, if given).
   * @default - a new topic
   */
  readonly alarmTopic?: ITopic;
  /**
   * Addresses subscribed to the alarm topic by email (each must confirm the subscription).
   * @default - no subscriptions
   */
  readonly alarmEmails?: readonly string[];
  /**
   * Name of the CloudWatch dashboard; also the prefix of every alarm name (keep it under about 200
   * characters: alarm names end with a suffix and may have 255).
   * @default - a name unique to this construct, e.g. `Hookline-Monitoring-1A2B3C4D`
   */
  readonly dashboardName?: string;
  /**
   * Alarm when fewer than this percentage of finished deliveries succeeded over `successRateWindow`.
   * @default 95
   */
  readonly minSuccessRatePercent?: number;
  /**
   * The window over which the success rate is computed (a whole number of minutes).
   * @default Duration.minutes(15)
   */
  readonly successRateWindow?: Duration;
  /**
   * Alarm when more messages than this wait in the delivery queue (or in the priority lane's), 15
   * minutes in a row.
   * @default 10_000
   */
  readonly maxDeliveryQueueDepth?: number;
  /**
   * Alarm when the oldest message of the delivery queue (or of the priority lane's) is older than this.
   * @default Duration.minutes(15)
   */
  readonly maxQueuedMessageAge?: Duration;
  /**
   * Alarm when more messages than this wait in the dead-letter queue.
   * @default 100
   */
  readonly maxDeadLetterQueueDepth?: number;
  /**
   * Alarm when more messages than this wait in the ingest dead-letter queue. Each one is an event
   * that never reached its webhooks, so by default the first one alarms.
   * @default 0
   */
  readonly maxIngestDeadLetterQueueDepth?: number;
  /**
   * Alarm when more messages than this wait in the stats function's failure queue. Each one is a batch of
   * delivery record changes the stats counters miss, so by default the first one alarms.
   * @default 0
   */
  readonly maxStatsFailureQueueDepth?: number;
  /**
   * Alarm when at least one circuit has been open for this long (a whole number of minutes). A few
   * missing gauge readings (a reconciler run that failed) delay the alarm rather than reset it.
   * @default Duration.minutes(15)
   */
  readonly maxCircuitOpenDuration?: Duration;
  /**
   * Alarm when a function has more errors than this in each of three 5-minute periods in a row.
   * @default 0
   */
  readonly maxFunctionErrors?: number;
  /**
   * Alarm when a function is throttled more than this in each of three 5-minute periods in a row.
   * @default 0
   */
  readonly maxFunctionThrottles?: number;
  /**
   * Alarm when more than this percentage of API requests get a 5xx answer, three 5-minute periods in a row.
   * @default 1
   */
  readonly maxApi5xxPercent?: number;
  /**
   * Alarm when more retry workflows than this fail in a 5-minute period.
   * @default 0
   */
  readonly maxFailedRetryWorkflows?: number;
}

/** The thresholds applied when a prop is not given; exported so tests can check each documented default. */
export const DEFAULT_MONITORING_THRESHOLDS = {
  minSuccessRatePercent: 95,
  successRateWindow: Duration.minutes(15),
  maxDeliveryQueueDepth: 10_000,
  maxQueuedMessageAge: Duration.minutes(15),
  maxDeadLetterQueueDepth: 100,
  maxIngestDeadLetterQueueDepth: 0,
  maxStatsFailureQueueDepth: 0,
  maxCircuitOpenDuration: Duration.minutes(15),
  maxFunctionErrors: 0,
  maxFunctionThrottles: 0,
  maxApi5xxPercent: 1,
  maxFailedRetryWorkflows: 0,
} as const satisfies HooklineMonitoringProps;

/** Every threshold, resolved. */
type Thresholds = {
  readonly [K in keyof typeof DEFAULT_MONITORING_THRESHOLDS]-?: NonNullable<HooklineMonitoringProps[K]>;
};

/** Period of the alarms on AWS metrics, and how many of them in a row make a sustained problem. */
const ALARM_PERIOD = Duration.minutes(5);
const SUSTAINED_PERIODS = 3;

/**
 * Readings of the open-circuits gauge that may be missing (a reconciler run that failed or came late)
 * inside the circuit alarm's window without resetting it: the alarm needs `maxCircuitOpenDuration` worth
 * of breaching readings among that many plus these.
 */
export const CIRCUIT_GAUGE_GAPS_TOLERATED = 3;

/** What Hookline is made of, as the monitoring needs to see it. */
export interface HooklineMonitoringConstructProps extends HooklineMonitoringProps {
  /** CloudWatch namespace of the custom metrics the functions emit. */
  readonly metricsNamespace: string;
  /** Each function by a short readable name, e.g. `Delivery`. */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly deliveryQueue: IQueue;
  /** The priority lane's queue; alarmed on like the delivery queue. */
  readonly priorityQueue: IQueue;
  readonly deadLetterQueue: IQueue;
  /** Where the ingest function's failed events land (the rule target's and the async invoke's). */
  readonly ingestDeadLetterQueue: IQueue;
  /** Where the stats function's stream mapping reports the batches it gave up on. */
  readonly statsFailureQueue: IQueue;
  readonly retryStateMachine: IStateMachine;
  readonly httpApi: IHttpApi;
  /** Each table by a short readable name, e.g. `Events`. */
  readonly tables: Readonly<Record<string, ITableV2>>;
  /**
   * How often the reconciler emits the `OpenCircuits` gauge.
   * @default Duration.minutes(1)
   */
  readonly gaugeInterval?: Duration;
}

/**
 * One CloudWatch dashboard and the alarms of a Hookline, built with cdk-monitoring-constructs, notifying one
 * SNS topic. Delivery outcomes, latency and circuits come from the custom metrics the functions emit
 * (Powertools Metrics, EMF); everything else from the metrics AWS publishes.
 */
export class HooklineMonitoring extends Construct {
  readonly facade: MonitoringFacade;
  readonly alarmTopic: ITopic;

  constructor(scope: Construct, id: string, props: HooklineMonitoringConstructProps) {
    super(scope, id);
    const thresholds: Thresholds = { ...DEFAULT_MONITORING_THRESHOLDS, ...definedOnly(props) };
    for (const [prop, duration] of Object.entries({
      successRateWindow: thresholds.successRateWindow,
      maxCircuitOpenDuration: thresholds.maxCircuitOpenDuration,
    })) {
      const seconds = duration.toSeconds();
      if (seconds <= 0 || seconds % 60 !== 0)
        throw new Error(`HooklineMonitoring: ${prop} must be a whole number of minutes`);
    }
    if (!(thresholds.minSuccessRatePercent > 0 && thresholds.minSuccessRatePercent <= 100))
      throw new Error("HooklineMonitoring: minSuccessRatePercent must be above 0 and at most 100");
    const name = props.dashboardName ?? Names.uniqueResourceName(this, { maxLength: 120, separator: "-" });

    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic();
    for (const email of props.alarmEmails ?? [])
      this.alarmTopic.addSubscription(new EmailSubscription(email));

    this.facade = new MonitoringFacade(this, "Facade", {
      metricFactoryDefaults: { namespace: props.metricsNamespace, period: Duration.minutes(1) },
      alarmFactoryDefaults: {
        alarmNamePrefix: name,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: this.alarmTopic, onOkTopic: this.alarmTopic }),
      },
      dashboardFactory: new DefaultDashboardFactory(this, "Dashboards", {
        dashboardNamePrefix: name,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    const metrics = this.facade.createMetricFactory();
    const custom = (
      metricName: MetricNameValue,
      statistic: MetricStatistic,
      label: string,
      period?: Duration,
    ) =>
      metrics.createMetric(
        metricName,
        statistic,
        label,
        { [METRICS_DIMENSION]: SERVICE_NAME },
        undefined,
        props.metricsNamespace,
        period,
      );
    const sustained = {
      period: ALARM_PERIOD,
      evaluationPeriods: SUSTAINED_PERIODS,
      datapointsToAlarm: SUSTAINED_PERIODS,
    };
    const once = { period: ALARM_PERIOD, evaluationPeriods: 1, datapointsToAlarm: 1 };
    const quietWhenIdle = { treatMissingDataOverride: TreatMissingData.NOT_BREACHING };

    this.facade.addLargeHeader("Hookline");
    this.monitorDeliveries(metrics, custom, thresholds, props.gaugeInterval ?? Duration.minutes(1));

    // Both delivery lanes alarm alike: a backlog that stays, or a message that waits too long.
    const laneAlarms = {
      addQueueMaxSizeAlarm: {
        Depth: { maxMessageCount: thresholds.maxDeliveryQueueDepth, ...sustained, ...quietWhenIdle },
      },
      addQueueMaxMessageAgeAlarm: {
        OldestMessage: {
          maxAgeInSeconds: thresholds.maxQueuedMessageAge.toSeconds(),
          ...once,
          ...quietWhenIdle,
        },
      },
    };
    this.facade.monitorSqsQueueWithDlq({
      queue: props.deliveryQueue,
      deadLetterQueue: props.deadLetterQueue,
      humanReadableName: "Delivery queue",
      alarmFriendlyName: "DeliveryQueue",
      ...laneAlarms,
      addDeadLetterQueueMaxSizeAlarm: {
        Depth: { maxMessageCount: thresholds.maxDeadLetterQueueDepth, ...once, ...quietWhenIdle },
      },
    });

    this.facade.monitorSqsQueue({
      queue: props.priorityQueue,
      humanReadableName: "Priority queue",
      alarmFriendlyName: "PriorityQueue",
      ...laneAlarms,
    });

    this.facade.monitorSqsQueue({
      queue: props.ingestDeadLetterQueue,
      humanReadableName: "Ingest dead-letter queue",
      alarmFriendlyName: "IngestDLQ",
      addQueueMaxSizeAlarm: {
        Depth: { maxMessageCount: thresholds.maxIngestDeadLetterQueueDepth, ...once, ...quietWhenIdle },
      },
    });

    this.facade.monitorSqsQueue({
      queue: props.statsFailureQueue,
      humanReadableName: "Stats failure queue",
      alarmFriendlyName: "StatsFailures",
      addQueueMaxSizeAlarm: {
        Depth: { maxMessageCount: thresholds.maxStatsFailureQueueDepth, ...once, ...quietWhenIdle },
      },
    });

    this.facade.monitorStepFunction({
      stateMachine: props.retryStateMachine,
      humanReadableName: "Retry workflows",
      alarmFriendlyName: "RetryWorkflows",
      addFailedExecutionCountAlarm: {
        Failed: { maxErrorCount: thresholds.maxFailedRetryWorkflows, ...once, ...quietWhenIdle },
      },
    });

    this.facade.monitorApiGatewayV2HttpApi({
      api: props.httpApi,
      humanReadableName: "HTTP API",
      alarmFriendlyName: "Api",
    });
    const api = new ApiGatewayV2HttpApiMetricFactory(metrics, { api: props.httpApi });
    this.facade.monitorCustom({
      humanReadableName: "HTTP API server errors",
      alarmFriendlyName: "Api",
      metricGroups: [
        {
          title: "5xx answers (% of requests)",
          metrics: [
            {
              metric: percentOf(
                metrics,
                "errors",
                { errors: api.metric5xxCount().with({ period: ALARM_PERIOD }) },
                api.metricInvocationCount().with({ period: ALARM_PERIOD }),
                "5xx %",
                ALARM_PERIOD,
              ),
              alarmFriendlyName: "Api5xx",
              addAlarm: {
                Rate: {
                  threshold: thresholds.maxApi5xxPercent,
                  comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
                  ...sustained,
                  ...quietWhenIdle,
                },
              },
            },
          ],
        },
      ],
    });

    for (const [functionName, lambdaFunction] of Object.entries(props.functions)) {
      this.facade.monitorLambdaFunction({
        lambdaFunction,
        humanReadableName: `${functionName} function`,
        alarmFriendlyName: `${functionName}Function`,
        addFaultCountAlarm: { Errors: { maxErrorCount: thresholds.maxFunctionErrors, ...sustained } },
        addThrottlesCountAlarm: {
          Throttles: { maxErrorCount: thresholds.maxFunctionThrottles, ...sustained },
        },
      });
    }

    for (const [tableName, table] of Object.entries(props.tables)) {
      this.facade.monitorDynamoTable({
        table,
        billingMode: BillingMode.PAY_PER_REQUEST,
        humanReadableName: `${tableName} table`,
        alarmFriendlyName: `${tableName}Table`,
      });
    }
  }

  /**
   * The topic the alarms notify. A topic policy replaces SNS's default one, so the policy `enforceSSL`
   * creates must also let CloudWatch publish, or no alarm ever arrives; only alarms of this account may.
   */
  private createAlarmTopic(): Topic {
    const topic = new Topic(this, "AlarmTopic", { displayName: "Hookline alarms", enforceSSL: true });
    const stack = Stack.of(this);
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchAlarms",
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: {
            "aws:SourceArn": stack.formatArn({
              service: "cloudwatch",
              resource: "alarm",
              resourceName: "*",
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    return topic;
  }

  /** Outcomes, success rate, latency and circuits, from the custom metrics; with their two alarms. */
  private monitorDeliveries(
    metrics: MetricFactory,
    custom: (
      name: MetricNameValue,
      statistic: MetricStatistic,
      label: string,
      period?: Duration,
    ) => MetricWithAlarmSupport,
    thresholds: Thresholds,
    gaugeInterval: Duration,
  ): void {
    const succeeded = custom(MetricName.deliveriesSucceeded, MetricStatistic.SUM, "Succeeded");
    const failed = custom(MetricName.deliveriesFailed, MetricStatistic.SUM, "Failed");
    const deadLettered = custom(MetricName.deliveriesDeadLettered, MetricStatistic.SUM, "Dead-lettered");
    // Counted among the failed too; shown apart because each is a platform problem, not an endpoint's.
    const poisoned = custom(MetricName.deliveriesPoisoned, MetricStatistic.SUM, "Failed as poison");
    const window = thresholds.successRateWindow;
    const successRate = percentOf(
      metrics,
      "ok",
      {
        ok: custom(MetricName.deliveriesSucceeded, MetricStatistic.SUM, "Succeeded", window),
        failed: custom(MetricName.deliveriesFailed, MetricStatistic.SUM, "Failed", window),
        dead: custom(MetricName.deliveriesDeadLettered, MetricStatistic.SUM, "Dead-lettered", window),
      },
      undefined,
      `Success rate (%, ${window.toMinutes()} min)`,
      window,
    );
    const circuitPeriods = Math.ceil(
      thresholds.maxCircuitOpenDuration.toSeconds() / gaugeInterval.toSeconds(),
    );
    const openCircuits = custom(MetricName.openCircuits, MetricStatistic.MIN, "Open circuits", gaugeInterval);
    const notIdle: CustomAlarmThreshold = { treatMissingDataOverride: TreatMissingData.NOT_BREACHING };
    const percentiles = (metricName: MetricNameValue) => [
      custom(metricName, MetricStatistic.P50, "p50"),
      custom(metricName, MetricStatistic.P90, "p90"),
      custom(metricName, MetricStatistic.P99, "p99"),
    ];

    this.facade.monitorCustom({
      humanReadableName: "Deliveries",
      alarmFriendlyName: "Deliveries",
      description:
        "Custom metrics the functions emit (Powertools Metrics). No traffic means no data, never an alarm.",
      metricGroups: [
        { title: "Deliveries per minute by outcome", metrics: [succeeded, failed, deadLettered, poisoned] },
        {
          title: "Throughput per minute",
          metrics: [
            custom(MetricName.eventsPublished, MetricStatistic.SUM, "Events published"),
            custom(MetricName.deliveriesCreated, MetricStatistic.SUM, "Deliveries created"),
            custom(MetricName.deliveryAttempts, MetricStatistic.SUM, "Attempts"),
          ],
        },
        {
          title: "Success rate",
          graphWidgetAxis: { min: 0, max: 100 },
          metrics: [
            {
              metric: successRate,
              alarmFriendlyName: "DeliverySuccessRate",
              addAlarm: {
                BelowMinimum: {
                  threshold: thresholds.minSuccessRatePercent,
                  comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
                  period: window,
                  evaluationPeriods: 1,
                  datapointsToAlarm: 1,
                  ...notIdle,
                },
              },
            },
          ],
        },
        { title: "End-to-end latency (ms)", metrics: percentiles(MetricName.endToEndLatency) },
        { title: "Attempt duration (ms)", metrics: percentiles(MetricName.attemptDuration) },
        {
          title: "Circuits",
          metrics: [
            {
              metric: openCircuits,
              alarmFriendlyName: "OpenCircuits",
              addAlarm: {
                OpenTooLong: {
                  threshold: 0,
                  comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
                  period: gaugeInterval,
                  evaluationPeriods: circuitPeriods + CIRCUIT_GAUGE_GAPS_TOLERATED,
                  datapointsToAlarm: circuitPeriods,
                  ...notIdle,
                },
              },
            },
            custom(MetricName.circuitOpened, MetricStatistic.SUM, "Opened"),
            custom(MetricName.circuitClosed, MetricStatistic.SUM, "Closed"),
            custom(MetricName.deliveriesWaitingForSlot, MetricStatistic.SUM, "Waiting for an in-flight slot"),
          ],
        },
      ],
    });
  }
}

/**
 * `100 * part / total` where total = the sum of `parts` (or `whole`, when given); no data point at all when
 * the total is 0, so an idle system never looks like a failing one.
 */
function percentOf(
  metrics: MetricFactory,
  partId: string,
  parts: Record<string, MetricWithAlarmSupport>,
  whole: MetricWithAlarmSupport | undefined,
  label: string,
  period?: Duration,
): MetricWithAlarmSupport {
  const using = whole === undefined ? parts : { ...parts, total: whole };
  const total =
    whole === undefined
      ? Object.keys(parts)
          .map((id) => `FILL(${id}, 0)`)
          .join(" + ")
      : "FILL(total, 0)";
  return metrics.createMetricMath(
    `IF(${total} > 0, 100 * FILL(${partId}, 0) / (${total}))`,
    using,
    label,
    undefined,
    period,
  );
}

/** The props that were given, so that spreading them over the defaults never overwrites one with undefined. */
function definedOnly<T extends object>(props: T): Partial<T> {
  return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined)) as Partial<T>;
}
