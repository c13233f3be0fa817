/**
 * Starts the whole local platform for a profile: Postgres with pg_cron and Supabase's
 * stand-ins, the migrations, the pg_net worker, the stand-ins for the SaaS the functions call
 * (every entry of stand_ins/registry.ts, from `saasPortBase` on), the API gateway with the edge
 * functions. Returns a handle whose `stop()` ends every process it started.
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
import {
  type RegisteredStandIn,
  STAND_INS,
  type StandInName,
  type StartedStandIn,
} from "./stand_ins/registry.ts";

/** A running stand-in, as the platform exposes it. */
export interface PlatformStandIn {
  /** Base URL: the provider's API (e.g. `RESEND_BASE_URL`), its page and `/_local/`. */
  url: string;
}

export interface Platform {
  cfg: PlatformConfig;
  /** What edge functions and tests see: Supabase's variables plus the project's `.env`. */
  env: Record<string, string>;
  /** Each stand-in of the registry by name: `platform.standIns.resend.url`. */
  standIns: Record<StandInName, PlatformStandIn>;
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

/**
 * Starts every stand-in of the registry, in order; on a failure, stops those already started.
 * Only the dev profile keeps their items between runs (`fresh` forgets them).
 */
async function startStandIns(
  cfg: PlatformConfig,
  projectEnv: Record<string, string>,
  opts: { fresh?: boolean; log: (line: string) => void },
): Promise<Array<[RegisteredStandIn, StartedStandIn]>> {
  const started: Array<[RegisteredStandIn, StartedStandIn]> = [];
  try {
    for (const entry of STAND_INS as readonly RegisteredStandIn[]) {
      let persistPath: string | undefined;
      if (cfg.profile === "dev" && entry.devPersistFile) {
        persistPath = join(cfg.stateDir, entry.devPersistFile);
        if (opts.fresh) await Deno.remove(persistPath).catch(() => {});
      }
      const standIn = await entry.start({
        port: cfg.saasPortBase + entry.portOffset,
        projectEnv,
        persistPath,
        log: opts.log,
      });
      started.push([entry, standIn]);
    }
  } catch (error) {
    for (const [, standIn] of started.reverse()) await standIn.stop();
    throw error;
  }
  return started;
}

/**
 * Starts everything; with `fresh`, the profile's cluster is recreated from scratch (and the dev
 * inbox emptied). `env` sets variables the functions see over the project's `.env` (a
 * benchmark's pace, for instance).
 */
export async function startPlatform(
  profile: Profile,
  opts: { fresh?: boolean; log?: (line: string) => void; env?: Record<string, string> } = {},
): Promise<Platform> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const cfg = platformConfig(profile);
  await Deno.mkdir(cfg.stateDir, { recursive: true });
  const projectEnv = await readEnvFile(
    join(PROJECT_ROOT, ".env"),
    join(PROJECT_ROOT, ".env.example"),
  );

  // The stand-ins bind their ports first: Resend's is even, like the local ports Linux hands to
  // outgoing connections, which the many connections made below could take from it.
  const standIns = await startStandIns(cfg, projectEnv, { fresh: opts.fresh, log });
  const stopStandIns = async () => {
    for (const [, standIn] of [...standIns].reverse()) await standIn.stop();
  };
  try {
    await ensureCluster(cfg, { fresh: opts.fresh });
    await startCluster(cfg);
  } catch (error) {
    await stopStandIns();
    throw error;
  }
  const stops: Array<() => Promise<void>> = [stopStandIns, () => stopCluster(cfg)];
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
      // Defaults a stand-in sets for this profile (e.g. a short Resend timeout in tests, so
      // that calls made to hang fail fast); `.env` can still set other values.
      ...Object.assign({}, ...standIns.map(([entry]) => entry.profileDefaults[profile])),
      ...projectEnv,
      ...opts.env,
      SUPABASE_URL: cfg.apiUrl,
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_DB_URL: cfg.dbUrl,
      ...Object.assign({}, ...standIns.map(([, standIn]) => standIn.env)),
    };
    // What hosted projects store once by hand: where wake-ups go and what they present.
    await upsertVaultSecret(cfg.dbUrl, "project_url", cfg.apiUrl);
    if (env.CRON_SECRET) await upsertVaultSecret(cfg.dbUrl, "cron_secret", env.CRON_SECRET);

    const pgNet = await startPgNetWorker({ dbUrl: cfg.dbUrl, log });
    stops.push(() => pgNet.stop());
    const gateway = await startGateway({ cfg, functionEnv: env, log });
    stops.push(() => gateway.stop());
    const urls = Object.fromEntries(standIns.map(([entry, { url }]) => [entry.name, { url }]));
    return { cfg, env, standIns: urls as Platform["standIns"], stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
