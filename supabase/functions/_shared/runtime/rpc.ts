/**
 * The one seam between TypeScript and the SQL functions: `callRpc` calls a function of schema
 * `public` with arguments typed from the generated `Database`, validates its result with zod,
 * and applies one error policy.
 *
 * - Transient failures are retried here, a bounded number of times with a short backoff:
 *   40001 (serialization), 40P01 (deadlock), class 08 and 57P01 (connection lost), a fetch that
 *   failed, a 503 from the API. Each of them means the call can be made again.
 * - Everything else, and a transient failure that outlasts the retries, throws one `RpcError`,
 *   classified once: `permanent` for what no retry changes (P0002 no row, 22023 invalid
 *   parameter, 22P02 invalid text, class 23 constraint violations); retryable otherwise,
 *   including a result of the wrong shape (a deploy may be half way). The job runner makes a
 *   permanent one a dead job and retries the others; pages answer 503 "unavailable" for a
 *   retryable one and a 4xx page for a permanent one.
 *
 * Each flow wraps the SQL functions it calls in its own `rpc.ts`, the only modules that call
 * this; nothing else calls `.rpc(`.
 *
 * @example
 * const row = await callRpc(client, "job_probe_record", { p_probe_id: 3 }, resultSchema, {
 *   context: "probe 3, job 12",
 * });
 */
import type { z } from "zod";
import type { Database } from "../database.types.ts";
import type { DbClient } from "./client.ts";
import { log } from "./log.ts";

/** The SQL functions of schema `public`, as generated. */
export type DbFunctions = Database["public"]["Functions"];
/** The name of a SQL function of schema `public`. */
export type DbFunctionName = keyof DbFunctions & string;
/** The arguments of a SQL function, as generated. */
export type DbArgs<F extends DbFunctionName> = DbFunctions[F]["Args"];

/** A failed call of a SQL function, classified once for every caller. */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(
    message: string,
    /** The SQL function called. */
    readonly fn: string,
    /** The SQLSTATE, when Postgres raised one. */
    readonly code: string | undefined,
    /** True when no retry can change the answer. */
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** SQLSTATEs that no retry changes. */
const PERMANENT = /^(P0002|22023|22P02|23...)$/;

/** True for a failure worth retrying at once: the call did not happen, or was rolled back. */
export function isTransient(code: string | undefined, status: number): boolean {
  if (code === "40001" || code === "40P01" || code === "57P01") return true;
  if (code?.startsWith("08")) return true;
  // No answer at all (supabase-js reports a failed fetch with status 0), or the API is down.
  return status === 0 || status === 503;
}

/** True when a retry can never change the answer to a call that failed with `code`. */
export function isPermanent(code: string | undefined): boolean {
  return code !== undefined && PERMANENT.test(code);
}

/** How `callRpc` retries transient failures. */
export interface RetryPolicy {
  /** Calls after the first one. */
  retries: number;
  /** The pause before retry n is `backoffMs * 2^(n-1)`, at most `maxPauseMs`, with jitter. */
  backoffMs: number;
  maxPauseMs: number;
}

/**
 * The default: 4 retries over about 1.5 s, enough for a dropped connection or a database that
 * restarts (an immediate restart takes well under a second here).
 */
const DEFAULT_RETRY: RetryPolicy = { retries: 4, backoffMs: 100, maxPauseMs: 2_000 };

/**
 * For calls that record an outside effect which already happened (an email Resend accepted):
 * losing the record would make the job do the effect again, so the call keeps trying for about
 * 25 s (10 retries, pauses doubling up to 5 s) before it gives up.
 *
 * @example
 * await callRpc(client, "waitlist_record_booking_email", args, z.unknown(), {
 *   context,
 *   retry: AFTER_EFFECT_RETRY,
 * });
 */
export const AFTER_EFFECT_RETRY: RetryPolicy = { retries: 10, backoffMs: 100, maxPauseMs: 5_000 };

/** What a call says about itself in errors and logs (which job, which subject). */
export interface CallOptions {
  context: string;
  retry?: Partial<RetryPolicy>;
}

type UntypedRpc = (
  fn: string,
  args?: Record<string, unknown>,
) => PromiseLike<{
  data: unknown;
  error: { code?: string; message: string } | null;
  status: number;
}>;

/**
 * Calls the SQL function `fn` with `args`, retries transient failures, and returns its result
 * parsed by `result`. Throws an `RpcError` (see the module's description).
 */
export async function callRpc<F extends DbFunctionName, S extends z.ZodType>(
  client: DbClient,
  fn: F,
  args: DbArgs<F>,
  result: S,
  opts: CallOptions,
): Promise<z.infer<S>> {
  const policy = { ...DEFAULT_RETRY, ...opts.retry };
  // The generated overloads of `.rpc` add nothing here: `args` is typed by this signature.
  const rpc = (client.rpc as unknown as UntypedRpc).bind(client);
  for (let attempt = 0;; attempt++) {
    let code: string | undefined;
    let status: number;
    let message: string;
    try {
      const answer = await rpc(fn, args as Record<string, unknown>);
      if (!answer.error) {
        const parsed = result.safeParse(answer.data);
        if (parsed.success) return parsed.data;
        throw new RpcError(
          `${fn} returned an unexpected result (${opts.context}): ${parsed.error.message}`,
          fn,
          undefined,
          false,
        );
      }
      code = answer.error.code || undefined;
      status = answer.status;
      message = answer.error.message;
    } catch (error) {
      if (error instanceof RpcError) throw error;
      // supabase-js reports most network failures in `error`; a few still throw.
      status = 0;
      message = error instanceof Error ? error.message : String(error);
    }
    if (isTransient(code, status) && attempt < policy.retries) {
      log.warn("sql function failed transiently: calling it again", {
        fn,
        context: opts.context,
        code,
        status,
        retry: attempt + 1,
        error: message,
      });
      const pause = Math.min(policy.backoffMs * 2 ** attempt, policy.maxPauseMs) *
        (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, pause));
      continue;
    }
    const retried = attempt > 0 ? `, after ${attempt + 1} tries` : "";
    throw new RpcError(
      `${fn} failed (${opts.context}${retried}): ${message} [${code ?? `status ${status}`}]`,
      fn,
      code,
      isPermanent(code),
    );
  }
}
