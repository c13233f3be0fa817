// The shop's review requests (see _shared/shop/rpc.ts): an internal endpoint called by the
// pg_cron job request-reviews (cron secret, body {"trigger":"schedule"}) once the shop's review
// hour has come, by an outside scheduler, or by hand (service role key, e.g.
// `select jobs.call_function('request-reviews', '{}', 'manual')`). It asks every order picked
// up 7+ days ago without a review or a request for one (the messages go through the shop
// queue) and answers the seed's {success, sent, failed, total, timestamp}, plus skipped.
import { z } from "zod";
import { serviceClient } from "../_shared/runtime/client.ts";
import { internalEndpoint } from "../_shared/runtime/endpoints.ts";
import { errorText, log } from "../_shared/runtime/log.ts";
import { errorResponse, jsonResponse, readJsonBody } from "../_shared/runtime/responses.ts";
import { requestReviews } from "../_shared/shop/rpc.ts";

const bodySchema = z.looseObject({
  trigger: z.enum(["schedule", "manual"]).default("manual"),
});

Deno.serve(internalEndpoint({
  methods: ["POST", "GET"],
  methodHint: "Call request-reviews with POST (or GET).",
  failureCode: "request_reviews_failed",
  handle: async (req, env) => {
    const raw = req.method === "POST" ? await readJsonBody(req) : (await req.body?.cancel(), {});
    const body = bodySchema.safeParse(raw ?? null);
    if (!body.success) {
      return errorResponse(
        400,
        "invalid_body",
        'The body must be JSON like {"trigger": "schedule"} or {"trigger": "manual"} (or empty).',
      );
    }
    const trigger = body.data.trigger;
    try {
      const run = await requestReviews(serviceClient(env), trigger, `request-reviews (${trigger})`);
      log.info("review requests ran", { ...run, trigger });
      const { success, sent, failed, skipped, total, timestamp } = run;
      return { success, sent, failed, skipped, total, timestamp };
    } catch (error) {
      log.error("review requests failed", { trigger, error: errorText(error) });
      return jsonResponse({
        success: false,
        error: `Review requests failed (${trigger} run): ${errorText(error)}`,
        timestamp: new Date().toISOString(),
      }, 500);
    }
  },
}));
