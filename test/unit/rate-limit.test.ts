import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reserveSlot, slotIntervalMs } from "../../functions/domain/rate-limit.ts";

/** Reserves a slot for each request time in turn, as the conditional writes serialise them. */
function schedule(requestTimes: readonly number[], rate: number): number[] {
  let nextSlotAt: number | undefined;
  return requestTimes.map((now) => {
    const reservation = reserveSlot(nextSlotAt, now, rate);
    nextSlotAt = reservation.nextSlotAt;
    return reservation.sendAt;
  });
}

describe("rate limit slots", () => {
  it("sends at once when the webhook has been quiet", () => {
    expect(reserveSlot(undefined, 1_000, 20)).toEqual({
      sendAt: 1_000,
      nextSlotAt: 1_000 + slotIntervalMs(20),
    });
    expect(reserveSlot(500, 1_000, 20).sendAt).toBe(1_000);
  });

  it("turns a burst into an evenly spaced queue, in order, a little under the limit", () => {
    const sends = schedule(Array(200).fill(0), 20);
    expect(sends[0]).toBe(0);
    expect(sends[199]).toBeCloseTo(199 * 60, 5);
    expect([...sends].sort((a, b) => a - b)).toEqual(sends);
  });

  it("never lets more than `rate` requests start in any one-second window, whatever the arrivals", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 300 }),
        (rate, arrivals) => {
          const sends = schedule(
            [...arrivals].sort((a, b) => a - b),
            rate,
          );
          for (let i = 0; i < sends.length; i += 1) {
            const windowEnd = (sends[i] ?? 0) + 1000;
            const inWindow = sends.filter((t) => t >= (sends[i] ?? 0) && t < windowEnd).length;
            expect(inWindow).toBeLessThanOrEqual(rate);
          }
          // Nobody waits for nothing: a request waits only behind the ones reserved before it.
          sends.forEach((sendAt, i) => {
            expect(sendAt).toBeGreaterThanOrEqual([...arrivals].sort((a, b) => a - b)[i] ?? 0);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a rate that is not positive", () => {
    expect(() => slotIntervalMs(0)).toThrow(RangeError);
  });
});
