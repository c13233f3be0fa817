/**
 * Job core benchmark (a script that prints figures, not a test).
 *
 *   bash scripts/bench.sh job_core [--wakeups 1000] [--jobs 100000] [--workers 4] [--batch 500]
 *
 * On a fresh, durable `bench` platform it measures:
 *   1. wake-up latency: COMMIT of an INSERT → the edge function's handler starting
 *      (probes committed one after another; p50/p95/p99);
 *   2. enqueue throughput: one job per call, and batches through job_enqueue_many;
 *   3. claim+complete throughput with a no-op handler: job_claim + job_report in batches from
 *      several workers, and the real job runner through supabase-js and the gateway;
 *   4. the same no-op workload through graphile-worker, plain and batched, on the same database.
 */
import postgres from "postgres";
import { flag } from "./cli.ts";
import { startPlatform } from "../platform/start.ts";
import { runQueue } from "../../supabase/functions/_shared/jobs/runner.ts";
import { serviceClient } from "../../supabase/functions/_shared/runtime/client.ts";
import { parseEnv } from "../../supabase/functions/_shared/runtime/env.ts";
import { runGraphile } from "./graphile.ts";
import { epochMs, latencySummary, throughput } from "./stats.ts";

const WAKEUPS = flag("wakeups", 1000);
const JOBS = flag("jobs", 100_000);
const WORKERS = flag("workers", 4);
const BATCH = flag("batch", 500);

const platform = await startPlatform("bench", { fresh: true, log: () => {} });
const { cfg, env } = platform;
const sql = postgres(cfg.dbUrl, { max: WORKERS + 4, onnotice: () => {} });
const results: Record<string, unknown> = {};

async function waitUntil<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Commits one probe and returns ms from just before COMMIT to the handler's start. */
async function oneWakeUp(conn: postgres.ReservedSql): Promise<number> {
  await conn`begin`;
  const [{ id }] = await conn`insert into jobs.probes (note) values ('bench') returning id`;
  const committedAt = epochMs();
  await conn`commit`;
  const started = await waitUntil(async () => {
    const [row] = await sql`select handler_started_at from jobs.probes where id = ${id}`;
    return row?.handler_started_at ?? undefined;
  }, `probe ${id}`);
  return (started as Date).getTime() - committedAt;
}

try {
  // 1. Wake-up latency.
  const conn = await sql.reserve();
  const cold = await oneWakeUp(conn);
  for (let i = 0; i < 20; i++) await oneWakeUp(conn); // warm-up, not counted
  const latencies: number[] = [];
  for (let i = 0; i < WAKEUPS; i++) latencies.push(await oneWakeUp(conn));
  conn.release();
  results.wakeup_ms = { cold_start: Math.round(cold), ...latencySummary(latencies) };
  console.log("wake-up latency, COMMIT → handler start (ms):", results.wakeup_ms);

  // 2. Enqueue throughput. The bench queue has no function: workers below drain it in-process.
  await sql`select jobs.create_queue(p_name => 'bench', p_function_name => null)`;
  const single = 20_000;
  results.enqueue_single = await throughput(single, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: WORKERS }, async () => {
      while (next++ < single) await sql`select public.job_enqueue('bench', '{}'::jsonb)`;
    }));
  });
  console.log("enqueue, one job per call:", results.enqueue_single);
  await sql`delete from jobs.jobs where queue = 'bench'`;
  results.enqueue_batched = await throughput(JOBS, async () => {
    const chunk = Array.from({ length: 1000 }, (_, i) => ({ payload: { i } }));
    let next = 0;
    await Promise.all(Array.from({ length: WORKERS }, async () => {
      while ((next += 1000) <= JOBS) {
        await sql`select count(*) from public.job_enqueue_many('bench', ${sql.json(chunk)})`;
      }
    }));
  });
  console.log("enqueue, batches of 1000:", results.enqueue_batched);

  // 3. Claim + complete with a no-op handler, straight SQL from several workers.
  const noop = () => Promise.resolve();
  results.claim_complete_sql = await throughput(JOBS, async () => {
    await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      while (true) {
        const jobs = await sql`select id from public.job_claim('bench', ${`w${w}`}, ${BATCH})`;
        if (jobs.length === 0) return;
        await Promise.all(jobs.map(noop));
        const outcomes = jobs.map((j) => ({ id: Number(j.id), ok: true }));
        await sql`select count(*) from public.job_report(${`w${w}`}, ${sql.json(outcomes)})`;
      }
    }));
  });
  console.log(`claim+complete, SQL, ${WORKERS} workers × ${BATCH}:`, results.claim_complete_sql);

  // ... and the real job runner, through supabase-js and the local gateway.
  const runnerJobs = Math.min(JOBS, 20_000);
  await sql`select count(*) from public.job_enqueue_many('bench',
    (select jsonb_agg(jsonb_build_object('payload', '{}'::jsonb)) from generate_series(1, ${runnerJobs})))`;
  const client = serviceClient(parseEnv(env));
  results.claim_complete_runner = await throughput(runnerJobs, async () => {
    await Promise.all(
      Array.from({ length: WORKERS }, () =>
        runQueue({
          client,
          queue: "bench",
          handler: noop,
          batchSize: BATCH,
          concurrency: BATCH,
          cpuBudgetMs: 1e9,
        })),
    );
  });
  console.log("claim+complete, job runner via supabase-js RPC:", results.claim_complete_runner);

  // 4. graphile-worker on the same database.
  results.graphile_plain = await runGraphile(cfg.dbUrl, sql, {
    jobs: Math.min(JOBS, 50_000),
    batched: false,
    concurrency: 10,
  });
  console.log("graphile-worker, plain:", results.graphile_plain);
  results.graphile_batched = await runGraphile(cfg.dbUrl, sql, {
    jobs: JOBS,
    batched: true,
    concurrency: 10,
  });
  console.log("graphile-worker, localQueue + batched completion:", results.graphile_batched);

  const ours = (results.claim_complete_sql as { perSecond: number }).perSecond;
  const ratio = (other: unknown) =>
    Math.round((ours / (other as { perSecond: number }).perSecond) * 100) / 100;
  results.ratio_vs_graphile_plain = ratio(results.graphile_plain);
  results.ratio_vs_graphile_batched = ratio(results.graphile_batched);
  console.log(
    `job core vs graphile-worker: ×${results.ratio_vs_graphile_plain} (plain), ×${results.ratio_vs_graphile_batched} (batched)`,
  );
  console.log(JSON.stringify(results));
} finally {
  await sql.end();
  await platform.stop();
}
