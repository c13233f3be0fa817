/**
 * What the platform's postgres.js clients (the gateway's RPC pool, the pg_net worker) need to
 * live through a Postgres restart: telling a lost connection from an error the server raised,
 * a bound on a query that never settles, and a narrow guard against one known postgres.js
 * defect.
 *
 * The defect (postgres.js 3.4.9, porsager/postgres#1154 and #1208, unfixed): `nextWrite()` in
 * `src/connection.js` calls `socket.write` after `closed()` has set `socket` to null. It throws
 * from a `setImmediate` callback, where no caller can catch it, and Deno ends the process. The
 * platform avoids the path it knows (a reserved connection handed back after its backend died,
 * see gateway/rpc_transaction.ts); {@link guardPostgresJsNullSocketWrite} keeps the process
 * alive should another path reach it, and logs each occurrence. Nothing else is swallowed.
 */

/** postgres.js's own connection error codes (`Errors.connection` in its `src/errors.js`). */
const CLIENT_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
]);

/**
 * SQLSTATEs of a server that is going away or not there yet: class 08 (connection exception),
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
 */
function isConnectionSqlState(code: string): boolean {
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03";
}

/**
 * True for the TypeError postgres.js 3.4.9 throws from `nextWrite` in `src/connection.js` when
 * it writes to a connection whose socket is gone (porsager/postgres#1154, #1208). Only that
 * message from that function of that file matches.
 */
export function isPostgresJsNullSocketWrite(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  if (!/^Cannot read properties of null \(reading 'write'\)$/.test(error.message)) return false;
  const stack = error.stack ?? "";
  const top = stack.split("\n").find((line) => /^\s+at /.test(line)) ?? "";
  return /\bnextWrite\b/.test(top) && /\/postgres\/(?:[^/]+\/)?src\/connection\.js:/.test(top);
}

/**
 * True when `error` says the connection to Postgres could not be made or was lost, rather than
 * a statement failing: postgres.js's CONNECTION_CLOSED, CONNECTION_DESTROYED, CONNECTION_ENDED
 * and CONNECT_TIMEOUT, socket errors (ECONNREFUSED, ECONNRESET, EPIPE, ...), a server error of
 * class 08 or 57P01-57P03, and the null-socket write of {@link isPostgresJsNullSocketWrite}.
 * After such an error the connection must not be used again.
 */
export function isConnectionError(error: unknown): boolean {
  if (isPostgresJsNullSocketWrite(error)) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  if (error.name === "PostgresError") return isConnectionSqlState(code);
  return CLIENT_CODES.has(code) || /^E[A-Z]+$/.test(code);
}

/** Thrown by {@link withDeadline} when the work did not settle in time. */
export class DeadlineError extends Error {
  constructor(readonly what: string, readonly ms: number) {
    super(`No answer from Postgres within ${ms / 1000} s to ${what}`);
    this.name = "DeadlineError";
  }
}

/**
 * Settles like `work`, or rejects with a {@link DeadlineError} (after calling `onTimeout`) when
 * `work` has not settled within `ms`. A query on a connection postgres.js lost track of never
 * settles; this turns it into an error. `work`'s own late rejection is then ignored.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new DeadlineError(what, ms));
    }, ms);
  });
  work.catch(() => {}); // settled after the deadline: nobody waits for it any more
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`, or at once when `promise` settles first; true when it settled. */
export function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
  ]).finally(() => clearTimeout(timer));
}

const guardSinks: Array<(line: string) => void> = [];
let guardInstalled = false;

/**
 * Keeps the process alive when postgres.js throws its null-socket write
 * ({@link isPostgresJsNullSocketWrite}) as an uncaught error, and logs it as one JSON line
 * (`event: "postgres_js_null_socket_write"`) to the most recently registered `log`. Every other
 * uncaught error is left alone and still ends the process. Installed once per process;
 * `dispose()` unregisters `log` (the guard itself stays: a late timer of a closed pool may
 * still fire).
 */
export function guardPostgresJsNullSocketWrite(log: (line: string) => void): () => void {
  guardSinks.push(log);
  if (!guardInstalled) {
    guardInstalled = true;
    globalThis.addEventListener("error", (event) => {
      if (!isPostgresJsNullSocketWrite(event.error)) return;
      event.preventDefault();
      const sink = guardSinks.at(-1) ?? ((line: string) => console.error(line));
      sink(JSON.stringify({
        level: "error",
        component: "postgres_js",
        event: "postgres_js_null_socket_write",
        msg: "postgres.js wrote to a closed connection (porsager/postgres#1208); " +
          "the process goes on, the connection's queries fail or hit their deadline",
        error: String((event.error as Error).stack),
      }));
    });
  }
  return () => {
    const at = guardSinks.lastIndexOf(log);
    if (at !== -1) guardSinks.splice(at, 1);
  };
}
