/**
 * Names shared by the CDK constructs (`lib/`) and the Lambda handlers (`functions/`).
 * Anything both sides must agree on is defined here once, so that neither side repeats a string.
 */

/** Environment variables the constructs set and the handlers read. */
export const EnvVar = {
  webhooksTable: "HOOKLINE_WEBHOOKS_TABLE",
  eventsTable: "HOOKLINE_EVENTS_TABLE",
  deliveryQueueUrl: "HOOKLINE_DELIVERY_QUEUE_URL",
  priorityQueueUrl: "HOOKLINE_PRIORITY_QUEUE_URL",
  eventTypes: "HOOKLINE_EVENT_TYPES",
  /**
   * The catalogue with its data schemas, for the functions that check or show them (ingest, the
   * management API). Too large for the environment: the bundler writes it into their code (see
   * `loadConfig`); the local runtime runs those bundles, so it is there too.
   */
  eventCatalogue: "HOOKLINE_EVENT_CATALOGUE",
  endpointPolicy: "HOOKLINE_ENDPOINT_POLICY",
  retentionDays: "HOOKLINE_RETENTION_DAYS",
  version: "HOOKLINE_VERSION",
  retryStateMachineArn: "HOOKLINE_RETRY_STATE_MACHINE_ARN",
  deadLetterQueueUrl: "HOOKLINE_DEAD_LETTER_QUEUE_URL",
  /*
   * The CDK app reads these five under the same names when it synthesizes for the local runtime
   * (`LOCAL_OVERRIDES` in settings.ts), as the README documents, so each setting has one name
   * everywhere. Whole seconds, except the threshold (failed attempts) and the schedule (comma-separated
   * seconds).
   */
  deliveryTimeoutSeconds: "HOOKLINE_DELIVERY_TIMEOUT",
  retrySchedule: "HOOKLINE_RETRY_SCHEDULE",
  circuitFailureThreshold: "HOOKLINE_CIRCUIT_THRESHOLD",
  circuitCooldownSeconds: "HOOKLINE_CIRCUIT_COOLDOWN",
  reconcileGraceSeconds: "HOOKLINE_RECONCILE_GRACE",
  /** How long a rotated-out signing secret keeps signing deliveries, next to the new one. */
  secretRotationOverlapSeconds: "HOOKLINE_SECRET_ROTATION_OVERLAP_SECONDS",
  /** The fairness limits (`LOCAL_OVERRIDES` too): per tenant, and per webhook for the last one. */
  tenantPublishRatePerSecond: "HOOKLINE_TENANT_PUBLISH_RATE",
  tenantPublishBurst: "HOOKLINE_TENANT_PUBLISH_BURST",
  maxWebhooksPerTenant: "HOOKLINE_TENANT_MAX_WEBHOOKS",
  maxDeliveriesInFlightPerWebhook: "HOOKLINE_WEBHOOK_MAX_IN_FLIGHT",
  /** Webhooks a fan-out reads per page (`LOCAL_OVERRIDES` too). */
  fanOutPageSize: "HOOKLINE_FANOUT_PAGE_SIZE",
  /** Read by Powertools Logger and Metrics: the service name in every log line and the metrics' dimension. */
  serviceName: "POWERTOOLS_SERVICE_NAME",
  logLevel: "POWERTOOLS_LOG_LEVEL",
  /** Read by Powertools Metrics: the CloudWatch namespace of Hookline's custom metrics. */
  metricsNamespace: "POWERTOOLS_METRICS_NAMESPACE",
  /**
   * Set (to "true") only by the local runtime during `npm run bench`: every AWS SDK request a function
   * makes is counted and printed as an EMF line. Never set by the CDK constructs.
   */
  countAwsRequests: "HOOKLINE_COUNT_AWS_REQUESTS",
} as const;

/** The CloudWatch namespace of the benchmark's request counts (local runs only). */
export const AWS_REQUESTS_NAMESPACE = "Hookline/AwsRequests";

/** Attribute names of the key schema, indexes and TTL of both tables. */
export const TableKey = {
  partition: "pk",
  sort: "sk",
  byTimePartition: "gsi1pk",
  byTimeSort: "gsi1sk",
  expiresAt: "expires_at",
  /** Set only while a record awaits a next step (sparse index), so the reconciler can find overdue ones. */
  dueShard: "due_shard",
  dueAt: "due_at",
  /** Set only while a delivery is parked on an open circuit. */
  parkedOn: "parked_on",
  parkedSort: "parked_sort",
  /** Set only while a webhook's circuit is not closed (sparse index), so health can count open circuits. */
  openCircuit: "open_circuit",
} as const;

/**
 * How the webhooks table's partition keys begin, by kind of item: a tenant's webhooks and settings, an
 * API key, Hookline's own configuration. The IAM policies (`dynamodb:LeadingKeys`) keep each function
 * to the kinds it reads.
 */
export const WebhooksPartition = {
  tenant: "TENANT#",
  apiKey: "APIKEY#",
  config: "CONFIG",
} as const;

