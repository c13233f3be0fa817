/**
 * Two of the three kinds of entry point a function's `index.ts` builds (the third, the queue
 * worker, is `../jobs/queue_worker.ts`, built on `internalEndpoint`):
 *
 * - `internalEndpoint`: called by pg_cron, pg_net or an operator. Checks the method, then the
 *   caller (cron secret or service key, see `./auth.ts`), and answers JSON; a failure of the
 *   handler answers 503 with the endpoint's `failureCode`.
 * - `publicEndpoint`: called by people (pages) and, later, by signed receivers. Checks the
 *   method (405 with `Allow`), and answers the endpoint's `fallback` when the handler throws.
 *
 * @example
 * Deno.serve(internalEndpoint({
 *   methods: ["POST"],
 *   failureCode: "monitor_failed",
 *   handle: (_req, env) => runMonitor(serviceClient(env)),
 * }));
 */
import { requireInternalCaller } from "./auth.ts";
import { type FunctionEnv, functionEnv } from "./env.ts";
import { errorText, log } from "./log.ts";
import { errorResponse, jsonResponse } from "./responses.ts";

/** An internal endpoint: the methods it accepts and what it does. */
export interface InternalEndpointOptions {
  /** Accepted methods, the first one named in the 405 answer. */
  methods: string[];
  /** The 405 message (default: "Call this endpoint with <methods>."). */
  methodHint?: string;
  /** The machine code of the 503 answered when `handle` throws. */
  failureCode: string;
  /** Does the work once the caller is known; a `Response` goes as is, anything else as JSON. */
  handle: (req: Request, env: FunctionEnv) => Promise<unknown>;
}

/** Builds the request handler of an internal endpoint. */
export function internalEndpoint(
  opts: InternalEndpointOptions,
): (req: Request) => Promise<Response> {
  return async (req) => {
    if (!opts.methods.includes(req.method)) {
      return errorResponse(
        405,
        "method_not_allowed",
        opts.methodHint ?? `Call this endpoint with ${opts.methods.join(" or ")}.`,
      );
    }
    const env = functionEnv();
    const denied = await requireInternalCaller(req, env);
    if (denied) return denied;
    try {
      const answer = await opts.handle(req, env);
      return answer instanceof Response ? answer : jsonResponse(answer);
    } catch (error) {
      log.error("internal endpoint failed", {
        url: new URL(req.url).pathname,
        code: opts.failureCode,
        error: errorText(error),
      });
      return errorResponse(503, opts.failureCode, errorText(error));
    }
  };
}

/** A public endpoint: the methods it accepts, what it does, and what it answers on a failure. */
export interface PublicEndpointOptions {
  methods: string[];
  handle: (req: Request) => Promise<Response>;
  /** The answer when `handle` throws (a page that says to come back later). */
  fallback: (req: Request, error: unknown) => Response;
}

/** Builds the request handler of a public endpoint. */
export function publicEndpoint(opts: PublicEndpointOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    if (!opts.methods.includes(req.method)) {
      return new Response("Method not allowed", {
        status: 405,
        headers: { allow: opts.methods.join(", "), "content-type": "text/plain; charset=utf-8" },
      });
    }
    try {
      return await opts.handle(req);
    } catch (error) {
      log.error("public endpoint failed", {
        url: new URL(req.url).pathname,
        method: req.method,
        error: errorText(error),
      });
      return opts.fallback(req, error);
    }
  };
}
