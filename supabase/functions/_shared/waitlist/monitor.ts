/**
 * `monitor-waitlist-system`: closes what is due, re-wakes anything overdue and answers the
 * waitlist's statistics as JSON (`waitlist_monitor`). Called by the pg_cron job of the same name
 * every 15 minutes, or by hand with the service role key; an internal endpoint (see
 * `../runtime/endpoints.ts`), which checks the method and the caller.
 */
import type { DbClient } from "../runtime/client.ts";
import { log } from "../runtime/log.ts";
import { runWaitlistMonitor } from "./rpc.ts";

/** Runs the monitor once and answers its statistics. */
export async function runMonitor(client: DbClient): Promise<Record<string, unknown>> {
  const stats = await runWaitlistMonitor(client);
  log.info("waitlist monitor ran", { repaired: stats.repaired, expired: stats.expired });
  return stats;
}
