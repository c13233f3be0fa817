/**
 * The same no-op workload through graphile-worker, in the same database, for comparison:
 * plain (each worker fetches its next job) and batched (local queue + batched completion).
 */
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import type postgres from "postgres";

export interface GraphileRun {
  jobs: number;
  seconds: number;
  perSecond: number;
}

/** Adds `jobs` no-op jobs, then measures how long graphile-worker takes to run them all. */
export async function runGraphile(
  connectionString: string,
  sql: postgres.Sql,
  opts: { jobs: number; batched: boolean; concurrency: number },
): Promise<GraphileRun> {
  const utils = await makeWorkerUtils({ connectionString, logger: new Logger(() => () => {}) });
  await utils.migrate();
  await utils.release();
  // Bulk insert through graphile's own function, so its bookkeeping is right.
  for (let done = 0; done < opts.jobs; done += 5000) {
    const n = Math.min(5000, opts.jobs - done);
    await sql`
      select graphile_worker.add_jobs(array(
        select json_populate_record(null::graphile_worker.job_spec,
                                    '{"identifier": "noop", "payload": {}}')
        from generate_series(1, ${n})))`;
  }
  let completed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const started = performance.now();
  const runner = await run({
    connectionString,
    concurrency: opts.concurrency,
    maxPoolSize: opts.concurrency + 2,
    noHandleSignals: true,
    pollInterval: 1000,
    // Silent: a log line per job would measure the terminal, not the queue.
    logger: new Logger(() => () => {}),
    taskList: {
      noop: () => {
        if (++completed === opts.jobs) resolveDone();
        return Promise.resolve();
      },
    },
    preset: opts.batched
      ? {
        worker: {
          localQueue: { size: 500 },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      }
      : {},
  });
  await done;
  // Completions may still be batched in flight: wait until the table is really empty.
  while (true) {
    const [{ n }] = await sql`select count(*)::int as n from graphile_worker._private_jobs`;
    if (n === 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  return {
    jobs: opts.jobs,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round(opts.jobs / seconds),
  };
}
