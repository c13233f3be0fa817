/**
 * Faults on demand, for every stand-in: rules installed through `POST /_local/faults` that make
 * calls to the provider's API (not the control API or the pages) answer an error status, hang,
 * or answer late.
 *
 * - `status`: the call answers `status` with the provider's error body (`name` and `message`
 *   can be given; `retry_after` adds `retry-after` and, on a 429, the `ratelimit-*` headers).
 *   Nothing is checked, stored or sent.
 * - `hang`: the call never answers; the client gives up on its own. Nothing is stored or sent.
 *   Hanging calls are let go (with a 503) when faults are cleared or the stand-in stops.
 * - `delay`: the call is handled normally, but its effect and its answer wait `delay_ms` (or
 *   until faults are cleared): the idempotency key stays in flight meanwhile, and a client
 *   that gives up earlier still gets its email sent, as with a slow provider.
 *
 * A rule applies to the next `count` matching calls (default 1), or, with `fraction`, to that
 * share of the matching calls, spread evenly (0.25: the 4th, 8th, 12th...), for as long as it
 * is installed (or for `count` faults when both are given). With `random: true` the share is
 * drawn at random instead: a client whose retries make a fixed number of calls cannot fall
 * in step with an even spread and be faulted forever (the chaos check uses it). `path` limits a rule to one path
 * (for Resend: `/emails`, `/emails/batch`, `/emails/<id>`). Rules are tried in the order
 * installed.
 */
import { z } from "zod";

const scope = {
  count: z.int().min(1).optional(),
  fraction: z.number().gt(0).max(1).optional(),
  random: z.boolean().optional(),
  path: z.string().startsWith("/").optional(),
};

/** The body of `POST /_local/faults`. */
export const faultRuleSchema = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.literal("status"),
    status: z.int().min(400).max(599),
    retry_after: z.int().min(0).max(86_400).optional(),
    name: z.string().min(1).optional(),
    message: z.string().min(1).optional(),
    ...scope,
  }),
  z.strictObject({ action: z.literal("hang"), ...scope }),
  z.strictObject({
    action: z.literal("delay"),
    delay_ms: z.int().min(1).max(600_000),
    ...scope,
  }),
]);

/** A fault rule as installed (and as the control client installs it). */
export type FaultRule = z.infer<typeof faultRuleSchema>;

/** A rule that answers an error status. */
export type StatusFault = Extract<FaultRule, { action: "status" }>;

/** An installed rule with its counters, as `GET /_local/faults` lists it. */
export interface ActiveFault {
  id: number;
  rule: FaultRule;
  /** Faults this rule may still cause; null when unlimited. */
  remaining: number | null;
  /** Calls that matched its path so far. */
  matched: number;
  /** Calls it faulted so far. */
  faulted: number;
}

/** The installed rules and the calls they hold. */
export class FaultInjector {
  #faults: ActiveFault[] = [];
  #nextId = 1;
  #waiting = new Set<() => void>();

  /** Installs a rule. */
  add(rule: FaultRule): ActiveFault {
    const remaining = rule.count ?? (rule.fraction === undefined ? 1 : null);
    const fault: ActiveFault = { id: this.#nextId++, rule, remaining, matched: 0, faulted: 0 };
    this.#faults.push(fault);
    return { ...fault };
  }

  /** The installed rules. */
  list(): ActiveFault[] {
    return this.#faults.map((fault) => ({ ...fault }));
  }

  /** The rule that faults this call, if any; counts the call against every matching rule. */
  take(path: string): FaultRule | null {
    for (const fault of this.#faults) {
      const { rule } = fault;
      if (rule.path !== undefined && rule.path !== path) continue;
      fault.matched++;
      const hit = rule.fraction === undefined ||
        (rule.random
          ? Math.random() < rule.fraction
          : Math.floor(fault.matched * rule.fraction + 1e-9) >
            Math.floor((fault.matched - 1) * rule.fraction + 1e-9));
      if (!hit) continue;
      fault.faulted++;
      if (fault.remaining !== null && --fault.remaining === 0) {
        this.#faults = this.#faults.filter((f) => f !== fault);
      }
      return rule;
    }
    return null;
  }

  /**
   * Waits `ms` milliseconds (forever when null), or until {@link releaseAll};
   * resolves true when released early.
   */
  hold(ms: number | null): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const release = () => {
        clearTimeout(timer);
        this.#waiting.delete(release);
        resolve(true);
      };
      this.#waiting.add(release);
      if (ms !== null) {
        timer = setTimeout(() => {
          this.#waiting.delete(release);
          resolve(false);
        }, ms);
      }
    });
  }

  /** Lets every held call go on. */
  releaseAll(): void {
    for (const release of [...this.#waiting]) release();
  }

  /** Removes every rule and lets held calls go on; returns how many rules there were. */
  clear(): number {
    const count = this.#faults.length;
    this.#faults = [];
    this.releaseAll();
    return count;
  }
}
