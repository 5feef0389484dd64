/** Small statistics over benchmark samples: percentiles and medians. */

/**
 * The nearest-rank percentile (`q` in 0..1) of `values`, which must be sorted ascending.
 *
 * @example
 * ```ts
 * percentileOfSorted(Float64Array.of(1, 2, 3, 4), 0.5); // 2
 * ```
 */
export function percentileOfSorted(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return Number.NaN;
  const rank = Math.min(values.length, Math.max(1, Math.ceil(q * values.length)));
  return values[rank - 1] ?? Number.NaN;
}

/**
 * p50 and p99 of nanosecond samples, in microseconds.
 *
 * @example
 * ```ts
 * summarize([Float64Array.of(1000, 2000, 3000)]); // { count: 3, p50Us: 2, p99Us: 3, meanUs: 2 }
 * ```
 */
export function summarize(parts: readonly Float64Array[]): {
  count: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
} {
  const count = parts.reduce((total, part) => total + part.length, 0);
  const all = new Float64Array(count);
  let offset = 0;
  let sum = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
    for (const value of part) sum += value;
  }
  all.sort();
  return {
    count,
    p50Us: percentileOfSorted(all, 0.5) / 1000,
    p99Us: percentileOfSorted(all, 0.99) / 1000,
    meanUs: count === 0 ? Number.NaN : sum / count / 1000,
  };
}

/**
 * The median of a list of numbers (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/**
 * Rounds for the report: 3 significant decimals are more than a noisy machine supports.
 *
 * @example
 * ```ts
 * round(1.23456, 2); // 1.23
 * ```
 */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
