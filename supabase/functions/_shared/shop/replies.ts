/**
 * The `reply` job of the `shop` queue: a customer answered a review request on WhatsApp (the
 * trigger on `whatsapp_inbound_messages` enqueued the job, see migration
 * 20261128160600_shop_replies.sql). The handler asks SQL for the message and the request it
 * answers (`shop_review_reply_start`), reads the rating (`parseRating`) and records the outcome
 * (`shop_review_reply_record`): a review and a thank-you, or one polite question for an
 * unreadable reply, never two. The thank-you and the question are `shop_messages` that SQL
 * schedules; their own `message` jobs send them, so this job talks to no provider and a retry
 * repeats nothing (the record is keyed by the inbound message).
 *
 * `process-shop-queue`'s dispatcher (`job_handler.ts`) calls `handleReplyJob` for payloads of
 * kind `reply`.
 */
import { z } from "zod";
import { PermanentJobError } from "../jobs/errors.ts";
import type { Job, JobContext } from "../jobs/runner.ts";
import { log } from "../runtime/log.ts";
import { parseRating } from "./rating.ts";
import { recordReviewReply, startReviewReply } from "./rpc.ts";

const payloadSchema = z.object({
  kind: z.literal("reply"),
  inbound_id: z.coerce.number().int().positive(),
});

/** The payload of a `reply` job: the inbound WhatsApp message to read. */
export type ReplyJobPayload = z.infer<typeof payloadSchema>;

/**
 * What the reply job needs besides its context: nothing but an optional clock (tests freeze
 * time with it; without it SQL uses `now()`). Any object with more fields (the dispatcher's
 * own dependencies) fits.
 */
export interface ReplyJobDeps {
  now?: () => Date;
}

/** What a reply job stores as its result. */
export type ReplyJobResult =
  | { outcome: "skipped"; reason: string }
  | {
    outcome: "review" | "question" | "ignored";
    order_id: number | null;
    rating: number | null;
    review_id: number | null;
    message_id: string | null;
    reason?: string | null;
  };

/**
 * Handles one `reply` job: start → parse → record (see the module's description).
 *
 * @throws {PermanentJobError} when the payload is not a reply payload.
 * @throws {import("../runtime/rpc.ts").RpcError} when a SQL call fails (retryable or not, as
 *   classified there).
 * @example
 * // In the shop's dispatcher:
 * if (job.payload.kind === "reply") return handleReplyJob(job, ctx, deps);
 */
export async function handleReplyJob(
  job: Job<unknown>,
  ctx: JobContext,
  deps: ReplyJobDeps = {},
): Promise<ReplyJobResult> {
  const parsed = payloadSchema.safeParse(job.payload);
  if (!parsed.success) {
    throw new PermanentJobError(
      `Job ${job.id} is not a shop reply job: ${JSON.stringify(job.payload).slice(0, 200)}`,
    );
  }
  const inboundId = parsed.data.inbound_id;
  const context = `job ${job.id}, inbound message ${inboundId}, attempt ${job.attempts}`;
  const start = await startReviewReply(ctx.client, inboundId, context, deps.now?.());
  if (start.action === "skip") {
    log.info("shop reply skipped", { job_id: job.id, inbound_id: inboundId, reason: start.reason });
    return { outcome: "skipped", reason: start.reason };
  }
  const reading = parseRating(start.inbound.text);
  const record = await recordReviewReply(
    ctx.client,
    {
      inboundId,
      rating: reading?.rating ?? null,
      comment: reading ? reading.comment : start.inbound.text,
    },
    `${context}, order ${start.request.order_id}`,
    deps.now?.(),
  );
  log.info("shop reply recorded", {
    job_id: job.id,
    inbound_id: inboundId,
    order_id: record.order_id,
    outcome: record.outcome,
    rating: reading?.rating ?? null,
  });
  return {
    outcome: record.outcome,
    order_id: record.order_id,
    rating: record.outcome === "review" ? reading?.rating ?? null : null,
    review_id: record.review_id,
    message_id: record.message_id,
    reason: record.reason,
  };
}
