/**
 * `/rest/v1/rpc/<fn>`: PostgREST's function calls, as supabase-js `.rpc()` makes them.
 *
 * Per request: method and schema checks, the JWT (its `role` claim is the SQL role; anon
 * without a token), the arguments, the overload they call (cached signatures, see
 * rpc_catalog.ts), then the call in its own transaction (rpc_transaction.ts) with the result
 * aggregated to JSON in the database (rpc_sql.ts). Errors are PostgREST's (rpc_errors.ts).
 */
import { closest } from "./fuzzy.ts";
import { bearerToken, type JwtVerifier } from "./jwt.ts";
import {
  type Match,
  matchRoutine,
  type Routine,
  type RoutineCatalog,
  singleUnnamedParam,
} from "./rpc_catalog.ts";
import {
  type ApiError,
  apiError,
  ApiRejection,
  databaseError,
  errorResponse,
  isPgError,
} from "./rpc_errors.ts";
import {
  cookiesJson,
  headersJson,
  negotiate,
  postArgs,
  queryArgs,
  type RequestArgs,
} from "./rpc_request.ts";
import { type ArgSource, callStatement, type OutputShape } from "./rpc_sql.ts";
import { type CallResult, type RequestSettings, runCall } from "./rpc_transaction.ts";
import { isConnectionError, withDeadline } from "../pg_client.ts";
import { ConnectFailure, type RpcPool } from "./rpc_pool.ts";
import type { GatewaySettings } from "./settings.ts";

/** What the RPC endpoint needs. */
export interface RpcEndpointOptions {
  /** Pool of call connections, logged in as `authenticator`; replaced after failures. */
  pool: RpcPool;
  catalog: RoutineCatalog;
  verifier: JwtVerifier;
  settings: GatewaySettings;
  /** Largest accepted request body; larger ones get 413. */
  bodyLimitBytes: number;
  /**
   * Longest a call may wait for Postgres (connection, statements, signature lookups); past it
   * the call is cancelled and answered 503 PGRST001.
   */
  deadlineMs: number;
  log: (line: string) => void;
}

const EXPOSED_HEADERS = "Content-Encoding, Content-Location, Content-Range, Content-Type, " +
  "Date, Location, Server, Transfer-Encoding, Range-Unit";

interface Auth {
  role: string;
  claims: string;
  /** The role is not anon: PostgREST then answers 403 rather than 401 to missing privileges. */
  authed: boolean;
}

/**
 * Answers RPC requests. One instance per gateway; safe for concurrent use.
 *
 * @example
 * const rpc = new RpcEndpoint({ pool, catalog, verifier, settings, bodyLimitBytes, deadlineMs, log });
 * const response = await rpc.handle(req, new URL(req.url), "claim_jobs");
 */
export class RpcEndpoint {
  #opts: RpcEndpointOptions;
  #matches = new WeakMap<Routine[], Map<string, Match>>();
  #searchPaths = new Map<string, string>();

  constructor(opts: RpcEndpointOptions) {
    this.#opts = opts;
  }

