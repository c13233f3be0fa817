/**
 * The shop's SQL functions (the flow's one typed seam, see `../runtime/rpc.ts`): each helper of
 * the shop automations wraps the SQL functions it calls here, in its own section opened by a line
 * `// ---- <helper>: <what> ----`. Nothing else in the shop calls `.rpc(`.
 */
import { z } from "zod";
import type { Json } from "../database.types.ts";
import type { DbClient } from "../runtime/client.ts";
import { callRpc } from "../runtime/rpc.ts";
import { MESSAGE_KINDS } from "./i18n.ts";

// ---- sender: customer messages and admin alerts ----

const MESSAGE_KIND = z.enum(MESSAGE_KINDS);

const sendMessageSchema = z.looseObject({
  action: z.literal("send"),
  reason: z.string().nullish(),
  message: z.looseObject({
    id: z.string(),
    kind: MESSAGE_KIND,
    order_id: z.number().int(),
    attempt: z.number().int(),
  }),
  customer: z.looseObject({
    id: z.string(),
    name: z.string(),
    whatsapp_number: z.string().nullable(),
    email: z.string().nullable(),
    language: z.string(),
    consent_messages: z.boolean(),
  }),
  order: z.looseObject({
    id: z.number().int(),
    status: z.string(),
    payment_status: z.string(),
    total_cents: z.number().int(),
    created_at: z.string(),
    ready_at: z.string().nullable(),
    picked_up_at: z.string().nullable(),
    items: z.array(z.looseObject({
      name: z.string(),
      quantity: z.number().int(),
      unit_price_cents: z.number().int(),
    })),
  }),
  shop: z.looseObject({
    name: z.string(),
    email_from: z.string(),
    time_zone: z.string(),
    /** The shop's instance, only when it exists and is open; else null (email only). */
    whatsapp_instance: z.string().nullable(),
  }),
  /** A review request's email rating link (the same one on every attempt until recorded). */
  review_link: z.looseObject({ token: z.string(), expires_at: z.string() }).nullish(),
});

const messageStartSchema = z.discriminatedUnion("action", [
  sendMessageSchema,
  z.looseObject({ action: z.literal("skip"), reason: z.string().nullish() }),
  z.looseObject({
    action: z.literal("wait"),
    reason: z.string().nullish(),
    wait_seconds: z.number().nonnegative(),
  }),
]);

/** What `shop_message_start` answers: send (with everything to render), skip or wait. */
export type MessageStart = z.infer<typeof messageStartSchema>;
/** A message to send, as `shop_message_start` describes it. */
export type MessageToSend = z.infer<typeof sendMessageSchema>;

/**
 * Starts the sending of a customer message: checks again that it is due (skip when the order
 * moved on, wait during quiet hours) and counts the attempt.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * const start = await startMessage(client, messageId, "job 12, attempt 1");
 * if (start.action === "send") console.log(start.customer.whatsapp_number);
 */
export function startMessage(
  client: DbClient,
  messageId: string,
  context: string,
): Promise<MessageStart> {
  return callRpc(client, "shop_message_start", { p_message_id: messageId }, messageStartSchema, {
    context,
  });
}

const messageRowSchema = z.looseObject({ id: z.string(), status: z.string() });

/** What a message came to, for `shop_message_record`. */
export interface MessageRecord {
  status: "sent" | "failed" | "skipped";
  channel?: "whatsapp" | "email" | null;
  providerMessageId?: string | null;
  error?: string | null;
  /** Why it went by email rather than WhatsApp. */
  fallbackReason?: string | null;
}

/**
 * Records what a message came to (and updates its review request for a `review_request`).
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * await recordMessage(client, id, { status: "sent", channel: "whatsapp", providerMessageId: "ABC" }, ctx);
 */
export function recordMessage(
  client: DbClient,
  messageId: string,
  record: MessageRecord,
  context: string,
): Promise<z.infer<typeof messageRowSchema>> {
  return callRpc(
    client,
    "shop_message_record",
    {
      p_message_id: messageId,
      p_status: record.status,
      p_channel: record.channel ?? undefined,
      p_provider_message_id: record.providerMessageId ?? undefined,
      p_error: record.error ?? undefined,
      p_fallback_reason: record.fallbackReason ?? undefined,
    },
    messageRowSchema,
    { context },
  );
}

const sendAlertSchema = z.looseObject({
  action: z.literal("send"),
  alert: z.looseObject({
    id: z.number().int(),
    kind: z.enum(["low_review", "low_stock", "dead_jobs"]),
    subject: z.string(),
    details: z.record(z.string(), z.unknown()),
    created_at: z.string(),
  }),
  recipients: z.looseObject({
    emails: z.array(z.string()),
    whatsapp_numbers: z.array(z.string()),
  }),
  language: z.string().nullish(),
  shop: z.looseObject({
    name: z.string(),
    email_from: z.string(),
    whatsapp_instance: z.string().nullable(),
    /** The shop's zone for the dates of a digest (UTC when the SQL side leaves it out). */
    time_zone: z.string().nullish(),
  }),
});

const alertStartSchema = z.discriminatedUnion("action", [
  sendAlertSchema,
  z.looseObject({ action: z.literal("skip"), reason: z.string().nullish() }),
  z.looseObject({
    action: z.literal("wait"),
    reason: z.string().nullish(),
    wait_seconds: z.number().nonnegative(),
  }),
]);

