/**
 * Names shared by the CDK constructs (`lib/`) and the Lambda handlers (`functions/`).
 * Anything both sides must agree on is defined here once, so that neither side repeats a string.
 */

/** Environment variables the constructs set and the handlers read. */
export const EnvVar = {
  webhooksTable: "HOOKLINE_WEBHOOKS_TABLE",
  eventsTable: "HOOKLINE_EVENTS_TABLE",
  deliveryQueueUrl: "HOOKLINE_DELIVERY_QUEUE_URL",
  eventTypes: "HOOKLINE_EVENT_TYPES",
  endpointPolicy: "HOOKLINE_ENDPOINT_POLICY",
  deliveryTimeoutSeconds: "HOOKLINE_DELIVERY_TIMEOUT_SECONDS",
  retentionDays: "HOOKLINE_RETENTION_DAYS",
  version: "HOOKLINE_VERSION",
  retryStateMachineArn: "HOOKLINE_RETRY_STATE_MACHINE_ARN",
  retrySchedule: "HOOKLINE_RETRY_SCHEDULE_SECONDS",
  circuitFailureThreshold: "HOOKLINE_CIRCUIT_FAILURE_THRESHOLD",
  circuitCooldownSeconds: "HOOKLINE_CIRCUIT_COOLDOWN_SECONDS",
  deadLetterQueueUrl: "HOOKLINE_DEAD_LETTER_QUEUE_URL",
  reconcileGraceSeconds: "HOOKLINE_RECONCILE_GRACE_SECONDS",
} as const;

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
} as const;

/** Sparse index of records whose next step has a deadline. */
export const DUE_INDEX = "due";

/** Sparse index of deliveries parked on an open circuit, by webhook. */
export const PARKED_INDEX = "parked";

/** The retry workflow's state fields and the delivery function's answers to it. */
export const RetryStep = {
  waitSeconds: "wait_seconds",
  next: "next",
  retry: "retry",
  deadLetter: "dead_letter",
  done: "done",
  deadLetterMessage: "dead_letter_message",
  recordKey: "record_key",
  completedAt: "completed_at",
} as const;

/** Name of the index that lists a partition's items newest first. */
export const BY_TIME_INDEX = "by-time";

/** Powertools reads this to name the service in every log line. */
export const SERVICE_NAME = "hookline";

/** CDK context key that the local runtime sets when it synthesizes the app for this machine. */
export const LOCAL_CONTEXT_KEY = "hookline:local";

/** CDK context key that, with the local context, keeps the deployed stack's strict endpoint checks. */
export const STRICT_TARGETS_CONTEXT_KEY = "hookline:strictTargets";

/** Routes of the HTTP API, as API Gateway route keys. Each belongs to exactly one function. */
export const ManagementRoute = {
  createWebhook: "POST /v1/webhooks",
  getWebhook: "GET /v1/webhooks/{webhookId}",
  deleteWebhook: "DELETE /v1/webhooks/{webhookId}",
  listDeliveries: "GET /v1/webhooks/{webhookId}/deliveries",
  getDelivery: "GET /v1/webhooks/{webhookId}/deliveries/{deliveryId}",
  retryDelivery: "POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry",
} as const;
export type ManagementRouteKey = (typeof ManagementRoute)[keyof typeof ManagementRoute];

export const IngestRoute = {
  publishEvent: "POST /v1/events",
} as const;

/** Where the stack's outputs are named, so tools can find the API and tables of a deployed stack. */
export const StackOutput = {
  apiUrl: "ApiUrl",
  webhooksTable: "WebhooksTableName",
  eventsTable: "EventsTableName",
  deliveryQueueUrl: "DeliveryQueueUrl",
  deadLetterQueueUrl: "DeadLetterQueueUrl",
  eventBusName: "EventBusName",
  /** The delivery function's log group, which `hookline tail` follows on a deployed stack. */
  deliveryLogGroupName: "DeliveryLogGroupName",
} as const;

/**
 * Custom metrics the functions emit (Powertools Metrics, embedded metric format) and the dashboard and
 * alarms read. Their only dimension is the service: never a tenant, webhook or event id.
 */
export const MetricName = {
  eventsPublished: "EventsPublished",
  deliveriesCreated: "DeliveriesCreated",
  deliveryAttempts: "DeliveryAttempts",
  deliveriesSucceeded: "DeliveriesSucceeded",
  deliveriesFailed: "DeliveriesFailed",
  deliveriesDeadLettered: "DeliveriesDeadLettered",
  attemptDuration: "AttemptDuration",
  endToEndLatency: "EndToEndLatency",
  circuitOpened: "CircuitOpened",
  circuitClosed: "CircuitClosed",
  openCircuits: "OpenCircuits",
} as const;

/** The CloudWatch namespace of those metrics unless the `metricsNamespace` prop says otherwise. */
export const DEFAULT_METRICS_NAMESPACE = "Hookline";
