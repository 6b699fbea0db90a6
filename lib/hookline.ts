import { Annotations, ArnFormat, Duration, Names, type RemovalPolicy, Stack } from "aws-cdk-lib";
import { EventBus, type IEventBus } from "aws-cdk-lib/aws-events";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { DEFAULT_EVENT_TYPES, type EventTypeDefinition } from "../functions/shared/event-catalogue.ts";
import { catalogueSchemaProblems } from "../functions/shared/event-schemas.ts";
import { DEFAULT_METRICS_NAMESPACE, EnvVar } from "../functions/shared/names.ts";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  formatRetrySchedule,
  retryScheduleProblems,
} from "../functions/shared/retry-policy.ts";
import { type RangeSetting, Setting, type SettingInEffect } from "../functions/shared/settings.ts";
import packageJson from "../package.json" with { type: "json" };
import { acknowledge } from "./acknowledge.ts";
import { HooklineApi } from "./api.ts";
import { HooklineDelivery } from "./delivery.ts";
import { HooklineIngest } from "./ingest.ts";
import { HooklineMonitoring, type HooklineMonitoringProps } from "./monitoring.ts";
import { HooklineReconciler } from "./reconciler.ts";
import { HooklineRetryWorkflow } from "./retry-workflow.ts";
import { HooklineStats } from "./stats.ts";
import { HooklineStorage } from "./storage.ts";
import { checkProps, secondsOf } from "./validate.ts";

/** Which webhook URLs may be registered and connected to. The defaults are the safe ones. */
export interface EndpointSafetyProps {
  /**
   * Allow plain `http://` URLs.
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
  /**
   * Allow loopback, private, link-local and other internal addresses. Only for local development.
   * @default false
   */
  readonly allowPrivateTargets?: boolean;
  /**
   * Ports a URL may use, or "any". 80 and 8080 only apply when `allowInsecureHttp` is set.
   * @default [443, 8443, 80, 8080]
   */
  readonly allowedPorts?: readonly number[] | "any";
  /**
   * A regular expression the whole URL must match, e.g. `https://([a-z0-9-]+\.)*example\.com/.*`.
   * @default - no allowlist
   */
  readonly allowlistPattern?: string;
}

