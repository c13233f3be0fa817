/**
 * The HTTP entry point of a queue worker function: accepts the wake-ups that pg_net and
 * pg_cron send (`POST {"queue": "...", "reason": "..."}` with the cron secret or service key),
 * then drains the queue with the job runner and answers with the run's summary.
 *
 * @example
 * // supabase/functions/job-probe/index.ts
 * Deno.serve(queueWorker({ queue: "probe", handler: handleProbe }));
 */
import { z } from "zod";
import { requireInternalCaller } from "./auth.ts";
import { functionEnv } from "./env.ts";
import { errorResponse, jsonResponse, readJsonBody } from "./http.ts";
import { type JobHandler, type RunOptions, runQueue } from "./job_runner.ts";
import { errorText, log } from "./log.ts";
import { serviceClient } from "./supabase_client.ts";

const wakeUpSchema = z.object({
  queue: z.string().optional(),
  reason: z.string().max(100).optional(),
}).passthrough();

export interface QueueWorkerOptions<P> extends Omit<RunOptions<P>, "client" | "handler"> {
  handler: JobHandler<P>;
}

/** Builds the request handler of a function that drains one queue. */
export function queueWorker<P>(opts: QueueWorkerOptions<P>): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== "POST") {
      return errorResponse(405, "method_not_allowed", "Wake a queue worker with POST.");
    }
    const env = functionEnv();
    const denied = await requireInternalCaller(req, env);
    if (denied) return denied;
    const body = wakeUpSchema.safeParse(await readJsonBody(req));
    if (!body.success) {
      return errorResponse(
        400,
        "invalid_body",
        "The body must be a JSON object.",
        body.error.issues,
      );
    }
    if (body.data.queue !== undefined && body.data.queue !== opts.queue) {
      return errorResponse(
        400,
        "wrong_queue",
        `This function drains the queue "${opts.queue}", not "${body.data.queue}".`,
      );
    }
    try {
      const summary = await runQueue({ ...opts, client: serviceClient(env) });
      return jsonResponse({ ...summary, reason: body.data.reason ?? null });
    } catch (error) {
      log.error("queue run failed", { queue: opts.queue, error: errorText(error) });
      return errorResponse(503, "job_core_unavailable", errorText(error));
    }
  };
}
