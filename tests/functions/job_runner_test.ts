/**
 * The job runner against the real job core, through supabase-js and the local gateway.
 * Each test uses a queue of its own, created like a domain migration creates one.
 */
import { createClient } from "@supabase/supabase-js";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";
import {
  PermanentJobError,
  RetryLaterError,
  ThrottledError,
} from "../../supabase/functions/_shared/jobs/errors.ts";
import { type Job, runQueue } from "../../supabase/functions/_shared/jobs/runner.ts";

const client = createClient<Database>(
  Deno.env.get("SUPABASE_URL")!,
  Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
  {
    auth: { persistSession: false, autoRefreshToken: false },
  },
);

type Sql = ReturnType<typeof testSql>;

/** Creates a queue with no function behind it (the test drains it in-process). */
async function createQueue(
  sql: Sql,
  name: string,
  jobs: number,
  batchSize = 10,
): Promise<number[]> {
  await sql`select jobs.create_queue(p_name => ${name}, p_function_name => null,
                                     p_batch_size => ${batchSize})`;
  const rows = await sql`
    select (public.job_enqueue(${name}, jsonb_build_object('n', n), 'item:' || n)).id
    from generate_series(1, ${jobs}) n`;
  return rows.map((r) => Number(r.id));
}

async function states(sql: Sql, queue: string): Promise<Record<string, number>> {
  const rows =
    await sql`select state::text, count(*)::int as n from jobs.jobs where queue = ${queue} group by 1`;
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

Deno.test("runQueue() runs every job in batches and stores each result", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_all", 25, 10);
    const summary = await runQueue<{ n: number }>({
      client,
      queue: "runner_all",
      handler: (job) => Promise.resolve({ doubled: job.payload.n * 2 }),
    });
    assertEquals(
      [summary.batches, summary.claimed, summary.succeeded, summary.stoppedBy],
      [3, 25, 25, "drained"],
    );
    assertEquals(await states(sql, "runner_all"), { succeeded: 25 });
    const [job] =
      await sql`select result from jobs.jobs where queue = 'runner_all' and subject = 'item:7'`;
    assertEquals(job.result, { doubled: 14 });
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() turns thrown errors into retries, retry-after delays and dead letters", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_failures", 3);
    const summary = await runQueue<{ n: number }>({
      client,
      queue: "runner_failures",
      handler: (job) => {
        if (job.payload.n === 1) throw new Error("Connection reset");
        if (job.payload.n === 2) throw new RetryLaterError("Provider answered 429", 120);
        throw new PermanentJobError("Provider answered 422: invalid address");
      },
    });
    assertEquals([summary.retrying, summary.dead, summary.succeeded], [2, 1, 0]);
    const rows = await sql`
      select subject, state::text, last_error, extract(epoch from run_at - updated_at)::int as delay
      from jobs.jobs where queue = 'runner_failures' order by subject`;
    assertEquals(rows.map((r) => [r.subject, r.state]), [
      ["item:1", "retrying"],
      ["item:2", "retrying"],
      ["item:3", "dead"],
    ]);
    assertEquals(rows[0].last_error, "Error: Connection reset");
    assertEquals(rows[1].delay, 120, "retry-after overrides the backoff");
    assertMatch(rows[2].last_error, /^PermanentJobError: Provider answered 422/);
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() never runs more handlers at once than its concurrency limit", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_concurrency", 12, 12);
    let inFlight = 0;
    let peak = 0;
    const waiting: Array<() => void> = [];
    const summary = await runQueue({
      client,
      queue: "runner_concurrency",
      concurrency: 4,
      handler: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        // Hold each handler until four are running together, then let that group go.
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 4) waiting.splice(0).forEach((release) => release());
        });
        inFlight--;
      },
    });
    assertEquals(summary.succeeded, 12);
    assertEquals(peak, 4);
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() keeps claiming while a slow job runs: it does not wait for the batch", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_continuous", 10, 4);
    let othersDone = 0;
    let releasedBy = "";
    let releaseSlow!: (by: string) => void;
    const slowMayEnd = new Promise<void>((resolve) => {
      releaseSlow = (by) => {
        releasedBy ||= by;
        resolve();
      };
    });
    // A runner that waited for a whole claimed batch before claiming more would never start
    // the later jobs: the timer ends the slow job then, and the test fails below.
    const timer = setTimeout(() => releaseSlow("timer"), 5_000);
    const summary = await runQueue<{ n: number }>({
      client,
      queue: "runner_continuous",
      concurrency: 4,
      handler: async (job) => {
        // Job 1 ends only once the nine others have.
        if (job.payload.n === 1) return await slowMayEnd;
        if (++othersDone === 9) releaseSlow("the other jobs");
      },
    });
    clearTimeout(timer);
    assertEquals(releasedBy, "the other jobs");
    assertEquals([summary.claimed, summary.succeeded, summary.stoppedBy], [10, 10, "drained"]);
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() with a subject limit drains the other subjects while one subject's jobs hang", async () => {
  const sql = testSql();
  try {
    // 30 quick jobs over three subjects and 4 slow ones of subject "slow"; at most 2 of a
    // subject run at once, so every claim comes back short of its limit.
    await sql`select jobs.create_queue(p_name => 'runner_subjects', p_function_name => null,
                                       p_batch_size => 10)`;
    await sql`update jobs.queues set subject_concurrency = 2 where name = 'runner_subjects'`;
    await sql`
      select public.job_enqueue('runner_subjects', jsonb_build_object('n', n),
                                case when n <= 4 then 'slow' else 'quick:' || n % 3 end)
      from generate_series(1, 34) n`;
    let quickDone = 0;
    let releasedBy = "";
    let releaseSlow!: (by: string) => void;
    const slowMayEnd = new Promise<void>((resolve) => {
      releaseSlow = (by) => {
        releasedBy ||= by;
        resolve();
      };
    });
    // A runner that waited for the slow jobs before claiming again (a claim came back short;
    // the job core still counted ended but unreported jobs as running), or that stopped as
    // "drained" after such a claim, would leave the quick jobs behind: the timer would end the
    // slow ones first.
    const timer = setTimeout(() => releaseSlow("timer"), 8_000);
    const summary = await runQueue<{ n: number }>({
      client,
      queue: "runner_subjects",
      concurrency: 10,
      handler: async (job) => {
        if (job.payload.n <= 4) return await slowMayEnd;
        if (++quickDone === 30) releaseSlow("the quick jobs");
      },
    });
    clearTimeout(timer);
    assertEquals(releasedBy, "the quick jobs");
    assertEquals([summary.succeeded, summary.stoppedBy], [34, "drained"]);
    assertEquals(await states(sql, "runner_subjects"), { succeeded: 34 });
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() runs jobs that its jobs enqueue, in the same run", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_follow_up", 1);
    const ran: string[] = [];
    const summary = await runQueue<{ n: number }>({
      client,
      queue: "runner_follow_up",
      handler: async (job) => {
        ran.push(job.subject!);
        if (job.payload.n < 3) {
          await sql`select public.job_enqueue('runner_follow_up',
                      jsonb_build_object('n', ${job.payload.n + 1}::int),
                      'item:' || ${job.payload.n + 1}::int)`;
        }
      },
    });
    assertEquals(ran, ["item:1", "item:2", "item:3"]);
    assertEquals([summary.succeeded, summary.stoppedBy], [3, "drained"]);
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() lets running jobs finish and report before failing on a job core error", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_core_down", 2);
    // From the second on, job_claim calls fail (as if the database went away, for longer than
    // the seam's retries last); the jobs claimed by the first are still running then.
    let claims = 0;
    let claimFailed!: () => void;
    const failedClaim = new Promise<void>((resolve) => (claimFailed = resolve));
    const flaky = createClient<Database>(
      Deno.env.get("SUPABASE_URL")!,
      Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
      {
        auth: { persistSession: false, autoRefreshToken: false },
        global: {
          fetch: (input, init) => {
            if (String(input).endsWith("/rpc/job_claim") && ++claims >= 2) {
              claimFailed();
              return Promise.resolve(
                Response.json({ code: "08006", message: "connection lost" }, { status: 503 }),
              );
            }
            return fetch(input, init);
          },
        },
      },
    );
    let error: unknown;
    try {
      await runQueue({ client: flaky, queue: "runner_core_down", handler: () => failedClaim });
    } catch (e) {
      error = e;
    }
    assertMatch(String(error), /JobCoreError: job_claim failed .*connection lost/);
    assertEquals(await states(sql, "runner_core_down"), { succeeded: 2 });
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() stops at its wall-clock budget, leaves the rest and asks for a wake-up", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_budget", 30, 10);
    // A function name, so that jobs.wake() sends a request (to a function that does not exist).
    await sql`update jobs.queues set function_name = 'runner-budget-nowhere'
              where name = 'runner_budget'`;
    let clock = 0;
    const [before] = await sql`
      select greatest((select coalesce(max(id), 0) from net.http_request_queue),
                      (select coalesce(max(id), 0) from net._http_response)) as id`;
    const summary = await runQueue({
      client,
      queue: "runner_budget",
      wallBudgetMs: 1_000,
      now: () => clock,
      handler: () => {
        clock += 100; // each job "takes" 100 ms of the budget
        return Promise.resolve();
      },
    });
    assertEquals([summary.batches, summary.succeeded, summary.stoppedBy], [1, 10, "wall_budget"]);
    assertEquals(await states(sql, "runner_budget"), { succeeded: 10, waiting: 20 });
    // The request sits in the queue, then (once the worker took it) in the responses.
    const wakeUp = await waitFor(async () => {
      const [row] = await sql`
        select id from net.http_request_queue
        where id > ${before.id} and url like '%/functions/v1/runner-budget-nowhere'
        union all
        select id from net._http_response where id > ${before.id}`;
      return row;
    }, { what: "the runner's wake-up request" });
    assert(Number(wakeUp.id) > Number(before.id), "the runner asked for the next wake-up");
  } finally {
    await sql.end();
  }
});

