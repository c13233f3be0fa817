// The expired-cart clean-up of the shop (see _shared/shop/carts.ts): an internal endpoint called
// hourly by the pg_cron job clean-expired-carts (cron secret, body {"trigger":"schedule"}), an
// outside scheduler (cron secret) or by hand (service role key). Answers the seed's
// {success, deletedCount, timestamp} (500 with {success: false, error, ...} when a batch fails;
// 400 for a body that is not a trigger).
import { serviceClient } from "../_shared/runtime/client.ts";
import { internalEndpoint } from "../_shared/runtime/endpoints.ts";
import { jsonResponse } from "../_shared/runtime/responses.ts";
import { cleanExpiredCarts } from "../_shared/shop/carts.ts";
import { readRunTrigger } from "../_shared/shop/run_trigger.ts";

Deno.serve(internalEndpoint({
  methods: ["POST", "GET"],
  methodHint: "Call clean-expired-carts with POST (or GET).",
  failureCode: "cart_cleanup_failed",
  handle: async (req, env) => {
    const trigger = await readRunTrigger(req);
    if (trigger instanceof Response) return trigger;
    const { status, body: answer } = await cleanExpiredCarts(serviceClient(env), { trigger });
    return jsonResponse(answer, status);
  },
}));
