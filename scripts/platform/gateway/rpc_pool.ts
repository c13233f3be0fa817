/**
 * The gateway's pool of RPC connections, replaced whole after a connection failure.
 *
 * Calls reserve a postgres.js connection (rpc_transaction.ts). postgres.js 3.4.9 leaks a
 * connection each time a reservation fails to connect (Postgres down or restarting): the
 * rejected reservation stays in the pool's wait queue, and the next connection that becomes
 * free is handed to it, that is to nobody. After a restart the pool ends up with no usable
 * connection and every later call waits forever. A connection object that met postgres.js's
 * null-socket write (see ../pg_client.ts) is broken for good as well. Neither can be repaired
 * from outside, so the pool is replaced: new calls get a fresh one, the old one finishes what
 * it can within a grace period and is then destroyed; reservations still waiting there fail at
 * once (503, callers retry).
 */
import type { ReservedSql, Sql } from "postgres";
import { withDeadline } from "../pg_client.ts";

/**
 * Thrown when no connection could be had for a call (Postgres down, starting up, refusing, or
 * the pool replaced meanwhile): PostgREST's connection error (503 PGRST000). `cause` is
 * postgres.js's error.
 */
export class ConnectFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "ConnectFailure";
  }
}

/** How long a replaced pool keeps serving the calls it already has. */
const RETIRE_GRACE_SEC = 5;

/**
 * Hands out the current pool and replaces it on request.
 *
 * @example
 * const pool = new RpcPool(() => postgres(url, { max: 10 }), log);
 * const { sql, conn } = await pool.reserve(60_000, "/rest/v1/rpc/claim_jobs");
 * try { ... } catch (error) { if (stuck) pool.replace(sql, "/rest/v1/rpc/claim_jobs", "no answer"); }
 */
export class RpcPool {
  #make: () => Sql;
  #log: (line: string) => void;
  #current: Sql;
  /** Aborted when its pool is replaced: reservations still waiting there give up. */
  #retired = new WeakMap<Sql, AbortController>();
  #retiring = new Set<Promise<void>>();
  #replaced = 0;

  constructor(make: () => Sql, log: (line: string) => void) {
    this.#make = make;
    this.#log = log;
    this.#current = this.#fresh();
  }

  #fresh(): Sql {
    const sql = this.#make();
    this.#retired.set(sql, new AbortController());
    return sql;
  }

  /** How many times the pool was replaced. */
  get replaced(): number {
    return this.#replaced;
  }

  /**
   * Reserves a connection of the current pool within `deadlineMs`. A reservation that fails to
   * connect replaces the pool (see the file's note); one granted after giving up goes back.
   *
   * @throws {ConnectFailure} when no connection could be had within the deadline.
   */
  async reserve(deadlineMs: number, what: string): Promise<{ sql: Sql; conn: ReservedSql }> {
    const sql = this.#current;
    const retired = this.#retired.get(sql)!.signal;
    const reservation = sql.reserve();
    // The listener goes when the reservation is settled: the pool's signal lives as long as
    // the pool, and a listener left per call made each later add slower (a linear scan).
    let abort = () => {};
    const replaced = new Promise<never>((_, reject) => {
      abort = () => reject(new Error("The RPC connection pool was replaced meanwhile"));
      if (retired.aborted) abort();
      else retired.addEventListener("abort", abort, { once: true });
    });
    try {
      const conn = await withDeadline(
        Promise.race([reservation, replaced]),
        deadlineMs,
        `reserve a connection for ${what}`,
      );
      return { sql, conn };
    } catch (error) {
      reservation.then((late) => late.release(), () => {});
      this.replace(sql, what, error instanceof Error ? error.message : String(error));
      throw new ConnectFailure(error);
    } finally {
      retired.removeEventListener("abort", abort);
    }
  }

  /**
   * Replaces `failed` (the pool a call to `path` used when `reason` happened) with a fresh pool, unless it
   * was replaced already; the old one is ended after {@link RETIRE_GRACE_SEC}.
   */
  replace(failed: Sql, path: string, reason: string): void {
    if (failed !== this.#current) return;
    this.#current = this.#fresh();
    this.#retired.get(failed)!.abort();
    this.#replaced++;
    this.#log(JSON.stringify({
      component: "gateway",
      event: "rpc_pool_replaced",
      path,
      level: "warn",
      msg: `The RPC connection pool was replaced after: ${reason}`,
    }));
    const ending = failed.end({ timeout: RETIRE_GRACE_SEC }).catch(() => {});
    this.#retiring.add(ending);
    ending.finally(() => this.#retiring.delete(ending));
  }

  /** Ends the current pool and those being retired; calls still running get a few seconds. */
  async end(timeoutSec: number): Promise<void> {
    await Promise.all([
      this.#current.end({ timeout: timeoutSec }).catch(() => {}),
      ...this.#retiring,
    ]);
  }
}
