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
}

/** The catalogue of the original design; a CDK prop replaces it. */
export const DEFAULT_EVENT_TYPES: readonly EventTypeDefinition[] = [
  { name: "memory.created", description: "A memory was created." },
  { name: "memory.updated", description: "A memory was updated." },
  { name: "memory.deleted", description: "A memory was deleted." },
  { name: "concept.discovered", description: "A new concept was discovered." },
  { name: "session.started", description: "A session started." },
  { name: "session.ended", description: "A session ended." },
  { name: "sync.completed", description: "A synchronisation completed." },
  { name: "sync.failed", description: "A synchronisation failed." },
  { name: "user.created", description: "A user was created." },
  { name: "quota.warning", description: "A quota is close to its limit.", priority: "high" },
  { name: "quota.exceeded", description: "A quota was exceeded.", priority: "high" },
];