export interface HooklineProps {
  /**
   * The event-type catalogue: what may be published and subscribed to, and what each type's data must
   * match (a JSON Schema, draft 2020-12; synth fails, naming the type, on one that does not compile or
   * whose `examples` it refuses).
   * @default DEFAULT_EVENT_TYPES (the 11 types of the original design, each with a schema)
   */
  readonly eventTypes?: readonly EventTypeDefinition[];
  /**
   * The EventBridge bus whose events Hookline delivers. Whoever may call `events:PutEvents` on it can
   * publish for any tenant, so give it a bus only your publishing services can put events on.
   * @default - a new bus of Hookline's own, named in the `EventBusName` output
   */
  readonly eventBus?: IEventBus;
  /**
   * EventBridge `source` values accepted from the bus; events from any other source are not matched.
   * At least one.
   * @default ["hookline.publisher"]
   */
  readonly eventSources?: readonly string[];
  /** @default - the strict defaults of EndpointSafetyProps */
  readonly endpointSafety?: EndpointSafetyProps;
  /**
   * How long the delivery function waits for an endpoint's answer: 1 to 30 seconds.
   * @default Duration.seconds(10)
   */
  readonly attemptTimeout?: Duration;
  /**
   * Days events and deliveries are kept before DynamoDB's TTL removes them: 1 to 3650.
   * @default 30
   */
  readonly retentionDays?: number;
  /**
   * Requests per second the HTTP API accepts in the long run, all callers together, before it answers 429.
   * @default 1000
   */
  readonly apiThrottlingRateLimit?: number;
  /**
   * Requests the HTTP API accepts at once above its rate limit before it answers 429.
   * @default 2000
   */
  readonly apiThrottlingBurstLimit?: number;
  /**
   * How long the API caches an API key's authorizer answer: at most an hour.
   * @default Duration.seconds(60)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * Most concurrent delivery function instances per lane: 2 to 1000.
   * @default 50
   */
  readonly deliveryConcurrency?: number;
  /**
   * Events per second one tenant may publish through `POST /v1/events` in the long run before it is
   * answered 429 with `Retry-After`: 1 to 100,000. Events from EventBridge are not limited.
   * @default 1000
   */
  readonly tenantPublishRateLimit?: number;
  /**
   * Events one tenant may publish at once above `tenantPublishRateLimit`: 1 to 1,000,000.
   * @default 2000
   */
  readonly tenantPublishBurstLimit?: number;
  /**
   * Webhooks one tenant may have; creating one more is answered 422: 1 to 100,000.
   * @default 1000
   */
  readonly maxWebhooksPerTenant?: number;
  /**
   * Deliveries to one webhook in flight at once: the rest wait in the queue, so that a slow endpoint
   * cannot hold the delivery concurrency every tenant shares: 1 to 1000.
   * @default 10
   */
  readonly maxDeliveriesInFlightPerWebhook?: number;
  /**
   * Webhooks a fan-out reads per page: 10 to 100. Each page after the first is handed on through the
   * delivery queue, so a tenant with many webhooks makes one chain of that many invocations (the delivery
   * function allows recursive loops for it).
   * @default 100
   */
  readonly fanOutPageSize?: number;
  /**
   * Delays, in seconds, after each failed attempt; a webhook may set its own. After the last one fails
   * the delivery is dead-lettered. At most 15 entries adding up to at most 3 days.
   * @default [1, 5, 30, 300, 1800] (6 attempts over about 36 minutes)
   */
  readonly retryScheduleSeconds?: readonly number[];
  /**
   * Consecutive failed attempts that open a webhook's circuit: 1 to 1000.
   * @default 5
   */
  readonly circuitFailureThreshold?: number;
  /**
   * How long an open circuit sends nothing to its endpoint before one probe is allowed: 1 second to
   * 1 day.
   * @default Duration.minutes(5)
   */
  readonly circuitCooldown?: Duration;
  /**
   * How long past its deadline a record may stay before the reconciler drives it on (a lost message,
   * a workflow that failed to start, an interrupted fan-out): 1 second to 1 day. Keep it above
   * `deliveryVisibilityTimeout` (a warning at synth says when it is not), or a delivery whose message
   * is still in flight may be driven on a second time.
   * @default Duration.seconds(50)
   */
  readonly reconcileGrace?: Duration;
  /**
   * How long a delivery message stays hidden once received (see `HooklineDeliveryProps`).
   * @default - the delivery function's timeout plus 5 seconds: 45 seconds
   */
  readonly deliveryVisibilityTimeout?: Duration;
  /**
   * How often the reconciler runs.
   * @default Duration.minutes(1)
   */
  readonly reconcileInterval?: Duration;
  /**
   * After `POST /v1/webhooks/{id}/rotate-secret`, how long the replaced secret keeps signing every
   * request (next to the new one), so receivers can switch without downtime. At most 30 days;
   * `Duration.seconds(0)` retires it at once.
   * @default Duration.hours(24)
   */
  readonly secretRotationOverlap?: Duration;
  /**
   * The customer-managed KMS key that encrypts the webhooks table (signing secrets and API keys).
   * @default - a key created by Hookline, with automatic rotation, retained like the tables
   */
  readonly encryptionKey?: IKey;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * The functions' log level; `DEBUG` adds detail, `WARN` keeps only what needs attention.
   * @default "INFO"
   */
  readonly logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR";
  /**
   * What happens to the tables when the stack is deleted; unless it is `RemovalPolicy.DESTROY`, the
   * tables also have deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * The dashboard, the alarms and the SNS topic they notify; `{ enabled: false }` leaves them out.
   * @default - monitoring with the default thresholds and a new topic without subscriptions
   */
  readonly monitoring?: HooklineMonitoringProps;
  /**
   * CloudWatch namespace of the custom metrics (Powertools Metrics) the functions emit and the dashboard reads.
   * @default "Hookline"
   */
  readonly metricsNamespace?: string;
  /**
   * Active X-Ray tracing on every function and tracing on the retry workflow. Costs per trace; see the
   * README's "Operations".
   * @default false
   */
  readonly tracing?: boolean;
}

