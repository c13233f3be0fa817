/**
 * One RPC call in its own transaction, the way PostgREST runs it: BEGIN (read only unless a
 * volatile function is POSTed), one statement that switches role and publishes the request
 * with `set_config(..., true)`, the call, COMMIT. The four are pipelined on a reserved
 * connection: once the statements are prepared there, a call costs one round trip.
 *
 * Every call is bounded, and a connection that broke is never given back to postgres.js's
 * pool (see {@link runCall}): Postgres may restart under the gateway.
 */
import type { ReservedSql } from "postgres";
import { DeadlineError, isConnectionError, withDeadline } from "../pg_client.ts";
import { apiError, ApiRejection, isPgError } from "./rpc_errors.ts";
import type { RpcPool } from "./rpc_pool.ts";

/** The request facts PostgREST publishes to SQL, in {@link SET_CONFIG_SQL} order. */
export interface RequestSettings {
  /** `search_path`: the schema, then the extra search path, quoted. */
  searchPath: string;
  role: string;
  /** `request.jwt.claims` (JSON). */
  claims: string;
  method: string;
  /** `request.path`, e.g. `/rpc/claim_jobs`. */
  path: string;
  /** `request.headers` (JSON). */
  headers: string;
  /** `request.cookies` (JSON). */
  cookies: string;
}

/** What the call statement returns: JSON text and the row count. */
export interface CallResult {
  body: string;
  n: number;
}

const SET_CONFIG_SQL = "select pg_catalog.set_config('search_path', $1, true), " +
  "pg_catalog.set_config('role', $2, true), " +
  "pg_catalog.set_config('request.jwt.claims', $3, true), " +
  "pg_catalog.set_config('request.method', $4, true), " +
  "pg_catalog.set_config('request.path', $5, true), " +
  "pg_catalog.set_config('request.headers', $6, true), " +
  "pg_catalog.set_config('request.cookies', $7, true)";
/** postgres.js `unsafe` defaults to unnamed statements (a describe round trip per call). */
const PREPARED = { prepare: true, simple: false };
const BEGIN_WRITE = "begin isolation level read committed read write";
const BEGIN_READ = "begin isolation level read committed read only";

/**
 * Awaits pipelined queries together (so they are all sent at once) and throws the first
 * failure in order; returns the result of the third query (the call). A lost connection fails
 * it at once: postgres.js holds the statements queued behind a first-time prepare (a reserved
 * connection's own queue) and never settles them when the connection dies.
 */
async function settle(queries: Promise<unknown>[]): Promise<CallResult> {
  const lost = new Promise<never>((_, reject) => {
    for (const q of queries) q.catch((error) => isConnectionError(error) && reject(error));
  });
  const results = await Promise.race([Promise.allSettled(queries), lost]);
  for (const r of results) if (r.status === "rejected") throw r.reason;
  const rows = (results[2] as PromiseFulfilledResult<CallResult[]>).value;
  return rows[0];
}

/** A statement sent on the reserved connection. */
type Pending = ReturnType<ReservedSql["unsafe"]>;

/** How long a call may wait, after its deadline, for its cancelled statements to settle. */
const CANCEL_GRACE_MS = 5_000;

/**
 * Runs `statement` (with `params`) as the request's role. With `singular`, a result that is not
 * exactly one row is rolled back and refused (406 PGRST116), as PostgREST does for
 * `Accept: application/vnd.pgrst.object+json`.
 *
 * The connection comes from `pool` (see rpc_pool.ts). A connection that failed (see {@link isConnectionError}) is never handed back to the pool:
 * postgres.js would give it to the next query, whose write to the missing socket throws
 * outside any caller and never settles (porsager/postgres#1208). Left alone, it stays in
 * postgres.js's closed queue and is reconnected when needed. A call that gets no answer within
 * `deadlineMs` (reservation included) is cancelled and fails with a {@link DeadlineError}, and
 * the pool is replaced; its connection goes back only if the cancelled statements settled
 * without a connection error.
 *
 * @throws {ConnectFailure} (rpc_pool.ts) when no connection could be had; the Postgres error of the first
 * failing statement (the transaction is rolled back); a connection error; a
 * {@link DeadlineError}; or an {@link ApiRejection}.
 */