Deno.test("runQueue() does not overwrite a job cancelled while its handler ran", async () => {
  const sql = testSql();
  try {
    const [id] = await createQueue(sql, "runner_cancel", 1);
    const summary = await runQueue({
      client,
      queue: "runner_cancel",
      handler: async (job: Job) => {
        await sql`select public.job_cancel(${job.id}, 'operator changed their mind')`;
      },
    });
    assertEquals([summary.succeeded, summary.lost], [0, 1]);
    const [job] = await sql`select state::text from jobs.jobs where id = ${id}`;
    assertEquals(job.state, "cancelled");
  } finally {
    await sql.end();
  }
});

/** A client whose calls of `fn` fail `times` times with `code` before going through. */
function clientFailing(fn: string, code: string, times: number, seen: unknown[] = []) {
  let failed = 0;
  return createClient<Database>(
    Deno.env.get("SUPABASE_URL")!,
    Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
    {
      auth: { persistSession: false, autoRefreshToken: false },
      global: {
        fetch: async (input, init) => {
          if (String(input).endsWith(`/rpc/${fn}`)) {
            seen.push(JSON.parse(String(init?.body ?? "null")));
            if (failed++ < times) {
              return Response.json({ code, message: `injected ${code}` }, { status: 409 });
            }
          }
          return await fetch(input, init);
        },
      },
    },
  );
}

