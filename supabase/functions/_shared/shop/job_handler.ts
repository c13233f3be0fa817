/**
 * The `shop` queue's job handler, run by `process-shop-queue`: checks the payload and hands the
 * job to its kind's module.
 * - `message` (`{kind, message_id}`): one customer message (`./messages.ts`);
 * - `alert` (`{kind, alert_id}`): one admin alert (`./alerts.ts`);
 * - `reply` (`{kind, inbound_id}`): a customer's WhatsApp reply to a review request
 *   (`./replies.ts`).
 * A payload of another shape can never succeed: the job is dead at once.
 */
import { z } from "zod";
import { PermanentJobError } from "../jobs/errors.ts";
import type { Job, JobContext, JobHandler } from "../jobs/runner.ts";
import { sendAlert } from "./alerts.ts";
import { sendCustomerMessage, type ShopSenderDeps } from "./messages.ts";
import { handleReplyJob } from "./replies.ts";

export type { ShopSenderDeps } from "./messages.ts";

const payloadSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("message"), message_id: z.uuid() }),
  z.object({ kind: z.literal("alert"), alert_id: z.coerce.number().int().positive() }),
  z.object({ kind: z.literal("reply"), inbound_id: z.coerce.number().int().positive() }),
]);

/** A job of the `shop` queue, by kind. */
export type ShopJobPayload = z.infer<typeof payloadSchema>;

/**
 * Builds the handler of the `shop` queue.
 *
 * @example
 * Deno.serve(queueWorker({ queue: QUEUES.shop, handler: shopJobHandler(deps) }));
 */
export function shopJobHandler(deps: ShopSenderDeps): JobHandler {
  return (job: Job<unknown>, ctx: JobContext): Promise<unknown> => {
    const payload = payloadSchema.safeParse(job.payload);
    if (!payload.success) {
      throw new PermanentJobError(
        `Shop job ${job.id} has an invalid payload: ${payload.error.message}`,
      );
    }
    const data = payload.data;
    switch (data.kind) {
      case "message":
        return sendCustomerMessage(job, data.message_id, ctx, deps);
      case "alert":
        return sendAlert(job, data.alert_id, ctx, deps);
      case "reply":
        return handleReplyJob(job, ctx, deps);
    }
  };
}
