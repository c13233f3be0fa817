/**
 * Awaiting a condition in tests without fixed sleeps: probe until it holds, with a deadline.
 */

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Deadline in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Pause between probes in milliseconds (default 20). */
  intervalMs?: number;
  /** What is awaited, for the error message (e.g. "the response of request 3"). */
  what?: string;
}

/**
 * Calls `probe` until it returns a value other than `undefined`, `null` or `false`, and returns
 * that value. Throws when the deadline passes first, naming `what` and the last probe error.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20, what = "the condition" } = opts;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const left = deadline - performance.now();
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}
