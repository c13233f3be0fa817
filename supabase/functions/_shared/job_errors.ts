/**
 * How a job handler says why it failed. The job runner turns these into the job core's
 * outcomes: retry with backoff (the default for any error), retry after a given delay, or
 * give up at once (the job goes to `dead`).
 */

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
 * Classifies a provider's HTTP failure the way the job core expects: 408, 429 and 5xx are
 * retryable (429 and 503 honour `retry-after`), other 4xx are permanent.
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
  if (status === 408 || status === 429 || status >= 500) {
    return new RetryLaterError(message, retryAfterSeconds(headers.get("retry-after")));
  }
  return new PermanentJobError(message);
}

/**
 * Classifies a failed call of a SQL function (supabase-js `.rpc()`): `no_data_found` (P0002, the
 * row is gone) and `invalid_parameter_value` (22023) are permanent, since no retry changes
 * them; anything else (a connection, a deadlock) retries.
 *
 * @example
 * if (error) throw rpcFailure(`Recording probe 3 failed: ${error.message}`, error.code);
 */
export function rpcFailure(message: string, code: string | undefined): Error {
  return code === "P0002" || code === "22023" ? new PermanentJobError(message) : new Error(message);
}
