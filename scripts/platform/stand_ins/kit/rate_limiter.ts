/**
 * A per-key rate limit as a sliding one-second window, as Resend documents its own
 * (https://resend.com/docs/api-reference/rate-limit): a request is admitted when fewer than
 * `limit` requests were admitted for the same key (an API key, an instance...) during the last
 * 1000 ms. Refused requests do not count, so a client that waits `retry-after` gets through.
 * Every answer past the limiter carries the IETF headers: `ratelimit-limit`,
 * `ratelimit-remaining`, `ratelimit-reset` (seconds until the oldest admitted request leaves the
 * window), plus `retry-after` on a 429.
 */

const WINDOW_MS = 1000;

/** The decision for one request. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until a slot frees up (at least 1). */
  resetSeconds: number;
}

/** Headers describing a decision; `retry-after` only when refused. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    "ratelimit-limit": String(decision.limit),
    "ratelimit-remaining": String(decision.remaining),
    "ratelimit-reset": String(decision.resetSeconds),
  };
  if (!decision.allowed) headers["retry-after"] = String(decision.resetSeconds);
  return headers;
}

/** Sliding-window limiter per key; `now` is the clock (injected by tests). */
export class SlidingWindowLimiter {
  #limit: number;
  #now: () => number;
  #admitted = new Map<string, number[]>();

  constructor(limit: number, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /** Requests admitted per second and key. */
  get limit(): number {
    return this.#limit;
  }

  set limit(value: number) {
    this.#limit = value;
  }

  /** Decides for one request of `key` and counts it when admitted. */
  take(key: string): RateDecision {
    const now = this.#now();
    const times = (this.#admitted.get(key) ?? []).filter((t) => now - t < WINDOW_MS);
    const allowed = times.length < this.#limit;
    if (allowed) times.push(now);
    this.#admitted.set(key, times);
    const resetSeconds = Math.max(1, Math.ceil((times[0] + WINDOW_MS - now) / 1000));
    return {
      allowed,
      limit: this.#limit,
      remaining: Math.max(0, this.#limit - times.length),
      resetSeconds,
    };
  }

  /** Forgets every window. */
  clear(): void {
    this.#admitted.clear();
  }
}
