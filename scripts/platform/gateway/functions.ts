/**
 * `/functions/v1/<name>[/...]`: Supabase's edge functions gateway. Checks the JWT when the
 * function's `verify_jwt` is on, starts the function's process on first use and proxies the
 * request to it with the path Supabase's edge runtime gives functions (`/<name>/...`, without
 * `/functions/v1`); the function's response comes back unchanged, streamed.
 *
 * Gateway errors use the hosted platform's bodies and `sb-error-code` header
 * (https://supabase.com/docs/guides/functions/error-codes). A function that sends no response
 * headers within the request idle timeout, or then stays silent that long mid-body, is cut
 * off: 504 `IDLE_TIMEOUT` before the headers, an aborted body after.
 */
import { join } from "../path.ts";
import { FunctionWorker } from "./function_worker.ts";
import { endToEndHeaders, proxyWithIdleTimeout } from "./idle_proxy.ts";
import { bearerToken, type JwtVerifier } from "./jwt.ts";
import type { GatewaySettings } from "./settings.ts";

/** What the functions gateway needs. */
export interface EdgeFunctionsOptions {
  /** Folder holding `<name>/index.ts`; folders starting with `_` are shared code. */
  functionsDir: string;
  /** Working directory of function processes. */
  cwd: string;
  /** Deno config for functions whose folder has no deno.json of its own. */
  denoConfig: string | undefined;
  /** Environment of every function process (nothing else is inherited). */
  env: Record<string, string>;
  settings: GatewaySettings;
  verifier: JwtVerifier;
  /** Time a function has to send its response headers, and to send each body chunk. */
  requestTimeoutMs: number;
  /** Time a function's process has to accept connections after it starts. */
  bootTimeoutMs: number;
  log: (line: string) => void;
}

const PREFIX = "/functions/v1";
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

function gatewayError(
  status: number,
  code: string | number,
  message: string,
  errorCode?: string,
): Response {
  const headers = new Headers({ "Content-Type": "application/json" });
  const sbCode = errorCode ?? (typeof code === "string" ? code : undefined);
  if (sbCode) headers.set("sb-error-code", sbCode);
  return new Response(JSON.stringify({ code, message }), { status, headers });
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Serves every function under `functionsDir`. One instance per gateway.
 *
 * @example
 * const functions = new EdgeFunctions(opts);
 * const response = await functions.handle(req, new URL(req.url));
 * await functions.stop(); // ends every function process
 */
export class EdgeFunctions {
  #opts: EdgeFunctionsOptions;
  #workers = new Map<string, FunctionWorker>();
  #stopping = false;

  constructor(opts: EdgeFunctionsOptions) {
    this.#opts = opts;
  }

  /** Serves a request whose path starts with `/functions/v1/`. */
  async handle(req: Request, url: URL, remoteIp?: string): Promise<Response> {
    const path = url.pathname.slice(PREFIX.length); // "/<name>/..."
    const name = path.split("/")[1] ?? "";
    if (!NAME.test(name)) return this.#notFound();
    if (!METHODS.has(req.method)) {
      return gatewayError(405, 405, `Method ${req.method} is not allowed`);
    }
    const worker = await this.#worker(name);
    if (!worker) return this.#notFound();
    // Checked before the process is started (or used): a refused request never reaches it.
    if (this.#opts.settings.verifyJwt(name) && req.method !== "OPTIONS") {
      const refused = await this.#checkJwt(req);
      if (refused) return refused;
    }
    let port: number;
    try {
      port = await worker.port();
    } catch (error) {
      this.#opts.log(JSON.stringify({
        component: "gateway",
        function: name,
        event: "boot_failed",
        msg: error instanceof Error ? error.message : String(error),
      }));
      return gatewayError(503, "BOOT_ERROR", "Worker failed to boot (please check logs)");
    }
    return await this.#proxy(req, url, path, port, remoteIp);
  }

  /** Ends every function process and waits for them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#workers.values()].map((w) => w.stop()));
  }

  #notFound(): Response {
    return gatewayError(404, "NOT_FOUND", "Requested function was not found");
  }

  async #checkJwt(req: Request): Promise<Response | undefined> {
    const header = req.headers.get("authorization");
    if (header === null) {
      return gatewayError(401, 401, "Missing authorization header", "UNAUTHORIZED_NO_AUTH_HEADER");
    }
    const token = bearerToken(header);
    if (!token) return gatewayError(401, 401, "Invalid JWT", "UNAUTHORIZED_INVALID_JWT_FORMAT");
    const result = await this.#opts.verifier.verify(token);
    if (result.ok) return undefined;
    const code = result.failure.message.startsWith("Expected 3 parts")
      ? "UNAUTHORIZED_INVALID_JWT_FORMAT"
      : result.failure.message.startsWith("Wrong or unsupported")
      ? "UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM"
      : "UNAUTHORIZED_LEGACY_JWT";
    return gatewayError(401, 401, "Invalid JWT", code);
  }

  /** The worker of a function that exists on disk; undefined otherwise. */
  async #worker(name: string): Promise<FunctionWorker | undefined> {
    const known = this.#workers.get(name);
    if (known) return known;
    if (this.#stopping) return undefined;
    const dir = join(this.#opts.functionsDir, name);
    const entrypoint = join(dir, "index.ts");
    if (!(await isFile(entrypoint))) return undefined;
    const ownConfig = await isFile(join(dir, "deno.json")) || await isFile(join(dir, "deno.jsonc"));
    // The gateway may have begun stopping while we looked at the disk: a worker created now
    // would miss stop() and its process would outlive the gateway.
    if (this.#stopping) return undefined;
    // Another request may have created it while we looked at the disk.
    let worker = this.#workers.get(name);
    if (!worker) {
      worker = new FunctionWorker({
        name,
        entrypoint,
        cwd: this.#opts.cwd,
        denoConfig: ownConfig ? undefined : this.#opts.denoConfig,
        env: this.#opts.env,
        bootTimeoutMs: this.#opts.bootTimeoutMs,
        log: this.#opts.log,
      });
      this.#workers.set(name, worker);
    }
    return worker;
  }

  async #proxy(
    req: Request,
    url: URL,
    path: string,
    port: number,
    remoteIp: string | undefined,
  ): Promise<Response> {
    const headers = endToEndHeaders(req.headers);
    headers.set("x-forwarded-host", url.host);
    headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
    if (remoteIp) headers.set("x-forwarded-for", remoteIp);
    const limit = this.#opts.requestTimeoutMs;
    const log = this.#opts.log;
    // Not tied to req.signal: Deno aborts it after every successful response (legacy mode).
    // A client that leaves mid-body cancels the response body, which cancels the upstream one.
    const outcome = await proxyWithIdleTimeout(`http://127.0.0.1:${port}${path}${url.search}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? null : req.body,
    }, {
      idleTimeoutMs: limit,
      onBodyTimeout: () =>
        log(JSON.stringify({ component: "gateway", path, event: "idle_timeout", limit_ms: limit })),
    });
    if (outcome.kind === "response") return outcome.response;
    if (outcome.kind === "timeout") {
      log(JSON.stringify({ component: "gateway", path, event: "idle_timeout", limit_ms: limit }));
      return gatewayError(
        504,
        "IDLE_TIMEOUT",
        `Function did not respond within the request idle timeout (${limit} ms)`,
      );
    }
    log(JSON.stringify({
      component: "gateway",
      path,
      event: "proxy_failed",
      msg: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
    }));
    return gatewayError(500, "WORKER_ERROR", "Function exited due to an error (please check logs)");
  }
}
