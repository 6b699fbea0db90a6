/**
 * CloudWatch's side of the embedded metric format, locally: functions print EMF lines (Powertools
 * Metrics does), CloudWatch Logs would turn them into metrics; here they are summed per namespace,
 * metric name and dimension values, and served at `GET /_local/metrics`.
 */
import type { LogLine } from "./lambda-host.ts";

interface MetricDirective {
  readonly Namespace: string;
  readonly Dimensions: readonly (readonly string[])[];
  readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
}

/** One metric's aggregate since the stack started, as CloudWatch's statistics would show it. */
export interface MetricAggregate {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly sum: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  /** The latest value: what a gauge reads now. */
  readonly last: number;
}

interface Accumulator {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  sum: number;
  count: number;
  min: number;
  max: number;
  last: number;
}

export class EmfCollector {
  readonly #metrics = new Map<string, Accumulator>();

  /** Takes any function output line; lines that are not EMF documents are ignored. */
  observe(entry: LogLine): void {
    const line = entry.line.trim();
    if (!line.startsWith("{") || !line.includes('"CloudWatchMetrics"')) return;
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const directives = (document._aws as { CloudWatchMetrics?: MetricDirective[] } | undefined)
      ?.CloudWatchMetrics;
    if (!Array.isArray(directives)) return;
    for (const directive of directives) {
      // A directive may list several dimension sets; each is a metric series of its own.
      for (const dimensionSet of directive.Dimensions.length > 0 ? directive.Dimensions : [[]]) {
        const dimensions = Object.fromEntries(dimensionSet.map((key) => [key, String(document[key] ?? "")]));
        for (const metric of directive.Metrics) {
          const raw = document[metric.Name];
          const values = (Array.isArray(raw) ? raw : [raw]).filter(
            (value): value is number => typeof value === "number" && Number.isFinite(value),
          );
          if (values.length > 0) this.#add(directive.Namespace, metric, dimensions, values);
        }
      }
    }
  }

  snapshot(): { metrics: MetricAggregate[] } {
    const metrics = [...this.#metrics.values()].map((metric) => ({ ...metric }));
    metrics.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    return { metrics };
  }

  #add(
    namespace: string,
    metric: { readonly Name: string; readonly Unit?: string },
    dimensions: Record<string, string>,
    values: readonly number[],
  ): void {
    const key = JSON.stringify([namespace, metric.Name, Object.entries(dimensions).sort()]);
    const current = this.#metrics.get(key) ?? {
      namespace,
      name: metric.Name,
      unit: metric.Unit ?? "None",
      dimensions,
      sum: 0,
      count: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
      last: 0,
    };
    for (const value of values) {
      current.sum += value;
      current.count += 1;
      current.min = Math.min(current.min, value);
      current.max = Math.max(current.max, value);
      current.last = value;
    }
    this.#metrics.set(key, current);
  }
}
