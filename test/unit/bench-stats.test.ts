import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { median, percentile } from "../../bench/stats.ts";

describe("percentile (nearest rank)", () => {
  it("picks the nearest-rank value", () => {
    const values = [15, 20, 35, 40, 50];
    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
  });

  it("does not depend on the order of the values, nor change them", () => {
    const values = [50, 15, 40, 20, 35];
    expect(percentile(values, 50)).toBe(35);
    expect(values).toEqual([50, 15, 40, 20, 35]);
  });

  it("p99 of 1..100 is 99, p90 is 90, the median is 50", () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 90)).toBe(90);
    expect(median(values)).toBe(50);
  });

  it("always returns one of the values, and grows with p", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (values, p, q) => {
          expect(values).toContain(percentile(values, p));
          const [low, high] = p <= q ? [p, q] : [q, p];
          expect(percentile(values, low)).toBeLessThanOrEqual(percentile(values, high));
        },
      ),
    );
  });

  it("refuses an empty list and a p outside (0, 100]", () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});
