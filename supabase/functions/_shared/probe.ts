/**
 * The probe handler: the job core's end-to-end self-check. An INSERT into `jobs.probes`
 * enqueues a `probe` job; this handler records when it started through an RPC, proving that
 * the trigger, the wake-up, the function and the RPC path all work.
 */
import { z } from "zod";
import { PermanentJobError, rpcFailure } from "./job_errors.ts";
import type { Job, JobContext } from "./job_runner.ts";

const payloadSchema = z.object({ probe_id: z.number().int().positive() });

/** Records the probe's handling; a malformed payload or an unknown probe is permanent. */
export async function handleProbe(job: Job, ctx: JobContext): Promise<unknown> {
  const startedAt = new Date().toISOString();
  const payload = payloadSchema.safeParse(job.payload);
  if (!payload.success) {
    throw new PermanentJobError(
      `Probe job ${job.id} has an invalid payload: ${payload.error.message}`,
    );
  }
  const { data, error } = await ctx.client.rpc("job_probe_record", {
    p_probe_id: payload.data.probe_id,
    p_handler_started_at: startedAt,
  });
  if (error) {
    const message =
      `Recording probe ${payload.data.probe_id} (job ${job.id}) failed: ${error.message}`;
    throw rpcFailure(message, error.code); // P0002: the probe does not exist
  }
  return {
    probe_id: payload.data.probe_id,
    handler_started_at: startedAt,
    handled_at: data?.handled_at,
  };
}
