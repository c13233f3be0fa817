/** The service-role supabase-js client functions use to call SQL functions (`.rpc()`). */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { FunctionEnv } from "./env.ts";

/** A client acting as `service_role`, without session persistence (functions are stateless). */
export function serviceClient(
  env: Pick<FunctionEnv, "SUPABASE_URL" | "SUPABASE_SERVICE_ROLE_KEY">,
): SupabaseClient {
  return createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}
