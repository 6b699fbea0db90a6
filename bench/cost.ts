/**
 * The cost model: what a million deliveries cost in AWS charges, from the work the benchmark counted per
 * delivery and the prices in `prices.ts`. Pure: no clock, no I/O.
 */
import type { Prices } from "./prices.ts";

/** The AWS work one delivery caused, as counted by the benchmark (averages, so fractions are normal). */
export interface WorkPerDelivery {
  readonly dynamodbWriteUnits: number;
  readonly dynamodbReadUnits: number;
  /** Requests to SQS: the functions', Step Functions' service integrations' and the event source mappings' pollers'. */
  readonly sqsRequests: number;
  readonly stateTransitions: number;
  readonly lambdaInvocations: number;
  /** Sum over invocations of duration (s) × configured memory (GB). */
  readonly lambdaGbSeconds: number;
  readonly httpApiRequests: number;
  readonly eventBridgeEvents: number;
  readonly logBytes: number;
}

export interface CostBreakdown {
  readonly lambda: number;
  readonly sqs: number;
  readonly dynamodb: number;
  readonly stepFunctions: number;
  readonly httpApi: number;
  readonly eventBridge: number;
  readonly logs: number;
  readonly total: number;
}

const GB = 1024 ** 3;

/** USD per million deliveries that each cause `work`. */
export function costPerMillion(work: WorkPerDelivery, prices: Prices): CostBreakdown {
  const million = 1e6;
  const parts = {
    lambda:
      million *
      (work.lambdaInvocations * prices.lambdaPerRequest + work.lambdaGbSeconds * prices.lambdaArmPerGbSecond),
    sqs: million * work.sqsRequests * prices.sqsPerRequest,
    dynamodb:
      million *
      (work.dynamodbWriteUnits * prices.dynamodbPerWriteUnit +
        work.dynamodbReadUnits * prices.dynamodbPerReadUnit),
    stepFunctions: million * work.stateTransitions * prices.stepFunctionsPerTransition,
    httpApi: million * work.httpApiRequests * prices.httpApiPerRequest,
    eventBridge: million * work.eventBridgeEvents * prices.eventBridgePerEvent,
    logs: million * (work.logBytes / GB) * prices.logsIngestionPerGb,
  };
  const total = Object.values(parts).reduce((sum, value) => sum + value, 0);
  return { ...parts, total };
}

/** USD per million deliveries of which `failedShare` (0..1) cost `failed` each and the rest `firstTry`. */
export function mixedCostPerMillion(
  firstTry: WorkPerDelivery,
  failed: WorkPerDelivery,
  failedShare: number,
  prices: Prices,
): number {
  if (failedShare < 0 || failedShare > 1) throw new RangeError("failedShare must be between 0 and 1");
  return (
    (1 - failedShare) * costPerMillion(firstTry, prices).total +
    failedShare * costPerMillion(failed, prices).total
  );
}
