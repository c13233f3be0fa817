/**
 * The errors of the `webhooks` management API and the one place that turns any failure into its
 * JSON answer (`{error: {code, message, details?}}`, as `../runtime/responses.ts` writes them):
 *
 * - an {@link ApiError} the API threw (401, 403, 400 with zod's issues, 404, 405) as it is;
 * - an `RpcError` by its SQLSTATE: 22023 / 22P02 → 400 (SQL's message says which field),
 *   42501 → 403, P0002 → 404, class 23 → 409, PostgREST's JWT codes → 401; one that a retry
 *   may cure (a lost connection, an API that is down, a deploy half way) → 503; anything else
 *   → 500, logged.
 */
import type { z } from "zod";
import { errorText, log } from "../runtime/log.ts";
import { errorResponse, jsonResponse } from "../runtime/responses.ts";
import { RpcError } from "../runtime/rpc.ts";

/** An answer for the caller: a 4xx with a machine code, a sentence and optional details. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** One validation problem, as `details` lists them. */
export interface Issue {
  /** Where: `["body", "url"]`, `["query", "limit"]`, `["path", "id"]`. */
  path: (string | number)[];
  /** zod's issue code (`invalid_format`, `too_small`, `unrecognized_keys`...). */
  code: string;
  message: string;
}

/** Where a request carries what a schema checks. */
export type InputPart = "body" | "query" | "path";

const PART_NAMES: Record<InputPart, string> = {
  body: "The request body",
  query: "The query string",
  path: "The path",
};

/**
 * Parses `value` with `schema`, or throws a 400 `invalid_request` whose details are zod's
 * issues (path prefixed with `part`).
 *
 * @example
 * const body = parseInput(createEndpointSchema, await readJsonBody(req), "body");
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: InputPart,
): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues: Issue[] = parsed.error.issues.map((issue) => ({
    path: [part, ...issue.path.map((p) => typeof p === "symbol" ? String(p) : p)],
    code: issue.code,
    message: issue.message,
  }));
  const summary = issues
    .map((i) => `${i.path.length > 1 ? `${i.path.slice(1).join(".")}: ` : ""}${i.message}`)
    .join("; ");
  throw new ApiError(400, "invalid_request", `${PART_NAMES[part]} is invalid: ${summary}.`, issues);
}

/** PostgREST's codes for a JWT it refused. */
const JWT_REFUSED = new Set(["PGRST301", "PGRST302", "PGRST303"]);

/**
 * SQL's own sentence out of an `RpcError` message (`<fn> failed (<context>): <sentence> [<code>]`),
 * so the caller reads "Webhook endpoint ... not found" rather than our call's plumbing.
 */
export function sqlMessage(error: RpcError): string {
  const match = /^\S+ failed \([^)]*\): ([\s\S]*) \[[^\]]+\]$/.exec(error.message);
  return match?.[1] ?? error.message;
}

/**
 * The JSON answer to anything a route threw.
 *
 * @example
 * app.onError((error, c) => failureResponse(error, `${c.req.method} ${c.req.path}`));
 */
export function failureResponse(error: unknown, where: string): Response {
  if (error instanceof ApiError) {
    return jsonResponse(
      {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details === undefined ? {} : { details: error.details }),
        },
      },
      error.status,
      error.headers,
    );
  }
  if (error instanceof RpcError) {
    const code = error.code;
    if (code === "22023" || code === "22P02") {
      return errorResponse(400, "invalid_request", sqlMessage(error));
    }
    if (code === "42501") return errorResponse(403, "forbidden", sqlMessage(error));
    if (code === "P0002") return errorResponse(404, "not_found", sqlMessage(error));
    if (code?.startsWith("23")) return errorResponse(409, "conflict", sqlMessage(error));
    if (code !== undefined && JWT_REFUSED.has(code)) {
      return errorResponse(401, "unauthorized", "The database refused this JWT: sign in again.");
    }
    if (!error.permanent) {
      log.warn("webhooks api: the database is unavailable", { where, error: errorText(error) });
      return errorResponse(
        503,
        "unavailable",
        `The webhook endpoints cannot be reached just now (${where}); try again in a moment.`,
      );
    }
  }
  log.error("webhooks api failed", { where, error: errorText(error) });
  return errorResponse(
    500,
    "internal_error",
    `The webhook API failed on ${where}; the function's logs say why.`,
  );
}
