/** Reads `KEY=value` files (`.env`), the way the Supabase CLI passes them to functions. */

/** Parses dotenv text: `KEY=value` lines, `#` comments, optional single or double quotes. */
export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`Cannot read this .env line: ${line}`);
    let value = match[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    value = quoted ? quoted[2] : value.replace(/\s+#.*$/, "");
    out[match[1]] = value;
  }
  return out;
}

/** Reads the first of the given files that exists; an empty object when none does. */
export async function readEnvFile(...paths: string[]): Promise<Record<string, string>> {
  for (const path of paths) {
    try {
      return parseEnv(await Deno.readTextFile(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return {};
}
