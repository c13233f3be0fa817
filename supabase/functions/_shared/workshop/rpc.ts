/**
 * The workshop's SQL function (the flow's one typed seam, see `../runtime/rpc.ts`):
 * `workshop_check_overdue`, which finds the overdue tickets with one query, records at most one
 * notification per ticket per repeat interval (a constraint makes a second one impossible) and
 * publishes one `ticket.overdue` event each into the webhook delivery engine. Called by the
 * `check-overdue` function (pg_cron every 5 minutes, or an outside scheduler with the cron secret).
 */
import { z } from "zod";
import type { DbClient } from "../runtime/client.ts";
import { callRpc } from "../runtime/rpc.ts";

const checkSchema = z.looseObject({
  /** Tickets the rule selected as overdue and not notified within the repeat interval. */
  overdue: z.number().int(),
  /** Notifications recorded by this run (one per ticket). */
  notified: z.number().int(),
  /** Webhook messages created (one per notification and subscribed endpoint). */
  messages: z.number().int(),
  /** Enabled endpoints subscribed to `ticket.overdue`. */
  subscribers: z.number().int(),
  checked_at: z.string(),
});

/** What `workshop_check_overdue` answers (and `check-overdue` answers as JSON). */
export type OverdueCheck = z.infer<typeof checkSchema>;

/**
 * Runs the overdue check once, as the service role.
 *
 * @param limit at most this many tickets notified in one run (the SQL default, 1000, if absent).
 * @throws {import("../runtime/rpc.ts").RpcError} when the SQL function fails.
 * @example
 * const { notified } = await checkOverdue(serviceClient(env), "check-overdue (cron)");
 */
export function checkOverdue(
  client: DbClient,
  context: string,
  limit?: number,
): Promise<OverdueCheck> {
  return callRpc(
    client,
    "workshop_check_overdue",
    limit === undefined ? {} : { p_limit: limit },
    checkSchema,
    { context },
  );
}
