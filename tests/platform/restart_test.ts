/**
 * The platform through a Postgres crash: the shared test cluster is restarted with
 * `pg_ctl restart -m immediate` while RPCs are in flight through a gateway and a pg_net worker
 * started in this process. The process lives on, every call answers (2xx or 503, never a hang
 * or a 500), calls and wake-ups after the restart work, and stop() completes. The test waits
 * until the shared platform (test.ts's gateway and pg_net worker) serves again before it ends,
 * so the test files after it find a healthy platform.
 */
import { platformConfig } from "../../scripts/platform/config.ts";
import { startGateway } from "../../scripts/platform/gateway/server.ts";
import { isPostgresJsNullSocketWrite, settledWithin } from "../../scripts/platform/pg_client.ts";
import { startPgNetWorker } from "../../scripts/platform/pg_net_worker.ts";
import { restartClusterImmediately } from "../../scripts/platform/postgres.ts";
import { assert, assertEquals } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.ts`);
  return value;
}

const SHARED_API = env("SUPABASE_URL");
const SERVICE_KEY = env("SUPABASE_SERVICE_ROLE_KEY");
const DB_URL = env("TEST_DB_URL");

const FIXTURE = `
create or replace function public.restart_test_sleep(ms int) returns int
language sql volatile as $$ select ms from (select pg_sleep(ms / 1000.0)) s $$;
notify pgrst, 'reload schema';`;

/** One RPC's outcome: the HTTP status and PostgREST's error code, if any. */
interface Outcome {
  status: number;
  code?: string;
  message?: string;
}

/** Calls restart_test_sleep on `api`; a call without an answer within 30 s fails the test. */
async function sleepCall(api: string, ms: number, singular = false): Promise<Outcome> {
  const res = await fetch(`${api}/rest/v1/rpc/restart_test_sleep`, {
    method: "POST",
    headers: {
      apikey: SERVICE_KEY,
      authorization: `Bearer ${SERVICE_KEY}`,
      "content-type": "application/json",
      ...(singular ? { accept: "application/vnd.pgrst.object+json" } : {}),
    },
    body: JSON.stringify({ ms }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.ok) return { status: res.status };
  const body = JSON.parse(text);
  return { status: res.status, code: body.code, message: body.message };
}

/** Restarts the test cluster as a crash would: no checkpoint, every backend killed. */
function restartImmediately(): Promise<void> {
  return restartClusterImmediately(platformConfig("test"));
}

Deno.test("only postgres.js's null-socket write in nextWrite is recognised by the guard", () => {
  const ours = new TypeError("Cannot read properties of null (reading 'write')");
  ours.stack = `TypeError: ${ours.message}\n    at Immediate.nextWrite ` +
    "(file:///root/.cache/deno/npm/registry.npmjs.org/postgres/3.4.9/src/connection.js:255:22)";
  assert(isPostgresJsNullSocketWrite(ours));
  const elsewhere = new TypeError(ours.message);
  elsewhere.stack = `TypeError: ${ours.message}\n    at nextWrite (file:///app/writer.ts:3:1)`;
  assert(!isPostgresJsNullSocketWrite(elsewhere));
  const other = new TypeError("Cannot read properties of null (reading 'end')");
  other.stack = ours.stack.replace("'write'", "'end'");
  assert(!isPostgresJsNullSocketWrite(other));
  assert(!isPostgresJsNullSocketWrite(new Error(ours.message)));
});

Deno.test("a Postgres restart under RPCs in flight: every call answers, the platform recovers and stops", async () => {
  const sql = testSql();
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const gateway = await startGateway({
    cfg: platformConfig("test"),
    functionEnv: {},
    log,
    port: 0,
  });
  const worker = await startPgNetWorker({ dbUrl: DB_URL, log });
  const received: string[] = [];
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    received.push(new URL(req.url).pathname);
    return Response.json({ ok: true });
  });
  let stopped = false;
  try {
    await sql.unsafe(FIXTURE);
    await waitFor(async () => (await sleepCall(gateway.url, 0)).status === 200, {
      what: "restart_test_sleep to be callable",
    });

    // Calls that are running in Postgres when it goes down, singular ones among them.
    const inFlight = Array.from(
      { length: 12 },
      (_, i) => sleepCall(gateway.url, 3000, i % 3 === 0),
    );
    await waitFor(async () => {
      const [{ n }] = await sql`select count(*)::int as n from pg_stat_activity
        where application_name = 'local-gateway' and query like '%restart_test_sleep%'
          and state = 'active'`;
      return n >= 6;
    }, { what: "the calls to run in Postgres" });
    await restartImmediately();
    const outcomes = await Promise.all(inFlight);
    for (const outcome of outcomes) {
      assert(
        outcome.status === 200 || outcome.status === 503,
        `a call in flight during the restart answered ${JSON.stringify(outcome)}`,
      );
      if (outcome.status === 503) {
        assert(
          outcome.code === "PGRST000" || outcome.code === "PGRST001" || outcome.code === "57P01",
          `unexpected 503 ${JSON.stringify(outcome)}`,
        );
      }
    }
    assert(outcomes.some((o) => o.status === 503), "no call in flight saw the restart");

    // Calls after the restart succeed (the first ones may still meet the restart).
    await waitFor(async () => (await sleepCall(gateway.url, 0)).status === 200, {
      timeoutMs: 30_000,
      what: "a call through the gateway to succeed after the restart",
    });
    const after = await Promise.all(Array.from({ length: 20 }, () => sleepCall(gateway.url, 10)));
    assertEquals(after.filter((o) => o.status !== 200), []);

    // A wake-up queued after the restart is delivered, once.
    const targetUrl = `http://127.0.0.1:${target.addr.port}/after-restart`;
    const [{ id }] = await waitFor(
      () => sql<{ id: string }[]>`select net.http_get(${targetUrl}) as id`,
      { timeoutMs: 30_000, what: "net.http_get to be accepted after the restart" },
    );
    const [response] = await waitFor(
      () =>
        sql`select status_code from net._http_response where id = ${id}`
          .then((rows) => rows.length ? rows : undefined),
      { timeoutMs: 30_000, what: `the response of request ${id} after the restart` },
    );
    assertEquals(response.status_code, 200);
    assertEquals(received.filter((path) => path === "/after-restart").length, 1);

    // The process survived; no guard had to step in for postgres.js.
    assertEquals(logs.filter((l) => l.includes("postgres_js_null_socket_write")), []);

    // stop() completes.
    const stopping = Promise.all([gateway.stop(), worker.stop()]);
    assert(await settledWithin(stopping, 15_000), "the gateway or the pg_net worker did not stop");
    stopped = true;

    // The shared platform (test.ts's gateway and pg_net worker) serves again before other files run.
    await waitFor(async () => (await sleepCall(SHARED_API, 0)).status === 200, {
      timeoutMs: 30_000,
      what: "the shared gateway to answer after the restart",
    });
    const sharedUrl = `http://127.0.0.1:${target.addr.port}/shared-after-restart`;
    await sql`select net.http_get(${sharedUrl})`;
    await waitFor(() => Promise.resolve(received.includes("/shared-after-restart")), {
      timeoutMs: 30_000,
      what: "the shared pg_net worker to deliver after the restart",
    });
  } finally {
    if (!stopped) await Promise.all([gateway.stop(), worker.stop()]);
    await target.shutdown();
    await sql.end();
  }
});
