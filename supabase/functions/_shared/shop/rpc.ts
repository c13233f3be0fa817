/**
 * The shop's SQL functions (the flow's one typed seam, see `../runtime/rpc.ts`): each helper of
 * the shop automations wraps the SQL functions it calls here, in its own section opened by a line
 * `// ---- <helper>: <what> ----`. Nothing else in the shop calls `.rpc(`.
 */
import { z } from "zod";
import type { DbClient } from "../runtime/client.ts";
import { callRpc } from "../runtime/rpc.ts";

// ---- replies: WhatsApp review replies and email rating links ----

const replyStartSchema = z.discriminatedUnion("action", [
  z.looseObject({
    action: z.literal("skip"),
    /** Why the reply needs nothing (already handled, no open request any more...). */
    reason: z.string(),
  }),
  z.looseObject({
    action: z.literal("parse"),
    inbound: z.looseObject({
      id: z.number().int(),
      text: z.string(),
      from_number: z.string().nullable(),
    }),
    request: z.looseObject({
      order_id: z.number().int(),
      customer_id: z.string(),
      question_sent_at: z.string().nullable(),
      /** A review_question was scheduled for the order already (sent or not). */
      question_asked: z.boolean(),
    }),
    customer: z.looseObject({ name: z.string(), language: z.string() }),
  }),
]);

/** What `shop_review_reply_start` answers: parse the reply, or skip it (and why). */
export type ReplyStart = z.infer<typeof replyStartSchema>;

/**
 * Reply job, step 1: the inbound message, the request it answers and the customer; changes
 * nothing.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * const start = await startReviewReply(ctx.client, 42, "job 7, inbound 42, attempt 1");
 * if (start.action === "parse") parseRating(start.inbound.text);
 */
export function startReviewReply(
  client: DbClient,
  inboundId: number,
  context: string,
  now?: Date,
): Promise<ReplyStart> {
  return callRpc(
    client,
    "shop_review_reply_start",
    { p_inbound_id: inboundId, ...(now ? { p_now: now.toISOString() } : {}) },
    replyStartSchema,
    { context },
  );
}

const replyRecordSchema = z.looseObject({
  /** review (stored, thanks scheduled), question (the one question scheduled), ignored. */
  outcome: z.enum(["review", "question", "ignored"]),
  order_id: z.number().int().nullable(),
  review_id: z.number().int().nullable(),
  /** The review_thanks or review_question message scheduled (null when none). */
  message_id: z.string().nullable(),
  reason: z.string().nullish(),
  /** True when the inbound message had been recorded already (a retried job). */
  replayed: z.boolean().optional(),
});

/** What `shop_review_reply_record` answers. */
export type ReplyRecord = z.infer<typeof replyRecordSchema>;

/**
 * Reply job, step 2: records the reply's rating (1..5) or that it was unreadable (null), once
 * per inbound message; SQL schedules the thank-you or the one question.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * await recordReviewReply(ctx.client, { inboundId: 42, rating: 4, comment: "très bien" }, ctx);
 */
export function recordReviewReply(
  client: DbClient,
  reply: { inboundId: number; rating: number | null; comment: string },
  context: string,
  now?: Date,
): Promise<ReplyRecord> {
  return callRpc(
    client,
    "shop_review_reply_record",
    {
      p_inbound_id: reply.inboundId,
      // The generated type of a nullable argument is `number`: SQL takes null as "unreadable".
      p_rating: reply.rating as number,
      p_comment: reply.comment,
      ...(now ? { p_now: now.toISOString() } : {}),
    },
    replyRecordSchema,
    { context },
  );
}

const linkViewSchema = z.looseObject({
  state: z.enum(["open", "expired", "used", "unknown"]),
  order_id: z.number().int().nullable(),
  language: z.string().nullable(),
  shop_name: z.string(),
});

/** What `shop_review_link_view` answers about a rating link, without using it. */
export type ReviewLinkView = z.infer<typeof linkViewSchema>;

/**
 * What an email rating link leads to (open, expired, used, unknown), without using it: the
 * GET of `review-response`.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * const { state, language } = await viewReviewLink(client, token, "GET review-response");
 */
export function viewReviewLink(
  client: DbClient,
  token: string,
  context: string,
): Promise<ReviewLinkView> {
  return callRpc(client, "shop_review_link_view", { p_token: token }, linkViewSchema, {
    context,
  });
}

const linkUseSchema = z.looseObject({
  outcome: z.enum(["review", "expired", "used", "unknown"]),
  order_id: z.number().int().nullable(),
  language: z.string().nullable(),
  shop_name: z.string(),
  rating: z.number().int().nullish(),
  review_id: z.number().int().nullish(),
});

/** What `shop_review_link_use` answers. */
export type ReviewLinkUse = z.infer<typeof linkUseSchema>;

/**
 * Uses an email rating link once (the POST of `review-response`): the review, the request
 * answered, the thank-you scheduled; or why not (expired, used, unknown).
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * const { outcome } = await useReviewLink(client, token, 4, "POST review-response");
 */
export function useReviewLink(
  client: DbClient,
  token: string,
  rating: number,
  context: string,
): Promise<ReviewLinkUse> {
  return callRpc(
    client,
    "shop_review_link_use",
    { p_token: token, p_rating: rating },
    linkUseSchema,
    { context },
  );
}
