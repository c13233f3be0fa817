// Statistics and repairs of the waitlist flow (see _shared/waitlist/monitor.ts).
import { functionEnv } from "../_shared/env.ts";
import { serviceClient } from "../_shared/supabase_client.ts";
import { monitorHandler } from "../_shared/waitlist/monitor.ts";

const env = functionEnv();
Deno.serve(monitorHandler(env, serviceClient(env)));
