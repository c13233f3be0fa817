/**
 * `bash scripts/dev.sh`: starts the whole local platform with demo data and prints where
 * everything is. Ctrl-C stops every process it started.
 */
import { startPlatform } from "./platform/start.ts";

const platform = await startPlatform("dev");
const { cfg, env } = platform;
console.log(`
Local platform is running (Ctrl-C stops it).

  Functions   ${cfg.apiUrl}/functions/v1/<name>
  REST (RPC)  ${cfg.apiUrl}/rest/v1/rpc/<fn>
  Database    ${cfg.dbUrl}
  anon key          ${env.SUPABASE_ANON_KEY}
  service_role key  ${env.SUPABASE_SERVICE_ROLE_KEY}
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("Stopping…");
  await platform.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
