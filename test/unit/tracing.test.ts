import { afterEach, describe, expect, it, vi } from "vitest";

/**
 * The tracing adapter decides at import time (the bundler fixes `HOOKLINE_TRACING`), so each test
 * imports a fresh copy with the variable set, and records what Powertools was asked to capture.
 */
async function importTracing(tracing: "true" | "false") {
  vi.resetModules();
  vi.stubEnv("HOOKLINE_TRACING", tracing);
  const tracerOptions: unknown[] = [];
  const handlerOptions: unknown[] = [];
  vi.doMock("@aws-lambda-powertools/tracer", async (importOriginal) => {
    const actual = await importOriginal<typeof import("@aws-lambda-powertools/tracer")>();
    class RecordingTracer extends actual.Tracer {
      constructor(options?: ConstructorParameters<typeof actual.Tracer>[0]) {
        tracerOptions.push(options);
        super(options);
      }
    }
    return { ...actual, Tracer: RecordingTracer };
  });
  vi.doMock("@aws-lambda-powertools/tracer/middleware", async (importOriginal) => {
    const actual = await importOriginal<typeof import("@aws-lambda-powertools/tracer/middleware")>();
    return {
      ...actual,
      captureLambdaHandler: (...args: Parameters<typeof actual.captureLambdaHandler>) => {
        handlerOptions.push(args[1]);
        return actual.captureLambdaHandler(...args);
      },
    };
  });
  const adapter = await import("../../functions/adapters/tracing.ts");
  return { adapter, tracerOptions, handlerOptions };
}

afterEach(() => {
  vi.doUnmock("@aws-lambda-powertools/tracer");
  vi.doUnmock("@aws-lambda-powertools/tracer/middleware");
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe("tracing adapter", () => {
  it("with tracing on, records neither handler responses (secrets) nor outbound requests (webhook URLs)", async () => {
    const { adapter, tracerOptions, handlerOptions } = await importTracing("true");
    expect(adapter.traceHandler()).toHaveLength(1);
    expect(tracerOptions).toEqual([expect.objectContaining({ captureHTTPsRequests: false })]);
    expect(handlerOptions).toEqual([expect.objectContaining({ captureResponse: false })]);
  });

  it("with tracing off, loads no tracer and adds no middleware", async () => {
    const { adapter, tracerOptions } = await importTracing("false");
    expect(adapter.traceHandler()).toEqual([]);
    const client = { send: () => undefined };
    expect(adapter.traced(client)).toBe(client);
    expect(tracerOptions).toEqual([]);
  });
});
