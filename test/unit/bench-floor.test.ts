import { describe, expect, it } from "vitest";
import { costPerMillion } from "../../bench/cost.ts";
import { firstTryFloor } from "../../bench/floor.ts";
import { PRICES } from "../../bench/prices.ts";

describe("firstTryFloor", () => {
  it("puts the whole event's work on its one delivery at one webhook per event", () => {
    // Act
    const floor = firstTryFloor(1);
    // Assess: token, event and its index entry; then the record, the in-flight claim and its release
    expect(floor.dynamodbWriteUnits).toBe(6);
    expect(floor.dynamodbReadUnits).toBe(1);
    expect(floor.sqsRequests).toBeCloseTo(1.2, 10);
    expect(floor.lambdaInvocations).toBeCloseTo(1.1, 10);
    expect(floor.httpApiRequests).toBe(1);
  });

  it("shares the event's work among its deliveries", () => {
    const floor = firstTryFloor(10);
    expect(floor.dynamodbWriteUnits).toBeCloseTo(3.3, 10);
    expect(floor.dynamodbReadUnits).toBeCloseTo(0.1, 10);
    expect(floor.sqsRequests).toBeCloseTo(0.3, 10);
    expect(floor.httpApiRequests).toBeCloseTo(0.1, 10);
  });

  it("needs one more message batch past every ten webhooks", () => {
    expect(firstTryFloor(11).sqsRequests).toBeCloseTo(2 / 11 + 0.2, 10);
  });

  it("is above issue 14's first-try budgets at the list prices, at one and at ten webhooks per event", () => {
    // Worked by hand: $1 publish + $0.22 Lambda + $0.48 SQS + $3.75 writes + $0.125 reads = $5.575;
    // $0.10 + $0.04 + $0.12 + $2.0625 + $0.0125 = $2.335.
    expect(costPerMillion(firstTryFloor(1), PRICES).total).toBeCloseTo(5.575, 6);
    expect(costPerMillion(firstTryFloor(10), PRICES).total).toBeCloseTo(2.335, 6);
  });

  it("refuses a fan-out that is not a whole number of webhooks", () => {
    expect(() => firstTryFloor(0)).toThrow(RangeError);
    expect(() => firstTryFloor(1.5)).toThrow(RangeError);
  });
});
