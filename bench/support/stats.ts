/** Quantile of a sample (nearest rank), in the sample's unit. */
export function quantile(sample: number[], q: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export const median = (sample: number[]) => quantile(sample, 0.5);
export const p99 = (sample: number[]) => quantile(sample, 0.99);

/** Milliseconds since `start` (from process.hrtime.bigint()). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** True when the suite runs with tiny counts (CI smoke). */
export const SMOKE = process.env.BENCH_SMOKE === '1';

/** `full` normally, `smoke` under BENCH_SMOKE=1. */
export function count(full: number, smoke: number): number {
  return SMOKE ? smoke : full;
}
