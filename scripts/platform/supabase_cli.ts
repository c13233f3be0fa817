/**
 * The real Supabase CLI (npm `supabase`, pinned in scripts/tools/package.json and installed by
 * scripts/bootstrap.sh) for what it does without Docker: applying `supabase/migrations`
 * (`migration up`) and linting the database's functions with plpgsql_check (`db lint`).
 * Both talk to the local cluster through `--db-url`, as they would to a hosted project.
 */
import { PROJECT_ROOT } from "./config.ts";
import { join } from "./path.ts";

/** The CLI binary: `SUPABASE_BIN` from bootstrap.sh, else the npm wrapper in `.local/tools`. */
function supabaseBin(): string {
  return Deno.env.get("SUPABASE_BIN") ??
    join(PROJECT_ROOT, ".local/tools/node_modules/.bin/supabase");
}

/** What a CLI run printed, and whether it succeeded. */
export interface CliResult {
  success: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs `supabase <args>` from the project root (so it reads `supabase/config.toml` and
 * `supabase/migrations`), with no usage reports and no update check: it needs no network.
 */
export async function supabaseCli(args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(supabaseBin(), {
    args: [...args, "--workdir", PROJECT_ROOT],
    cwd: PROJECT_ROOT,
    env: {
      SUPABASE_TELEMETRY_DISABLED: "1",
      DO_NOT_TRACK: "1",
      SUPABASE_NO_UPDATE_NOTIFIER: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    success: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/**
 * The URL the CLI is given for a local cluster: it would otherwise ask for TLS, which the
 * local cluster does not offer.
 */
export function cliDbUrl(dbUrl: string): string {
  const url = new URL(dbUrl);
  url.searchParams.set("sslmode", "disable");
  return url.toString();
}
