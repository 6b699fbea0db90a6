import type { MiddlewareObj } from "@middy/core";
import { SERVICE_NAME } from "../shared/names.ts";

/**
 * Powertools Tracer, only in functions deployed with the `tracing` prop. The bundler replaces
 * `process.env.HOOKLINE_TRACING` with a constant, so a function built without tracing carries none of
 * the X-Ray SDK (about 130 KB): the branch that imports it is removed at build time.
 */
const tracing =
  process.env.HOOKLINE_TRACING === "true"
    ? await (async () => {
        const { Tracer } = await import("@aws-lambda-powertools/tracer");
        const { captureLambdaHandler } = await import("@aws-lambda-powertools/tracer/middleware");
        // Neither a handler's response (webhook secrets on create and rotate, custom header values) nor
        // an outbound request (webhook URLs carry tokens in their paths) may land in X-Ray; the AWS
        // calls traced by `traced` name only services and operations.
        const tracer = new Tracer({ serviceName: SERVICE_NAME, captureHTTPsRequests: false });
        return { tracer, middleware: captureLambdaHandler(tracer, { captureResponse: false }) };
      })()
    : undefined;

/**
 * Traces the handler (a segment per invocation, cold starts and errors annotated) when tracing is on;
 * a list, so that without tracing there is nothing to add.
 */
export function traceHandler(): MiddlewareObj[] {
  return tracing ? [tracing.middleware] : [];
}

/** Records the client's AWS calls as subsegments when tracing is on; otherwise returns it as it is. */
export function traced<Client>(client: Client): Client {
  return tracing ? tracing.tracer.captureAWSv3Client(client) : client;
}
