/**
 * The job runner every queue worker uses: claim a batch from the job core, run the handler on
 * each job with a concurrency limit, report every outcome in one call, and keep going while
 * work remains — stopping before the edge function limits (2 s CPU, 150 s wall clock) with
 * the rest left for the next wake-up, which it asks for itself.
 *
 * All state changes are SQL functions of the job core called through supabase-js `.rpc()`:
 * `job_claim`, `job_report`, `job_extend_lease`, `job_wake`.
 *
 * @example
 * const summary = await runQueue({ client, queue: "probe", handler: async (job) => ({ ok: 1 }) });
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import cpuProcess from "node:process";
import { PermanentJobError, RetryLaterError } from "./job_errors.ts";
import { errorText, log } from "./log.ts";

/** A claimed job, as `job_claim` returns it. */
export interface Job<P = unknown> {
  id: number;
  queue: string;
  payload: P;
  subject: string | null;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_at: string;
  lease_expires_at: string;
  created_at: string;
}

/** What a handler receives besides its job. */
export interface JobContext {
  /** The service-role client, for the SQL functions the handler calls. */
  client: SupabaseClient;
  /** Aborted when the function nears its wall-clock limit. */
  signal: AbortSignal;
  workerId: string;
}

/** Does the job's work; its return value is stored as the job's result. */
export type JobHandler<P = unknown> = (job: Job<P>, ctx: JobContext) => Promise<unknown>;

export interface RunOptions<P> {
  client: SupabaseClient;
  queue: string;
  handler: JobHandler<P>;
  /** Lease owner name; unique per invocation by default. */
  workerId?: string;
  /** Jobs run at once (default 10). */
  concurrency?: number;
  /** Jobs claimed per batch (default: the queue's `batch_size`). */
  batchSize?: number;
  /** Stop claiming after this much wall-clock time (default 120 s of Supabase's 150 s). */
  wallBudgetMs?: number;
  /** Stop claiming after this much CPU time (default 1.5 s of Supabase's 2 s). */
  cpuBudgetMs?: number;
  /**
   * A job retried with a `retry-after` at most this long (default 5 s) is waited for in this
   * run, rather than left to the next wake-up or the cron drain.
   */
  shortRetryMs?: number;
  /** Clock for the wall budget, in milliseconds (tests pass a fake one). */
  now?: () => number;
}

export interface RunSummary {
  queue: string;
  worker: string;
  batches: number;
  claimed: number;
  succeeded: number;
  retrying: number;
  dead: number;
  /** Outcomes the job core refused: the lease had been lost (expired, cancelled). */
  lost: number;
  stoppedBy: "drained" | "wall_budget" | "cpu_budget";
  durationMs: number;
}

interface Outcome {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
  permanent?: boolean;
  retry_after_seconds?: number;
}

/** Raised when a job core call fails; names the call, queue and worker. */
export class JobCoreError extends Error {
  override name = "JobCoreError";
}

