/**
 * The local pg_net worker: executes the rows of `net.http_request_queue` once their transaction
 * has committed and stores each outcome in `net._http_response`, as pg_net's background worker
 * does (see scripts/platform/sql/03_pg_net.sql).
 *
 * It wakes on the `pg_net_wake` notification (sent at commit by a trigger on the queue) and
 * polls every second as a safety net. Each wake-up takes a batch (`pg_net.batch_size`, default
 * 200) and removes responses older than `pg_net.ttl` (default 6 hours) in the same statement;
 * requests start as soon as they are read and run concurrently.
 *
 * Postgres may restart under it. Every query is bounded ({@link QUERY_DEADLINE_MS}): one that
 * never settles (a connection postgres.js lost track of, see pg_client.ts) fails, and the
 * query pool is replaced. Responses not stored wait for the next poll. The listener is
 * restored after a restart (postgres.js re-listens once, and gives up if Postgres is still
 * down); polling delivers meanwhile. Delivery is what pg_net guarantees: a request is deleted
 * from the queue in the statement that takes it, so it is sent at most once; requests still
 * queued when Postgres crashes or stops with `-m immediate` are lost with the unlogged queue,
 * as with pg_net.
 */
import postgres from "postgres";
import {
  DeadlineError,
  guardPostgresJsNullSocketWrite,
  isConnectionError,
  withDeadline,
} from "./pg_client.ts";
import {
  executeRequest,
  type Outcome,
  type QueuedRequest,
  type ResponseRow,
} from "./pg_net_http.ts";

/** The worker's sessions carry this application_name; `net.check_worker_is_up()` looks for it. */
export const PG_NET_APPLICATION_NAME = "pg_net worker";
/** Channel notified when requests are queued. */
export const PG_NET_WAKE_CHANNEL = "pg_net_wake";

const DEFAULT_TTL = "6 hours";
const DEFAULT_BATCH_SIZE = 200;
const POLL_INTERVAL_MS = 1000;
/** Longest a query of the worker may take before it fails and the query pool is replaced. */
const QUERY_DEADLINE_MS = 30_000;
/** How long `stop()` waits for the database before giving up on it. */
const STOP_GRACE_MS = 1000;

/** A running worker. */
export interface PgNetWorker {
  /** Aborts in-flight requests, stores what it can and closes the connections. */
  stop(): Promise<void>;
}

/** Options of {@link startPgNetWorker}. */
export interface PgNetWorkerOptions {
  /** Superuser connection URL of the database holding the `net` schema. */
  dbUrl: string;
  /** Receives one JSON line per failure. */
  log: (line: string) => void;
}

interface QueueRow {
  /** `pg_postmaster_start_time()` when the request was taken. */
  server_started: string;
  id: string;
  method: string;
  url: string;
  timeout_milliseconds: number;
  headers: Record<string, string>;
  body: Uint8Array | null;
}

interface Settings {
  ttl: string;
  batchSize: number;
}

/** Takes a batch of requests and expires old responses, in one round trip. */
const TAKE_SQL = `
  with expired as (
    delete from net._http_response r
    using (
      select ctid from net._http_response
      where created < now() - $1::interval
      order by created
      limit $2
    ) old
    where r.ctid = old.ctid
  ), taken as (
    select id from net.http_request_queue
    order by id
    limit $2
    for update skip locked
  )
  delete from net.http_request_queue q
  using taken
  where q.id = taken.id
  returning q.id, q.method, q.url, q.timeout_milliseconds, q.body,
    pg_catalog.pg_postmaster_start_time()::text as server_started,
    coalesce(
      (select jsonb_object_agg(key, value) from jsonb_each_text(q.headers) where value is not null),
      '{}'::jsonb
    ) as headers`;

/**
 * Stores responses, except those of requests taken before the server last started: a crash
 * truncates the unlogged queue and restarts its id sequence, so their ids may now name other
 * requests. Returns the ids stored.
 */
const INSERT_SQL = `
  insert into net._http_response
    (id, status_code, content, headers, content_type, timed_out, error_msg)
  select id, status_code, content, headers, content_type, timed_out, error_msg
  from jsonb_to_recordset($1::text::jsonb) as x(
    id bigint, status_code int, content text, headers jsonb, content_type text,
    timed_out bool, error_msg text, server_started timestamptz
  )
  where x.server_started = pg_catalog.pg_postmaster_start_time()
  returning id`;

