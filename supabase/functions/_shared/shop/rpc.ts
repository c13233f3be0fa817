/**
 * The shop's SQL functions (the flow's one typed seam, see `../runtime/rpc.ts`): every call the
 * shop's edge functions make to SQL goes through a wrapper here, each parsing its result with
 * zod. Each helper of issue 11 keeps its wrappers in its own section below.
 */
import { z } from "zod";
import type { Json } from "../database.types.ts";
import type { DbClient } from "../runtime/client.ts";
import { callRpc } from "../runtime/rpc.ts";

// ---- ops: expired carts and automation runs ----

/** The automations whose runs `shop_automation_runs` logs. */
export type ShopAutomation = "clean-expired-carts" | "request-reviews" | "daily-analytics";
/** How a run was started: by its cron job, or by hand (an operator, a test, the demo). */
export type RunTrigger = "schedule" | "manual";

/**
 * Deletes one batch of expired carts (`shop_clean_expired_carts_batch`): at most `limit`
 * (default `shop_settings.cart_cleanup_batch`) carts whose `expires_at` is before `now`
 * (default the database's clock), skipping carts locked elsewhere. Returns how many went.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails (22023: a batch
 *   size outside 1..100000).
 * @example
 * const deleted = await cleanExpiredCartsBatch(client, { limit: 5000 }, "clean-expired-carts");
 */
export function cleanExpiredCartsBatch(
  client: DbClient,
  opts: { limit?: number; now?: Date },
  context: string,
): Promise<number> {
  return callRpc(
    client,
    "shop_clean_expired_carts_batch",
    {
      ...(opts.limit === undefined ? {} : { p_limit: opts.limit }),
      ...(opts.now === undefined ? {} : { p_now: opts.now.toISOString() }),
    },
    z.number().int().nonnegative(),
    { context },
  );
}

/** One run of an automation, as `shop_automation_run_record` logs it. */
export interface AutomationRun {
  automation: ShopAutomation;
  trigger: RunTrigger;
  startedAt: Date;
  /** What the run answered (or had done when it failed). */
  result: Record<string, unknown>;
  /** Why it failed; absent for a successful run. */
  error?: string;
}

/**
 * Logs a finished run into `shop_automation_runs` (finished now) and returns its id.
 *
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * await recordAutomationRun(client, {
 *   automation: "clean-expired-carts", trigger: "schedule", startedAt, result: answer,
 * }, "clean-expired-carts");
 */
export function recordAutomationRun(
  client: DbClient,
  run: AutomationRun,
  context: string,
): Promise<number> {
  return callRpc(
    client,
    "shop_automation_run_record",
    {
      p_automation: run.automation,
      p_trigger: run.trigger,
      p_started_at: run.startedAt.toISOString(),
      p_result: run.result as Json,
      ...(run.error === undefined ? {} : { p_error: run.error }),
    },
    z.number().int(),
    { context },
  );
}
