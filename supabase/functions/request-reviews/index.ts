// The shop's review requests (see _shared/shop/review_requests.ts): an internal endpoint called by
// the pg_cron job request-reviews (cron secret, body {"trigger":"schedule"}) once the shop's
// review hour has come, by an outside scheduler, or by hand (service role key, e.g.
// `select jobs.call_function('request-reviews', '{}', 'manual')`). Answers the seed's
// {success, sent, failed, total, timestamp}, plus skipped.
import { serviceClient } from "../_shared/runtime/client.ts";
import { internalEndpoint } from "../_shared/runtime/endpoints.ts";
import { jsonResponse } from "../_shared/runtime/responses.ts";
import { requestReviewsNow } from "../_shared/shop/review_requests.ts";
import { readRunTrigger } from "../_shared/shop/run_trigger.ts";

Deno.serve(internalEndpoint({
  methods: ["POST", "GET"],
  methodHint: "Call request-reviews with POST (or GET).",
  failureCode: "request_reviews_failed",
  handle: async (req, env) => {
    const trigger = await readRunTrigger(req);
    if (trigger instanceof Response) return trigger;
    const { status, body } = await requestReviewsNow(serviceClient(env), trigger);
    return jsonResponse(body, status);
  },
}));
