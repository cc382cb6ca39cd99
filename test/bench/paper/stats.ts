/**
 * Pure numerics for the paper benchmark: percentiles of latency samples, the median/min/max
 * summary every figure is reported as, and the hit/miss mix of a query file.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every run's value, in run order, so a reader can see the noise. */
  runs: number[];
}

/** The median: the lower middle value for an even count, so it is always a measured value. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Median, min, max. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread of no values');
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: [...values] };
}

/** Nearest-rank percentile (p in 0..100) of an ascending array. */
export function percentile(sortedAsc: ArrayLike<number>, p: number): number {
  if (sortedAsc.length === 0) throw new RangeError('percentile of no samples');
  const rank = Math.ceil((p / 100) * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length, Math.max(1, rank)) - 1];
}

export const LATENCY_PERCENTILES = [50, 90, 99, 99.9] as const;

export interface LatencySummary {
  samples: number;
  /** Percentile label ("p50", "p99.9") -> microseconds. */
  us: Record<string, number>;
  /** Up to `points` (latency us, cumulative fraction) pairs for a CDF chart. */
  cdf: Array<[number, number]>;
}

export function summariseLatency(samplesUs: Float64Array, points = 200): LatencySummary {
  const sorted = Float64Array.from(samplesUs).sort();
  const us: Record<string, number> = {};
  for (const p of LATENCY_PERCENTILES) us[`p${p}`] = percentile(sorted, p);
  const cdf: Array<[number, number]> = [];
  // Dense in the tail, where the interesting differences are: fractions spaced evenly in
  // log(1 - F) up to 1 - 1/n.
  const n = sorted.length;
  for (let i = 0; i < points; i++) {
    const tail = Math.pow(10, -(i / (points - 1)) * Math.log10(n));
    const f = 1 - tail;
    const idx = Math.min(n - 1, Math.max(0, Math.ceil(f * n) - 1));
    if (cdf.length === 0 || cdf[cdf.length - 1][0] !== sorted[idx]) cdf.push([sorted[idx], (idx + 1) / n]);
  }
  if (cdf[cdf.length - 1][1] !== 1) cdf.push([sorted[n - 1], 1]);
  return { samples: n, us, cdf };
}

/**
 * Which of `lines` query-file lines are hits for hit ratio h: spread evenly (Bresenham), so any
 * window of the file has close to the requested mix and a generator that stops mid-file still
 * sends the right ratio.
 */
export function hitPattern(h: number, lines: number): boolean[] {
  if (!(h >= 0 && h <= 1)) throw new RangeError(`hit ratio ${h} is not within 0..1`);
  return Array.from({ length: lines }, (_, i) => Math.floor((i + 1) * h) > Math.floor(i * h));
}

/** The ideal throughput with a cache that costs nothing: BIND serves only the misses. */
export function idealBound(bindQps: number, h: number): number {
  return h >= 1 ? Infinity : bindQps / (1 - h);
}
