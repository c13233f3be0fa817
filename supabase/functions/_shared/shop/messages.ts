/**
 * Sends one customer message (a `message` job of the `shop` queue): asks SQL whether it is still
 * due (`shop_message_start`: send, skip when the order moved on, wait during quiet hours), picks
 * the channel, sends, and records what happened (`shop_message_record`).
 *
 * Channel: WhatsApp through the shop's instance when the customer has a number and the instance
 * is open; email (from the shop's address) when the customer has no number, the shop has no
 * open instance, the number is not on WhatsApp (`NotOnWhatsAppError`) or Evolution refuses the
 * message for good — the reason is recorded as `fallback_reason`. A WhatsApp failure worth
 * retrying (5xx, timeout) retries the job; on the job's last attempt the message falls back to
 * email rather than be lost. Both sends carry the key `shop-message:<id>`, so a retried job does
 * not send twice what its journals know went.
 *
 * A message no channel can carry (no email to fall back on, or an address Resend refuses for
 * good) is recorded `failed` and the job succeeds with that outcome in its result and a warning
 * in the logs: no retry could change it, and it is not a fault of the platform (the dead-jobs
 * alert is for those). An email failure worth retrying retries the job; on its last attempt the
 * message is recorded `failed` before the job gives up.
 */
import type { EmailOutcome, EmailSender, OutgoingEmail } from "../providers/email/sender.ts";
import {
  InstanceNotFoundError,
  NotOnWhatsAppError,
} from "../providers/whatsapp/evolution_client.ts";
import type { WhatsAppSender } from "../providers/whatsapp/sender.ts";
import { PermanentJobError, RetryLaterError, ThrottledError } from "../jobs/errors.ts";
import type { Job, JobContext } from "../jobs/runner.ts";
import { errorText, log } from "../runtime/log.ts";
import { pickLocale } from "../i18n/locale.ts";
import { type MessageToSend, recordMessage, startMessage } from "./rpc.ts";
import {
  type CustomerMessageInput,
  ratingUrls,
  renderCustomerEmail,
  renderCustomerWhatsApp,
} from "./templates.ts";

/** What the shop's senders need. */
export interface ShopSenderDeps {
  /** The batching Resend sender (`EmailSender`). */
  email: EmailSender;
  /** The paced, journalled WhatsApp sender. */
  whatsapp: WhatsAppSender;
  /** `SUPABASE_URL`: the base of the email rating links. */
  supabaseUrl: string;
}

/** What a message job did (stored as the job's result). */
export interface MessageJobResult {
  message_id: string;
  kind?: string;
  outcome: "sent" | "failed" | "skipped";
  channel?: "whatsapp" | "email" | null;
  provider_message_id?: string | null;
  fallback_reason?: string | null;
  reason?: string | null;
}

/** The key of both sends of a message (WhatsApp journal, Resend idempotency). */
export function messageKey(messageId: string): string {
  return `shop-message:${messageId}`;
}

/** True on the job's last attempt: a retryable failure would make it dead. */
function lastAttempt(job: Job<unknown>): boolean {
  return job.attempts >= job.max_attempts;
}

/**
 * Sends the message `messageId`. Throws `ThrottledError` while quiet hours last (no attempt
 * used) or when a provider throttles, `RetryLaterError` for failures worth retrying.
 *
 * @example
 * await sendCustomerMessage(job, "5d0c…", ctx, deps); // { outcome: "sent", channel: "whatsapp" }
 */
export async function sendCustomerMessage(
  job: Job<unknown>,
  messageId: string,
  ctx: JobContext,
  deps: ShopSenderDeps,
): Promise<MessageJobResult> {
  const context = `job ${job.id}, shop message ${messageId}, attempt ${job.attempts}`;
  const start = await startMessage(ctx.client, messageId, context);
  if (start.action === "skip") {
    return { message_id: messageId, outcome: "skipped", reason: start.reason ?? null };
  }
  if (start.action === "wait") {
    throw new ThrottledError(
      `Shop message ${messageId} waits ${start.wait_seconds} s` +
        (start.reason ? ` (${start.reason})` : "") + ` (${context})`,
      start.wait_seconds,
    );
  }

  const input: CustomerMessageInput = {
    kind: start.message.kind,
    locale: pickLocale(start.customer.language),
    shop: start.shop,
    customer: start.customer,
    order: start.order,
  };
  const base = { message_id: messageId, kind: start.message.kind };

  const whatsapp = await tryWhatsApp(job, start, input, deps);
  if (typeof whatsapp === "string") {
    return await sendEmail(job, start, input, whatsapp, context, ctx, deps);
  }
  await recordMessage(ctx.client, messageId, {
    status: "sent",
    channel: "whatsapp",
    providerMessageId: whatsapp.messageId,
  }, context);
  return { ...base, outcome: "sent", channel: "whatsapp", provider_message_id: whatsapp.messageId };
}

