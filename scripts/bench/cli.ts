/**
 * What every benchmark script needs around its measurements: numeric options from the command
 * line, a stop on Ctrl-C that still tears the platform down, a pause, polling for a condition,
 * and the shapes of what they print (rounding, counts, latency summaries, section headers).
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

/**
 * The sections named on the command line (all of them when none is), out of `all`; exits with
 * status 2 on a word that is neither a section nor an option or its value.
 */
export function sections<S extends string>(all: readonly S[]): Set<S> {
  const named = Deno.args.filter((a): a is S => (all as readonly string[]).includes(a));
  const unknown = Deno.args.filter((a, i) =>
    !named.includes(a as S) && !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--")
  );
  if (unknown.length) {
    console.error(`Unknown section(s) ${unknown.join(", ")}: use ${all.join(", ")}`);
    Deno.exit(2);
  }
  return new Set<S>(named.length ? named : all);
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

/**
 * Polls `probe` every `everyMs` (default 2 ms) until it answers something, for at most
 * `timeoutMs` (default 15 s).
 *
 * @throws {Error} naming `what` when the time runs out.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  opts: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(opts.everyMs ?? 2);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** `n` as a whole number with thousands separators: `12,345`. */
export const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** A latency summary as `p50 / p95 / p99 / max ms`. */
export const ms = (s: { p50: number; p95: number; p99: number; max: number }) =>
  `${s.p50} / ${s.p95} / ${s.p99} / ${s.max} ms`;

/** Whether a target was met, as printed. */
export const verdict = (ok: boolean) => (ok ? "MET" : "MISSED");

/** Prints a section's title between two rules. */
export function header(title: string): void {
  console.log(`\n${"=".repeat(96)}\n${title}\n${"=".repeat(96)}`);
}