Deno.test("a deadlock on a job core call is retried at the seam and the run goes on", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_deadlock", 3);
    const seen: unknown[] = [];
    const summary = await runQueue({
      client: clientFailing("job_report", "40P01", 2, seen),
      queue: "runner_deadlock",
      handler: () => Promise.resolve(null),
    });
    assertEquals(summary.succeeded, 3, "the third try of the report went through");
    assert(seen.length >= 3, `job_report was called again after the deadlocks (${seen.length})`);
    assertEquals(await states(sql, "runner_deadlock"), { succeeded: 3 });
  } finally {
    await sql.end();
  }
});

Deno.test("a throttled job is reported as throttled, with its retry-after", async () => {
  const sql = testSql();
  try {
    await createQueue(sql, "runner_throttled", 1);
    const reports: { p_outcomes: Record<string, unknown>[] }[] = [];
    await runQueue({
      client: clientFailing("job_report", "none", 0, reports),
      queue: "runner_throttled",
      shortRetryMs: 0,
      handler: () => Promise.reject(new ThrottledError("Resend answered 429", 30)),
    });
    const [outcome] = reports[0].p_outcomes;
    assertEquals(
      [outcome.ok, outcome.throttled, outcome.retry_after_seconds, outcome.permanent],
      [false, true, 30, undefined],
    );
    assertMatch(String(outcome.error), /ThrottledError: Resend answered 429/);
    assertEquals(await states(sql, "runner_throttled"), { retrying: 1 });
  } finally {
    await sql.end();
  }
});
