/**
 * How a job handler says why it failed. The job runner turns these into the job core's
 * outcomes: retry with backoff (the default for any error), retry after a given delay, wait
 * for a provider that throttles us (without using up an attempt), or give up at once (the job
 * goes to `dead`). A failed SQL call (`RpcError`, see `../runtime/rpc.ts`) is permanent or
 * retryable as it was classified there.
 */
import { RpcError } from "../runtime/rpc.ts";

/** A failure that no retry can fix (a 4xx validation error, a missing row). */
export class PermanentJobError extends Error {
  override name = "PermanentJobError";
}

/** A failure worth retrying after a known delay (a provider's `retry-after`). */
export class RetryLaterError extends Error {
  override name = "RetryLaterError";
  constructor(message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

/**
 * The provider asked us to wait (HTTP 429): not a failure of the job. The runner reports it as
 * `throttled`, which does not use up an attempt, and retries after `retryAfterSeconds`.
 */
export class ThrottledError extends RetryLaterError {
  override name = "ThrottledError";
}

/** True when the error means the job can never succeed. */
export function isPermanentFailure(error: unknown): boolean {
  return error instanceof PermanentJobError || (error instanceof RpcError && error.permanent);
}

/**
 * Reads a `retry-after` header (seconds or an HTTP date) as seconds, or `undefined`.
 * @param now clock for tests
 */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/**
 * Classifies a provider's HTTP failure the way the job core expects: 429 is throttling
 * (`ThrottledError`), 408 and 5xx are retryable (503 honours `retry-after`), other 4xx are
 * permanent.
 *
 * @example
 * if (!res.ok) throw httpFailure("Resend POST /emails", res.status, res.headers, await res.text());
 */
export function httpFailure(
  what: string,
  status: number,
  headers: Headers,
  body: string,
): PermanentJobError | RetryLaterError {
  const message = `${what} answered ${status}: ${body.slice(0, 500)}`;
  const after = retryAfterSeconds(headers.get("retry-after"));
  if (status === 429) return new ThrottledError(message, after);
  if (status === 408 || status >= 500) return new RetryLaterError(message, after);
  return new PermanentJobError(message);
}
