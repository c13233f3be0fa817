/**
 * The pace of requests to a provider: a sliding window of requests per second, as the provider
 * counts them, under the configured limit or the one the provider announces, whichever is lower.
 * The email sender keeps one for Resend; the WhatsApp sender one per Evolution instance.
 *
 * A provider counts a request when it arrives, some time between our sending it and its answer
 * coming back; so a request holds its slot until one second after its answer, which keeps us
 * under the limit whatever the delays. Requests go one at a time, so every earlier one has its
 * answer when the next slot is asked for.
 *
 * Resend's answers carry `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` (and
 * `retry-after` on a 429): the window adopts the announced limit when it is lower than the
 * configured one, and waits `retry-after` after a 429. When Resend says nothing remains while
 * this window still has room, other senders share the key: it waits `ratelimit-reset`. (When
 * the window is full itself, it already waits for its oldest request to leave, which is sooner
 * than the reset Resend rounds up to whole seconds.)
 *
 * @example
 * const window = new RateWindow(5);
 * const answered = await window.acquire();
 * const res = await fetch(url); // …
 * answered(res.headers);
 */
import { retryAfterSeconds } from "../jobs/errors.ts";

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

  readonly #clock: () => number;

  /**
   * @param requestsPerSecond the most this sender allows itself
   * @param clock milliseconds since the epoch (tests pass a fake one)
   */
  constructor(requestsPerSecond: number, clock: () => number = Date.now) {
    this.#configured = Math.max(1, Math.floor(requestsPerSecond));
    this.#clock = clock;
  }

  /** Requests per second now allowed: the configured limit, or the provider's when lower. */
  get limit(): number {
    return Math.min(this.#configured, this.#announced ?? Infinity);
  }

  /**
   * Waits for a slot; returns the function to call when the answer is in (with its headers),
   * or the request has given up (without).
   */
  async acquire(): Promise<(headers?: HeaderSource) => void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return (headers) => {
      this.#answeredAt.push(this.#clock());
      this.observe(headers);
    };
  }

  /** How long a request asking for a slot now would wait, in milliseconds (0: none). */
  waitMs(now = this.#clock()): number {
    this.#answeredAt = this.#answeredAt.filter((t) => now - t < WINDOW_MS);
    return Math.max(
      0,
      this.#nextSlotAt - now,
      this.#answeredAt.length < this.limit ? 0 : this.#answeredAt[0] + WINDOW_MS - now,
    );
  }

  /** Holds every request back for `seconds` (a provider's `retry-after`). */
  pause(seconds: number) {
    this.#nextSlotAt = Math.max(this.#nextSlotAt, this.#clock() + seconds * 1000);
  }

  /** Adopts what an answer's rate limit headers announce. */
  observe(headers: HeaderSource) {
    const limit = nonNegative(header(headers, "ratelimit-limit"));
    if (limit !== undefined && limit >= 1) this.#announced = Math.floor(limit);
    const remaining = nonNegative(header(headers, "ratelimit-remaining"));
    const reset = nonNegative(header(headers, "ratelimit-reset"));
    const now = this.#clock();
    const ours = this.#answeredAt.filter((t) => now - t < WINDOW_MS).length;
    if (remaining === 0 && reset !== undefined && ours < this.limit) this.pause(reset);
    const after = retryAfterSeconds(header(headers, "retry-after"));
    if (after !== undefined) this.pause(after);
  }
}
