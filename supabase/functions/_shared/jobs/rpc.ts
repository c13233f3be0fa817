/**
 * The job core's SQL functions as the job runner calls them, bound to one worker of one queue
 * (`JobCore`): `job_claim`, `job_report`, `job_extend_lease`, `job_wake`. Typed arguments,
 * zod-checked results, and the error policy of `../runtime/rpc.ts`; a failure that remains is
 * a `JobCoreError` naming the call, the queue and the worker.
 */
import { z } from "zod";
import type { Json } from "../database.types.ts";
import type { DbClient } from "../runtime/client.ts";
import { callRpc, type DbArgs, type DbFunctionName, RpcError } from "../runtime/rpc.ts";

/** Raised when a job core call fails; names the call, queue and worker. */
export class JobCoreError extends RpcError {
  override name = "JobCoreError";
}

const jobSchema = z.object({
  id: z.number().int(),
  queue: z.string(),
  payload: z.unknown(),
  subject: z.string().nullable(),
  priority: z.number().int(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  run_at: z.string(),
  lease_expires_at: z.string(),
  created_at: z.string(),
}).passthrough();

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

/** What the runner reports for one job (`job_report`'s `p_outcomes` items). */
export interface Outcome {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
  permanent?: boolean;
  retry_after_seconds?: number;
  /** The provider throttled the job: the retry does not use up an attempt. */
  throttled?: boolean;
}

const reportedSchema = z.array(z.object({ job_id: z.number().int(), state: z.string() }));

/** The state a reported job is in now. */
export type Reported = z.infer<typeof reportedSchema>[number];

const jobIdsSchema = z.array(z.number().int());

/**
 * The job core's calls for one worker of one queue. Each call's errors say which queue and
 * worker made it (`context`); a failure is a `JobCoreError`.
 *
 * @example
 * const core = new JobCore(client, "probe", "probe:worker-1");
 * const jobs = await core.claim<{ n: number }>(10);
 * await core.report(jobs.map((job) => ({ id: job.id, ok: true })));
 */
export class JobCore {
  /** `queue <queue>, worker <worker>`, for errors and logs. */
  readonly context: string;

  constructor(
    private readonly client: DbClient,
    /** The queue this worker claims from. */
    readonly queue: string,
    /** The lease owner's name. */
    readonly worker: string,
  ) {
    this.context = `queue ${queue}, worker ${worker}`;
  }

  /** Claims up to `limit` jobs of the queue (default: the queue's batch size). */
  async claim<P>(limit?: number): Promise<Job<P>[]> {
    const args = { p_queue: this.queue, p_worker: this.worker, p_limit: limit };
    return await this.#call("job_claim", args, z.array(jobSchema)) as Job<P>[];
  }

  /** Reports outcomes; answers the state of each job the worker still held. */
  report(outcomes: Outcome[]): Promise<Reported[]> {
    const args = { p_worker: this.worker, p_outcomes: outcomes as unknown as Json };
    return this.#call("job_report", args, reportedSchema);
  }

  /** Extends the leases of jobs the worker holds; answers the ids extended. */
  extendLeases(jobIds: number[]): Promise<number[]> {
    return this.#call(
      "job_extend_lease",
      { p_worker: this.worker, p_job_ids: jobIds },
      jobIdsSchema,
    );
  }

  /** Asks for a wake-up of the queue's function (pg_net). */
  async wake(reason: string): Promise<void> {
    await this.#call("job_wake", { p_queue: this.queue, p_reason: reason }, z.unknown());
  }

  async #call<F extends DbFunctionName, S extends z.ZodType>(
    fn: F,
    args: DbArgs<F>,
    result: S,
  ): Promise<z.infer<S>> {
    try {
      return await callRpc(this.client, fn, args, result, { context: this.context });
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      throw new JobCoreError(error.message, error.fn, error.code, error.permanent);
    }
  }
}
