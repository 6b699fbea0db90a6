import { describe, expect, it } from "vitest";
import { costPerMillion, mixedCostPerMillion, type WorkPerDelivery } from "../../bench/cost.ts";
import type { Prices } from "../../bench/prices.ts";

// Round prices, so that every expected figure can be worked out by hand.
const prices: Prices = {
  lambdaArmPerGbSecond: 0.00001,
  lambdaPerRequest: 0.2 / 1e6,
  sqsPerRequest: 0.4 / 1e6,
  dynamodbPerWriteUnit: 1 / 1e6,
  dynamodbPerReadUnit: 0.25 / 1e6,
  stepFunctionsPerTransition: 0.025 / 1e3,
  httpApiPerRequest: 1 / 1e6,
  eventBridgePerEvent: 1 / 1e6,
  logsIngestionPerGb: 0.5,
};

const nothing: WorkPerDelivery = {
  dynamodbWriteUnits: 0,
  dynamodbReadUnits: 0,
  sqsRequests: 0,
  stateTransitions: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  httpApiRequests: 0,
  eventBridgeEvents: 0,
  logBytes: 0,
};

describe("costPerMillion", () => {
  it("costs nothing for no work", () => {
    expect(costPerMillion(nothing, prices).total).toBe(0);
  });

  it("prices each service's work per million deliveries", () => {
    // Prepare
    const work: WorkPerDelivery = {
      dynamodbWriteUnits: 2,
      dynamodbReadUnits: 4,
      sqsRequests: 0.5,
      stateTransitions: 0,
      lambdaInvocations: 1.5,
      lambdaGbSeconds: 0.1,
      httpApiRequests: 1,
      eventBridgeEvents: 0,
      logBytes: 1024 ** 3 / 1e6, // a GB per million deliveries
    };
    // Act
    const cost = costPerMillion(work, prices);
    // Assess
    expect(cost.dynamodb).toBeCloseTo(2 * 1 + 4 * 0.25, 10);
    expect(cost.sqs).toBeCloseTo(0.2, 10);
    expect(cost.lambda).toBeCloseTo(1.5 * 0.2 + 0.1 * 1e6 * 0.00001, 10);
    expect(cost.httpApi).toBeCloseTo(1, 10);
    expect(cost.logs).toBeCloseTo(0.5, 10);
    expect(cost.stepFunctions).toBe(0);
    expect(cost.total).toBeCloseTo(3 + 0.2 + 1.3 + 1 + 0.5, 10);
  });

  it("charges $25 a million deliveries per state transition", () => {
    expect(costPerMillion({ ...nothing, stateTransitions: 18 }, prices).stepFunctions).toBeCloseTo(450, 10);
  });
});

describe("mixedCostPerMillion", () => {
  it("weights the failed deliveries' cost by their share", () => {
    const firstTry = { ...nothing, httpApiRequests: 1 }; // $1 a million
    const failed = { ...nothing, stateTransitions: 16 }; // $400 a million
    expect(mixedCostPerMillion(firstTry, failed, 0.02, prices)).toBeCloseTo(0.98 * 1 + 0.02 * 400, 10);
    expect(mixedCostPerMillion(firstTry, failed, 0, prices)).toBeCloseTo(1, 10);
  });

  it("refuses a share outside 0..1", () => {
    expect(() => mixedCostPerMillion(nothing, nothing, 1.5, prices)).toThrow(RangeError);
  });
});
