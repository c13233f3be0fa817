// The overdue check of the workshop (see _shared/workshop/rpc.ts): an internal endpoint called
// by the pg_cron job check-overdue (cron secret), an outside scheduler (cron secret) or by hand
// (service role key); answers what workshop_check_overdue did, as JSON.
import { serviceClient } from "../_shared/runtime/client.ts";
import { internalEndpoint } from "../_shared/runtime/endpoints.ts";
import { log } from "../_shared/runtime/log.ts";
import { checkOverdue } from "../_shared/workshop/rpc.ts";

Deno.serve(internalEndpoint({
  methods: ["POST", "GET"],
  methodHint: "Call check-overdue with POST (or GET).",
  failureCode: "overdue_check_failed",
  handle: async (req, env) => {
    await req.body?.cancel();
    const answer = await checkOverdue(serviceClient(env), "check-overdue");
    log.info("overdue check ran", answer);
    return answer;
  },
}));