/** A catalogue entry as the functions' environment carries it. */
function withoutSchema(definition: EventTypeDefinition): EventTypeDefinition {
  return {
    name: definition.name,
    description: definition.description,
    ...(definition.priority === undefined ? {} : { priority: definition.priority }),
  };
}

/** Defaults of the endpoint policy, resolved; exported so tests can check the construct applies them. */
export const DEFAULT_ENDPOINT_SAFETY = {
  allowInsecureHttp: false,
  allowPrivateTargets: false,
  allowedPorts: [443, 8443, 80, 8080],
} as const satisfies EndpointSafetyProps;

/** A ranged setting as in effect: the prop's value, Durations in seconds, or the default. */
function ranged(setting: RangeSetting, value: number | undefined): SettingInEffect {
  return { value: value ?? setting.default, default: setting.default, unit: setting.unit };
}

/**
 * Hookline: webhook delivery for AWS, composed of storage, ingest, delivery, the retry workflow, the
 * reconciler, the stats counters' stream consumer and the HTTP API.
 */
export class Hookline extends Construct {
  readonly storage: HooklineStorage;
  readonly ingest: HooklineIngest;
  readonly delivery: HooklineDelivery;
  readonly api: HooklineApi;
  readonly retryWorkflow: HooklineRetryWorkflow;
  readonly reconciler: HooklineReconciler;
  /** The stats counters' stream consumer. */
  readonly stats: HooklineStats;
  readonly eventBus: IEventBus;
  /** The names of the catalogue's event types: what may be published and subscribed to. */
  readonly eventTypeNames: readonly string[];
  /** The catalogue's high-priority event types, which travel in the priority lane. */
  readonly priorityEventTypes: readonly string[];
  /** The dashboard and alarms; undefined when `monitoring.enabled` is false. */
  readonly monitoring?: HooklineMonitoring;
  /** Days records are kept, resolved: the CLI writes records with the same expiry. */
  readonly retentionDays: number;
  /** The reconciler's grace in seconds, resolved: the CLI sets the same deadlines on what it writes. */
  readonly reconcileGraceSeconds: number;
  /**
   * The settings in effect, each with its default, by prop name (Durations in seconds): what
   * `hookline status` shows where they differ.
   */
  readonly settings: Readonly<Record<string, SettingInEffect>>;

