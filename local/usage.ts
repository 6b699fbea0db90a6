/**
 * What the stack used since it started, as AWS would bill it: per function the invocations, their
 * summed duration, init phases and log bytes; Step Functions state transitions. Served at
 * `GET /_local/usage` for `npm run bench`, which takes differences between two readings. Under the
 * benchmark it also keeps what each DynamoDB request touched and consumed (the `Capacity` of the
 * functions' request-counting lines), handed over and forgotten at each `GET /_local/capacity`.
 */
import type { FunctionUsageEvent, LogLine } from "./lambda-host.ts";

export interface FunctionUsage {
  readonly logicalId: string;
  readonly memoryMb: number;
  invocations: number;
  durationMs: number;
  inits: number;
  initMs: number;
  /** Bytes of log lines (with newlines) CloudWatch Logs would ingest; the benchmark's own counting lines excluded. */
  logBytes: number;
}

export interface UsageSnapshot {
  readonly functions: Record<string, FunctionUsage>;
  readonly stateTransitions: number;
  /** Requests Step Functions' service integrations made, by `Service.Operation`. */
  readonly serviceIntegrationRequests: Record<string, number>;
  /** Requests the SQS event source mappings' pollers made, by `Service.Operation`. */
  readonly eventSourceRequests: Record<string, number>;
}

export class UsageRecorder {
  readonly #functions = new Map<string, FunctionUsage>();
  #stateTransitions = 0;
  readonly #serviceRequests = new Map<string, number>();
  readonly #eventSourceRequests = new Map<string, number>();
  #capacity: unknown[] = [];

  observe(event: FunctionUsageEvent): void {
    const usage = this.#entry(event.function.logicalId, event.function.memoryMb);
    if (event.kind === "init") {
      usage.inits += 1;
      usage.initMs += event.durationMs;
    } else {
      usage.invocations += 1;
      usage.durationMs += event.durationMs;
    }
  }

  observeLog(line: LogLine, memoryMb: number): void {
    if (line.line.includes('"Hookline/AwsRequests"')) {
      if (line.line.includes('"Capacity"')) this.#keepCapacity(line.line);
      return;
    }
    this.#entry(line.functionLogicalId, memoryMb).logBytes += Buffer.byteLength(line.line) + 1;
  }

  /** A state entered (or a retry of one): what Step Functions Standard bills. */
  stateTransition(): void {
    this.#stateTransitions += 1;
  }

  serviceRequest(service: string, operation: string): void {
    const key = `${service}.${operation}`;
    this.#serviceRequests.set(key, (this.#serviceRequests.get(key) ?? 0) + 1);
  }

  eventSourceRequest(service: string, operation: string): void {
    const key = `${service}.${operation}`;
    this.#eventSourceRequests.set(key, (this.#eventSourceRequests.get(key) ?? 0) + 1);
  }

  snapshot(): UsageSnapshot {
    const functions: Record<string, FunctionUsage> = {};
    for (const [id, usage] of this.#functions) functions[id] = { ...usage };
    return {
      functions,
      stateTransitions: this.#stateTransitions,
      serviceIntegrationRequests: Object.fromEntries(this.#serviceRequests),
      eventSourceRequests: Object.fromEntries(this.#eventSourceRequests),
    };
  }

  /** The DynamoDB requests' capacity facts since the previous call, oldest first. */
  takeCapacity(): unknown[] {
    const taken = this.#capacity;
    this.#capacity = [];
    return taken;
  }

  #keepCapacity(line: string): void {
    try {
      const { Capacity } = JSON.parse(line) as { Capacity?: unknown };
      if (Capacity !== undefined) this.#capacity.push(Capacity);
    } catch {
      // A line cut short by a crashing function: its counts are lost with it.
    }
  }

  #entry(logicalId: string, memoryMb: number): FunctionUsage {
    let usage = this.#functions.get(logicalId);
    if (usage === undefined) {
      usage = { logicalId, memoryMb, invocations: 0, durationMs: 0, inits: 0, initMs: 0, logBytes: 0 };
      this.#functions.set(logicalId, usage);
    }
    return usage;
  }
}
