/**
 * One HTTP attempt of a webhook delivery: a POST of the signed body to the endpoint's URL that
 * never throws, and describes what happened the way `webhook_deliveries_record` stores it — the
 * status (null when there was no answer), an excerpt of the answer (at most 1,024 characters,
 * read from at most a few KB), the error (timeout, connection refused...), the duration, and
 * the `Retry-After` delay in seconds (a number of seconds or an HTTP date).
 *
 * Redirects are not followed (`redirect: "manual"`): a 3xx is the endpoint's answer, and a
 * failure, as Standard Webhooks senders treat it. The timeout covers the whole attempt,
 * headers and body. Connections are reused (fetch keeps them alive), and a body is read to its
 * end when it is small, so that the connection can serve the next delivery.
 *
 * @example
 * const result = await postWebhook(url, headers, body, { timeoutMs: WEBHOOK_TIMEOUT_MS });
 * if (result.status !== null && result.status < 300) console.log("delivered");
 */
import { retryAfterSeconds } from "../../jobs/errors.ts";
import { errorText } from "../../runtime/log.ts";

/** The longest response excerpt kept, in characters. */
export const EXCERPT_CHARS = 1024;

/** Bytes of a response read for the excerpt; the rest is not downloaded. */
const EXCERPT_READ_BYTES = 4096;

/** What one attempt gave. */
export interface HttpAttempt {
  /** The HTTP status, or null when no answer came (timeout, network error). */
  status: number | null;
  /** The start of the answer's body (≤ 1,024 characters), or null without an answer. */
  excerpt: string | null;
  /** Why no answer came (or the body could not be read), or null. */
  error: string | null;
  /** `Retry-After` in seconds, or null when absent or unreadable. */
  retryAfterSeconds: number | null;
  durationMs: number;
}

/** Options of {@link postWebhook}. */
export interface PostOptions {
  /** Time for the whole attempt, in milliseconds. */
  timeoutMs: number;
  /** Aborts the attempt early (the function's time limit). */
  signal?: AbortSignal;
  /** The fetch to use (default: the global one, which keeps connections alive). */
  fetch?: typeof fetch;
}

/** Reads at most `EXCERPT_READ_BYTES` of `res`'s body; cancels the rest. */
async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_READ_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    if (size >= EXCERPT_READ_BYTES) await reader.cancel().catch(() => {});
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const text = new TextDecoder().decode(bytes.subarray(0, EXCERPT_READ_BYTES));
  return text.length > EXCERPT_CHARS ? text.slice(0, EXCERPT_CHARS) : text;
}

/** A short description of why no answer came. */
function failureText(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `Timed out after ${timeoutMs} ms`;
  // Deno's fetch says "fetch failed"; the reason (connection refused, DNS...) is its cause.
  const cause = error instanceof Error && error.cause !== undefined
    ? `: ${errorText(error.cause)}`
    : "";
  const text = errorText(error) + cause;
  return text.length > 500 ? text.slice(0, 500) : text;
}

/**
 * POSTs `body` to `url` with `headers`, within `timeoutMs`; never throws (see the module's
 * description).
 */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: PostOptions,
): Promise<HttpAttempt> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const doFetch = opts.fetch ?? fetch;
  const elapsed = () => Math.round(performance.now() - started);
  let res: Response;
  try {
    res = await doFetch(url, { method: "POST", headers, body, redirect: "manual", signal });
  } catch (error) {
    return {
      status: null,
      excerpt: null,
      error: failureText(error, timeout.aborted, opts.timeoutMs),
      retryAfterSeconds: null,
      durationMs: elapsed(),
    };
  }
  const retryAfter = retryAfterSeconds(res.headers.get("retry-after")) ?? null;
  try {
    const excerpt = await readExcerpt(res);
    return {
      status: res.status,
      excerpt,
      error: null,
      retryAfterSeconds: retryAfter,
      durationMs: elapsed(),
    };
  } catch (error) {
    // The status came in time but the rest of the body did not: the status stands (the
    // endpoint has answered), the error says why there is no excerpt.
    return {
      status: res.status,
      excerpt: null,
      error: `Reading the answer failed: ${failureText(error, timeout.aborted, opts.timeoutMs)}`,
      retryAfterSeconds: retryAfter,
      durationMs: elapsed(),
    };
  }
}
