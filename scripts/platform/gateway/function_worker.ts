/**
 * One edge function's process: `deno run` of `<dir>/index.ts`, started on demand, listening on
 * a private port given through `DENO_SERVE_ADDRESS` (honoured by a plain `Deno.serve(handler)`),
 * restarted on the next request after it dies, its output forwarded line by line to the log.
 *
 * The process leads its own process group (spawned detached), so stopping it also ends whatever
 * it started.
 */

/** How to run one function. */
export interface WorkerSpec {
  name: string;
  /** Absolute path of the function's `index.ts`. */
  entrypoint: string;
  /** Working directory of the process (the project root). */
  cwd: string;
  /** Deno config to use (`--config`) when the function folder has none of its own. */
  denoConfig: string | undefined;
  /** Full environment of the process (nothing else is inherited). */
  env: Record<string, string>;
  /** How long the process may take to accept connections. */
  bootTimeoutMs: number;
  log: (line: string) => void;
}

/** The function did not come up (crashed on import, never listened...). */
export class BootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BootError";
  }
}

/** Grace period between SIGTERM and SIGKILL when stopping. */
const KILL_GRACE_MS = 3000;
const POLL_MS = 20;

/** Asks the OS for a free TCP port on loopback. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Forwards a process stream to the log, one JSON line per output line. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  emit: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        emit(buffer.slice(0, newline).replace(/\r$/, ""));
        buffer = buffer.slice(newline + 1);
      }
    }
  } catch {
    // The pipe broke with the process; what was read is logged below.
  }
  buffer += decoder.decode();
  if (buffer) emit(buffer);
}

interface Running {
  child: Deno.ChildProcess;
  port: number;
  exited: Promise<Deno.CommandStatus>;
  done: boolean;
}

/**
 * Manages the process of one function. `port()` starts it when needed; concurrent callers share
 * one start.
 *
 * @example
 * const worker = new FunctionWorker(spec);
 * const port = await worker.port(); // then proxy to http://127.0.0.1:<port>
 * await worker.stop();
 */
export class FunctionWorker {
  #spec: WorkerSpec;
  #running: Running | undefined;
  #starting: Promise<number> | undefined;
  #pumps = new Set<Promise<void>>();
  #stopped = false;

  constructor(spec: WorkerSpec) {
    this.#spec = spec;
  }

  /**
   * The port of a running process, starting one if none runs.
   *
   * @throws {BootError} when the process exits or does not listen in time.
   */
  port(): Promise<number> {
    // While a process boots, its port is not listening yet: callers share the boot.
    if (this.#starting) return this.#starting;
    if (this.#running && !this.#running.done) return Promise.resolve(this.#running.port);
    this.#starting = this.#boot().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  #logEvent(event: string, extra: Record<string, unknown> = {}): void {
    this.#spec.log(
      JSON.stringify({ component: "gateway", function: this.#spec.name, event, ...extra }),
    );
  }

  async #boot(): Promise<number> {
    if (this.#stopped) throw new BootError("The gateway is stopping");
    const { name, entrypoint, cwd, denoConfig, env, bootTimeoutMs, log } = this.#spec;
    const port = freePort();
    const args = ["run", "--allow-all", "--no-prompt"];
    if (denoConfig) args.push("--config", denoConfig);
    args.push(entrypoint);
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd,
      clearEnv: true,
      env: { ...env, DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    for (const [stream, source] of [[child.stdout, "stdout"], [child.stderr, "stderr"]] as const) {
      const p = pump(
        stream,
        (line) => log(JSON.stringify({ function: name, stream: source, line })),
      );
      this.#pumps.add(p);
      p.finally(() => this.#pumps.delete(p));
    }
    const exited = child.status.then((status) => {
      running.done = true;
      // Stray children of a crashed function would keep its pipes (and our log pumps) open.
      killGroup(child.pid, "SIGKILL");
      if (!this.#stopped) this.#logEvent("exited", { code: status.code, signal: status.signal });
      return status;
    });
    const running: Running = { child, port, exited, done: false };
    this.#running = running;
    this.#logEvent("starting", { pid: child.pid, port });

    const deadline = Date.now() + bootTimeoutMs;
    while (true) {
      if (running.done) throw new BootError(`Function ${name} exited before it listened`);
      if (this.#stopped) throw new BootError("The gateway is stopping");
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.close();
        return port;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        killGroup(child.pid, "SIGKILL");
        await running.exited;
        throw new BootError(`Function ${name} did not listen within ${bootTimeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Ends the process group (SIGTERM, then SIGKILL after a grace period) and its log pumps. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#starting?.catch(() => {});
    const running = this.#running;
    if (running && !running.done) {
      killGroup(running.child.pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(running.child.pid, "SIGKILL"), KILL_GRACE_MS);
      await running.exited;
      clearTimeout(timer);
    } else if (running) {
      await running.exited;
    }
    await Promise.all(this.#pumps);
  }
}
