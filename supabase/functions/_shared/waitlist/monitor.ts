/**
 * `monitor-waitlist-system`: closes what is due, re-wakes anything overdue and answers the
 * waitlist's statistics as JSON (`waitlist_monitor`). Called by the pg_cron job of the same name
 * every 15 minutes, or by hand with the service role key.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { requireInternalCaller } from "../auth.ts";
import type { FunctionEnv } from "../env.ts";
import { errorResponse, jsonResponse } from "../http.ts";
import { log } from "../log.ts";

/** Builds the monitor's request handler. */
export function monitorHandler(env: FunctionEnv, client: SupabaseClient) {
  return async (req: Request): Promise<Response> => {
    if (req.method !== "POST" && req.method !== "GET") {
      return errorResponse(405, "method_not_allowed", "Call the monitor with POST (or GET).");
    }
    const denied = await requireInternalCaller(req, env);
    if (denied) return denied;
    await req.body?.cancel();
    const { data, error } = await client.rpc("waitlist_monitor");
    if (error) {
      log.error("waitlist monitor failed", { error: `${error.code}: ${error.message}` });
      return errorResponse(503, "monitor_failed", `waitlist_monitor failed: ${error.message}`);
    }
    log.info("waitlist monitor ran", { repaired: data?.repaired, expired: data?.expired });
    return jsonResponse(data);
  };
}