/**
 * Sends by WhatsApp when the customer has a number and the shop an open instance. Answers the
 * sent message, or why the message must go by email. Throws what the job must retry.
 */
async function tryWhatsApp(
  job: Job<unknown>,
  start: MessageToSend,
  input: CustomerMessageInput,
  deps: ShopSenderDeps,
): Promise<{ messageId: string | null } | string> {
  const number = start.customer.whatsapp_number;
  const instance = start.shop.whatsapp_instance;
  if (!number) return "no WhatsApp number";
  if (!instance) return "the shop has no open WhatsApp instance";
  try {
    const sent = await deps.whatsapp.send({
      key: messageKey(start.message.id),
      instance,
      number,
      text: renderCustomerWhatsApp(input),
    });
    return { messageId: sent.messageId };
  } catch (error) {
    if (error instanceof NotOnWhatsAppError) return `number ${number} is not on WhatsApp`;
    if (error instanceof InstanceNotFoundError) {
      return `WhatsApp instance ${instance} does not exist on Evolution`;
    }
    if (error instanceof PermanentJobError) return `WhatsApp refused the message: ${error.message}`;
    if (
      error instanceof RetryLaterError && !(error instanceof ThrottledError) && lastAttempt(job)
    ) {
      log.warn("shop message: WhatsApp still failing on the last attempt, falling back to email", {
        message_id: start.message.id,
        job_id: job.id,
        attempt: job.attempts,
        error: errorText(error),
      });
      return `WhatsApp failed on every attempt: ${error.message}`;
    }
    throw error;
  }
}

/** Sends the message by email (the fallback, or the only channel), then records it. */
async function sendEmail(
  job: Job<unknown>,
  start: MessageToSend,
  input: CustomerMessageInput,
  fallbackReason: string,
  context: string,
  ctx: JobContext,
  deps: ShopSenderDeps,
): Promise<MessageJobResult> {
  const messageId = start.message.id;
  const base = { message_id: messageId, kind: start.message.kind };
  const to = start.customer.email;
  if (!to) {
    const error = `No channel for this message: ${fallbackReason}, and no email`;
    await recordMessage(
      ctx.client,
      messageId,
      { status: "failed", error, fallbackReason },
      context,
    );
    log.warn("shop message failed: no channel", { message_id: messageId, job_id: job.id, error });
    return {
      ...base,
      outcome: "failed",
      channel: null,
      fallback_reason: fallbackReason,
      reason: error,
    };
  }
  if (input.kind === "review_request") {
    if (!start.review_link) {
      throw new PermanentJobError(
        `Review request ${messageId} has no rating link to send by email (${context})`,
      );
    }
    input.rating_urls = ratingUrls(deps.supabaseUrl, start.review_link.token);
  }
  const email: OutgoingEmail = {
    key: messageKey(messageId),
    from: start.shop.email_from,
    to,
    ...renderCustomerEmail(input),
    tags: [{ name: "flow", value: `shop_${input.kind}` }],
  };
  const lane = deps.email.join();
  let outcome: EmailOutcome;
  try {
    [outcome] = await lane.send([email]);
  } finally {
    lane.leave();
  }

  if (outcome.ok) {
    await recordMessage(ctx.client, messageId, {
      status: "sent",
      channel: "email",
      providerMessageId: outcome.id,
      fallbackReason,
    }, context);
    lane.settle();
    return {
      ...base,
      outcome: "sent",
      channel: "email",
      provider_message_id: outcome.id,
      fallback_reason: fallbackReason,
    };
  }
  if (outcome.permanent || lastAttempt(job)) {
    await recordMessage(ctx.client, messageId, {
      status: "failed",
      channel: "email",
      error: outcome.error,
      fallbackReason,
    }, context);
    lane.settle();
    if (!outcome.permanent) {
      throw new RetryLaterError(`${outcome.error} (${context}, last attempt)`);
    }
    log.warn("shop message failed: email refused", {
      message_id: messageId,
      job_id: job.id,
      error: outcome.error,
    });
    return {
      ...base,
      outcome: "failed",
      channel: "email",
      fallback_reason: fallbackReason,
      reason: outcome.error,
    };
  }
  const message = `Email of shop message ${messageId} not sent (${context}): ${outcome.error}`;
  throw outcome.throttled
    ? new ThrottledError(message, outcome.retryAfterSeconds)
    : new RetryLaterError(message, outcome.retryAfterSeconds);
}