export async function runCall(
  pool: RpcPool,
  request: RequestSettings,
  statement: string,
  params: unknown[],
  opts: { readOnly: boolean; singular: boolean; deadlineMs: number; what: string },
): Promise<CallResult> {
  const settings = [
    request.searchPath,
    request.role,
    request.claims,
    request.method,
    request.path,
    request.headers,
    request.cookies,
  ];
  const started = performance.now();
  const { sql, conn } = await pool.reserve(opts.deadlineMs, opts.what);
  const pending: Pending[] = [];
  const query = (text: string, values?: unknown[], options?: typeof PREPARED) => {
    // deno-lint-ignore no-explicit-any
    const q = conn.unsafe(text, values as any[], options);
    pending.push(q);
    return q;
  };
  let reusable = true;
  try {
    const left = Math.max(1, opts.deadlineMs - (performance.now() - started));
    return await withDeadline(
      transaction(query, settings, statement, params, opts.readOnly, opts.singular),
      left,
      opts.what,
    );
  } catch (error) {
    if (error instanceof DeadlineError) {
      // Perhaps a connection postgres.js lost track of: new calls get a new pool.
      pool.replace(sql, opts.what, error.message);
      reusable = await cancelled(pending);
      // A cancelled singular call may have left its transaction open.
      if (reusable) {
        await withDeadline(query("rollback"), CANCEL_GRACE_MS, "roll back")
          .catch(() => reusable = false);
      }
    } else if (isConnectionError(error)) {
      reusable = false;
    } else if (opts.singular && isPgError(error)) {
      // Without a pipelined COMMIT, a failed statement leaves the transaction open: end it
      // before the connection goes back to the pool.
      await query("rollback").catch((e) => reusable = !isConnectionError(e));
    }
    throw error;
  } finally {
    if (reusable) conn.release();
  }
}

type Query = (text: string, values?: unknown[], options?: typeof PREPARED) => Pending;

/** BEGIN, the settings, the call and COMMIT (or the singular check), pipelined. */
async function transaction(
  query: Query,
  settings: string[],
  statement: string,
  params: unknown[],
  readOnly: boolean,
  singular: boolean,
): Promise<CallResult> {
  const begin = query(readOnly ? BEGIN_READ : BEGIN_WRITE);
  // Prepared (named) statements: described once per connection, then only bound and run.
  const set = query(SET_CONFIG_SQL, settings, PREPARED);
  const call = query(statement, params, PREPARED);
  if (!singular) return await settle([begin, set, call, query("commit")]);
  // The row count decides between commit and rollback: no pipelined COMMIT here.
  const row = await settle([begin, set, call]);
  if (row.n !== 1) {
    await query("rollback");
    throw new ApiRejection(apiError(
      406,
      "PGRST116",
      "Cannot coerce the result to a single JSON object",
      `The result contains ${row.n} rows`,
    ));
  }
  await query("commit");
  return row;
}

/**
 * Cancels the statements of a call past its deadline and waits (a little) for them to settle.
 * True when they all did without a connection error: the connection is sound, its transaction
 * ended by the failed statement (the singular path's open transaction is rolled back here).
 */
async function cancelled(pending: Pending[]): Promise<boolean> {
  for (const q of pending) q.cancel();
  const all = Promise.allSettled(pending);
  const outcome = await withDeadline(all, CANCEL_GRACE_MS, "cancel").catch(() => undefined);
  if (!outcome) return false;
  return outcome.every((r) => r.status === "fulfilled" || !isConnectionError(r.reason));
}