/**
 * Delivery records in the events table, as both the stats function's stream filter (lib/stats.ts) and
 * the code that writes and reads them know them: their sort keys' prefix, their status attribute and its
 * values (domain/model.ts types them).
 */
export const DELIVERY_SORT_PREFIX = "DELIVERY#";
export const DELIVERY_STATUS_ATTRIBUTE = "status";
export const DeliveryStatusName = {
  pending: "pending",
  retrying: "retrying",
  delivered: "delivered",
  failed: "failed",
  deadLettered: "dead_lettered",
} as const;

/** Sparse index of records whose next step has a deadline. */
export const DUE_INDEX = "due";

/** Sparse index of deliveries parked on an open circuit, by webhook. */
export const PARKED_INDEX = "parked";

/** Sparse index of the webhooks table: webhooks whose circuit is open or half-open. */
export const OPEN_CIRCUITS_INDEX = "open-circuits";

/** The retry workflow's input: a webhook's retry slot (see `RetrySlotSchema`), waited for by its time. */
export const RetrySlotField = {
  tenantId: "tenantId",
  webhookId: "webhookId",
  at: "at",
} as const;

/**
 * The retry workflow execution that carries a webhook's retry slot: derived from the webhook and the
 * slot's time, so every delivery joining the slot starts (or finds) the same execution, and stored on
 * each delivery's record, so the reconciler can ask whether it still runs.
 */
export function retryRunName(webhookId: string, slotAt: string): string {
  return `${webhookId}-at-${Math.floor(Date.parse(slotAt) / 1000)}`;
}

/** Name of the index that lists a partition's items newest first. */
export const BY_TIME_INDEX = "by-time";

/**
 * What the by-time index copies besides the keys: the fields of an event listing, never a payload (up
 * to 256 KB an event). A delivery indexed under its event changes none of them as it progresses, so its
 * updates write nothing to the index; its full record is read from the table.
 */
export const BY_TIME_PROJECTION = [
  "id",
  "tenant_id",
  "type",
  "accepted_at",
  "source",
  "delivery_count",
] as const;

/** Powertools reads this to name the service in every log line; it is also the metrics' only dimension value. */
export const SERVICE_NAME = "hookline";

/**
 * Custom metrics the functions emit with Powertools Metrics (EMF) and the dashboard and alarms read.
 * Each carries one dimension, `METRICS_DIMENSION` = `SERVICE_NAME`, and never a tenant, webhook or event
 * id: CloudWatch bills and stores every dimension combination as its own metric.
 */
export const MetricName = {
  /** Count: events accepted by ingest (API or EventBridge). */
  eventsPublished: "EventsPublished",
  /** Count: deliveries created by the fan-out of events to webhooks. */
  deliveriesCreated: "DeliveriesCreated",
  /** Count: HTTP attempts made at endpoints. */
  deliveryAttempts: "DeliveryAttempts",
  /** Count: deliveries that ended `delivered` (the endpoint answered 2xx). */
  deliveriesSucceeded: "DeliveriesSucceeded",
  /** Count: deliveries that ended `failed` (4xx, 410, webhook deleted or disabled), not retried. */
  deliveriesFailed: "DeliveriesFailed",
  /** Count: deliveries whose retry schedule ran out and that went to the dead-letter queue. */
  deliveriesDeadLettered: "DeliveriesDeadLettered",
  /**
   * Count: deliveries the reconciler ended `failed` (a `poison:` reason) after re-driving them
   * `MAX_REDRIVES` times with no step recorded: a message that fails for a reason of its own.
   */
  deliveriesPoisoned: "DeliveriesPoisoned",
  /** Milliseconds: one HTTP attempt, from request to response or timeout. */
  attemptDuration: "AttemptDuration",
  /** Milliseconds: from the event's acceptance to the delivery's success. */
  endToEndLatency: "EndToEndLatency",
  /** Count: circuits that opened (or reopened after a failed probe). */
  circuitOpened: "CircuitOpened",
  /** Count: circuits that closed again. */
  circuitClosed: "CircuitClosed",
  /** Count: deliveries sent back to wait because their webhook had its cap of deliveries in flight. */
  deliveriesWaitingForSlot: "DeliveriesWaitingForSlot",
  /** Gauge, emitted by the reconciler on each run: circuits open right now. */
  openCircuits: "OpenCircuits",
} as const;
export type MetricNameValue = (typeof MetricName)[keyof typeof MetricName];

/** The one dimension of every custom metric; its value is `SERVICE_NAME`. */
export const METRICS_DIMENSION = "service";

/** CloudWatch namespace of the custom metrics unless the `metricsNamespace` prop says otherwise. */
export const DEFAULT_METRICS_NAMESPACE = "Hookline";

/** CDK context key that the local runtime sets when it synthesizes the app for this machine. */
export const LOCAL_CONTEXT_KEY = "hookline:local";

