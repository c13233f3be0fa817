/**
 * The local PostgreSQL 15 cluster: created under `.local/<profile>/pg`, started with pg_cron,
 * Supabase's stand-ins applied with psql, then the project's migrations applied by the Supabase
 * CLI (`supabase migration up`), as on a hosted project.
 *
 * Postgres refuses to run as root, so when we are root every server command runs as `postgres`.
 */
import { type PlatformConfig, PROJECT_ROOT } from "./config.ts";
import { exists, join } from "./path.ts";
import { isRoot, run } from "./process.ts";
import { cliDbUrl, supabaseCli } from "./supabase_cli.ts";

const PG_BIN = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";

/** Runs a Postgres server binary, as `postgres` when we are root. */
function pgCommand(bin: string, args: string[]): Promise<string> {
  const path = join(PG_BIN, bin);
  return isRoot() ? run("runuser", ["-u", "postgres", "--", path, ...args]) : run(path, args);
}

const homes = new Map<string, string>();

/**
 * The folder holding the cluster (`pg/`) and its log: the profile's state folder, unless we are
 * root and the `postgres` user cannot reach it (a clone under /root, say); then a folder of its
 * own under /var/lib/postgresql, named after the state folder.
 */
async function clusterHome(cfg: PlatformConfig): Promise<string> {
  const known = homes.get(cfg.stateDir);
  if (known) return known;
  let home = cfg.stateDir;
  await Deno.mkdir(home, { recursive: true });
  if (isRoot()) {
    const reachable = await run("runuser", ["-u", "postgres", "--", "test", "-x", home])
      .then(() => true, () => false);
    if (!reachable) {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(home));
      const id = [...new Uint8Array(digest)].slice(0, 6)
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      home = `/var/lib/postgresql/local-platform/${id}`;
      await Deno.mkdir(home, { recursive: true });
      await run("chown", ["postgres:postgres", "/var/lib/postgresql/local-platform", home]);
    }
  }
  homes.set(cfg.stateDir, home);
  return home;
}

/** The cluster's data directory (`pg_ctl -D`). */
async function dataDir(cfg: PlatformConfig): Promise<string> {
  return join(await clusterHome(cfg), "pg");
}

/** Where the server writes its log. */
export async function postgresLogPath(cfg: PlatformConfig): Promise<string> {
  return join(await clusterHome(cfg), "postgres.log");
}

/** Server settings appended to postgresql.conf at creation. */
function serverSettings(cfg: PlatformConfig): string {
  const lines = [
    `port = ${cfg.dbPort}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = ''`,
    `shared_preload_libraries = 'pg_cron'`,
    `cron.database_name = 'postgres'`,
    // Jobs run in background workers: no libpq connection, so no password needed.
    `cron.use_background_workers = on`,
    `max_worker_processes = 32`,
    `max_connections = 200`,
    `timezone = 'UTC'`,
    `log_timezone = 'UTC'`,
    `log_min_messages = warning`,
  ];
  // A test cluster is thrown away after the run: durability buys nothing there.
  if (cfg.profile === "test") lines.push("fsync = off", "full_page_writes = off");
  return "\n# Local platform settings\n" + lines.join("\n") + "\n";
}

/** Creates the cluster when missing. With `fresh`, an existing one is removed first. */
export async function ensureCluster(cfg: PlatformConfig, opts: { fresh?: boolean } = {}) {
  const dir = await dataDir(cfg);
  if (opts.fresh && await exists(dir)) {
    await stopCluster(cfg);
    await Deno.remove(dir, { recursive: true });
  }
  if (await exists(join(dir, "PG_VERSION"))) return;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const pwFile = join(await clusterHome(cfg), "pwfile");
  await Deno.writeTextFile(pwFile, "postgres\n");
  if (isRoot()) await run("chown", ["-R", "postgres:postgres", dir, pwFile]);
  await pgCommand("initdb", [
    "-D",
    dir,
    "-U",
    "postgres",
    "--auth-host=scram-sha-256",
    "--auth-local=trust",
    `--pwfile=${pwFile}`,
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
  ]);
  await Deno.remove(pwFile);
  const conf = join(dir, "postgresql.conf");
  await Deno.writeTextFile(conf, serverSettings(cfg), { append: true });
}

/** True when this cluster's postmaster is running. */
async function isRunning(cfg: PlatformConfig): Promise<boolean> {
  try {
    await pgCommand("pg_ctl", ["-D", await dataDir(cfg), "status"]);
    return true;
  } catch {
    return false;
  }
}

/** Starts the cluster unless it already runs; waits until it accepts connections. */
export async function startCluster(cfg: PlatformConfig): Promise<void> {
  if (await isRunning(cfg)) return;
  const log = await postgresLogPath(cfg);
  if (isRoot()) {
    await Deno.writeTextFile(log, "", { append: true });
    await run("chown", ["postgres:postgres", log]);
  }
  await pgCommand("pg_ctl", ["-D", await dataDir(cfg), "-l", log, "-w", "-t", "60", "start"]);
}

