/**
 * The shop's SQL functions (the flow's one typed seam, see `../runtime/rpc.ts`): each helper of
 * the shop automations wraps the SQL functions it calls here, in its own section opened by a line
 * `// ---- <helper>: <what> ----`. Nothing else in the shop calls `.rpc(`.
 */
import { z } from "zod";
import type { DbClient } from "../runtime/client.ts";
import { callRpc } from "../runtime/rpc.ts";

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
