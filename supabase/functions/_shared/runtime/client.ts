/**
 * The typed supabase-js clients functions use to call SQL functions: as the service role
 * (`serviceClient`), or as the user who called (`userClient`, so that `auth.uid()` and RLS apply).
 * Typed with the generated `Database` (see `../database.types.ts`); the calls themselves go
 * through the flows' `rpc.ts` modules (see `./rpc.ts`).
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../database.types.ts";
import type { FunctionEnv } from "./env.ts";

/** A supabase-js client typed with this project's schema. */
export type DbClient = SupabaseClient<Database>;

/** A client acting as `service_role`, without session persistence (functions are stateless). */
export function serviceClient(
  env: Pick<FunctionEnv, "SUPABASE_URL" | "SUPABASE_SERVICE_ROLE_KEY">,
): DbClient {
  return createClient<Database>(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

/**
 * A client acting as the user whose `Authorization: Bearer <JWT>` header is given (the anon key
 * as API key): SQL functions see `auth.uid()` and RLS applies, as for the app itself.
 *
 * @throws {Error} when `SUPABASE_ANON_KEY` is not set.
 * @example
 * const asUser = userClient(functionEnv(), req.headers.get("authorization")!);
 */
export function userClient(
  env: Pick<FunctionEnv, "SUPABASE_URL" | "SUPABASE_ANON_KEY">,
  authorization: string,
): DbClient {
  if (!env.SUPABASE_ANON_KEY) {
    throw new Error("SUPABASE_ANON_KEY is not set: functions cannot act as a user without it");
  }
  return createClient<Database>(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: authorization } },
  });
}
