/**
 * How the shop's cron endpoints (`clean-expired-carts`, `request-reviews`) learn who started a
 * run: pg_cron posts `{"trigger": "schedule"}`; an empty body, a GET or `{"trigger":
 * "manual"}` is a run by hand. Anything else is refused with 400, naming the accepted bodies.
 *
 * @example
 * const trigger = await readRunTrigger(req);
 * if (trigger instanceof Response) return trigger; // 400
 */
import { z } from "zod";
import { errorResponse, readJsonBody } from "../runtime/responses.ts";
import type { RunTrigger } from "./rpc.ts";

const bodySchema = z.looseObject({
  trigger: z.enum(["schedule", "manual"]).default("manual"),
});

/** The run's trigger from the request's body, or the 400 answer for a body that is not one. */
export async function readRunTrigger(req: Request): Promise<RunTrigger | Response> {
  if (req.method !== "POST") {
    await req.body?.cancel();
    return "manual";
  }
  const body = bodySchema.safeParse((await readJsonBody(req)) ?? null);
  if (body.success) return body.data.trigger;
  return errorResponse(
    400,
    "invalid_body",
    'The body must be JSON like {"trigger": "schedule"} or {"trigger": "manual"} (or empty).',
  );
}
