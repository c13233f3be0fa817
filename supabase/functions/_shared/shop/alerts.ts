/**
 * Sends one admin alert (an `alert` job of the `shop` queue): `shop_alert_start` (a dead-jobs
 * digest waits for its hourly slot and gets its details filled then), one email per admin
 * address (key `shop-alert:<id>:email:<address>`; Resend's `to` is one address here) and one
 * WhatsApp per admin number through the shop's instance (key `shop-alert:<id>:wa:<number>`),
 * all at once, then `shop_alert_record` with every delivery. Alerts ignore quiet hours.
 *
 * A delivery refused for good (a number not on WhatsApp, no open instance, an address Resend
 * refuses) is recorded failed and the others go on. A failure worth retrying retries the whole
 * job before anything is recorded: the journals make the retry skip what went (same keys). On
 * the job's last attempt, what could not go is recorded failed (the alert becomes partial or
 * failed) rather than lost.
 */
import { z } from "zod";
import type { EmailOutcome } from "../providers/email/sender.ts";
import { PermanentJobError, RetryLaterError, ThrottledError } from "../jobs/errors.ts";
import type { Job, JobContext } from "../jobs/runner.ts";
import { errorText, log } from "../runtime/log.ts";
import { pickLocale } from "../i18n/locale.ts";
import type { ShopSenderDeps } from "./messages.ts";
import { type AlertDelivery, type AlertToSend, recordAlert, startAlert } from "./rpc.ts";
import { type AlertContent, renderAlertEmail, renderAlertWhatsApp } from "./templates.ts";

/** What an alert job did (stored as the job's result). */
export interface AlertJobResult {
  alert_id: number;
  outcome: "sent" | "partial" | "failed" | "skipped";
  deliveries?: AlertDelivery[];
  reason?: string | null;
}

/** The zone of a digest's dates when `shop_alert_start` does not give the shop's. */
const DEFAULT_TIME_ZONE = "UTC";

const num = z.coerce.number().int();
const optionalText = z.string().nullish();

const lowReviewDetails = z.looseObject({
  rating: num.optional(),
  comment: optionalText,
  order_id: num.nullish(),
  customer_name: optionalText,
  review: z.looseObject({ rating: num.optional(), comment: optionalText, order_id: num.nullish() })
    .optional(),
  order: z.looseObject({ id: num.nullish() }).optional(),
  customer: z.looseObject({ name: optionalText }).optional(),
});

const lowStockDetails = z.looseObject({
  product_name: optionalText,
  stock: num.optional(),
  threshold: num.optional(),
  low_stock_threshold: num.optional(),
  product: z.looseObject({
    id: num.optional(),
    name: optionalText,
    stock: num.optional(),
    low_stock_threshold: num.optional(),
  }).optional(),
});

const deadJobsDetails = z.looseObject({
  since: z.string().nullish(),
  until: z.string(),
  total: num,
  queues: z.array(z.looseObject({ queue: z.string(), count: num })).default([]),
  jobs: z.array(z.looseObject({
    id: num,
    queue: z.string(),
    subject: optionalText,
    last_error: optionalText,
  })).default([]),
});

/**
 * An alert's details as the templates read them. The details may be flat (`rating`,
 * `customer_name`) or nested (`review.rating`, `customer.name`): both are read. Throws a
 * `PermanentJobError` when they lack what the alert must say.
 */
export function alertContent(alert: AlertToSend["alert"]): AlertContent {
  const fail = (issue: string) =>
    new PermanentJobError(
      `Shop alert ${alert.id} (${alert.kind}, ${alert.subject}) has unusable details: ${issue}`,
    );
  switch (alert.kind) {
    case "low_review": {
      const d = lowReviewDetails.safeParse(alert.details);
      if (!d.success) throw fail(d.error.message);
      const rating = d.data.rating ?? d.data.review?.rating;
      if (rating === undefined) throw fail("no rating");
      return {
        kind: "low_review",
        rating,
        order_id: d.data.order_id ?? d.data.review?.order_id ?? d.data.order?.id ?? null,
        customer_name: d.data.customer_name ?? d.data.customer?.name ?? "",
        comment: d.data.comment ?? d.data.review?.comment ?? null,
      };
    }
    case "low_stock": {
      const d = lowStockDetails.safeParse(alert.details);
      if (!d.success) throw fail(d.error.message);
      const stock = d.data.stock ?? d.data.product?.stock;
      const threshold = d.data.threshold ?? d.data.low_stock_threshold ??
        d.data.product?.low_stock_threshold;
      const name = d.data.product_name ?? d.data.product?.name;
      if (stock === undefined || threshold === undefined || !name) {
        throw fail("product name, stock or threshold missing");
      }
      return { kind: "low_stock", product_name: name, stock, threshold };
    }
    case "dead_jobs": {
      const d = deadJobsDetails.safeParse(alert.details);
      if (!d.success) throw fail(d.error.message);
      return {
        kind: "dead_jobs",
        since: d.data.since ?? null,
        until: d.data.until,
        total: d.data.total,
        queues: d.data.queues,
        jobs: d.data.jobs.map((j) => ({
          id: j.id,
          queue: j.queue,
          subject: j.subject ?? null,
          last_error: j.last_error ?? null,
        })),
      };
    }
  }
}

/** A delivery's outcome, or the retryable failure that stopped it. */
type Attempted = { delivery: AlertDelivery } | { retry: RetryLaterError; delivery: AlertDelivery };

