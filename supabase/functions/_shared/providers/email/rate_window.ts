/**
 * The pace of requests to Resend: a sliding window of requests per second, as Resend counts
 * them, under the configured limit or the one Resend announces, whichever is lower.
 *
 * Resend counts a request when it arrives, some time between our sending it and its answer
 * coming back; so a request holds its slot until one second after its answer, which keeps us
 * under the limit whatever the delays. Requests go one at a time, so every earlier one has its
 * answer when the next slot is asked for.
 *
 * Every answer carries `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` (and
 * `retry-after` on a 429): the window adopts the announced limit when it is lower than the
 * configured one, waits `ratelimit-reset` when nothing remains, and `retry-after` after a 429.
 *
 * @example
 * const window = new RateWindow(5);
 * const answered = await window.acquire();
 * const res = await fetch(url); // …
 * answered(res.headers);
 */
import { retryAfterSeconds } from "../../jobs/errors.ts";

const WINDOW_MS = 1000;

/** A header lookup: the SDK gives headers as a lower-case record, fetch as `Headers`. */
export type HeaderSource = Record<string, string> | Headers | null | undefined;

function header(headers: HeaderSource, name: string): string | null {
  if (!headers) return null;
  if (headers instanceof Headers) return headers.get(name);
  return headers[name] ?? null;
}

function nonNegative(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The request pace of one sender. */
export class RateWindow {
  readonly #configured: number;
  #announced: number | undefined;
  #nextSlotAt = 0;
  /** When the answers of the requests of the last second came back. */
  #answeredAt: number[] = [];

  /** @param requestsPerSecond the most this sender allows itself */
  constructor(requestsPerSecond: number) {
    this.#configured = Math.max(1, Math.floor(requestsPerSecond));
  }

  /** Requests per second now allowed: the configured limit, or Resend's when lower. */
  get limit(): number {
    return Math.min(this.#configured, this.#announced ?? Infinity);
  }

  /**
   * Waits for a slot; returns the function to call when the answer is in (with its headers),
   * or the request has given up (without).
   */
  async acquire(): Promise<(headers?: HeaderSource) => void> {
    while (true) {
      const now = Date.now();
      this.#answeredAt = this.#answeredAt.filter((t) => now - t < WINDOW_MS);
      const wait = Math.max(
        this.#nextSlotAt - now,
        this.#answeredAt.length < this.limit ? 0 : this.#answeredAt[0] + WINDOW_MS - now,
      );
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return (headers) => {
      this.#answeredAt.push(Date.now());
      this.observe(headers);
    };
  }

  /** Holds every request back for `seconds` (Resend's `retry-after`). */
  pause(seconds: number) {
    this.#nextSlotAt = Math.max(this.#nextSlotAt, Date.now() + seconds * 1000);
  }

  /** Adopts what an answer's rate limit headers announce. */
  observe(headers: HeaderSource) {
    const limit = nonNegative(header(headers, "ratelimit-limit"));
    if (limit !== undefined && limit >= 1) this.#announced = Math.floor(limit);
    const remaining = nonNegative(header(headers, "ratelimit-remaining"));
    const reset = nonNegative(header(headers, "ratelimit-reset"));
    if (remaining === 0 && reset !== undefined) this.pause(reset);
    const after = retryAfterSeconds(header(headers, "retry-after"));
    if (after !== undefined) this.pause(after);
  }
}
