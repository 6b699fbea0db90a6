import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { MiddlewareObj } from "@middy/core";
import { DEFAULT_METRICS_NAMESPACE, EnvVar, SERVICE_NAME } from "../shared/names.ts";

/**
 * The one metrics sink of a function. Powertools adds the `service` dimension and nothing else; the
 * metrics are flushed as one EMF line per invocation by `publishMetrics()`.
 */
export const metrics = new Metrics({
  namespace: process.env[EnvVar.metricsNamespace] ?? DEFAULT_METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
});

/** What the delivery and ingest code need of a metrics sink, so tests can pass their own. */
export type MetricsSink = Pick<Metrics, "addMetric">;

export { MetricUnit };

/**
 * Flushes the invocation's metrics as one EMF line, after the handler and after its errors. Unlike
 * Powertools' `logMetrics`, an invocation that counted nothing prints nothing, not a warning.
 */
export function publishMetrics(): MiddlewareObj {
  const publish = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}