function cpuMs(): number {
  const usage = cpuProcess.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function call<T>(
  client: SupabaseClient,
  fn: string,
  args: Record<string, unknown>,
  context: string,
): Promise<T> {
  const { data, error } = await client.rpc(fn, args);
  if (error) {
    throw new JobCoreError(`${fn} failed (${context}): ${error.message} [${error.code ?? "?"}]`);
  }
  return data as T;
}

function outcomeOf(id: number, settled: PromiseSettledResult<unknown>): Outcome {
  if (settled.status === "fulfilled") return { id, ok: true, result: settled.value ?? null };
  const error = errorText(settled.reason);
  if (settled.reason instanceof PermanentJobError) return { id, ok: false, error, permanent: true };
  if (settled.reason instanceof RetryLaterError && settled.reason.retryAfterSeconds !== undefined) {
    return { id, ok: false, error, retry_after_seconds: settled.reason.retryAfterSeconds };
  }
  return { id, ok: false, error };
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
async function settleWithLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: "fulfilled", value: await fn(items[index]) };
      } catch (reason) {
        results[index] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/**
 * Keeps the leases of running jobs alive: every half lease, extends those still in flight.
 * Returns a function that stops it.
 */
function keepLeases(
  opts: { client: SupabaseClient; workerId: string; queue: string },
  inFlight: Set<number>,
  leaseMs: number,
): () => void {
  const timer = setInterval(() => {
    if (inFlight.size === 0) return;
    call(opts.client, "job_extend_lease", {
      p_worker: opts.workerId,
      p_job_ids: [...inFlight],
    }, `queue ${opts.queue}, worker ${opts.workerId}`).catch((error) =>
      log.warn("lease extension failed", { queue: opts.queue, error: errorText(error) })
    );
  }, Math.max(1000, leaseMs / 2));
  return () => clearInterval(timer);
}

/** Claims and runs jobs of one queue until it is drained or a budget is spent. */
export async function runQueue<P>(opts: RunOptions<P>): Promise<RunSummary> {
  const now = opts.now ?? Date.now;
  const started = now();
  const cpuStart = cpuMs();
  const workerId = opts.workerId ?? `${opts.queue}:${crypto.randomUUID()}`;
  const wallBudgetMs = opts.wallBudgetMs ?? 120_000;
  const cpuBudgetMs = opts.cpuBudgetMs ?? 1_500;
  const context = `queue ${opts.queue}, worker ${workerId}`;
  const abort = new AbortController();
  const hardStop = setTimeout(
    () => abort.abort(new Error("Function time limit is near")),
    wallBudgetMs + 20_000,
  );
  const summary: RunSummary = {
    queue: opts.queue,
    worker: workerId,
    batches: 0,
    claimed: 0,
    succeeded: 0,
    retrying: 0,
    dead: 0,
    lost: 0,
    stoppedBy: "drained",
    durationMs: 0,
  };
  try {
    while (true) {
      if (now() - started >= wallBudgetMs) {
        summary.stoppedBy = "wall_budget";
        break;
      }
      if (cpuMs() - cpuStart >= cpuBudgetMs) {
        summary.stoppedBy = "cpu_budget";
        break;
      }
      const jobs = await call<Job<P>[]>(opts.client, "job_claim", {
        p_queue: opts.queue,
        p_worker: workerId,
        p_limit: opts.batchSize ?? null,
      }, context);
      if (jobs.length === 0) break;
      summary.batches++;
      summary.claimed += jobs.length;

      const inFlight = new Set(jobs.map((job) => job.id));
      const leaseMs = Math.min(...jobs.map((job) => Date.parse(job.lease_expires_at) - Date.now()));
      const stopLeases = keepLeases({ ...opts, workerId }, inFlight, leaseMs);
      const settled = await settleWithLimit(jobs, opts.concurrency ?? 10, async (job) => {
        const jobStarted = Date.now();
        try {
          return await opts.handler(job, { client: opts.client, signal: abort.signal, workerId });
        } finally {
          inFlight.delete(job.id);
          log.debug("job handled", {
            queue: job.queue,
            job_id: job.id,
            attempt: job.attempts,
            subject: job.subject,
            worker: workerId,
            duration_ms: Date.now() - jobStarted,
          });
        }
      });
      stopLeases();

      const outcomes = jobs.map((job, i) => outcomeOf(job.id, settled[i]));
      for (const [i, outcome] of outcomes.entries()) {
        if (!outcome.ok) {
          log.warn("job failed", {
            queue: opts.queue,
            job_id: outcome.id,
            attempt: jobs[i].attempts,
            subject: jobs[i].subject,
            worker: workerId,
            error: outcome.error,
            permanent: outcome.permanent ?? false,
          });
        }
      }
      const reported = await call<{ job_id: number; state: string }[]>(opts.client, "job_report", {
        p_worker: workerId,
        p_outcomes: outcomes,
      }, context);
      for (const row of reported) {
        if (row.state === "succeeded") summary.succeeded++;
        else if (row.state === "dead") summary.dead++;
        else summary.retrying++;
      }
      summary.lost += outcomes.length - reported.length;

      // A provider asked for a short pause (429 retry-after): wait for it here, then claim the
      // retried jobs again, instead of leaving them to the cron drain.
      const retried = new Set(reported.filter((r) => r.state === "retrying").map((r) => r.job_id));
      const pauseMs = Math.min(
        ...outcomes.filter((o) => retried.has(o.id) && o.retry_after_seconds !== undefined)
          .map((o) => o.retry_after_seconds! * 1000),
      );
      if (pauseMs <= (opts.shortRetryMs ?? 5_000) && now() - started + pauseMs < wallBudgetMs) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs + 50));
      }
    }
    if (summary.stoppedBy !== "drained") {
      // Work may remain: ask for the next wake-up now rather than wait for the cron.
      await call(opts.client, "job_wake", { p_queue: opts.queue, p_reason: "continue" }, context);
    }
  } finally {
    clearTimeout(hardStop);
    summary.durationMs = now() - started;
  }
  log.info("queue run finished", { ...summary });
  return summary;
}
