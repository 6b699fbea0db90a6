import { AWS_REQUESTS_NAMESPACE, EnvVar } from "../shared/names.ts";

/** The part of an AWS SDK v3 client this module needs: its middleware stack. */
interface WithMiddleware {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

interface ConsumedCapacity {
  readonly CapacityUnits?: number;
}

const enabled = process.env[EnvVar.countAwsRequests] === "true";

/**
 * Counts the client's requests, for the benchmark only (`HOOKLINE_COUNT_AWS_REQUESTS=true`, which only
 * the local runtime sets, under `npm run bench`): each request prints one EMF line (namespace
 * `Hookline/AwsRequests`, dimensions service and operation) that the local runtime's metrics collector
 * sums, with each request's duration as the client saw it. DynamoDB requests also ask for `ReturnConsumedCapacity: TOTAL`, so the line carries the read and
 * write units (by the operation) that on-demand billing would charge. Without the variable the client is returned untouched.
 */
export function counted<Client extends WithMiddleware>(client: Client, service: string): Client {
  if (!enabled) return client;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      if (service === "DynamoDB" && !("ReturnConsumedCapacity" in args.input)) {
        args.input.ReturnConsumedCapacity = "TOTAL";
      }
      const started = performance.now();
      const result = await next(args);
      const durationMs = performance.now() - started;
      process.stdout.write(
        `${JSON.stringify({
          _aws: {
            Timestamp: Date.now(),
            CloudWatchMetrics: [
              {
                Namespace: AWS_REQUESTS_NAMESPACE,
                Dimensions: [["Service", "Operation"]],
                Metrics: [
                  { Name: "Requests", Unit: "Count" },
                  { Name: "CapacityUnits", Unit: "Count" },
                  { Name: "DurationMs", Unit: "Milliseconds" },
                ],
              },
            ],
          },
          Service: service,
          Operation: operation,
          Requests: 1,
          CapacityUnits: capacityUnits(result.output),
          DurationMs: Math.round(durationMs * 10) / 10,
        })}\n`,
      );
      return result;
    },
    { step: "initialize", name: "hooklineRequestCounter" },
  );
  return client;
}

/** The capacity units of a DynamoDB answer's `ConsumedCapacity` (one object, or one per table); 0 for others. */
export function capacityUnits(output: unknown): number {
  const consumed = (output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] } | undefined)
    ?.ConsumedCapacity;
  const entries = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  return entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
}
