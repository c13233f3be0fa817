/**
 * The job runner every queue worker uses: claim jobs from the job core, run the handler on
 * each with a concurrency limit, claiming more as room frees, report outcomes in groups, and
 * keep going while work remains — stopping before the edge function limits (2 s CPU, 150 s
 * wall clock) with the rest left for the next wake-up, which it asks for itself.
 *
 * All state changes are SQL functions of the job core, called through `./rpc.ts` (`JobCore`):
 * `job_claim`, `job_report`, `job_extend_lease`, `job_wake`.
 *
 * @example
 * const summary = await runQueue({ client, queue: "probe", handler: async (job) => ({ ok: 1 }) });
 */
import cpuProcess from "node:process";
import type { DbClient } from "../runtime/client.ts";
import { errorText, log } from "../runtime/log.ts";
import { isPermanentFailure, RetryLaterError, ThrottledError } from "./errors.ts";
import { type Job, JobCore, type Outcome, type Reported } from "./rpc.ts";

export type { Job } from "./rpc.ts";
export { JobCoreError } from "./rpc.ts";

/** What a handler receives besides its job. */
export interface JobContext {
  /** The service-role client, for the SQL functions the handler calls. */
  client: DbClient;
  /** Aborted when the function nears its wall-clock limit. */
  signal: AbortSignal;
  workerId: string;
}

/** Does the job's work; its return value is stored as the job's result. */
export type JobHandler<P = unknown> = (job: Job<P>, ctx: JobContext) => Promise<unknown>;

