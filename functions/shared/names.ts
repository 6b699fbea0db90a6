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
} as const;

/** Attribute names of the key schema, indexes and TTL of both tables. */
export const TableKey = {
  partition: "pk",
  sort: "sk",
  byTimePartition: "gsi1pk",
  byTimeSort: "gsi1sk",
  expiresAt: "expires_at",
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
} as const;
