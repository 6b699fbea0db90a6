/** What `GET /v1/health/details` reports: deployment-wide numbers, nothing about any one tenant. */
export interface HealthFigures {
  /** Messages waiting on the delivery queue. */
  readonly queueDepth: number;
  /** Messages waiting on the priority lane's queue. */
  readonly priorityQueueDepth: number;
  /** Messages on the dead-letter queue, including any being looked at. */
  readonly deadLetterDepth: number;
  /** Webhooks whose circuit is open or half-open (counted up to a cap). */
  readonly openCircuits: number;
}

export type HealthStatus = "ok" | "degraded";

/**
 * `degraded` when something needs a person's attention: a dead letter waits to be redriven, or an
 * endpoint is failing so often that its circuit is open. A long delivery queue alone is not degraded:
 * it is a burst being worked through.
 */
export function healthStatus(figures: HealthFigures): HealthStatus {
  return figures.deadLetterDepth > 0 || figures.openCircuits > 0 ? "degraded" : "ok";
}
