/**
 * Idempotency keys as Resend documents them
 * (https://resend.com/docs/dashboard/emails/idempotency-keys), scoped per caller (an API key):
 * the first request with a key reserves it; while it runs, the same key is refused
 * as concurrent; once it succeeded, the same key with the same payload gets the first answer
 * again (nothing is sent) and a different payload is refused. Keys live 24 hours from the first
 * request. A first request that did not succeed frees its key, so the caller can fix the
 * payload and retry with the same key.
 */

/** How long a key is remembered by default: 24 hours, as on Resend. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** What to do with a request carrying a key. */
export type IdempotencyOutcome =
  /** First use (or the previous use expired or failed): run it, then complete or release. */
  | { kind: "new" }
  /** Same key and payload as a successful request: answer this again. */
  | { kind: "replay"; status: number; body: unknown }
  /** Same key, different payload. */
  | { kind: "conflict" }
  /** Same key while the first request is still running. */
  | { kind: "in_flight" };

interface Entry {
  fingerprint: string;
  createdAt: number;
  answer: { status: number; body: unknown } | null;
}

/** Idempotency keys in memory; `now` is the clock (injected by tests). */
export class IdempotencyCache {
  #entries = new Map<string, Entry>();
  #ttlMs: number;
  #now: () => number;

  constructor(opts: { ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = opts.ttlMs ?? IDEMPOTENCY_TTL_MS;
    this.#now = opts.now ?? Date.now;
  }

  #id(scope: string, key: string): string {
    return `${scope}\u0000${key}`;
  }

  /** Drops answered keys older than the TTL (entries are kept in reservation order). */
  #expire(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (now - entry.createdAt < this.#ttlMs) break;
      if (entry.answer) this.#entries.delete(id);
    }
  }

  /** Looks the key up and reserves it when it is free. */
  begin(scope: string, key: string, fingerprint: string): IdempotencyOutcome {
    const now = this.#now();
    this.#expire(now);
    const id = this.#id(scope, key);
    const entry = this.#entries.get(id);
    if (entry && !entry.answer) return { kind: "in_flight" };
    if (entry?.answer && now - entry.createdAt < this.#ttlMs) {
      if (entry.fingerprint !== fingerprint) return { kind: "conflict" };
      return { kind: "replay", ...entry.answer };
    }
    this.#entries.delete(id);
    this.#entries.set(id, { fingerprint, createdAt: now, answer: null });
    return { kind: "new" };
  }

  /** Records the answer of a reserved key's successful request. */
  complete(scope: string, key: string, status: number, body: unknown): void {
    const entry = this.#entries.get(this.#id(scope, key));
    if (entry) entry.answer = { status, body };
  }

  /** Frees a reserved key whose request did not succeed. */
  release(scope: string, key: string): void {
    const id = this.#id(scope, key);
    if (this.#entries.get(id)?.answer === null) this.#entries.delete(id);
  }

  /** Forgets every key, reserved ones included. */
  clear(): void {
    this.#entries.clear();
  }
}

/** JSON with object keys sorted, so that equal payloads give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
  });
}
