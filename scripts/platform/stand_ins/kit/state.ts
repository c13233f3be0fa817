/**
 * What the parts of one stand-in share: its items, idempotency keys, rate limiter, faults,
 * counters and clock. The kit builds it at start (server.ts); the stand-in's routes receive it.
 */
import type { FaultInjector } from "./faults.ts";
import type { IdempotencyCache } from "./idempotency.ts";
import type { ItemStore, StoredItem } from "./item_store.ts";
import type { SlidingWindowLimiter } from "./rate_limiter.ts";

/** Counters of calls to the provider's API (not the control API or the pages). */
export interface Counters {
  /** Every call to a path of the provider's API. */
  requests_received: number;
  /** Calls answered 2xx. */
  requests_accepted: number;
  /** Calls answered 4xx other than the rate limit's 429 (auth, validation, idempotency...). */
  requests_rejected: number;
  /** Calls refused by the rate limit. */
  requests_rate_limited: number;
  /** Calls a fault rule applied to (status, hang or delay). */
  requests_faulted: number;
  /** Calls not answered yet (hanging ones included). */
  requests_in_flight: number;
}

/** A fresh set of counters at zero. */
export function zeroCounters(): Counters {
  return {
    requests_received: 0,
    requests_accepted: 0,
    requests_rejected: 0,
    requests_rate_limited: 0,
    requests_faulted: 0,
    requests_in_flight: 0,
  };
}

/** The shared state of one stand-in. */
export interface StandInState<Item extends StoredItem> {
  store: ItemStore<Item>;
  idempotency: IdempotencyCache;
  limiter: SlidingWindowLimiter;
  faults: FaultInjector;
  counters: Counters;
  /** The clock (milliseconds since the epoch); injected by tests. */
  now: () => number;
  /** Receives one JSON line per failure. */
  log: (line: string) => void;
}
