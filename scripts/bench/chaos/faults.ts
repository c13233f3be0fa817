/**
 * The faults the chaos check injects into a running platform:
 * - `kill -9` of the Deno processes the gateway runs for edge functions (found in /proc by
 *   their entry point and by the `SUPABASE_URL` of this platform, so that another platform
 *   running the same functions on this machine is left alone);
 * - `pg_ctl restart -m immediate` of the platform's Postgres (a crash and crash recovery).
 */
import type { PlatformConfig } from "../../platform/config.ts";
import { PROJECT_ROOT } from "../../platform/config.ts";
import { join } from "../../platform/path.ts";

/** A function process found running. */
export interface FunctionProcess {
  name: string;
  pid: number;
}

function readProc(pid: string, file: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${file}`);
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/**
 * The processes of the named functions that this platform's gateway runs: `deno run ...
 * <functions>/<name>/index.ts` whose environment carries this platform's `SUPABASE_URL`.
 */
export function functionProcesses(cfg: PlatformConfig, names: string[]): FunctionProcess[] {
  const entrypoints = new Map(
    names.map((name) => [join(PROJECT_ROOT, "supabase/functions", name, "index.ts"), name]),
  );
  const found: FunctionProcess[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const argv = readProc(entry.name, "cmdline")?.split("\0") ?? [];
    const name = argv.map((arg) => entrypoints.get(arg)).find((n) => n !== undefined);
    if (!name) continue;
    const env = readProc(entry.name, "environ")?.split("\0") ?? [];
    if (!env.includes(`SUPABASE_URL=${cfg.apiUrl}`)) continue;
    found.push({ name, pid: Number(entry.name) });
  }
  return found;
}

/** Sends SIGKILL to each process; returns those it reached (a process may have just exited). */
export function killNine(processes: FunctionProcess[]): FunctionProcess[] {
  return processes.filter(({ pid }) => {
    try {
      Deno.kill(pid, "SIGKILL");
      return true;
    } catch {
      return false;
    }
  });
}
