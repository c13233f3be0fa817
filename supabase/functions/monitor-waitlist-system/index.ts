// Statistics and repairs of the waitlist flow (see _shared/waitlist/monitor.ts): an internal
// endpoint, called by the pg_cron job of the same name or by hand with the service role key.
import { serviceClient } from "../_shared/runtime/client.ts";
import { internalEndpoint } from "../_shared/runtime/endpoints.ts";
import { runMonitor } from "../_shared/waitlist/monitor.ts";

Deno.serve(internalEndpoint({
  methods: ["POST", "GET"],
  methodHint: "Call the monitor with POST (or GET).",
  failureCode: "monitor_failed",
  handle: async (req, env) => {
    await req.body?.cancel();
    return await runMonitor(serviceClient(env));
  },
}));