export interface RunOptions<P> {
  client: DbClient;
  queue: string;
  handler: JobHandler<P>;
  /** Lease owner name; unique per invocation by default. */
  workerId?: string;
  /** Jobs run at once (default 10). */
  concurrency?: number;
  /**
   * Jobs claimed by the first claim of a run (default: the queue's `batch_size`); later claims
   * top up the room that has freed, up to this many.
   */
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

/** After a budget stop, how long the running jobs may take before the next run is woken. */
const SLOW_JOBS_WAKE_MS = 1_000;

function cpuMs(): number {
  const usage = cpuProcess.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function failedOutcome(job: Job, reason: unknown, workerId: string): Outcome {
  const error = errorText(reason);
  const outcome: Outcome = { id: job.id, ok: false, error };
  if (isPermanentFailure(reason)) outcome.permanent = true;
  else if (reason instanceof RetryLaterError) {
    if (reason.retryAfterSeconds !== undefined) {
      outcome.retry_after_seconds = reason.retryAfterSeconds;
    }
    // The provider asked us to wait: the job core does not count this attempt.
    if (reason instanceof ThrottledError) outcome.throttled = true;
  }
  log.warn("job failed", {
    queue: job.queue,
    job_id: job.id,
    attempt: job.attempts,
    subject: job.subject,
    worker: workerId,
    error,
    permanent: outcome.permanent ?? false,
    throttled: outcome.throttled ?? false,
  });
  return outcome;
}

/**
 * Keeps the leases of claimed jobs alive: every half lease, extends those running or waiting.
 * Returns a function that stops it.
 */
function keepLeases(
  core: JobCore,
  running: ReadonlyMap<number, unknown>,
  backlog: readonly Job[],
  leaseMs: number,
): () => void {
  const timer = setInterval(() => {
    if (running.size === 0 && backlog.length === 0) return;
    core.extendLeases([...running.keys(), ...backlog.map((job) => job.id)]).catch((error) =>
      log.warn("lease extension failed", { queue: core.queue, error: errorText(error) })
    );
  }, Math.max(1000, leaseMs / 2));
  return () => clearInterval(timer);
}

/**
 * Claims and runs jobs of one queue until it is drained or a budget is spent.
 *
 * Claiming is continuous: whenever a quarter of the concurrency is free, the runner claims
 * more, so a slow job never holds back the next ones. Outcomes are reported in groups: those
 * that finish while a report is under way go together in the next one.
 */
export async function runQueue<P>(opts: RunOptions<P>): Promise<RunSummary> {
  const now = opts.now ?? Date.now;
  const started = now();
  const cpuStart = cpuMs();
  const workerId = opts.workerId ?? `${opts.queue}:${crypto.randomUUID()}`;
  const wallBudgetMs = opts.wallBudgetMs ?? 120_000;
  const cpuBudgetMs = opts.cpuBudgetMs ?? 1_500;
  const concurrency = Math.max(1, opts.concurrency ?? 10);
  const claimAtLeast = Math.max(
    1,
    Math.ceil(Math.min(concurrency, opts.batchSize ?? concurrency) / 4),
  );
  const shortRetryMs = opts.shortRetryMs ?? 5_000;
  const core = new JobCore(opts.client, opts.queue, workerId);
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

  const running = new Map<number, Promise<void>>();
  /** Claimed jobs waiting for room (a claim may bring more than the concurrency). */
  const backlog: Job<P>[] = [];
  const reporter = new OutcomeReporter(core, summary);
  let stopLeases: (() => void) | undefined;
  /** Claim at the next turn whatever the room (at start, and when all is quiet). */
  let claimNow = true;
  /**
   * The last claim came back short: the queue had no more for now, or its subject limit
   * (`jobs.queues.subject_concurrency`) held the rest back. The next claim waits until an
   * outcome reported since has freed a slot in the job core: jobs that ended but are not
   * reported yet still count as running there, and a slow job may not end for a long time.
   */
  let lastClaimShort = false;
  /** Outcomes reported when the last claim started. */
  let reportedAtClaim = 0;
  /** Jobs ended so far, and when the last claim started: later ones may have enqueued more. */
  let ended = 0;
  let endedAtClaim = 0;

  const run = async (job: Job<P>): Promise<Outcome> => {
    const jobStarted = Date.now();
    try {
      const result = await opts.handler(job, {
        client: opts.client,
        signal: abort.signal,
        workerId,
      });
      return { id: job.id, ok: true, result: result ?? null };
    } catch (error) {
      return failedOutcome(job, error, workerId);
    } finally {
      log.debug("job handled", {
        queue: job.queue,
        job_id: job.id,
        attempt: job.attempts,
        subject: job.subject,
        worker: workerId,
        duration_ms: Date.now() - jobStarted,
      });
    }
  };
  const start = (job: Job<P>) => {
    // `.then` runs later than this function, even for a handler that throws at once.
    running.set(
      job.id,
      run(job).then((outcome) => {
        running.delete(job.id);
        ended++;
        reporter.add(outcome);
        while (backlog.length > 0 && running.size < concurrency) start(backlog.shift()!);
      }),
    );
  };

  try {
    while (true) {
      reporter.throwIfFailed();
      if (now() - started >= wallBudgetMs) {
        summary.stoppedBy = "wall_budget";
        break;
      }
      if (cpuMs() - cpuStart >= cpuBudgetMs) {
        summary.stoppedBy = "cpu_budget";
        break;
      }
      const free = concurrency - running.size;
      const freed = !lastClaimShort || reporter.reported > reportedAtClaim;
      if (backlog.length === 0 && (claimNow || (free >= claimAtLeast && freed))) {
        // The first claim takes a batch (the queue's batch_size unless `batchSize` is set);
        // later ones top up the room that has freed.
        const limit = running.size === 0 ? opts.batchSize ?? null : Math.min(
          free,
          opts.batchSize ?? free,
        );
        endedAtClaim = ended;
        reportedAtClaim = reporter.reported;
        const jobs = await core.claim<P>(limit ?? undefined);
        claimNow = false;
        lastClaimShort = jobs.length === 0 || (limit !== null && jobs.length < limit);
        if (jobs.length > 0) {
          summary.batches++;
          summary.claimed += jobs.length;
          stopLeases ??= keepLeases(core, running, backlog, leaseMsOf(jobs));
          backlog.push(...jobs);
          while (backlog.length > 0 && running.size < concurrency) start(backlog.shift()!);
          continue;
        }
        // Reports that landed while the claim ran may have freed slots it still saw taken.
        if (reporter.reported > reportedAtClaim) continue;
      }
      if (running.size > 0) {
        // A job ending, or a report landing (it may free a subject's slot), whichever first.
        await Promise.race([
          ...running.values(),
          ...(reporter.reporting ? [reporter.reporting] : []),
        ]);
        continue;
      }
      if (ended > endedAtClaim) {
        claimNow = true; // the last claim started before the last jobs ended
        continue;
      }
      // Nothing runs and nothing is due: wait for a short retry-after, if one is pending.
      await reporter.settled();
      reporter.throwIfFailed();
      if (reporter.reported > reportedAtClaim) {
        claimNow = true; // the last claim ran before reports that freed subject slots
        continue;
      }
      const retryAt = reporter.nextShortRetry(shortRetryMs);
      if (retryAt === undefined || now() - started + (retryAt - Date.now()) >= wallBudgetMs) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, retryAt - Date.now()) + 50));
      claimNow = true;
    }
    if (summary.stoppedBy !== "drained") {
      // Work may remain: ask for the next wake-up once the running jobs end (so two runs do not
      // overlap), or after a second if they are slow (a hanging endpoint would otherwise hold
      // the others back until it times out), rather than wait for the cron.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(running.values()),
        new Promise((resolve) => timer = setTimeout(resolve, SLOW_JOBS_WAKE_MS)),
      ]);
      clearTimeout(timer);
      await core.wake("continue");
    }
    // Claimed jobs are finished, even past a budget: each claim has cost them an attempt.
    while (running.size > 0) await Promise.all(running.values());
    await reporter.settled();
    reporter.throwIfFailed();
  } catch (error) {
    // A job core call failed: the running jobs end and report what they can before the run
    // fails; claimed jobs not started yet come back when their lease expires.
    backlog.length = 0;
    while (running.size > 0) await Promise.all(running.values());
    await reporter.settled();
    throw error;
  } finally {
    stopLeases?.();
    clearTimeout(hardStop);
    summary.durationMs = now() - started;
  }
  log.info("queue run finished", { ...summary });
  return summary;
}

