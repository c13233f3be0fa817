/**
 * The local API gateway: what Kong, the edge runtime and PostgREST do for a Supabase project,
 * on one port (`cfg.apiPort`, 54321 in dev):
 *
 * - `/functions/v1/<name>[/...]`: each `supabase/functions/<name>/index.ts` in its own Deno
 *   process (see functions.ts);
 * - `/rest/v1/rpc/<fn>`: PostgREST function calls with JWT role switching (see rpc.ts).
 *
 * Table routes (`/rest/v1/<table>`) are not served: the project's edge functions only call
 * SQL functions (DESIGN.md, rule 2).
 */
import postgres from "postgres";
import { type PlatformConfig, PROJECT_ROOT } from "../config.ts";
import { exists, join } from "../path.ts";
import { EdgeFunctions } from "./functions.ts";
import { JwtVerifier } from "./jwt.ts";
import { RpcEndpoint } from "./rpc.ts";
import { RoutineCatalog } from "./rpc_catalog.ts";
import { apiError, errorResponse } from "./rpc_errors.ts";
import { loadSettings } from "./settings.ts";

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  cfg: PlatformConfig;
  /** Environment of the functions: Supabase's variables plus the project's `.env`. */
  functionEnv: Record<string, string>;
  /** Receives one JSON line per event (function output included). */
  log: (line: string) => void;
  /** Default `<PROJECT_ROOT>/supabase/functions`. */
  functionsDir?: string;
  /** Default `<PROJECT_ROOT>/supabase/config.toml`. */
  configToml?: string;
  /** Default `cfg.apiPort`; 0 picks a free port (see {@link Gateway.url}). */
  port?: number;
  /** Request idle timeout of functions. Default 150 s, as on the hosted platform. */
  functionTimeoutMs?: number;
  /** Time a function process has to start listening. Default 60 s (first runs fetch npm deps). */
  functionBootTimeoutMs?: number;
  /** Largest RPC request body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Connections to Postgres for RPC. Default 10. */
  poolSize?: number;
  /** How long function signatures are cached. Default 5 s (`NOTIFY pgrst` clears it too). */
  schemaCacheTtlMs?: number;
}

/** A running gateway. */
export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  url: string;
  port: number;
  /** Ends every function process, closes the server and the database pool. */
  stop(): Promise<void>;
}

/** Variables passed from our environment to function processes, when set. */
const PASSTHROUGH = [
  "PATH",
  "HOME",
  "DENO_DIR",
  "NPM_CONFIG_REGISTRY",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
];

function processEnv(functionEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of PASSTHROUGH) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...functionEnv };
}

/** Decodes `%xx` escapes; undefined for a malformed segment. */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Kong's answer to a path no route matches. */
function noRoute(): Response {
  return Response.json({ message: "no Route matched with those values" }, { status: 404 });
}

/**
 * Starts the gateway. Function processes start on their first request.
 *
 * @throws {Error} when config.toml cannot be read or the port is taken.
 * @example
 * const gateway = await startGateway({ cfg, functionEnv: env, log: console.error, port: 0 });
 * await fetch(`${gateway.url}/functions/v1/hello`);
 * await gateway.stop();
 */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const { cfg, log } = opts;
  const settings = await loadSettings(
    opts.configToml ?? join(PROJECT_ROOT, "supabase/config.toml"),
  );
  const projectConfig = join(PROJECT_ROOT, "deno.json");

  const sql = postgres(cfg.authenticatorUrl, {
    max: opts.poolSize ?? 10,
    prepare: true,
    // Keep fetch_types on: with it off, postgres.js 3.4.9 never hands a freshly opened
    // connection to the `reserve()` that opened it, and the pool shrinks to what is open.
    fetch_types: true,
    onnotice: () => {},
    connection: { application_name: "local-gateway" },
  });
  const catalog = new RoutineCatalog(sql, { ttlMs: opts.schemaCacheTtlMs });
  // PostgREST's convention: `NOTIFY pgrst, 'reload schema'` drops cached function signatures.
  const listening = sql.listen("pgrst", () => catalog.invalidate()).catch((error) => {
    log(JSON.stringify({
      component: "gateway",
      event: "schema_reload_listener_failed",
      msg: error instanceof Error ? error.message : String(error),
    }));
  });

  const rpc = new RpcEndpoint({
    sql,
    catalog,
    verifier: new JwtVerifier(cfg.jwtSecret, { clockToleranceSec: 30 }),
    settings,
    bodyLimitBytes: opts.bodyLimitBytes ?? 1024 * 1024,
    log,
  });
  const functions = new EdgeFunctions({
    functionsDir: opts.functionsDir ?? join(PROJECT_ROOT, "supabase/functions"),
    cwd: PROJECT_ROOT,
    denoConfig: await exists(projectConfig) ? projectConfig : undefined,
    env: processEnv(opts.functionEnv),
    settings,
    verifier: new JwtVerifier(cfg.jwtSecret),
    requestTimeoutMs: opts.functionTimeoutMs ?? 150_000,
    bootTimeoutMs: opts.functionBootTimeoutMs ?? 60_000,
    log,
  });

  const route = (req: Request, remoteIp: string): Promise<Response> | Response => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (path.startsWith("/functions/v1/")) return functions.handle(req, url, remoteIp);
    if (path.startsWith("/rest/v1/rpc/")) {
      const fn = decodePathSegment(path.slice("/rest/v1/rpc/".length));
      if (fn && !fn.includes("/")) return rpc.handle(req, url, fn);
    }
    if (!path.startsWith("/rest/v1")) return noRoute();
    if (req.method === "OPTIONS") return rpc.options(req);
    if (path === "/rest/v1" || path === "/rest/v1/") {
      return Response.json({
        swagger: "2.0",
        info: { title: "Local gateway", description: "Serves /rest/v1/rpc/<function> only" },
        paths: {},
      }, { headers: { "Content-Type": "application/openapi+json; charset=utf-8" } });
    }
    return errorResponse(apiError(
      404,
      "PGRST125",
      "Invalid path specified in request URL",
      "The local gateway serves /rest/v1/rpc/<function> only; table routes are not available",
    ));
  };

  const handler = async (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    try {
      return await route(req, info.remoteAddr.hostname);
    } catch (error) {
      log(JSON.stringify({
        component: "gateway",
        event: "request_failed",
        path: new URL(req.url).pathname,
        msg: error instanceof Error ? error.message : String(error),
      }));
      return Response.json({ message: "Gateway error" }, { status: 500 });
    }
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: "127.0.0.1", port: opts.port ?? cfg.apiPort, onListen() {} },
      handler,
    );
  } catch (error) {
    await listening;
    await sql.end({ timeout: 2 });
    throw error;
  }
  const port = server.addr.port;
  const url = `http://127.0.0.1:${port}`;
  log(JSON.stringify({ component: "gateway", event: "listening", url }));

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    stop() {
      stopping ??= (async () => {
        await functions.stop();
        await server.shutdown();
        await listening;
        await sql.end({ timeout: 2 });
      })();
      return stopping;
    },
  };
}
