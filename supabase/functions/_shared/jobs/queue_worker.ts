/**
 * The entry point of a queue worker function: accepts the wake-ups that pg_net and pg_cron send
 * (`POST {"queue": "...", "reason": "..."}` with the cron secret or service key), then drains
 * its queue (declared in `./queues.ts`) with the job runner and answers with the run's summary.
 *
 * @example
 * // supabase/functions/job-probe/index.ts
 * Deno.serve(queueWorker({ queue: QUEUES.probe, handler: handleProbe }));
 */
import { z } from "zod";
import { serviceClient } from "../runtime/client.ts";
import { internalEndpoint } from "../runtime/endpoints.ts";
import { errorResponse, jsonResponse, readJsonBody } from "../runtime/responses.ts";
import type { QueueSpec } from "./queues.ts";
import { type JobHandler, type RunOptions, runQueue } from "./runner.ts";

const wakeUpSchema = z.object({
  queue: z.string().optional(),
  reason: z.string().max(100).optional(),
}).passthrough();

/** What a queue worker drains and how; the rest of `RunOptions` tunes the runner. */
export interface QueueWorkerOptions<P> extends Omit<RunOptions<P>, "client" | "handler" | "queue"> {
  queue: QueueSpec;
  handler: JobHandler<P>;
}

/** Builds the request handler of a function that drains one queue. */
export function queueWorker<P>(opts: QueueWorkerOptions<P>): (req: Request) => Promise<Response> {
  const { queue, ...run } = opts;
  return internalEndpoint({
    methods: ["POST"],
    methodHint: "Wake a queue worker with POST.",
    failureCode: "job_core_unavailable",
    handle: async (req, env) => {
      const body = wakeUpSchema.safeParse(await readJsonBody(req));
      if (!body.success) {
        return errorResponse(
          400,
          "invalid_body",
          "The body must be a JSON object.",
          body.error.issues,
        );
      }
      if (body.data.queue !== undefined && body.data.queue !== queue.name) {
        return errorResponse(
          400,
          "wrong_queue",
          `This function drains the queue "${queue.name}", not "${body.data.queue}".`,
        );
      }
      const summary = await runQueue({ ...run, queue: queue.name, client: serviceClient(env) });
      return jsonResponse({ ...summary, reason: body.data.reason ?? null });
    },
  });
}
