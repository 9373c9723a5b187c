/**
 * The `p`-th percentile (0 to 100) of values sorted ascending, by nearest rank: the smallest value
 * with at least p% of the values at or below it (p 0 is the minimum, p 100 the maximum). NaN when
 * there are no values or p is not a number.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
  const n = sortedAscending.length;
  if (n === 0 || Number.isNaN(p)) return NaN;
  const clamped = Math.min(100, Math.max(0, p));
  // p * n first: (99.9 / 100) * 1000 is 999.0000000000001, whose ceiling would be one rank too far
  const rank = Math.ceil((clamped * n) / 100 - 1e-9);
  return sortedAscending[Math.min(n - 1, Math.max(0, rank - 1))] as number;
}

/**
 * Median (nearest rank, the 50th percentile: for an even count the lower middle value, always one of
 * the values), minimum, maximum and count of values in any order. NaN (and n 0) when there are none.
 */
export function summarize(values: readonly number[]): { median: number; min: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: percentile(sorted, 50),
    min: sorted.length ? (sorted[0] as number) : NaN,
    max: sorted.length ? (sorted[sorted.length - 1] as number) : NaN,
    n: sorted.length,
  };
}
