/**
 * A JSON Schema (draft 2020-12) for the `data` of an event type. `examples` (the first of them) is
 * what a test send or `hookline trigger` sends when no data is given.
 */
export type EventDataSchema = { readonly [keyword: string]: unknown };

/** One entry of the event-type catalogue that a deployment publishes. */
export interface EventTypeDefinition {
  /** Dotted name, e.g. `memory.created`. */
  readonly name: string;
  readonly description: string;
  /**
   * `high`: deliveries of this type travel in their own queue and delivery function, so a backlog of
   * ordinary events never delays them.
   */
  readonly priority?: "high";
  /**
   * What the event's `data` must match: a publish that does not is refused. Checked at synth: it must
   * compile, and each of its `examples` must match it (without `examples`, Hookline's own test sample
   * must).
   * @default - any JSON object
   */
  readonly schema?: EventDataSchema;
}

const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";

/**
 * The schema of an event's data: an object whose named properties must have the types given when they
 * are present. Only `required` ones must be present, and other properties are allowed, so that
 * publishers can add fields without a new deployment.
 */
function dataSchema(
  properties: Readonly<Record<string, EventDataSchema>>,
  example: Readonly<Record<string, unknown>>,
  required: readonly string[] = [],
): EventDataSchema {
  return {
    $schema: DRAFT_2020_12,
    type: "object",
    properties,
    ...(required.length > 0 ? { required } : {}),
    examples: [example],
  };
}

const id = { type: "string", minLength: 1, maxLength: 200 } as const;
const text = { type: "string", maxLength: 10_000 } as const;
const names = { type: "array", items: { type: "string", maxLength: 200 } } as const;
const fraction = { type: "number", minimum: 0, maximum: 1 } as const;
const count = { type: "integer", minimum: 0 } as const;
const timestamp = { type: "string", format: "date-time" } as const;

const memory = {
  memory_id: id,
  user_id: id,
  session_id: id,
  content_preview: text,
  memory_type: { type: "string", maxLength: 100 },
  importance: fraction,
  concepts: names,
} as const;

const quota = {
  quota_type: { type: "string", maxLength: 100 },
  current_usage: { type: "number", minimum: 0 },
  quota_limit: { type: "number", minimum: 0 },
  percentage_used: { type: "number", minimum: 0 },
} as const;

const sync = {
  sync_id: id,
  sync_type: { enum: ["full", "incremental"] },
  items_synced: count,
  duration_ms: { type: "number", minimum: 0 },
} as const;

/** The catalogue of the original design, with the payloads its documentation shows; a CDK prop replaces it. */
export const DEFAULT_EVENT_TYPES: readonly EventTypeDefinition[] = [
  {
    name: "memory.created",
    description: "A memory was created.",
    schema: dataSchema(memory, {
      memory_id: "mem_123",
      user_id: "user_123",
      content_preview: "First 100 chars...",
      memory_type: "episodic",
      importance: 0.8,
      concepts: ["AI", "consciousness"],
      session_id: "sess_456",
    }),
  },
  {
    name: "memory.updated",
    description: "A memory was updated.",
    schema: dataSchema(
      { ...memory, changed_fields: names },
      { memory_id: "mem_123", user_id: "user_123", changed_fields: ["importance"], importance: 0.9 },
    ),
  },
  {
    name: "memory.deleted",
    description: "A memory was deleted.",
    schema: dataSchema({ memory_id: id, user_id: id }, { memory_id: "mem_123", user_id: "user_123" }),
  },
  {
    name: "concept.discovered",
    description: "A new concept was discovered.",
    schema: dataSchema(
      {
        concept: { type: "string", maxLength: 500 },
        description: text,
        related_concepts: names,
        confidence: fraction,
      },
      {
        concept: "Quantum Entanglement",
        description: "A quantum phenomenon...",
        related_concepts: ["quantum mechanics", "physics"],
        confidence: 0.95,
      },
    ),
  },
  {
    name: "session.started",
    description: "A session started.",
    schema: dataSchema(
      { session_id: id, user_id: id, started_at: timestamp },
      { session_id: "sess_456", user_id: "user_123", started_at: "2026-11-25T10:00:00Z" },
    ),
  },
  {
    name: "session.ended",
    description: "A session ended.",
    schema: dataSchema(
      { session_id: id, user_id: id, ended_at: timestamp, duration_ms: { type: "number", minimum: 0 } },
      {
        session_id: "sess_456",
        user_id: "user_123",
        ended_at: "2026-11-25T10:30:00Z",
        duration_ms: 1_800_000,
      },
    ),
  },
  {
    name: "sync.completed",
    description: "A synchronisation completed.",
    schema: dataSchema(sync, {
      sync_id: "sync_123",
      items_synced: 150,
      duration_ms: 2500,
      sync_type: "full",
    }),
  },
  {
    name: "sync.failed",
    description: "A synchronisation failed.",
    schema: dataSchema(
      { ...sync, error: text },
      {
        sync_id: "sync_124",
        sync_type: "incremental",
        items_synced: 40,
        error: "the remote store timed out",
      },
    ),
  },
  {
    name: "user.created",
    description: "A user was created.",
    schema: dataSchema(
      { user_id: id, email: { type: "string", maxLength: 320 }, created_at: timestamp },
      { user_id: "user_123", email: "ada@example.com", created_at: "2026-11-25T10:00:00Z" },
    ),
  },
  {
    name: "quota.warning",
    description: "A quota is close to its limit.",
    priority: "high",
    schema: dataSchema(quota, {
      quota_type: "memory_storage",
      current_usage: 8500,
      quota_limit: 10000,
      percentage_used: 85.0,
    }),
  },
  {
    name: "quota.exceeded",
    description: "A quota was exceeded.",
    priority: "high",
    schema: dataSchema(quota, {
      quota_type: "memory_storage",
      current_usage: 10200,
      quota_limit: 10000,
      percentage_used: 102.0,
    }),
  },
];
