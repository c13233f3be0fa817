/**
 * The guard for internal endpoints (queue workers, monitors): the caller presents
 * `Authorization: Bearer <service role key>` or `Bearer <CRON_SECRET>`. Both are compared in
 * constant time, so response timing says nothing about how much of a guess was right.
 */
import { timingSafeEqual } from "node:crypto";
import type { FunctionEnv } from "./env.ts";
import { errorResponse } from "./responses.ts";
import { sha256 } from "./sha256.ts";

/**
 * Compares two secrets in constant time. Hashing first gives both sides the same length,
 * so not even the length of the expected secret leaks.
 */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** The bearer token of a request, or `undefined`. */
export function bearerToken(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  return match?.[1];
}

/**
 * Returns `null` when the request carries the service role key or the cron secret,
 * and a 401 JSON response otherwise.
 *
 * @example
 * const denied = await requireInternalCaller(req, functionEnv());
 * if (denied) return denied;
 */
export async function requireInternalCaller(
  req: Request,
  env: Pick<FunctionEnv, "SUPABASE_SERVICE_ROLE_KEY" | "CRON_SECRET">,
): Promise<Response | null> {
  const token = bearerToken(req);
  if (token !== undefined) {
    // Check both, always: which one matched must not show in the timing either.
    const [isService, isCron] = await Promise.all([
      secretsEqual(token, env.SUPABASE_SERVICE_ROLE_KEY),
      secretsEqual(token, env.CRON_SECRET),
    ]);
    if (isService || isCron) return null;
  }
  return errorResponse(
    401,
    "unauthorized",
    "This endpoint needs `Authorization: Bearer <service role key or CRON_SECRET>`.",
  );
}