/** Stops the cluster (fast shutdown); does nothing when it is not running. */
export async function stopCluster(cfg: PlatformConfig): Promise<void> {
  if (!(await isRunning(cfg))) return;
  await pgCommand("pg_ctl", ["-D", await dataDir(cfg), "-m", "fast", "-w", "stop"]);
}

/**
 * Restarts the running cluster as a crash would (`pg_ctl restart -m immediate`: no shutdown
 * checkpoint, crash recovery at start); waits until it accepts connections again.
 */
export async function restartClusterImmediately(cfg: PlatformConfig): Promise<void> {
  await pgCommand("pg_ctl", [
    ...["-D", await dataDir(cfg), "-l", await postgresLogPath(cfg)],
    ...["-m", "immediate", "-w", "-t", "60", "restart"],
  ]);
}

/** Runs a SQL file with psql, in one transaction, stopping at the first error. */
export async function psqlFile(dbUrl: string, file: string): Promise<void> {
  await run("psql", [dbUrl, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", file], {
    env: { PGOPTIONS: "--client-min-messages=warning" },
  });
}

/** Runs SQL text with psql and returns its unaligned, tuples-only output. */
export async function psql(dbUrl: string, sql: string): Promise<string> {
  const out = await run("psql", [dbUrl, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], {
    stdin: sql,
    env: { PGOPTIONS: "--client-min-messages=warning" },
  });
  return out.trim();
}

async function sqlFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Applies the stand-ins for what Supabase adds to Postgres (roles, auth, vault, pg_net).
 * They live outside `supabase/migrations` and are written to be applied again safely.
 */
export async function applyStandIns(cfg: PlatformConfig): Promise<void> {
  const dir = join(PROJECT_ROOT, "scripts/platform/sql");
  for (const name of await sqlFiles(dir)) await psqlFile(cfg.dbUrl, join(dir, name));
}

/** Versions recorded in the CLI's migration history (none before the first migration). */
async function migrationHistory(dbUrl: string): Promise<Set<string>> {
  const table = "supabase_migrations.schema_migrations";
  if (!(await psql(dbUrl, `select to_regclass('${table}') is not null`)).startsWith("t")) {
    return new Set();
  }
  return new Set((await psql(dbUrl, `select version from ${table}`)).split("\n").filter(Boolean));
}

/**
 * Applies the migrations not applied yet with the Supabase CLI (`supabase migration up
 * --db-url`), which records each in `supabase_migrations.schema_migrations` as it does on a
 * hosted project. Returns the versions applied by this call.
 *
 * @throws {Error} with the CLI's message when a migration fails (the CLI stops there; earlier
 *   migrations of the same call stay applied, as on a hosted project).
 */
export async function applyMigrations(cfg: PlatformConfig): Promise<string[]> {
  const before = await migrationHistory(cfg.dbUrl);
  const result = await supabaseCli(["migration", "up", "--db-url", cliDbUrl(cfg.dbUrl)]);
  if (!result.success) {
    throw new Error(
      `Supabase CLI could not apply the migrations in supabase/migrations ` +
        `(supabase migration up, ${cfg.profile} database on port ${cfg.dbPort}):\n` +
        (result.stderr + result.stdout).trim(),
    );
  }
  const after = await migrationHistory(cfg.dbUrl);
  return [...after].filter((version) => !before.has(version)).sort();
}

/**
 * The schemas the project owns: `public` and every schema a migration creates, as the Supabase
 * CLI recorded the migrations' statements in `supabase_migrations.schema_migrations`. Schemas
 * of Supabase's stand-ins (auth, vault, net, extensions), of extensions (cron) and the CLI's
 * own history are not among them.
 */
export async function projectSchemas(dbUrl: string): Promise<string[]> {
  const out = await psql(
    dbUrl,
    `select n.nspname from pg_namespace n
     where n.nspname = 'public' or n.nspname in (
       -- A statement starts with the comments above it: match at the start of any line.
       select x[1]
       from supabase_migrations.schema_migrations m, unnest(m.statements) s,
            regexp_matches(s, '(?:^|\\n)\\s*create\\s+schema\\s+(?:if\\s+not\\s+exists\\s+)?"?([^\\s";]+)', 'gi') x)
     order by n.nspname = 'public' desc, n.nspname`,
  );
  return out.split("\n").filter(Boolean);
}

/** What `supabase db lint` reported. */
export interface LintResult {
  /** True when the CLI reported no warning and no error. */
  ok: boolean;
  /** The schemas linted. */
  schemas: string[];
  /** The CLI's report (JSON, one entry per function with issues) and messages. */
  report: string;
}

/**
 * Lints every function of the project's schemas with `supabase db lint --level warning`
 * (plpgsql_check, which the CLI creates for the run and rolls back). Any warning fails.
 */
export async function lintDatabase(cfg: PlatformConfig): Promise<LintResult> {
  const schemas = await projectSchemas(cfg.dbUrl);
  const result = await supabaseCli([
    ...["db", "lint", "--db-url", cliDbUrl(cfg.dbUrl)],
    ...["--schema", schemas.join(","), "--level", "warning", "--fail-on", "warning"],
  ]);
  return { ok: result.success, schemas, report: (result.stdout + result.stderr).trim() };
}
