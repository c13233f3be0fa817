/**
 * The typed service-role supabase-js client functions use to call SQL functions. Typed with the
 * generated `Database` (see `../database.types.ts`); the calls themselves go through the flows'
 * `rpc.ts` modules (see `./rpc.ts`).
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
