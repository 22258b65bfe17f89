/** Percentiles and the shared result format of bench/results.json. */
export interface BenchResult {
  name: string;
  unit: string;
  n: number;
  p50: number;
  p95: number;
  baseline: string;
  baseline_p50: number;
  /** p50 / baseline_p50 (lower is better for times and memory; for throughput see `unit`). */
  ratio: number;
  /** Reported by the load benches (bench/load.ts), where the tail is the point. */
  p99?: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function result(name: string, unit: string, values: number[], baseline: string, baselineValues: number[]): BenchResult {
  const p50 = percentile(values, 50);
  const b50 = percentile(baselineValues, 50);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { name, unit, n: values.length, p50: round(p50), p95: round(percentile(values, 95)), baseline, baseline_p50: round(b50), ratio: round(p50 / b50) };
}

/** The same result with its p99 (the load benches report the tail). */
export function withP99(r: BenchResult, values: number[]): BenchResult {
  return { ...r, p99: Math.round(percentile(values, 99) * 100) / 100 };
}
