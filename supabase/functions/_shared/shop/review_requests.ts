/**
 * The review requests (the seed's `request-reviews` cron): asks every order picked up at least
 * `review_delay` ago that has no review and no request yet (`shop_request_reviews`; the
 * messages themselves go through the `shop` queue), and answers the seed's `{success, sent,
 * failed, total, timestamp}`, plus `skipped` (customers without consent). A failure answers 500
 * with `{success: false, error, timestamp}`; SQL logs every run in `shop_automation_runs`.
 *
 * @example
 * const { status, body } = await requestReviewsNow(serviceClient(env), "schedule");
 */
import type { DbClient } from "../runtime/client.ts";
import { errorText, log } from "../runtime/log.ts";
import { requestReviews, type RunTrigger } from "./rpc.ts";

/** The endpoint's answer and its HTTP status. */
export interface ReviewRequestsOutcome {
  status: 200 | 500;
  body:
    | {
      success: true;
      sent: number;
      failed: number;
      skipped: number;
      total: number;
      timestamp: string;
    }
    | { success: false; error: string; timestamp: string };
}

/** Runs the review requests once and answers what they did. */
export async function requestReviewsNow(
  client: DbClient,
  trigger: RunTrigger,
): Promise<ReviewRequestsOutcome> {
  try {
    const run = await requestReviews(client, trigger, `request-reviews (${trigger})`);
    log.info("review requests ran", { ...run, trigger });
    const { success, sent, failed, skipped, total, timestamp } = run;
    return { status: 200, body: { success, sent, failed, skipped, total, timestamp } };
  } catch (error) {
    log.error("review requests failed", { trigger, error: errorText(error) });
    return {
      status: 500,
      body: {
        success: false,
        error: `Review requests failed (${trigger} run): ${errorText(error)}`,
        timestamp: new Date().toISOString(),
      },
    };
  }
}
