/**
 * Structured logs: one JSON object per line, which Supabase's log explorer indexes.
 * `LOG_LEVEL` (debug, info, warn, error; default info) sets the lowest level written.
 *
 * @example
 * log.info("job succeeded", { job_id: 12, queue: "probe", attempt: 1 });
 */
type Fields = Record<string, unknown>;
type Level = "debug" | "info" | "warn" | "error";

const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The lowest level written: `LOG_LEVEL` (debug, info, warn, error), `info` by default. */
function threshold(): number {
  let name: string | undefined;
  try {
    name = Deno.env.get("LOG_LEVEL")?.toLowerCase();
  } catch {
    // No env permission: keep the default.
  }
  return LEVELS[name as Level] ?? LEVELS.info;
}

const minimum = threshold();

function write(level: Level, msg: string, fields: Fields = {}) {
  if (LEVELS[level] < minimum) return;
  const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...fields });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

export const log = {
  debug: (msg: string, fields?: Fields) => write("debug", msg, fields),
  info: (msg: string, fields?: Fields) => write("info", msg, fields),
  warn: (msg: string, fields?: Fields) => write("warn", msg, fields),
  error: (msg: string, fields?: Fields) => write("error", msg, fields),
};

/** The message of anything thrown, with its name when it is an Error. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