/** CDK context key that, with the local context, keeps the deployed stack's strict endpoint checks. */
export const STRICT_TARGETS_CONTEXT_KEY = "hookline:strictTargets";

/** Routes of the HTTP API, as API Gateway route keys. Each belongs to exactly one function. */
export const ManagementRoute = {
  listEventTypes: "GET /v1/event-types",
  createWebhook: "POST /v1/webhooks",
  listWebhooks: "GET /v1/webhooks",
  getWebhook: "GET /v1/webhooks/{webhookId}",
  updateWebhook: "PATCH /v1/webhooks/{webhookId}",
  deleteWebhook: "DELETE /v1/webhooks/{webhookId}",
  rotateSecret: "POST /v1/webhooks/{webhookId}/rotate-secret",
  testWebhook: "POST /v1/webhooks/{webhookId}/test",
  /** Whether an event would be delivered to the webhook, by its event types and filter; sends nothing. */
  filterTest: "POST /v1/webhooks/{webhookId}/filter-test",
  webhookStats: "GET /v1/webhooks/{webhookId}/stats",
  listDeliveries: "GET /v1/webhooks/{webhookId}/deliveries",
  getDelivery: "GET /v1/webhooks/{webhookId}/deliveries/{deliveryId}",
  retryDelivery: "POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry",
  recoverWebhook: "POST /v1/webhooks/{webhookId}/recover",
  listEvents: "GET /v1/events",
  getEvent: "GET /v1/events/{eventId}",
  /** A signed link that opens the console for this tenant (or some of its webhooks), without an API key. */
  createPortalLink: "POST /v1/portal-links",
  /** Deployment-wide figures (queue depths, open circuits): any tenant's key, never none. */
  healthDetails: "GET /v1/health/details",
} as const;
export type ManagementRouteKey = (typeof ManagementRoute)[keyof typeof ManagementRoute];

export const IngestRoute = {
  publishEvent: "POST /v1/events",
} as const;

/**
 * Routes that need no API key: they show nothing about the deployment's load or any tenant, and read
 * nothing. Served by the management function.
 */
export const PublicRoute = {
  /** Liveness only: the API and its function answer. */
  health: "GET /v1/health",
  openApi: "GET /v1/openapi.json",
} as const;
export type PublicRouteKey = (typeof PublicRoute)[keyof typeof PublicRoute];

/**
 * The web console's static files, served by their own small function without the authorizer: they are
 * the same for everyone, and the console then calls the API with the key or portal token it was given.
 */
export const ConsoleRoute = {
  index: "GET /console",
  assets: "GET /console/{proxy+}",
} as const;

/** Where the console is, under the API's URL. */
export const CONSOLE_PATH = "/console/";

/** The console's files, in a folder of this name next to the console function's bundle. */
export const CONSOLE_ASSETS_FOLDER = "console";

/**
 * API Gateway's catch-all route key: requests no other route matches. It goes to the management
 * function, without the authorizer, so that unknown paths and wrong methods get a 404 or 405 in the
 * API's error shape (an unknown route reveals nothing: the OpenAPI document is public anyway).
 */
export const FALLBACK_ROUTE = "$default";

/** Where the stack's outputs are named, so tools can find the API and tables of a deployed stack. */
export const StackOutput = {
  apiUrl: "ApiUrl",
  webhooksTable: "WebhooksTableName",
  eventsTable: "EventsTableName",
  deliveryQueueUrl: "DeliveryQueueUrl",
  priorityQueueUrl: "PriorityQueueUrl",
  /** JSON list of the catalogue's event types, so tools refuse an unknown one before publishing it. */
  eventTypes: "EventTypes",
  /** JSON list of the catalogue's high-priority event types, so tools send them to their lane. */
  priorityEventTypes: "PriorityEventTypes",
  deadLetterQueueUrl: "DeadLetterQueueUrl",
  /** Where EventBridge events end that ingest could not take in: rejected, or failing after the retries. */
  ingestDeadLetterQueueUrl: "IngestDeadLetterQueueUrl",
  eventBusName: "EventBusName",
  /** The SNS topic alarms notify; only when monitoring is enabled. */
  alarmTopicArn: "AlarmTopicArn",
  /** The delivery function's log group, which `hookline tail` follows on a deployed stack. */
  deliveryLogGroupName: "DeliveryLogGroupName",
  /** Days records are kept: the CLI writes records with the same expiry as the functions. */
  retentionDays: "RetentionDays",
  /** The reconciler's grace: the CLI sets the same deadlines on the records it writes. */
  reconcileGraceSeconds: "ReconcileGraceSeconds",
  /**
   * JSON: every setting in effect with its default, by prop name (`{"circuitCooldown": {"value": 3,
   * "default": 300, "unit": "seconds"}, ...}`), for `hookline status`.
   */
  settings: "Settings",
} as const;

/** The EventBridge `source` Hookline accepts unless the `eventSources` prop names others. */
export const DEFAULT_EVENT_SOURCE = "hookline.publisher";