/** The shortest lease of a claimed group, in milliseconds. */
function leaseMsOf(jobs: Job[]): number {
  return Math.min(...jobs.map((job) => Date.parse(job.lease_expires_at) - Date.now()));
}

/**
 * Reports outcomes to the job core (`job_report`) in groups: one call at a time, carrying
 * every outcome that came in since the last one. Counts the resulting states in the summary
 * and remembers when the jobs retried after a `retry-after` are due again.
 */
class OutcomeReporter {
  #pending: Outcome[] = [];
  #inFlight: Promise<void> | undefined;
  #failure: unknown;
  #retryAt: number[] = [];
  #reported = 0;

  constructor(private readonly core: JobCore, private readonly summary: RunSummary) {}

  add(outcome: Outcome) {
    this.#pending.push(outcome);
    this.#kick();
  }

  /** Outcomes whose report has reached the job core (their jobs no longer count as running). */
  get reported(): number {
    return this.#reported;
  }

  /** The report under way, if any (it resolves, never rejects). */
  get reporting(): Promise<void> | undefined {
    return this.#inFlight;
  }

  /** Resolves once every outcome added so far is reported (or reporting failed). */
  async settled() {
    while (this.#inFlight) await this.#inFlight;
  }

  throwIfFailed() {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * The earliest time, at most `withinMs` from now, a job retried after a `retry-after` is due
   * again; forgets it and the earlier ones.
   */
  nextShortRetry(withinMs: number): number | undefined {
    const now = Date.now();
    const soon = this.#retryAt.filter((at) => at > now - 1000 && at - now <= withinMs);
    if (soon.length === 0) return undefined;
    const next = Math.min(...soon);
    this.#retryAt = this.#retryAt.filter((at) => at > next);
    return next;
  }

  /** Starts a report of every pending outcome, unless one is under way. */
  #kick() {
    if (this.#inFlight || this.#pending.length === 0 || this.#failure !== undefined) return;
    this.#inFlight = this.#report(this.#pending.splice(0)).finally(() => {
      this.#inFlight = undefined;
      this.#kick();
    });
  }

  async #report(outcomes: Outcome[]) {
    try {
      const reported = await this.core.report(outcomes);
      this.#reported += outcomes.length;
      this.#count(outcomes, reported);
    } catch (error) {
      this.#failure = error;
    }
  }

  #count(outcomes: Outcome[], reported: Reported[]) {
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    for (const row of reported) {
      if (row.state === "succeeded") this.summary.succeeded++;
      else if (row.state === "dead") this.summary.dead++;
      else this.summary.retrying++;
      const seconds = byId.get(row.job_id)?.retry_after_seconds;
      if (row.state === "retrying" && seconds !== undefined) {
        this.#retryAt.push(Date.now() + seconds * 1000);
      }
    }
    this.summary.lost += outcomes.length - reported.length;
  }
}