/**
 * Sends the alert `alertId` to every admin. Throws `ThrottledError` while a digest waits for its
 * slot (no attempt used), `RetryLaterError` when a delivery must be retried.
 *
 * @example
 * await sendAlert(job, 7, ctx, deps); // { outcome: "sent", deliveries: [...] }
 */
export async function sendAlert(
  job: Job<unknown>,
  alertId: number,
  ctx: JobContext,
  deps: ShopSenderDeps,
): Promise<AlertJobResult> {
  const context = `job ${job.id}, shop alert ${alertId}, attempt ${job.attempts}`;
  const start = await startAlert(ctx.client, alertId, context);
  if (start.action === "skip") {
    return { alert_id: alertId, outcome: "skipped", reason: start.reason ?? null };
  }
  if (start.action === "wait") {
    throw new ThrottledError(
      `Shop alert ${alertId} waits ${start.wait_seconds} s` +
        (start.reason ? ` (${start.reason})` : "") + ` (${context})`,
      start.wait_seconds,
    );
  }
  const input = {
    locale: pickLocale(start.language),
    shop: { name: start.shop.name, time_zone: start.shop.time_zone ?? DEFAULT_TIME_ZONE },
    alert: alertContent(start.alert),
  };
  const emails = [...new Set(start.recipients.emails)];
  const numbers = [...new Set(start.recipients.whatsapp_numbers)];

  const email = renderAlertEmail(input);
  const whatsappText = renderAlertWhatsApp(input);

  const lane = deps.email.join();
  let emailOutcomes: Promise<EmailOutcome[]>;
  try {
    emailOutcomes = emails.length
      ? lane.send(emails.map((to) => ({
        key: `shop-alert:${alertId}:email:${to}`,
        from: start.shop.email_from,
        to,
        ...email,
        tags: [{ name: "flow", value: `shop_alert_${start.alert.kind}` }],
      })))
      : Promise.resolve([]);
  } finally {
    lane.leave();
  }
  const whatsappSends = numbers.map((number) =>
    sendWhatsApp(alertId, start.shop.whatsapp_instance, whatsappText, number, deps)
  );
  const attempted = [
    ...(await emailOutcomes).map((outcome, i) => emailAttempt(emails[i], outcome)),
    ...await Promise.all(whatsappSends),
  ];

  const retries = attempted.flatMap((a) => ("retry" in a ? [a.retry] : []));
  if (retries.length && job.attempts < job.max_attempts) {
    const message = `${retries.length} delivery(ies) of shop alert ${alertId} to retry ` +
      `(${context}): ${retries[0].message}`;
    const after = Math.max(0, ...retries.map((r) => r.retryAfterSeconds ?? 0)) || undefined;
    throw retries.every((r) => r instanceof ThrottledError)
      ? new ThrottledError(message, after)
      : new RetryLaterError(message, after);
  }
  const deliveries = attempted.map((a) => a.delivery);
  const row = await recordAlert(ctx.client, alertId, deliveries, context);
  lane.settle();
  const outcome = row.status === "sent" || row.status === "partial" ? row.status : "failed";
  if (outcome !== "sent") {
    log.warn("shop alert not delivered to every admin", {
      alert_id: alertId,
      job_id: job.id,
      status: row.status,
      failed: deliveries.filter((d) => d.status === "failed").map((d) => `${d.channel}:${d.to}`),
    });
  }
  return { alert_id: alertId, outcome, deliveries };
}

/** An email's outcome as a delivery (and the retry it asks for, if any). */
function emailAttempt(to: string, outcome: EmailOutcome): Attempted {
  if (outcome.ok) {
    return {
      delivery: { channel: "email", to, status: "sent", provider_id: outcome.id, error: null },
    };
  }
  const delivery: AlertDelivery = {
    channel: "email",
    to,
    status: "failed",
    provider_id: null,
    error: outcome.error,
  };
  if (outcome.permanent) return { delivery };
  const retry = outcome.throttled
    ? new ThrottledError(outcome.error, outcome.retryAfterSeconds)
    : new RetryLaterError(outcome.error, outcome.retryAfterSeconds);
  return { delivery, retry };
}

/** One WhatsApp message to an admin number, through the shop's instance. */
async function sendWhatsApp(
  alertId: number,
  instance: string | null,
  text: string,
  number: string,
  deps: ShopSenderDeps,
): Promise<Attempted> {
  const failed = (error: string): AlertDelivery => ({
    channel: "whatsapp",
    to: number,
    status: "failed",
    provider_id: null,
    error,
  });
  if (!instance) return { delivery: failed("The shop has no open WhatsApp instance") };
  try {
    const sent = await deps.whatsapp.send({
      key: `shop-alert:${alertId}:wa:${number}`,
      instance,
      number,
      text,
    });
    return {
      delivery: {
        channel: "whatsapp",
        to: number,
        status: "sent",
        provider_id: sent.messageId,
        error: null,
      },
    };
  } catch (error) {
    if (error instanceof RetryLaterError) return { delivery: failed(error.message), retry: error };
    if (error instanceof PermanentJobError) return { delivery: failed(error.message) };
    // Anything else (the journal unreachable...) is worth retrying.
    const retry = new RetryLaterError(errorText(error));
    return { delivery: failed(retry.message), retry };
  }
}
