/** Small statistics helpers for benchmark scripts. */

/** The p-th percentile (0–100) of a list of numbers, by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50/p95/p99/max of a list, rounded to 0.1. */
export function latencySummary(values: number[]) {
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    p99: round(percentile(values, 99)),
    max: round(Math.max(...values)),
  };
}

/** Milliseconds since the epoch with sub-millisecond precision. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Runs `fn` and returns how many items per second it processed. */
export async function throughput(items: number, fn: () => Promise<unknown>) {
  const started = performance.now();
  await fn();
  const seconds = (performance.now() - started) / 1000;
  return {
    items,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round(items / seconds),
  };
}
