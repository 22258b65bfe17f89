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