/** What `shop_alert_start` answers. */
export type AlertStart = z.infer<typeof alertStartSchema>;
/** An alert to send, as `shop_alert_start` describes it. */
export type AlertToSend = z.infer<typeof sendAlertSchema>;

/**
 * Starts the sending of an admin alert (fills a dead-jobs digest's details at send time).
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * const start = await startAlert(client, 7, "job 12, attempt 1");
 */
export function startAlert(
  client: DbClient,
  alertId: number,
  context: string,
): Promise<AlertStart> {
  return callRpc(client, "shop_alert_start", { p_alert_id: alertId }, alertStartSchema, {
    context,
  });
}

/** One delivery of an alert, as `shop_alerts.deliveries` keeps it. */
export interface AlertDelivery {
  channel: "email" | "whatsapp";
  to: string;
  status: "sent" | "failed";
  provider_id: string | null;
  error: string | null;
}

const alertRowSchema = z.looseObject({ id: z.number().int(), status: z.string() });

/**
 * Records an alert's deliveries; the alert becomes sent, partial or failed.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * await recordAlert(client, 7, [{ channel: "email", to: "a@x.test", status: "sent",
 *   provider_id: "re_1", error: null }], ctx);
 */
export function recordAlert(
  client: DbClient,
  alertId: number,
  deliveries: AlertDelivery[],
  context: string,
): Promise<z.infer<typeof alertRowSchema>> {
  return callRpc(
    client,
    "shop_alert_record",
    {
      p_alert_id: alertId,
      p_deliveries: deliveries as unknown as Json,
    },
    alertRowSchema,
    { context },
  );
}

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

// ---- ops: expired carts and automation runs ----

/** The automations whose runs `shop_automation_runs` logs. */
export type ShopAutomation = "clean-expired-carts" | "request-reviews" | "daily-analytics";
/** How a run was started: by its cron job, or by hand (an operator, a test, the demo). */
export type RunTrigger = "schedule" | "manual";

/**
 * Deletes one batch of expired carts (`shop_clean_expired_carts_batch`): at most `limit`
 * (default `shop_settings.cart_cleanup_batch`) carts whose `expires_at` is before `now`
 * (default the database's clock), skipping carts locked elsewhere. Returns how many went.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails (22023: a batch
 *   size outside 1..100000).
 * @example
 * const deleted = await cleanExpiredCartsBatch(client, { limit: 5000 }, "clean-expired-carts");
 */
export function cleanExpiredCartsBatch(
  client: DbClient,
  opts: { limit?: number; now?: Date },
  context: string,
): Promise<number> {
  return callRpc(
    client,
    "shop_clean_expired_carts_batch",
    {
      ...(opts.limit === undefined ? {} : { p_limit: opts.limit }),
      ...(opts.now === undefined ? {} : { p_now: opts.now.toISOString() }),
    },
    z.number().int().nonnegative(),
    { context },
  );
}

/** One run of an automation, as `shop_automation_run_record` logs it. */
export interface AutomationRun {
  automation: ShopAutomation;
  trigger: RunTrigger;
  startedAt: Date;
  /** What the run answered (or had done when it failed). */
  result: Record<string, unknown>;
  /** Why it failed; absent for a successful run. */
  error?: string;
}

/**
 * Logs a finished run into `shop_automation_runs` (finished now) and returns its id.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * await recordAutomationRun(client, {
 *   automation: "clean-expired-carts", trigger: "schedule", startedAt, result: answer,
 * }, "clean-expired-carts");
 */
export function recordAutomationRun(
  client: DbClient,
  run: AutomationRun,
  context: string,
): Promise<number> {
  return callRpc(
    client,
    "shop_automation_run_record",
    {
      p_automation: run.automation,
      p_trigger: run.trigger,
      p_started_at: run.startedAt.toISOString(),
      p_result: run.result as Json,
      ...(run.error === undefined ? {} : { p_error: run.error }),
    },
    z.number().int(),
    { context },
  );
}

// ---- flow: request reviews ----

const requestReviewsSchema = z.looseObject({
  success: z.literal(true),
  /** Requests handed to the `shop` queue (one review_request message each). */
  sent: z.number().int(),
  /** Orders whose customer has neither a WhatsApp number nor an email. */
  failed: z.number().int(),
  /** Orders whose customer did not consent to messages. */
  skipped: z.number().int(),
  /** sent + failed + skipped. */
  total: z.number().int(),
  timestamp: z.string(),
  /** The `shop_automation_runs` row of this run. */
  run_id: z.number().int(),
});

/** What `shop_request_reviews` answers. */
export type RequestReviewsResult = z.infer<typeof requestReviewsSchema>;

/** Who started a review-request run: pg_cron (`schedule`) or a person (`manual`). */
export type AutomationTrigger = "schedule" | "manual";

/**
 * Requests a review for every order picked up at least `review_delay` ago that has neither a
 * review nor a request (a missed day catches up), as the service role; logs the run.
 *
 * @param trigger `schedule` for the daily cron run (once per shop-local day), else `manual`.
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * const { sent, total } = await requestReviews(serviceClient(env), "manual", "request-reviews");
 */
export function requestReviews(
  client: DbClient,
  trigger: AutomationTrigger,
  context: string,
): Promise<RequestReviewsResult> {
  return callRpc(
    client,
    "shop_request_reviews",
    { p_trigger: trigger },
    requestReviewsSchema,
    { context },
  );
}
