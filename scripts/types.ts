/**
 * `bash scripts/types.sh`: regenerates `supabase/functions/_shared/database.types.ts` from the
 * migrated schema with Supabase's own generator, `@supabase/postgres-meta` (what
 * `supabase gen types typescript` runs inside Docker), on Node. Without `--db-url` it starts a
 * fresh test platform (migrations applied), generates, and stops it. Only schema `public` is
 * exposed to the API, so the types cover `public`.
 *
 * The generator is found through `PG_META_DIR` (the package's folder), else
 * `.local/tools/node_modules/@supabase/postgres-meta`. The test command calls
 * {@link generateDatabaseTypes} and fails when the committed file differs.
 *
 * @example
 * // bash scripts/types.sh                      regenerate against a fresh test platform
 * // bash scripts/types.sh --db-url postgres://…  regenerate against a running database
 */
import { join } from "./platform/path.ts";
import { PROJECT_ROOT } from "./platform/config.ts";

/** Where the generated types live (committed, never edited by hand). */
export const DATABASE_TYPES_PATH = "supabase/functions/_shared/database.types.ts";

/** The folder of the `@supabase/postgres-meta` package. */
export function pgMetaDir(): string {
  return Deno.env.get("PG_META_DIR") ||
    join(PROJECT_ROOT, ".local/tools/node_modules/@supabase/postgres-meta");
}

/**
 * The types of schema `public` of the database at `dbUrl`, as `supabase gen types typescript`
 * prints them, formatted with `deno fmt`.
 */
export async function generateDatabaseTypes(dbUrl: string): Promise<string> {
  const server = join(pgMetaDir(), "dist/server/server.js");
  try {
    await Deno.stat(server);
  } catch {
    throw new Error(
      `The types generator is not installed: ${server} is missing (set PG_META_DIR to the folder ` +
        "of @supabase/postgres-meta, or install it into .local/tools)",
    );
  }
  const generated = await new Deno.Command("node", {
    args: [server],
    env: {
      PG_META_GENERATE_TYPES: "typescript",
      PG_META_DB_URL: dbUrl,
      PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS: "public",
      PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS: "true",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(generated.stdout);
  if (!generated.success || !text.includes("export type Database")) {
    throw new Error(
      `Generating the database types failed (exit ${generated.code}): ` +
        new TextDecoder().decode(generated.stderr).slice(-2000),
    );
  }
  // `deno fmt` is not always idempotent on generated code: format until it settles.
  let formatted = await denoFmt(text);
  for (let pass = 0; pass < 3; pass++) {
    const again = await denoFmt(formatted);
    if (again === formatted) break;
    formatted = again;
  }
  return formatted;
}

/** The text formatted the way `deno fmt` formats the committed file. */
async function denoFmt(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "ts", "-"],
    cwd: PROJECT_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`deno fmt failed on the types: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--db-url");
  const given = at >= 0 ? Deno.args[at + 1] : undefined;
  let text: string;
  if (given) {
    text = await generateDatabaseTypes(given);
  } else {
    const { startPlatform } = await import("./platform/start.ts");
    const platform = await startPlatform("test", { fresh: true });
    try {
      text = await generateDatabaseTypes(platform.cfg.dbUrl);
    } finally {
      await platform.stop();
    }
  }
  await Deno.writeTextFile(join(PROJECT_ROOT, DATABASE_TYPES_PATH), text);
  console.log(`wrote ${DATABASE_TYPES_PATH}`);
}
