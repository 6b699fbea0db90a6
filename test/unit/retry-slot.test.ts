import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RetrySlotSchema,
  releaseDelaySeconds,
  retrySlotFor,
  slotStepSeconds,
} from "../../functions/domain/retry-slot.ts";

const at = (iso: string) => new Date(iso);

describe("a webhook's retry slots", () => {
  it("are placed on steps no coarser than a quarter of the wait", () => {
    expect([1, 5, 20, 30, 60, 300, 1800, 7200, 36_000].map(slotStepSeconds)).toEqual([
      1, 1, 5, 5, 15, 60, 300, 900, 3600,
    ]);
  });

  it("put deliveries of one webhook due within one step of each other in the same slot", () => {
    const first = retrySlotFor("t1", "wh_1", at("2026-12-02T10:00:41.200Z"), 300);
    const second = retrySlotFor("t1", "wh_1", at("2026-12-02T10:00:59.900Z"), 300);
    expect(first).toEqual({ tenantId: "t1", webhookId: "wh_1", at: "2026-12-02T10:01:00.000Z" });
    expect(second).toEqual(first);
    expect(retrySlotFor("t1", "wh_1", at("2026-12-02T10:01:00.001Z"), 300).at).toBe(
      "2026-12-02T10:02:00.000Z",
    );
  });

  it("keep a time already on a step", () => {
    expect(retrySlotFor("t1", "wh_1", at("2026-12-02T10:00:05.000Z"), 5).at).toBe("2026-12-02T10:00:05.000Z");
  });

  it("never come before the schedule's time, nor later than one step after it (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse("2026-01-01"), max: Date.parse("2030-01-01") }),
        fc.integer({ min: 1, max: 86_400 }),
        (dueMs, waitSeconds) => {
          const slot = retrySlotFor("t1", "wh_1", new Date(dueMs), waitSeconds);
          const lateMs = Date.parse(slot.at) - dueMs;
          expect(lateMs).toBeGreaterThanOrEqual(0);
          expect(lateMs).toBeLessThan(slotStepSeconds(waitSeconds) * 1000);
          expect(slotStepSeconds(waitSeconds)).toBeLessThanOrEqual(Math.max(1, waitSeconds / 4));
          expect(RetrySlotSchema.parse(slot)).toEqual(slot);
        },
      ),
    );
  });

  it("are released as many deliveries a second as the webhook takes in flight, within SQS's 15 minutes", () => {
    expect([0, 9, 10, 19, 20].map((position) => releaseDelaySeconds(position, 10))).toEqual([0, 0, 1, 1, 2]);
    expect(releaseDelaySeconds(1_000_000, 10)).toBe(900);
    expect(releaseDelaySeconds(500, Number.POSITIVE_INFINITY)).toBe(0);
  });
});