  /** Serves one call of function `fnName`; `url` is the request's parsed URL. */
  async handle(req: Request, url: URL, fnName: string): Promise<Response> {
    let response: Response;
    try {
      response = await this.#serve(req, url, fnName);
    } catch (error) {
      response = errorResponse(
        error instanceof ApiRejection ? error.error : this.#unexpected(error, fnName),
      );
    }
    if (req.headers.has("origin")) {
      response.headers.set("Access-Control-Allow-Origin", "*");
      response.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
    return response;
  }

  /** Answers `OPTIONS` (CORS preflight included) for any `/rest/v1` path. */
  options(req: Request): Response {
    const headers = new Headers({ Allow: "OPTIONS,GET,HEAD,POST" });
    if (req.headers.has("origin")) {
      headers.set("Access-Control-Allow-Origin", "*");
      headers.set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD");
      headers.set(
        "Access-Control-Allow-Headers",
        req.headers.get("access-control-request-headers") ?? "Authorization, Content-Type",
      );
      headers.set("Access-Control-Max-Age", "86400");
    }
    return new Response(null, { status: 200, headers });
  }

  #unexpected(error: unknown, fnName: string): ApiError {
    this.#opts.log(JSON.stringify({
      component: "gateway",
      route: "rpc",
      function: fnName,
      // Postgres restarting or down is expected now and then; the caller gets a 503 and retries.
      level: isConnectionError(error) ? "warn" : "error",
      msg: error instanceof Error ? error.message : String(error),
    }));
    return databaseError(error, false);
  }

  async #serve(req: Request, url: URL, fnName: string): Promise<Response> {
    const method = req.method;
    if (method === "OPTIONS") return this.options(req);
    if (method !== "GET" && method !== "HEAD" && method !== "POST") {
      throw new ApiRejection(apiError(405, "PGRST101", `Cannot use the ${method} method on RPC`));
    }
    const isPost = method === "POST";
    const { schemas } = this.#opts.settings;
    const profile = req.headers.get(isPost ? "content-profile" : "accept-profile");
    if (profile !== null && !schemas.includes(profile)) {
      throw new ApiRejection(apiError(
        406,
        "PGRST106",
        `Invalid schema: ${profile}`,
        null,
        `Only the following schemas are exposed: ${schemas.join(", ")}`,
      ));
    }
    const schema = profile ?? schemas[0];
    const auth = await this.#authenticate(req);
    const shape = negotiate(req.headers.get("accept"));
    const args = isPost ? await postArgs(req, this.#opts.bodyLimitBytes) : queryArgs(url);
    const request: RequestSettings = {
      searchPath: this.#searchPath(schema),
      role: auth.role,
      claims: auth.claims,
      method,
      path: url.pathname.replace(/^\/rest\/v1/, ""),
      headers: headersJson(req.headers),
      cookies: cookiesJson(req.headers.get("cookie")),
    };

    let result: CallResult;
    let routine: Routine;
    for (let attempt = 0;; attempt++) {
      const resolved = await this.#resolve(schema, fnName, args, isPost);
      routine = resolved.routine;
      const { statement, params } = this.#statement(routine, args, shape);
      try {
        result = await runCall(this.#opts.pool, request, statement, params, {
          // Read-only unless a POST calls a volatile function, as PostgREST does.
          readOnly: !isPost || routine.volatility !== "v",
          singular: shape.singular,
          deadlineMs: this.#opts.deadlineMs,
          what: url.pathname,
        });
        break;
      } catch (error) {
        // A cached signature may be stale (function replaced): reload once and retry.
        if (attempt === 0 && resolved.cached && isPgError(error) && error.code === "42883") {
          this.#opts.catalog.invalidate(schema, fnName);
          continue;
        }
        if (error instanceof ApiRejection) throw error;
        if (error instanceof ConnectFailure) {
          throw new ApiRejection(databaseError(error.cause, auth.authed, true));
        }
        throw new ApiRejection(databaseError(error, auth.authed));
      }
    }

    const headers = new Headers();
    if (schemas.length > 1) headers.set("Content-Profile", schema);
    const count = /count=(exact|planned|estimated)/.test(req.headers.get("prefer") ?? "");
    const total = count ? String(result.n) : "*";
    headers.set("Content-Range", result.n > 0 ? `0-${result.n - 1}/${total}` : `*/${total}`);
    if (routine.returns === "void") return new Response(null, { status: 204, headers });
    headers.set("Content-Type", `${shape.contentType}; charset=utf-8`);
    return new Response(method === "HEAD" ? null : result.body, { status: 200, headers });
  }

  /** `search_path` for a schema: it, then `[api] extra_search_path`, quoted. */
  #searchPath(schema: string): string {
    let path = this.#searchPaths.get(schema);
    if (path === undefined) {
      path = [schema, ...this.#opts.settings.extraSearchPath]
        .map((s) => `"${s.replaceAll('"', '""')}"`).join(", ");
      this.#searchPaths.set(schema, path);
    }
    return path;
  }

  /** Bearer token, else the `apikey` header, else anon; PostgREST's 401 for a bad token. */
  async #authenticate(req: Request): Promise<Auth> {
    const token = bearerToken(req.headers.get("authorization")) ??
      req.headers.get("apikey") ?? undefined;
    if (token === undefined) return { role: "anon", claims: '{"role":"anon"}', authed: false };
    const result = await this.#opts.verifier.verify(token);
    if (!result.ok) {
      const { code, message, details } = result.failure;
      throw new ApiRejection(apiError(401, code, message, details, null, {
        "WWW-Authenticate": `Bearer error="invalid_token", error_description="${message}"`,
      }));
    }
    const claim = result.claims.role;
    const role = claim === undefined
      ? "anon"
      : typeof claim === "string"
      ? claim
      : JSON.stringify(claim);
    return { role, claims: JSON.stringify({ ...result.claims, role }), authed: role !== "anon" };
  }

  /** The overload these arguments call, or PostgREST's 300/404 error. */
  async #resolve(
    schema: string,
    fnName: string,
    args: RequestArgs,
    isPost: boolean,
  ): Promise<{ routine: Routine; cached: boolean }> {
    const { catalog } = this.#opts;
    const rawBody = isPost ? args.rawBody : undefined;
    const matchKey = `${args.jsonOther ? 1 : 0}${rawBody ?? ""}\u0001${
      [...args.keys].sort().join("\u0000")
    }`;
    const choose = (routines: Routine[]) => {
      // The same call shape recurs: remember the choice with the overloads it was made from.
      let memo = this.#matches.get(routines);
      if (!memo) this.#matches.set(routines, memo = new Map());
      let match = memo.get(matchKey);
      if (!match) {
        match = matchRoutine(
          args.jsonOther ? routines.filter((r) => singleUnnamedParam(r) !== undefined) : routines,
          args.keys,
          rawBody,
        );
        if (memo.size < 1000) memo.set(matchKey, match);
      }
      return match;
    };
    const lookup = () =>
      withDeadline(
        catalog.overloads(schema, fnName),
        this.#opts.deadlineMs,
        `look up ${schema}.${fnName}`,
      );
    let { routines, cached } = await lookup();
    let match = choose(routines);
    if (match.kind === "none" && cached) {
      // Perhaps created or replaced since it was cached: look again before answering 404.
      catalog.invalidate(schema, fnName);
      ({ routines, cached } = await lookup());
      match = choose(routines);
    }
    if (match.kind === "found") return { routine: match.routine, cached };
    if (match.kind === "ambiguous") {
      const list = match.candidates.map((r) =>
        `${r.schema}.${r.name}(${r.params.map((p) => `${p.name} => ${p.type}`).join(", ")})`
      );
      throw new ApiRejection(apiError(
        300,
        "PGRST203",
        `Could not choose the best candidate function between: ${list.join(", ")}`,
        null,
        "Try renaming the parameters or the function itself in the database so function " +
          "overloading can be resolved",
      ));
    }
    if (args.jsonOther) {
      throw new ApiRejection(apiError(
        400,
        "PGRST102",
        "Calling a function with a JSON body that is not an object is not supported",
        "The local gateway passes such a body only to a function with a single unnamed " +
          "json or jsonb parameter",
      ));
    }
    throw new ApiRejection(await this.#notFound(schema, fnName, args, isPost, routines));
  }

  /** PostgREST's PGRST202, with its "perhaps you meant" hint. */
  async #notFound(
    schema: string,
    fnName: string,
    args: RequestArgs,
    isPost: boolean,
    overloads: Routine[],
  ): Promise<ApiError> {
    const func = `${schema}.${fnName}`;
    const keys = [...args.keys].sort();
    const rawOnly = isPost && args.rawBody !== undefined && args.rawBody !== "json";
    const withKeys = keys.length
      ? ` with parameter${keys.length > 1 ? "s" : ""} ${keys.join(", ")}`
      : " without parameters";
    const searched = rawOnly
      ? ` with a single unnamed ${args.rawBody} parameter`
      : isPost && args.rawBody === "json"
      ? `${withKeys} or with a single unnamed json/jsonb parameter`
      : withKeys;
    let hint: string | null = null;
    if (!rawOnly) {
      if (overloads.length) {
        const signatures = overloads.map((r) =>
          `(${r.params.map((p) => p.name).sort().join(", ")})`
        );
        const best = closest(`(${keys.join(", ")})`, signatures, 0.33);
        if (best) hint = `Perhaps you meant to call the function ${func}${best}`;
      } else {
        const names = await withDeadline(
          this.#opts.catalog.functionNames(schema),
          this.#opts.deadlineMs,
          `list the functions of ${schema}`,
        );
        const best = closest(fnName, names, 0.75);
        if (best) hint = `Perhaps you meant to call the function ${schema}.${best}`;
      }
    }
    return apiError(
      404,
      "PGRST202",
      `Could not find the function ${func}${
        rawOnly ? "" : keys.length ? `(${keys.join(", ")})` : " without parameters"
      } in the schema cache`,
      `Searched for the function ${func}${searched}, but no matches were found in the schema cache.`,
      hint,
    );
  }

  /** The call statement for this routine and request, with its parameters. */
  #statement(
    routine: Routine,
    args: RequestArgs,
    shape: OutputShape,
  ): { statement: string; params: unknown[] } {
    let source: ArgSource;
    let params: unknown[];
    if (singleUnnamedParam(routine)) {
      source = { kind: "single" };
      params = [args.whole ?? ""];
    } else if (args.values) {
      const keys = [...args.keys].sort();
      source = { kind: "direct", keys };
      params = keys.map((k) => args.values!.get(k));
    } else if (args.jsonObject !== undefined && args.keys.size > 0) {
      source = { kind: "json", keys: [...args.keys].sort() };
      params = [args.jsonObject];
    } else {
      source = { kind: "direct", keys: [] };
      params = [];
    }
    return { statement: callStatement(routine, source, shape), params };
  }
}
