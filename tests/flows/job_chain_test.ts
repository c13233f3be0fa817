/**
 * The whole chain on the real local platform: an INSERT enqueues a job in its transaction,
 * the local pg_net sends the wake-up after COMMIT, the gateway starts `job-probe`, the function
 * claims the job and calls an RPC through supabase-js, and the audit shows each step.
 */
import type postgres from "postgres";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";
import { QUEUES } from "../../supabase/functions/_shared/jobs/queues.ts";

const FUNCTION_URL = `${Deno.env.get("SUPABASE_URL")}/functions/v1/${QUEUES.probe.functionName}`;

type Sql = ReturnType<typeof testSql>;

async function maxRequestId(sql: Sql): Promise<number> {
  const [row] = await sql`select coalesce(max(id), 0)::int as id from net.http_request_queue`;
  const [resp] = await sql`select coalesce(max(id), 0)::int as id from net._http_response`;
  return Math.max(row.id, resp.id);
}

async function jobHistory(sql: Sql, jobId: number) {
  return [
    ...await sql`
    select from_state::text, to_state::text, attempt
    from jobs.job_events where job_id = ${jobId} order by id`,
  ];
}

async function awaitJobState(sql: Sql, jobId: number, state: string) {
  return await waitFor(async () => {
    const [job] = await sql`select * from jobs.jobs where id = ${jobId} and state = ${state}`;
    return job;
  }, { what: `job ${jobId} to be ${state}` });
}

Deno.test("an INSERT reaches the edge function through one wake-up and the audit shows each step", async () => {
  const sql = testSql();
  try {
    const before = await maxRequestId(sql);
    const { probe, requests } = await sql.begin(async (tx: postgres.TransactionSql) => {
      const [probe] =
        await tx`insert into jobs.probes (note) values ('chain') returning id, job_id`;
      const requests = await tx`
        select id, url, headers from net.http_request_queue where id > ${before}`;
      return { probe, requests };
    });
    assertEquals(requests.length, 1, "one wake-up per transaction");
    assertEquals(requests[0].url, FUNCTION_URL);
    assertEquals(requests[0].headers.Authorization, `Bearer ${Deno.env.get("CRON_SECRET")}`);

    const handled = await waitFor(async () => {
      const [row] =
        await sql`select * from jobs.probes where id = ${probe.id} and handled_at is not null`;
      return row;
    }, { what: `probe ${probe.id} to be handled` });
    assert(handled.handler_started_at >= handled.created_at);

    const job = await awaitJobState(sql, Number(probe.job_id), "succeeded");
    assertEquals(job.queue, "probe");
    assertEquals(job.subject, `probe:${probe.id}`);
    assertEquals(job.attempts, 1);
    assertEquals(job.result.probe_id, Number(probe.id));
    assertEquals(await jobHistory(sql, job.id), [
      { from_state: null, to_state: "waiting", attempt: 0 },
      { from_state: "waiting", to_state: "running", attempt: 1 },
      { from_state: "running", to_state: "succeeded", attempt: 1 },
    ]);
    const response = await waitFor(async () => {
      const [row] = await sql`select * from net._http_response where id = ${requests[0].id}`;
      return row;
    }, { what: "the wake-up's response" });
    assertEquals(response.status_code, 200);
    assertEquals(JSON.parse(response.content).succeeded >= 1, true);
  } finally {
    await sql.end();
  }
});

Deno.test("a rolled-back INSERT leaves no job behind and sends no wake-up", async () => {
  const sql = testSql();
  try {
    const before = await maxRequestId(sql);
    let rolledBack: { jobId: number; requestId: number } | undefined;
    await sql.begin(async (tx: postgres.TransactionSql) => {
      const [probe] =
        await tx`insert into jobs.probes (note) values ('rolled back') returning job_id`;
      const [request] = await tx`select id from net.http_request_queue where id > ${before}`;
      rolledBack = { jobId: Number(probe.job_id), requestId: Number(request.id) };
      throw new Error("roll back");
    }).catch((error: Error) => assertEquals(error.message, "roll back"));
    assert(rolledBack);

    // A later committed probe is handled; by then the worker would have sent the first one.
    const [later] =
      await sql`insert into jobs.probes (note) values ('after rollback') returning id`;
    await waitFor(async () => {
      const [row] =
        await sql`select 1 from jobs.probes where id = ${later.id} and handled_at is not null`;
      return row;
    }, { what: "the later probe to be handled" });
    assertEquals((await sql`select 1 from jobs.jobs where id = ${rolledBack.jobId}`).length, 0);
    assertEquals(
      (await sql`select 1 from net._http_response where id = ${rolledBack.requestId}`).length,
      0,
    );
  } finally {
    await sql.end();
  }
});

