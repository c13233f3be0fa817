/**
 * What every benchmark script needs around its measurements: numeric options from the command
 * line, a stop on Ctrl-C that still tears the platform down, a pause and rounding for printing.
 *
 * @example
 * const JOBS = flag("jobs", 100_000);
 * stopOnSignals(() => platform.stop());
 */

/** The number after `--<name>` on the command line, or `fallback`; refuses anything else. */
export function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(Deno.args[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number`);
  return value;
}

/** The comma-separated seconds after `--<name>` (e.g. `--kill-at 8,20`), or `fallback`. */
export function secondsList(name: string, fallback: number[]): number[] {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const values = (Deno.args[i + 1] ?? "").split(",").filter(Boolean).map(Number);
  if (values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error(`--${name} needs seconds separated by commas, e.g. 2,12`);
  }
  return values;
}

/** On Ctrl-C or SIGTERM: says so, runs `shutdown`, and exits with 130. */
export function stopOnSignals(shutdown: () => Promise<unknown>): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      console.error(`\n${signal}: stopping the bench platform...`);
      shutdown().finally(() => Deno.exit(130));
    });
  }
}

/** Waits `ms` milliseconds (benchmarks pace themselves; tests await conditions instead). */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `n` rounded to `digits` decimals, for printing. */
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
