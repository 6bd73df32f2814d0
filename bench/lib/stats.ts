/**
 * The statistics every table shows: a metric's median over rounds, with its
 * min and max so the spread is visible, and percentiles of one round's
 * request latencies.
 */

/** One metric over the rounds of a run. The samples are kept so results.json can be re-read later. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: [...samples] };
}

/** Nearest-rank percentile (`p` in 0..100) of values already sorted ascending. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The `p` percentile of every value of several sorted runs together (a merge, not a mean of percentiles). */
export function pooledPercentile(runs: readonly Float64Array[], p: number): number {
  let length = 0;
  for (const run of runs) length += run.length;
  const all = new Float64Array(length);
  let at = 0;
  for (const run of runs) {
    all.set(run, at);
    at += run.length;
  }
  return percentile(all.sort(), p);
}

/** A 95% interval. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * A 95% bootstrap interval for the ratio of two pooled percentiles, `a`'s over `b`'s: rounds (not
 * requests) are resampled with replacement, since one pause of the process moves a whole round's
 * tail together. `random` is seeded by the caller, so a run can be repeated exactly.
 */
export function pooledRatioInterval(a: readonly Float64Array[], b: readonly Float64Array[], p: number, random: () => number, resamples = 400): Interval {
  const draw = (runs: readonly Float64Array[]) => Array.from(runs, () => runs[Math.floor(random() * runs.length)]!);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) ratios.push(pooledPercentile(draw(a), p) / pooledPercentile(draw(b), p));
  ratios.sort((x, y) => x - y);
  return { low: percentile(ratios, 2.5), high: percentile(ratios, 97.5) };
}