  constructor(scope: Construct, id: string, props: HooklineProps = {}) {
    super(scope, id);
    const eventTypes = props.eventTypes ?? DEFAULT_EVENT_TYPES;
    const retrySchedule = props.retryScheduleSeconds ?? DEFAULT_RETRY_SCHEDULE_SECONDS;
    checkProps(
      "Hookline",
      [
        ["attemptTimeout", Setting.attemptTimeoutSeconds, secondsOf(props.attemptTimeout)],
        ["retentionDays", Setting.retentionDays, props.retentionDays],
        ["authorizerCacheTtl", Setting.authorizerCacheTtlSeconds, secondsOf(props.authorizerCacheTtl)],
        ["deliveryConcurrency", Setting.deliveryConcurrency, props.deliveryConcurrency],
        ["tenantPublishRateLimit", Setting.tenantPublishRatePerSecond, props.tenantPublishRateLimit],
        ["tenantPublishBurstLimit", Setting.tenantPublishBurst, props.tenantPublishBurstLimit],
        ["maxWebhooksPerTenant", Setting.maxWebhooksPerTenant, props.maxWebhooksPerTenant],
        [
          "maxDeliveriesInFlightPerWebhook",
          Setting.maxDeliveriesInFlightPerWebhook,
          props.maxDeliveriesInFlightPerWebhook,
        ],
        ["fanOutPageSize", Setting.fanOutPageSize, props.fanOutPageSize],
        ["circuitFailureThreshold", Setting.circuitFailureThreshold, props.circuitFailureThreshold],
        ["circuitCooldown", Setting.circuitCooldownSeconds, secondsOf(props.circuitCooldown)],
        ["reconcileGrace", Setting.reconcileGraceSeconds, secondsOf(props.reconcileGrace)],
        [
          "secretRotationOverlap",
          Setting.secretRotationOverlapSeconds,
          secondsOf(props.secretRotationOverlap),
        ],
      ],
      [
        ...(eventTypes.length === 0 ? ["eventTypes must list at least one event type"] : []),
        ...catalogueSchemaProblems(eventTypes),
        ...retryScheduleProblems(retrySchedule, "retryScheduleSeconds").map(
          (problem) => `${problem.path} ${problem.message}`,
        ),
      ],
    );
    this.eventTypeNames = eventTypes.map((type) => type.name);
    this.priorityEventTypes = eventTypes.filter((type) => type.priority === "high").map((type) => type.name);
    const retentionDays = props.retentionDays ?? Setting.retentionDays.default;
    this.retentionDays = retentionDays;
    this.reconcileGraceSeconds = props.reconcileGrace?.toSeconds() ?? Setting.reconcileGraceSeconds.default;
    const attemptTimeout = props.attemptTimeout ?? Duration.seconds(Setting.attemptTimeoutSeconds.default);
    const safety = { ...DEFAULT_ENDPOINT_SAFETY, ...props.endpointSafety };
    this.settings = {
      retryScheduleSeconds: {
        value: retrySchedule,
        default: DEFAULT_RETRY_SCHEDULE_SECONDS,
        unit: "seconds",
      },
      circuitFailureThreshold: ranged(Setting.circuitFailureThreshold, props.circuitFailureThreshold),
      circuitCooldown: ranged(Setting.circuitCooldownSeconds, secondsOf(props.circuitCooldown)),
      attemptTimeout: ranged(Setting.attemptTimeoutSeconds, secondsOf(props.attemptTimeout)),
      reconcileGrace: ranged(Setting.reconcileGraceSeconds, secondsOf(props.reconcileGrace)),
      retentionDays: ranged(Setting.retentionDays, props.retentionDays),
      secretRotationOverlap: ranged(
        Setting.secretRotationOverlapSeconds,
        secondsOf(props.secretRotationOverlap),
      ),
      authorizerCacheTtl: ranged(Setting.authorizerCacheTtlSeconds, secondsOf(props.authorizerCacheTtl)),
      deliveryConcurrency: ranged(Setting.deliveryConcurrency, props.deliveryConcurrency),
      tenantPublishRateLimit: ranged(Setting.tenantPublishRatePerSecond, props.tenantPublishRateLimit),
      tenantPublishBurstLimit: ranged(Setting.tenantPublishBurst, props.tenantPublishBurstLimit),
      maxWebhooksPerTenant: ranged(Setting.maxWebhooksPerTenant, props.maxWebhooksPerTenant),
      maxDeliveriesInFlightPerWebhook: ranged(
        Setting.maxDeliveriesInFlightPerWebhook,
        props.maxDeliveriesInFlightPerWebhook,
      ),
      fanOutPageSize: ranged(Setting.fanOutPageSize, props.fanOutPageSize),
      endpointSafety: { value: safety, default: DEFAULT_ENDPOINT_SAFETY },
    };
    const functionOptions = {
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    };
    const metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    // Not the account's default bus: every principal with events:PutEvents on it could publish as any tenant.
    this.eventBus = props.eventBus ?? new EventBus(this, "EventBus");

    this.storage = new HooklineStorage(this, "Storage", {
      ...(props.tableRemovalPolicy === undefined ? {} : { removalPolicy: props.tableRemovalPolicy }),
      ...(props.encryptionKey === undefined ? {} : { encryptionKey: props.encryptionKey }),
    });
    const overlapSeconds =
      props.secretRotationOverlap?.toSeconds() ?? Setting.secretRotationOverlapSeconds.default;
    const environment = {
      [EnvVar.webhooksTable]: this.storage.webhooksTable.tableName,
      [EnvVar.eventsTable]: this.storage.eventsTable.tableName,
      // Without the schemas, which would not fit in Lambda's 4 KB: those that need them have them in their bundle.
      [EnvVar.eventTypes]: JSON.stringify(eventTypes.map(withoutSchema)),
      [EnvVar.endpointPolicy]: JSON.stringify(safety),
      [EnvVar.retentionDays]: String(retentionDays),
      [EnvVar.version]: packageJson.version,
      [EnvVar.metricsNamespace]: metricsNamespace,
      [EnvVar.logLevel]: props.logLevel ?? "INFO",
      [EnvVar.retrySchedule]: formatRetrySchedule(retrySchedule),
      [EnvVar.circuitFailureThreshold]: String(
        props.circuitFailureThreshold ?? Setting.circuitFailureThreshold.default,
      ),
      [EnvVar.circuitCooldownSeconds]: String(
        props.circuitCooldown?.toSeconds() ?? Setting.circuitCooldownSeconds.default,
      ),
      [EnvVar.reconcileGraceSeconds]: String(this.reconcileGraceSeconds),
      [EnvVar.tenantPublishRatePerSecond]: String(
        props.tenantPublishRateLimit ?? Setting.tenantPublishRatePerSecond.default,
      ),
      [EnvVar.tenantPublishBurst]: String(
        props.tenantPublishBurstLimit ?? Setting.tenantPublishBurst.default,
      ),
      [EnvVar.maxWebhooksPerTenant]: String(
        props.maxWebhooksPerTenant ?? Setting.maxWebhooksPerTenant.default,
      ),
      [EnvVar.maxDeliveriesInFlightPerWebhook]: String(
        props.maxDeliveriesInFlightPerWebhook ?? Setting.maxDeliveriesInFlightPerWebhook.default,
      ),
      [EnvVar.fanOutPageSize]: String(props.fanOutPageSize ?? Setting.fanOutPageSize.default),
    };
    // Named in advance: the delivery function starts the workflow, and the workflow invokes the function.
    const retryStateMachineName = `${Names.uniqueResourceName(this, { maxLength: 60, separator: "-" })}-retries`;
    const retryStateMachineArn = Stack.of(this).formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: retryStateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.delivery = new HooklineDelivery(this, "Delivery", {
      webhooksTable: this.storage.webhooksTable,
      eventsTable: this.storage.eventsTable,
      environment,
      attemptTimeout,
      ...(props.deliveryConcurrency === undefined ? {} : { maxConcurrency: props.deliveryConcurrency }),
      ...(props.deliveryVisibilityTimeout === undefined
        ? {}
        : { visibilityTimeout: props.deliveryVisibilityTimeout }),
      retryStateMachineArn,
      ...functionOptions,
    });
    if (this.reconcileGraceSeconds <= this.delivery.visibilityTimeout.toSeconds()) {
      // A warning, not an error: the local runtime shortens the grace on purpose so that tests run in
      // seconds; a deployment should not.
      Annotations.of(this).addWarningV2(
        "hookline:graceWithinVisibility",
        `reconcileGrace (${this.reconcileGraceSeconds} s) does not exceed the delivery queues' visibility timeout (${this.delivery.visibilityTimeout.toSeconds()} s): the reconciler may drive on a delivery whose message is still in flight (it is checked against its record before sending, but two copies running at once can both send)`,
      );
    }
    this.retryWorkflow = new HooklineRetryWorkflow(this, "RetryWorkflow", {
      deliveryFunction: this.delivery.function,
      stateMachineName: retryStateMachineName,
      ...functionOptions,
    });
    const queueEnvironment = {
      ...environment,
      [EnvVar.deliveryQueueUrl]: this.delivery.queue.queueUrl,
      [EnvVar.priorityQueueUrl]: this.delivery.priorityQueue.queueUrl,
    };
    this.reconciler = new HooklineReconciler(this, "Reconciler", {
      webhooksTable: this.storage.webhooksTable,
      eventsTable: this.storage.eventsTable,
      deliveryQueue: this.delivery.queue,
      priorityQueue: this.delivery.priorityQueue,
      deadLetterQueue: this.delivery.deadLetterQueue,
      environment: queueEnvironment,
      retryStateMachineName,
      ...(props.reconcileInterval === undefined ? {} : { interval: props.reconcileInterval }),
      ...functionOptions,
    });
    this.stats = new HooklineStats(this, "Stats", {
      eventsTable: this.storage.eventsTable,
      environment,
      ...functionOptions,
    });
    this.ingest = new HooklineIngest(this, "Ingest", {
      webhooksTable: this.storage.webhooksTable,
      eventsTable: this.storage.eventsTable,
      deliveryQueue: this.delivery.queue,
      priorityQueue: this.delivery.priorityQueue,
      environment: queueEnvironment,
      eventTypeNames: this.eventTypeNames,
      eventCatalogue: eventTypes,
      eventBus: this.eventBus,
      ...(props.eventSources === undefined ? {} : { eventSources: props.eventSources }),
      ...functionOptions,
    });
    this.api = new HooklineApi(this, "Api", {
      webhooksTable: this.storage.webhooksTable,
      eventsTable: this.storage.eventsTable,
      ingestFunction: this.ingest.function,
      eventCatalogue: eventTypes,
      deliveryQueue: this.delivery.queue,
      priorityQueue: this.delivery.priorityQueue,
      deadLetterQueue: this.delivery.deadLetterQueue,
      environment,
      secretRotationOverlapSeconds: overlapSeconds,
      attemptTimeout,
      ...(props.authorizerCacheTtl === undefined ? {} : { authorizerCacheTtl: props.authorizerCacheTtl }),
      ...(props.apiThrottlingRateLimit === undefined
        ? {}
        : { throttlingRateLimit: props.apiThrottlingRateLimit }),
      ...(props.apiThrottlingBurstLimit === undefined
        ? {}
        : { throttlingBurstLimit: props.apiThrottlingBurstLimit }),
      ...functionOptions,
    });

    // Whoever reads the webhooks table needs its key; whoever writes it, to encrypt with it too.
    for (const fn of [this.api.authorizerFunction, this.ingest.function, this.reconciler.function]) {
      this.storage.grantWebhooksKey(fn, false);
    }
    for (const fn of [this.api.managementFunction, this.delivery.function, this.delivery.priorityFunction]) {
      this.storage.grantWebhooksKey(fn, true);
      acknowledge(fn, {
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]":
          "on the webhooks table's key only: the data-key variants DynamoDB uses to encrypt items",
        "AwsSolutions-IAM5[Action::kms:ReEncrypt*]":
          "on the webhooks table's key only: re-encrypting items when the key rotates",
      });
    }

    if (props.monitoring?.enabled !== false) {
      this.monitoring = new HooklineMonitoring(this, "Monitoring", {
        ...props.monitoring,
        metricsNamespace,
        functions: {
          Ingest: this.ingest.function,
          Delivery: this.delivery.function,
          PriorityDelivery: this.delivery.priorityFunction,
          Reconciler: this.reconciler.function,
          Stats: this.stats.function,
          Management: this.api.managementFunction,
          Authorizer: this.api.authorizerFunction,
        },
        deliveryQueue: this.delivery.queue,
        priorityQueue: this.delivery.priorityQueue,
        deadLetterQueue: this.delivery.deadLetterQueue,
        ingestDeadLetterQueue: this.ingest.deadLetterQueue,
        statsFailureQueue: this.stats.failureQueue,
        retryStateMachine: this.retryWorkflow.stateMachine,
        httpApi: this.api.httpApi,
        tables: { Webhooks: this.storage.webhooksTable, Events: this.storage.eventsTable },
        ...(props.reconcileInterval === undefined ? {} : { gaugeInterval: props.reconcileInterval }),
      });
    }
  }
}
