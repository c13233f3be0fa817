/**
 * Starts the whole local platform for a profile: Postgres with pg_cron and Supabase's
 * stand-ins, the migrations, the pg_net worker, the stand-ins for the SaaS the functions call
 * (Resend on `saasPortBase`), the API gateway with the edge functions.
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
import { startResendStandIn } from "./resend/server.ts";
import { DEFAULT_REQUESTS_PER_SECOND } from "./resend/rate_limiter.ts";

/** The API key the Resend stand-in accepts when `.env` sets none. Local only. */
export const LOCAL_RESEND_API_KEY = "re_local_stand_in_not_a_real_key";

export interface Platform {
  cfg: PlatformConfig;
  /** What edge functions and tests see: Supabase's variables plus the project's `.env`. */
  env: Record<string, string>;
  /** Base URL of the Resend stand-in: its API (`RESEND_BASE_URL`) and its inbox page. */
  resendUrl: string;
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

/** The Resend stand-in's rate limit: `RESEND_LOCAL_RATE_LIMIT` (environment, then `.env`). */
function resendRateLimit(projectEnv: Record<string, string>): number {
  const raw = Deno.env.get("RESEND_LOCAL_RATE_LIMIT") ?? projectEnv.RESEND_LOCAL_RATE_LIMIT;
  if (raw === undefined || raw === "") return DEFAULT_REQUESTS_PER_SECOND;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`RESEND_LOCAL_RATE_LIMIT must be a positive integer, not "${raw}"`);
  }
  return value;
}

/**
 * Starts everything; with `fresh`, the profile's cluster is recreated from scratch (and the dev
 * inbox emptied).
 */
export async function startPlatform(
  profile: Profile,
  opts: { fresh?: boolean; log?: (line: string) => void } = {},
): Promise<Platform> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const cfg = platformConfig(profile);
  await Deno.mkdir(cfg.stateDir, { recursive: true });
  const projectEnv = await readEnvFile(
    join(PROJECT_ROOT, ".env"),
    join(PROJECT_ROOT, ".env.example"),
  );

  // The Resend stand-in binds its port first: its port is even, like the local ports Linux
  // hands to outgoing connections, which the many connections made below could take from it.
  // Only the dev profile keeps its inbox between runs.
  const resendApiKey = projectEnv.RESEND_API_KEY || LOCAL_RESEND_API_KEY;
  const inboxFile = join(cfg.stateDir, "resend_emails.jsonl");
  if (profile === "dev" && opts.fresh) await Deno.remove(inboxFile).catch(() => {});
  const resend = await startResendStandIn({
    port: cfg.saasPortBase,
    apiKeys: [resendApiKey],
    requestsPerSecond: resendRateLimit(projectEnv),
    persistPath: profile === "dev" ? inboxFile : undefined,
    log,
  });
  try {
    await ensureCluster(cfg, { fresh: opts.fresh });
    await startCluster(cfg);
  } catch (error) {
    await resend.stop();
    throw error;
  }
  const stops: Array<() => Promise<void>> = [() => resend.stop(), () => stopCluster(cfg)];
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
    const env: Record<string, string> = {
      // Test runs only: the functions give up on a Resend call after 2 s instead of the
      // default 10 s, so tests that make the stand-in hang (tests/flows/waitlist_flow_test.ts)
      // wait for the client's timeout quickly. `.env` can still set another value.
      ...(profile === "test" ? { RESEND_TIMEOUT_MS: "2000" } : {}),
      ...projectEnv,
      SUPABASE_URL: cfg.apiUrl,
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_DB_URL: cfg.dbUrl,
      RESEND_API_KEY: resendApiKey,
      RESEND_BASE_URL: resend.url,
    };
    // What hosted projects store once by hand: where wake-ups go and what they present.
    await upsertVaultSecret(cfg.dbUrl, "project_url", cfg.apiUrl);
    if (env.CRON_SECRET) await upsertVaultSecret(cfg.dbUrl, "cron_secret", env.CRON_SECRET);

    const pgNet = await startPgNetWorker({ dbUrl: cfg.dbUrl, log });
    stops.push(() => pgNet.stop());
    const gateway = await startGateway({ cfg, functionEnv: env, log });
    stops.push(() => gateway.stop());
    return { cfg, env, resendUrl: resend.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
