/**
 * One RPC call in its own transaction, the way PostgREST runs it: BEGIN (read only unless a
 * volatile function is POSTed), one statement that switches role and publishes the request
 * with `set_config(..., true)`, the call, COMMIT. The four are pipelined on a reserved
 * connection: once the statements are prepared there, a call costs one round trip.
 */
import type { Sql } from "postgres";
import { apiError, ApiRejection, isPgError } from "./rpc_errors.ts";

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
 * failure in order; returns the result of the third query (the call).
 */
async function settle(queries: PromiseLike<unknown>[]): Promise<CallResult> {
  const results = await Promise.allSettled(queries);
  for (const r of results) if (r.status === "rejected") throw r.reason;
  const rows = (results[2] as PromiseFulfilledResult<CallResult[]>).value;
  return rows[0];
}

/**
 * Runs `statement` (with `params`) as the request's role. With `singular`, a result that is not
 * exactly one row is rolled back and refused (406 PGRST116), as PostgREST does for
 * `Accept: application/vnd.pgrst.object+json`.
 *
 * @throws the Postgres error of the first failing statement (the transaction is rolled back),
 * a connection error, or an {@link ApiRejection}.
 */
export async function runCall(
  sql: Sql,
  request: RequestSettings,
  statement: string,
  params: unknown[],
  opts: { readOnly: boolean; singular: boolean },
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
  const conn = await sql.reserve();
  try {
    const begin = conn.unsafe(opts.readOnly ? BEGIN_READ : BEGIN_WRITE);
    // Prepared (named) statements: described once per connection, then only bound and run.
    const set = conn.unsafe(SET_CONFIG_SQL, settings, PREPARED);
    // deno-lint-ignore no-explicit-any
    const call = conn.unsafe(statement, params as any[], PREPARED);
    if (!opts.singular) return await settle([begin, set, call, conn.unsafe("commit")]);
    // The row count decides between commit and rollback: no pipelined COMMIT here.
    const row = await settle([begin, set, call]);
    if (row.n !== 1) {
      await conn.unsafe("rollback");
      throw new ApiRejection(apiError(
        406,
        "PGRST116",
        "Cannot coerce the result to a single JSON object",
        `The result contains ${row.n} rows`,
      ));
    }
    await conn.unsafe("commit");
    return row;
  } catch (error) {
    // Without a pipelined COMMIT, a failed statement leaves the transaction open: end it
    // before the connection goes back to the pool.
    if (opts.singular && isPgError(error)) await conn.unsafe("rollback").catch(() => {});
    throw error;
  } finally {
    conn.release();
  }
}
