/**
 * The probe handler: the job core's end-to-end self-check. An INSERT into `jobs.probes`
 * enqueues a `probe` job; this handler records when it started through an RPC, proving that
 * the trigger, the wake-up, the function and the RPC path all work.
 */
import { z } from "zod";
import { PermanentJobError } from "../jobs/errors.ts";
import type { Job, JobContext } from "../jobs/runner.ts";
import { recordProbe } from "./rpc.ts";

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
  const probeId = payload.data.probe_id;
  const row = await recordProbe(
    ctx.client,
    probeId,
    startedAt,
    `probe ${probeId}, job ${job.id}, attempt ${job.attempts}`,
  );
  return { probe_id: probeId, handler_started_at: startedAt, handled_at: row.handled_at };
}
