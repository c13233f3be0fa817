/**
 * PostgREST's error responses: the `{code, message, details, hint}` body, the HTTP status
 * mapping of SQLSTATEs (including `PTxyz` and the `PGRST` full-control raise) and the headers
 * PostgREST adds, and its 503s when the database cannot be reached (PGRST000) or the connection
 * is lost (PGRST001). Reference: PostgREST `src/PostgREST/Error.hs`.
 */
import { DeadlineError, isConnectionError } from "../pg_client.ts";

/** The JSON body of every PostgREST error. */
export interface ApiErrorBody {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
}

/** An error ready to be sent: status, body and extra headers. */
export interface ApiError {
  status: number;
  body: ApiErrorBody;
  headers?: Record<string, string>;
}

/** Thrown to stop handling a request and answer with {@link ApiRejection.error}. */
export class ApiRejection extends Error {
  constructor(readonly error: ApiError) {
    super(error.body.message);
    this.name = "ApiRejection";
  }
}

/** Builds an API error; empty details or hint become null, as PostgREST prints them. */
export function apiError(
  status: number,
  code: string,
  message: string,
  details: string | null = null,
  hint: string | null = null,
  headers?: Record<string, string>,
): ApiError {
  return { status, body: { code, message, details: details || null, hint: hint || null }, headers };
}

/** The fields of a Postgres error the mapping reads (postgres.js `PostgresError`). */
export interface PgErrorLike {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** True for an error the server raised (it has a SQLSTATE), as opposed to a connection failure. */
export function isPgError(error: unknown): error is PgErrorLike {
  return error instanceof Error && error.name === "PostgresError" &&
    typeof (error as { code?: unknown }).code === "string";
}

/** HTTP status for a SQLSTATE; `authed` is true when the request's role is not anon. */
export function statusForSqlState(code: string, message: string, authed: boolean): number {
  const exact: Record<string, number> = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "53400": 500,
    "57P01": 503,
    // PostgREST answers 500 to these two; a server that crashed or is starting up is as
    // transient as one shutting down (57P01), so the gateway answers 503 and callers retry.
    "57P02": 503,
    "57P03": 503,
    "P0001": 400,
    "42P01": 404,
    "42P17": 500,
  };
  if (code in exact) return exact[code];
  if (code === "21000") return message.endsWith("requires a WHERE clause") ? 400 : 500;
  if (code === "22023") return /^role .* does not exist$/.test(message) ? 401 : 400;
  if (code === "42883") return message.startsWith("function xmlagg(") ? 406 : 404;
  if (code === "42501") return authed ? 403 : 401;
  if (code.startsWith("PT")) {
    const status = Number(code.slice(2));
    return Number.isInteger(status) && status >= 200 && status <= 599 ? status : 500;
  }
  const byClass: Record<string, number> = {
    "08": 503,
    "09": 500,
    "0L": 403,
    "0P": 403,
    "25": 500,
    "28": 403,
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,
    "53": 503,
    "54": 500,
    "55": 500,
    "57": 500,
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}

/** 500 PGRST121: a `raise sqlstate 'PGRST'` whose MESSAGE or DETAIL is not the JSON expected. */
function unparsableRaise(details: string, hint: string): ApiError {
  return apiError(
    500,
    "PGRST121",
    `Could not parse JSON in the "RAISE SQLSTATE 'PGRST'" error`,
    details,
    hint,
  );
}

/**
 * `raise sqlstate 'PGRST' using message = '{"code":..,"message":..}', detail =
 * '{"status":..,"headers":{..}}'`: the function controls the whole error response.
 */
function fullControlError(error: PgErrorLike): ApiError {
  let msg: Record<string, unknown>;
  let det: Record<string, unknown>;
  try {
    msg = JSON.parse(error.message);
    if (
      typeof msg !== "object" || msg === null || typeof msg.code !== "string" ||
      typeof msg.message !== "string"
    ) throw new Error("bad message");
  } catch {
    return unparsableRaise(
      `Invalid JSON value for MESSAGE: '${error.message}'`,
      "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.",
    );
  }
  try {
    if (!error.detail) throw new Error("no detail");
    det = JSON.parse(error.detail);
    if (
      typeof det !== "object" || det === null || typeof det.status !== "number" ||
      typeof det.headers !== "object" || det.headers === null
    ) throw new Error("bad detail");
  } catch {
    return unparsableRaise(
      error.detail
        ? `Invalid JSON value for DETAIL: '${error.detail}'`
        : "DETAIL is missing in the RAISE statement",
      "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.",
    );
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(det.headers as Record<string, unknown>)) {
    headers[k] = String(v);
  }
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return apiError(
    det.status as number,
    msg.code as string,
    msg.message as string,
    str(msg.details),
    str(msg.hint),
    headers,
  );
}

/** Turns an error raised by Postgres during a call into PostgREST's response. */
export function fromPgError(error: PgErrorLike, authed: boolean): ApiError {
  if (error.code === "PGRST") return fullControlError(error);
  const status = statusForSqlState(error.code, error.message, authed);
  return apiError(
    status,
    error.code,
    error.message,
    error.detail ?? null,
    error.hint ?? null,
    status === 401 ? { "WWW-Authenticate": "Bearer" } : undefined,
  );
}

/** Codes of a connection that could not be made at all (rather than lost). */
const CONNECT_CODES = new Set(["CONNECT_TIMEOUT", "ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH"]);

/**
 * 503 PGRST000, PostgREST's answer when it cannot get a connection (Postgres down, starting
 * up, refusing): `details` is the driver's message.
 */
export function connectFailed(error: unknown): ApiError {
  return apiError(
    503,
    "PGRST000",
    "Database connection error. Retrying the connection.",
    text(error),
  );
}

/**
 * 503 PGRST001, PostgREST's answer when the connection breaks during the call (a client
 * error): `details` is the driver's message.
 */
export function connectionLost(error: unknown): ApiError {
  return apiError(503, "PGRST001", "Database client error. Retrying the connection.", text(error));
}

/** An error's message, for `details`. */
function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The response to an error met while serving a call: PostgREST's mapping of a Postgres error
 * ({@link fromPgError}); 503 PGRST000 when no connection could be had (`connecting`, a refused
 * or timed-out connect, 57P03 the database system is starting up); 503 PGRST001 when the
 * connection was lost or gave no answer within the gateway's deadline; else 500 PGRSTX00, a
 * fault of the gateway itself.
 */
export function databaseError(error: unknown, authed: boolean, connecting = false): ApiError {
  if (isPgError(error)) {
    if (connecting || error.code === "57P03") return connectFailed(error);
    return fromPgError(error, authed);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (connecting || (typeof code === "string" && CONNECT_CODES.has(code))) {
    return connectFailed(error);
  }
  if (error instanceof DeadlineError || isConnectionError(error)) return connectionLost(error);
  return apiError(500, "PGRSTX00", "Internal error of the local gateway.", text(error));
}

/** Serializes an error to a Response with PostgREST's headers. */
export function errorResponse(error: ApiError): Response {
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Proxy-Status", `PostgREST; error=${error.body.code}`);
  const nullBody = error.status === 204 || error.status === 205 || error.status === 304;
  return new Response(nullBody ? null : JSON.stringify(error.body), {
    status: error.status,
    headers,
  });
}
