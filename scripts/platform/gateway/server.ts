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
import { RpcPool } from "./rpc_pool.ts";
import { apiError, errorResponse } from "./rpc_errors.ts";
import { guardPostgresJsNullSocketWrite, settledWithin } from "../pg_client.ts";
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
  /**
   * Longest an RPC waits for Postgres before it is cancelled and answered 503 PGRST001. Default
   * 60 s. It bounds calls stuck on a connection postgres.js lost track of.
   */
  rpcDeadlineMs?: number;
  /**
   * How long `stop()` lets requests in flight finish before it answers them 503 and closes.
   * Default 3 s.
   */
  stopGraceMs?: number;
}

/** A running gateway. */
export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  url: string;
  port: number;
  /**
   * Ends every function process, closes the server and the database pool. Requests still in
   * flight after `stopGraceMs` are answered 503, so it always completes.
   */
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
  const stopGraceMs = opts.stopGraceMs ?? 3000;

  // This process hosts a postgres.js pool: keep it alive through postgres.js's null-socket
  // write (see pg_client.ts).
  const unguard = guardPostgresJsNullSocketWrite(log);
  const poolOptions = {
    prepare: true,
    // Keep fetch_types on: with it off, postgres.js 3.4.9 never hands a freshly opened
    // connection to the `reserve()` that opened it, and the pool shrinks to what is open.
    fetch_types: true,
    onnotice: () => {},
    connection: { application_name: "local-gateway" },
  };
  // Calls reserve connections from their own pool, replaced whole after a connection failure
  // (see rpc_pool.ts); signature lookups and the schema-reload listener use plain queries of a
  // small pool that lives as long as the gateway.
  const pool = new RpcPool(
    () => postgres(cfg.authenticatorUrl, { ...poolOptions, max: opts.poolSize ?? 10 }),
    log,
  );
  const sql = postgres(cfg.authenticatorUrl, { ...poolOptions, max: 2 });
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
    pool,
    catalog,
    verifier: new JwtVerifier(cfg.jwtSecret, { clockToleranceSec: 30 }),
    settings,
    bodyLimitBytes: opts.bodyLimitBytes ?? 1024 * 1024,
    deadlineMs: opts.rpcDeadlineMs ?? 60_000,
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

  // Aborted when stop() gives up waiting: requests still in flight are answered at once.
  const abandon = new AbortController();
  const abandoned = new Promise<void>((resolve) => {
    abandon.signal.addEventListener("abort", () => resolve());
  });
  const handler = async (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    try {
      return await Promise.race([
        route(req, info.remoteAddr.hostname),
        abandoned.then(() =>
          Response.json({ message: "The local gateway is stopping" }, { status: 503 })
        ),
      ]);
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
    await settledWithin(listening, stopGraceMs);
    await Promise.all([sql.end({ timeout: 2 }), pool.end(2)]);
    unguard();
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
        const shutdown = server.shutdown();
        if (!await settledWithin(shutdown, stopGraceMs)) {
          log(JSON.stringify({
            component: "gateway",
            event: "stop_abandons_requests",
            msg: `Requests still in flight after ${stopGraceMs} ms are answered 503`,
          }));
          abandon.abort();
          await settledWithin(shutdown, stopGraceMs);
        }
        await settledWithin(listening, stopGraceMs);
        await Promise.all([sql.end({ timeout: 2 }), pool.end(2)]);
        unguard();
      })();
      return stopping;
    },
  };
}