const SETTINGS_SQL = `
  select current_setting('pg_net.ttl', true) as ttl,
         current_setting('pg_net.batch_size', true) as batch_size`;

/** Resolves after `ms`, or at once when `promise` settles first; never rejects. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => {}, () => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Connects, starts listening for wake-ups and drains what is already queued.
 * Rejects when the database cannot be reached.
 */
export async function startPgNetWorker(opts: PgNetWorkerOptions): Promise<PgNetWorker> {
  const { log } = opts;
  const unguard = guardPostgresJsNullSocketWrite(log);
  const connect = () =>
    postgres(opts.dbUrl, {
      max: 4,
      connection: { application_name: PG_NET_APPLICATION_NAME },
      onnotice: () => {},
    });
  // Queries and LISTEN use separate clients: the query pool is replaced after a query that
  // never settled, which must not end the listener.
  let sql = connect();
  const listenSql = connect();
  const fail = (msg: string, fields: Record<string, unknown> = {}) =>
    log(JSON.stringify({ level: "error", component: "pg_net_worker", msg, ...fields }));

  /** When a query last met a lost connection, and when the listener last (re)started. */
  let connectionLostAt = 0;
  let listenedAt = 0;

  /** Runs one query of the worker, bounded; see the file's note. */
  // deno-lint-ignore no-explicit-any
  async function query<T extends any[]>(
    what: string,
    text: string,
    params: unknown[] = [],
  ): Promise<T> {
    const pool = sql;
    try {
      // deno-lint-ignore no-explicit-any
      return await withDeadline(pool.unsafe<T>(text, params as any[]), QUERY_DEADLINE_MS, what);
    } catch (error) {
      if (isConnectionError(error) || error instanceof DeadlineError) {
        connectionLostAt = performance.now();
      }
      if (error instanceof DeadlineError && pool === sql) {
        fail("A query got no answer: the worker's connections are replaced", { what });
        sql = connect();
        pool.end({ timeout: STOP_GRACE_MS / 1000 }).catch(() => {});
      }
      throw error;
    }
  }

  const settings: Settings = { ttl: DEFAULT_TTL, batchSize: DEFAULT_BATCH_SIZE };
  let rawTtl: string | null = null;
  const stopController = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const pending: Array<ResponseRow & { server_started: string }> = [];
  let stopping = false;
  let draining: Promise<void> | null = null;
  let drainAgain = false;
  let flushing: Promise<void> | null = null;

  /** Reads `pg_net.ttl` and `pg_net.batch_size`; invalid values fall back to the defaults. */
  async function refreshSettings(): Promise<void> {
    const [row] = await query<{ ttl: string | null; batch_size: string | null }[]>(
      "read the pg_net settings",
      SETTINGS_SQL,
    );
    const batch = Number(row.batch_size);
    settings.batchSize = row.batch_size && Number.isInteger(batch) && batch > 0 && batch <= 32767
      ? batch
      : DEFAULT_BATCH_SIZE;
    const ttl = row.ttl || DEFAULT_TTL;
    if (ttl === rawTtl) return;
    rawTtl = ttl;
    try {
      await query("check pg_net.ttl", "select $1::interval", [ttl]);
      settings.ttl = ttl;
    } catch (error) {
      settings.ttl = DEFAULT_TTL;
      fail("Invalid pg_net.ttl, using the default", { ttl, error: messageOf(error) });
    }
  }

  function record(outcome: Outcome, req: QueuedRequest, serverStarted: string): void {
    if (outcome.cause) {
      fail("Request failed", {
        request_id: req.id,
        method: req.method,
        url: req.url,
        error_msg: outcome.row.error_msg,
        cause: outcome.cause,
      });
    }
    pending.push({ ...outcome.row, server_started: serverStarted });
    if (!flushing) flushing = flush().finally(() => flushing = null);
  }

  /** Stores the pending responses in batches; on failure they wait for the next poll. */
  async function flush(): Promise<void> {
    while (pending.length) {
      const rows = pending.splice(0, 500);
      try {
        const stored = await query("store responses", INSERT_SQL, [JSON.stringify(rows)]);
        if (stored.length < rows.length) {
          fail("Responses of requests taken before Postgres restarted are dropped", {
            count: rows.length - stored.length,
          });
        }
      } catch (error) {
        pending.unshift(...rows);
        fail("Could not store responses", { count: rows.length, error: messageOf(error) });
        return;
      }
    }
  }

  function start(row: QueueRow): void {
    const req: QueuedRequest = {
      id: row.id,
      method: row.method,
      url: row.url,
      headers: row.headers,
      body: row.body ? new Uint8Array(row.body) : null,
      timeoutMs: row.timeout_milliseconds,
    };
    const task = executeRequest(req, stopController.signal)
      .then((outcome) => record(outcome, req, row.server_started))
      .catch((error) => fail("Could not record a response", { error: messageOf(error) }));
    inFlight.add(task);
    task.finally(() => inFlight.delete(task));
  }

  /** Takes batches until the queue is empty; wake-ups meanwhile cause one more round. */
  async function drain(): Promise<void> {
    do {
      drainAgain = false;
      const rows = await query<QueueRow[]>("take requests", TAKE_SQL, [
        settings.ttl,
        settings.batchSize,
      ]);
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      for (const row of rows) start(row);
      if (rows.length >= settings.batchSize) drainAgain = true;
    } while (drainAgain && !stopping);
  }

  function wake(): void {
    if (stopping) return;
    if (draining) {
      drainAgain = true;
      return;
    }
    draining = drain()
      .catch((error) => fail("Could not read the request queue", { error: messageOf(error) }))
      .finally(() => draining = null);
  }

  let polling = false;
  /** The safety net: settings, responses that could not be stored, a wake-up. */
  async function poll(): Promise<void> {
    if (polling) return; // a slow database must not pile up polls
    polling = true;
    try {
      await refreshSettings();
    } catch (error) {
      fail("Could not read the pg_net settings", { error: messageOf(error) });
    } finally {
      polling = false;
    }
    if (pending.length && !flushing) flushing = flush().finally(() => flushing = null);
    if (connectionLostAt > listenedAt) void relisten();
    wake();
  }

  const onListen = () => {
    listenedAt = performance.now();
    wake();
  };
  let listener: { unlisten(): Promise<void> } | null = null;
  let relistening = false;
  /** Listens again after a restart that postgres.js's own re-listen did not survive. */
  async function relisten(): Promise<void> {
    if (relistening || stopping) return;
    relistening = true;
    try {
      await listener?.unlisten().catch(() => {});
      listener = await withDeadline(
        listenSql.listen(PG_NET_WAKE_CHANNEL, () => wake(), onListen),
        QUERY_DEADLINE_MS,
        "listen for wake-ups",
      );
    } catch (error) {
      fail("Could not listen for wake-ups; polling meanwhile", { error: messageOf(error) });
    } finally {
      relistening = false;
    }
  }

  try {
    await refreshSettings();
    listener = await listenSql.listen(PG_NET_WAKE_CHANNEL, () => wake(), onListen);
  } catch (error) {
    await Promise.all([sql.end({ timeout: 0 }), listenSql.end({ timeout: 0 })]);
    unguard();
    throw new Error(`The pg_net worker could not connect: ${messageOf(error)}`);
  }
  // The listen callback also runs once listening (again, after a reconnect): that first wake-up
  // drains what was queued before.
  const timer = setInterval(() => void poll(), POLL_INTERVAL_MS);

  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(timer);
        stopController.abort();
        if (draining) await settleWithin(draining, STOP_GRACE_MS);
        await Promise.allSettled([...inFlight]);
        if (flushing) await settleWithin(flushing, STOP_GRACE_MS);
        if (pending.length) {
          await settleWithin(flush(), STOP_GRACE_MS);
        }
        await Promise.all([
          sql.end({ timeout: STOP_GRACE_MS / 1000 }),
          listenSql.end({ timeout: STOP_GRACE_MS / 1000 }),
        ]);
        unguard();
      })();
      return stopped;
    },
  };
}
