import { describe, expect, it } from "vitest";
import { LogRing } from "../../local/logs.ts";

const line = (text: string) => ({
  functionLogicalId: "Delivery",
  functionName: "hookline-delivery",
  stream: "stdout" as const,
  line: text,
});

function ringWith(capacity: number, count: number): LogRing {
  const ring = new LogRing(capacity, () => new Date("2026-01-01T00:00:00Z"));
  for (let n = 1; n <= count; n += 1) ring.observe(line(`line ${n}`));
  return ring;
}

describe("the local log ring", () => {
  it("numbers lines from 1 and pages them after a cursor, oldest first", () => {
    const ring = ringWith(10, 5);
    const page = ring.page(2, 2);
    expect(page.lines.map((l) => [l.seq, l.line])).toEqual([
      [3, "line 3"],
      [4, "line 4"],
    ]);
    expect(page).toMatchObject({ next: 4, dropped: 0 });
    expect(page.lines[0]).toMatchObject({ function_logical_id: "Delivery", at: "2026-01-01T00:00:00.000Z" });
    expect(ring.page(4).lines.map((l) => l.seq)).toEqual([5]);
  });

  it("without a cursor answers only where the newest line is, so a reader starts from now", () => {
    expect(ringWith(10, 5).page(undefined)).toEqual({ lines: [], next: 5, dropped: 0 });
  });

  it("keeps only the newest lines and says how many a slow reader missed", () => {
    const ring = ringWith(3, 8);
    const page = ring.page(2);
    expect(page.lines.map((l) => l.line)).toEqual(["line 6", "line 7", "line 8"]);
    expect(page).toMatchObject({ next: 8, dropped: 3 });
    expect(ring.page(8)).toEqual({ lines: [], next: 8, dropped: 0 });
  });

  it("restarts a cursor from beyond the newest line (a stack restarted under the reader)", () => {
    expect(ringWith(10, 2).page(500)).toEqual({ lines: [], next: 2, dropped: 0 });
  });

  it("reads after and limit from the query, capping the page", () => {
    const ring = ringWith(2000, 1500);
    expect(ring.serve(new URLSearchParams("after=0")).lines).toHaveLength(1000);
    expect(ring.serve(new URLSearchParams("after=1490&limit=3")).next).toBe(1493);
    expect(ring.serve(new URLSearchParams("after=nonsense")).next).toBe(1500);
  });
});
