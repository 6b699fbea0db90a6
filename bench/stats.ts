/** Small statistics for the benchmark. Pure. */

/**
 * The p-th percentile (0 < p ≤ 100) of `values` by the nearest-rank method: the smallest value with at
 * least p % of the values at or below it. Throws on an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("percentile of an empty list");
  if (!(p > 0 && p <= 100)) throw new RangeError("p must be in (0, 100]");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}
