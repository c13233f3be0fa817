/**
 * Starts the whole local platform for a profile: Postgres with pg_cron and Supabase's
 * stand-ins, the migrations, the pg_net worker, the API gateway with the edge functions.
 * Returns a handle whose `stop()` ends every process it started.
 */
import { type PlatformConfig, platformConfig, type Profile, PROJECT_ROOT } from "./config.ts";
import { readEnvFile } from "./env_file.ts";
import { localKeys } from "./keys.ts";
import { join } from "./path.ts";
import {
  applyMigrations,
  applyStandIns,
  ensureCluster,
  psql,
  startCluster,
  stopCluster,
} from "./postgres.ts";
import { startPgNetWorker } from "./pg_net_worker.ts";
import { startGateway } from "./gateway/server.ts";

export interface Platform {
  cfg: PlatformConfig;
  /** What edge functions and tests see: Supabase's variables plus the project's `.env`. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Stores a secret in Vault under `name`, replacing the value when it exists. */
async function upsertVaultSecret(dbUrl: string, name: string, value: string): Promise<void> {
  const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
  await psql(
    dbUrl,
    `do $$ declare v_id uuid; begin
       select id into v_id from vault.secrets where name = ${literal(name)};
       if v_id is null then perform vault.create_secret(${literal(value)}, ${literal(name)});
       else perform vault.update_secret(v_id, ${literal(value)}); end if;
     end $$;`,
  );
}

/** Starts everything; with `fresh`, the profile's cluster is recreated from scratch. */
export async function startPlatform(
  profile: Profile,
  opts: { fresh?: boolean; log?: (line: string) => void } = {},
): Promise<Platform> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const cfg = platformConfig(profile);
  await Deno.mkdir(cfg.stateDir, { recursive: true });
  await ensureCluster(cfg, { fresh: opts.fresh });
  await startCluster(cfg);
  const stops: Array<() => Promise<void>> = [() => stopCluster(cfg)];
  const stop = async () => {
    for (const fn of stops.reverse()) {
      await fn().catch((e) => log(`stop: ${e instanceof Error ? e.message : e}`));
    }
  };
  try {
    await applyStandIns(cfg);
    const applied = await applyMigrations(cfg);
    if (applied.length) log(`migrations applied: ${applied.join(", ")}`);

    const keys = await localKeys(cfg.jwtSecret);
    const projectEnv = await readEnvFile(
      join(PROJECT_ROOT, ".env"),
      join(PROJECT_ROOT, ".env.example"),
    );
    const env: Record<string, string> = {
      ...projectEnv,
      SUPABASE_URL: cfg.apiUrl,
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_DB_URL: cfg.dbUrl,
    };
    // What hosted projects store once by hand: where wake-ups go and what they present.
    await upsertVaultSecret(cfg.dbUrl, "project_url", cfg.apiUrl);
    if (env.CRON_SECRET) await upsertVaultSecret(cfg.dbUrl, "cron_secret", env.CRON_SECRET);

    const pgNet = await startPgNetWorker({ dbUrl: cfg.dbUrl, log });
    stops.push(() => pgNet.stop());
    const gateway = await startGateway({ cfg, functionEnv: env, log });
    stops.push(() => gateway.stop());
    return { cfg, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