Deno.test("the drain cron job runs a job whose wake-up was lost", async () => {
  const sql = testSql();
  try {
    const before = await maxRequestId(sql);
    const [probe] = await sql.begin(async (tx: postgres.TransactionSql) => {
      const rows =
        await tx`insert into jobs.probes (note) values ('lost wake-up') returning id, job_id`;
      // What a lost wake-up looks like: the request never leaves.
      await tx`delete from net.http_request_queue where id > ${before}`;
      return rows;
    });
    const [job] = await sql`select state::text from jobs.jobs where id = ${probe.job_id}`;
    assertEquals(job.state, "waiting");

    const [cronJob] =
      await sql`select schedule, command from cron.job where jobname = 'jobs-drain-probe'`;
    assertEquals(cronJob.schedule, "* * * * *");
    await sql.unsafe(cronJob.command);
    await awaitJobState(sql, Number(probe.job_id), "succeeded");
  } finally {
    await sql.end();
  }
});

Deno.test("a probe job with a malformed payload goes straight to dead with the reason", async () => {
  const sql = testSql();
  try {
    const [{ id }] = await sql`
      select (public.job_enqueue('probe', '{"probe_id": "seven"}'::jsonb, 'probe:bad')).id`;
    const job = await awaitJobState(sql, Number(id), "dead");
    assertMatch(job.last_error, /PermanentJobError: Probe job \d+ has an invalid payload/);
    assertEquals(job.attempts, 1);
    assertEquals((await jobHistory(sql, job.id)).map((e) => e.to_state), [
      "waiting",
      "running",
      "dead",
    ]);
  } finally {
    await sql.end();
  }
});

Deno.test("a probe job for an unknown probe is dead after one attempt, not retried", async () => {
  const sql = testSql();
  try {
    const [{ id }] = await sql`
      select (public.job_enqueue('probe', '{"probe_id": 999999999}'::jsonb, 'probe:missing')).id`;
    const job = await awaitJobState(sql, Number(id), "dead");
    assertMatch(job.last_error, /Probe 999999999 does not exist/);
  } finally {
    await sql.end();
  }
});

Deno.test("the worker function refuses callers without the cron secret or service key", async () => {
  for (
    const authorization of [undefined, "Bearer nope", `Bearer ${Deno.env.get("SUPABASE_ANON_KEY")}`]
  ) {
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const res = await fetch(FUNCTION_URL, { method: "POST", headers, body: "{}" });
    assertEquals(res.status, 401);
    assertEquals((await res.json()).error.code, "unauthorized");
  }
});

Deno.test("the worker function answers clear 4xx errors to malformed wake-ups", async () => {
  const auth = { authorization: `Bearer ${Deno.env.get("CRON_SECRET")}` };
  const cases: Array<[RequestInit, number, string]> = [
    [{ method: "GET", headers: auth }, 405, "method_not_allowed"],
    [{ method: "POST", headers: auth, body: "{not json" }, 400, "invalid_body"],
    [{ method: "POST", headers: auth, body: "[1, 2]" }, 400, "invalid_body"],
    [{ method: "POST", headers: auth, body: '{"queue": "other"}' }, 400, "wrong_queue"],
  ];
  for (const [init, status, code] of cases) {
    const res = await fetch(FUNCTION_URL, init);
    assertEquals(res.status, status, `${init.method} ${init.body}`);
    assertEquals((await res.json()).error.code, code);
  }
});

Deno.test("the worker function drains its queue when called by hand with the service key", async () => {
  const res = await fetch(FUNCTION_URL, {
    method: "POST",
    headers: { authorization: `Bearer ${Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")}` },
  });
  assertEquals(res.status, 200);
  const summary = await res.json();
  assertEquals(summary.queue, "probe");
  assertEquals(summary.stoppedBy, "drained");
  assertEquals(summary.reason, null);
});
