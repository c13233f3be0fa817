/**
 * The stand-in's own JSON API under `/_local/` (not part of Resend; no auth, local only), for
 * tests and people:
 *
 * - `GET /_local/emails?to=&limit=`: stored emails, newest first (`{ data: [...] }`);
 * - `GET /_local/emails/{id}`: one stored email;
 * - `DELETE /_local/emails`: forgets emails, idempotency keys, faults, rate-limit windows and
 *   counters (`{ deleted: n }`);
 * - `GET|POST|DELETE /_local/faults`: list, install (see faults.ts), clear fault rules;
 * - `GET|PUT /_local/rate-limit`: `{ "requests_per_second": n }`;
 * - `GET /_local/stats`: the counters of state.ts plus `emails_stored`.
 *
 * Bad input answers 400 `{ "error": "<what is wrong>" }`.
 */
import { z } from "zod";
import { faultRuleSchema } from "./faults.ts";
import { type StandInState, zeroCounters } from "./state.ts";

/** Emails `GET /_local/emails` returns by default, and at most (benchmarks list whole bursts). */
export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 100_000;
/** Highest rate limit the control API accepts. */
export const MAX_REQUESTS_PER_SECOND = 100_000;

const listQuerySchema = z.strictObject({
  to: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).optional(),
});

const rateLimitSchema = z.strictObject({
  requests_per_second: z.int().min(1).max(MAX_REQUESTS_PER_SECOND),
});

function problem(status: number, error: string): Response {
  return Response.json({ error }, { status });
}

/** One line per issue: `limit: Too big: expected number to be <=100000`. */
function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/** Parses a JSON body against `schema`; a Response when it is not valid. */
async function parseBody<T>(req: Request, schema: z.ZodType<T>): Promise<T | Response> {
  let body: unknown;
  try {
    body = JSON.parse(await req.text());
  } catch {
    return problem(400, "The body must be JSON.");
  }
  const result = schema.safeParse(body);
  return result.success ? result.data : problem(400, describe(result.error));
}

/** The control API of one stand-in. */
export class ControlApi {
  #state: StandInState;

  constructor(state: StandInState) {
    this.#state = state;
  }

  /** Answers a call to a path under `/_local/`. */
  async handle(req: Request, url: URL): Promise<Response> {
    const path = url.pathname.replace(/\/+$/, "");
    const method = req.method;
    const emailMatch = /^\/_local\/emails\/([^/]+)$/.exec(path);
    const routes: Record<string, Record<string, () => Promise<Response> | Response>> = {
      "/_local/emails": {
        GET: () => this.#listEmails(url),
        DELETE: () => this.#reset(),
      },
      "/_local/faults": {
        GET: () => Response.json({ data: this.#state.faults.list() }),
        POST: () => this.#addFault(req),
        DELETE: () => Response.json({ deleted: this.#state.faults.clear() }),
      },
      "/_local/rate-limit": {
        GET: () => this.#rateLimit(),
        PUT: () => this.#setRateLimit(req),
      },
      "/_local/stats": { GET: () => this.#stats() },
    };
    if (emailMatch) routes[path] = { GET: () => this.#getEmail(emailMatch[1]) };
    const methods = routes[path];
    if (!methods) return problem(404, `No such control endpoint: ${url.pathname}`);
    const handler = methods[method];
    if (!handler) {
      return problem(405, `${method} is not allowed on ${path}; use ${Object.keys(methods)}.`);
    }
    return await handler();
  }

  #listEmails(url: URL): Response {
    const parsed = listQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) return problem(400, describe(parsed.error));
    const { to, limit = DEFAULT_LIST_LIMIT } = parsed.data;
    return Response.json({ data: this.#state.store.list({ to, limit }) });
  }

  #getEmail(rawId: string): Response {
    let id = rawId;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      // keep the raw segment; it will not be found
    }
    const email = this.#state.store.get(id);
    return email ? Response.json(email) : problem(404, `No email with id ${id}.`);
  }

  async #reset(): Promise<Response> {
    const state = this.#state;
    const deleted = await state.store.clear();
    state.idempotency.clear();
    state.faults.clear();
    state.limiter.clear();
    // Calls still running keep their own bookkeeping of requests_in_flight.
    Object.assign(state.counters, {
      ...zeroCounters(),
      requests_in_flight: state.counters.requests_in_flight,
    });
    return Response.json({ deleted });
  }

  async #addFault(req: Request): Promise<Response> {
    const rule = await parseBody(req, faultRuleSchema);
    if (rule instanceof Response) return rule;
    return Response.json(this.#state.faults.add(rule), { status: 201 });
  }

  #rateLimit(): Response {
    return Response.json({ requests_per_second: this.#state.limiter.limit });
  }

  async #setRateLimit(req: Request): Promise<Response> {
    const body = await parseBody(req, rateLimitSchema);
    if (body instanceof Response) return body;
    this.#state.limiter.limit = body.requests_per_second;
    return this.#rateLimit();
  }

  #stats(): Response {
    return Response.json({ ...this.#state.counters, emails_stored: this.#state.store.size });
  }
}
