/**
 * Summaries of repeated runs: loss is random, so one run per setting says
 * little. The median, with the range it came from.
 *
 * @module
 */

/** Median, minimum and maximum of a set of numbers. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/**
 * @example
 * ```ts
 * import { spread } from "./stats.ts";
 * spread([3, 1, 2]); // { median: 2, min: 1, max: 3 }
 * ```
 */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1)! };
}
