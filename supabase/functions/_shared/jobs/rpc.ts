/**
 * The job core's SQL functions as the job runner calls them: `job_claim`, `job_report`,
 * `job_extend_lease`, `job_wake`. Typed arguments, zod-checked results, and the error policy
 * of `../runtime/rpc.ts`; a failure that remains is a `JobCoreError` naming the call, the
 * queue and the worker.
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

async function jobCall<F extends DbFunctionName, S extends z.ZodType>(
  client: DbClient,
  fn: F,
  args: DbArgs<F>,
  result: S,
  context: string,
): Promise<z.infer<S>> {
  try {
    return await callRpc(client, fn, args, result, { context });
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    throw new JobCoreError(error.message, error.fn, error.code, error.permanent);
  }
}

/** Claims up to `limit` jobs of `queue` (default: the queue's batch size). */
export async function claimJobs<P>(
  client: DbClient,
  args: { queue: string; worker: string; limit?: number },
  context: string,
): Promise<Job<P>[]> {
  const jobs = await jobCall(
    client,
    "job_claim",
    {
      p_queue: args.queue,
      p_worker: args.worker,
      p_limit: args.limit,
    },
    z.array(jobSchema),
    context,
  );
  return jobs as Job<P>[];
}

/** Reports outcomes; answers the state of each job the worker still held. */
export function reportOutcomes(
  client: DbClient,
  worker: string,
  outcomes: Outcome[],
  context: string,
): Promise<Reported[]> {
  return jobCall(
    client,
    "job_report",
    {
      p_worker: worker,
      p_outcomes: outcomes as unknown as Json,
    },
    reportedSchema,
    context,
  );
}

/** Extends the leases of jobs the worker holds; answers the ids extended. */
export function extendLeases(
  client: DbClient,
  worker: string,
  jobIds: number[],
  context: string,
): Promise<number[]> {
  return jobCall(
    client,
    "job_extend_lease",
    {
      p_worker: worker,
      p_job_ids: jobIds,
    },
    z.array(z.number().int()),
    context,
  );
}

/** Asks for a wake-up of the queue's function (pg_net). */
export async function wakeQueue(
  client: DbClient,
  queue: string,
  reason: string,
  context: string,
): Promise<void> {
  await jobCall(client, "job_wake", { p_queue: queue, p_reason: reason }, z.unknown(), context);
}
