/**
 * The `/_local/` JSON API every stand-in has (not part of the provider; no auth, local only),
 * for tests, benchmarks, the dev command and people. `<items>` is the stand-in's item name
 * (`emails` for Resend):
 *
 * - `GET /_local/<items>?limit=&<filter>=`: stored items, newest first (`{ data: [...] }`); the
 *   stand-in declares its filters (Resend: `to`);
 * - `GET /_local/<items>/{id}`: one stored item;
 * - `DELETE /_local/<items>`: forgets items, idempotency keys, faults, rate-limit windows,
 *   counters and the stand-in's own state (its `onReset`) (`{ deleted: n }`);
 * - `GET|POST|DELETE /_local/faults`: list, install (see faults.ts), clear fault rules;
 * - `GET|PUT /_local/rate-limit`: `{ "requests_per_second": n }`;
 * - `GET /_local/stats`: the counters of state.ts plus `<items>_stored`;
 * - and the stand-in's own control routes (e.g. a Scan button's call).
 *
 * Bad input answers 400 `{ "error": "<what is wrong>" }`; control_client.ts is its client.
 */
import { z } from "zod";
import { faultRuleSchema } from "./faults.ts";
import type { StoredItem } from "./item_store.ts";
import { findRoute, type Route, trimSlashes } from "./router.ts";
import { type StandInState, zeroCounters } from "./state.ts";

/** Items `GET /_local/<items>` returns by default, and at most (benchmarks list whole bursts). */
export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 100_000;
/** Highest rate limit the control API accepts. */
export const MAX_REQUESTS_PER_SECOND = 100_000;

const rateLimitSchema = z.strictObject({
  requests_per_second: z.int().min(1).max(MAX_REQUESTS_PER_SECOND),
});

/** What a stand-in stores, as the control API and the store need to know it. */
export interface ItemKind<Item extends StoredItem> {
  /** Plural, in paths and stats: `emails` gives `/_local/emails` and `emails_stored`. */
  plural: string;
  /** Singular, in messages: `email`. */
  singular: string;
  /** True for a value read back from the JSONL file that is one of these items. */
  isItem(value: unknown): value is Item;
  /** Query filters of `GET /_local/<items>` besides `limit`: does the item match the value. */
  filters: Record<string, (item: Item, value: string) => boolean>;
}

/** A control route of the stand-in's own, under `/_local/`. */
export type ControlRoute<Item extends StoredItem> = Route<
  [{ req: Request; url: URL; state: StandInState<Item> }]
>;

/** A JSON error answer of the control API. */
export function problem(status: number, error: string): Response {
  return Response.json({ error }, { status });
}

/** One line per issue: `limit: Too big: expected number to be <=100000`. */
function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/**
 * Parses a JSON body against `schema`; a 400 Response when it is not valid (for the stand-ins'
 * own control routes too). With `whenEmpty`, an empty body stands for that value.
 */
export async function parseBody<T>(
  req: Request,
  schema: z.ZodType<T>,
  opts: { whenEmpty?: T } = {},
): Promise<T | Response> {
  let body: unknown;
  try {
    const text = await req.text();
    if (opts.whenEmpty !== undefined && !text.trim()) return opts.whenEmpty;
    body = JSON.parse(text);
  } catch {
    return problem(400, "The body must be JSON.");
  }
  const result = schema.safeParse(body);
  return result.success ? result.data : problem(400, describe(result.error));
}

/** The control API of one stand-in. */
export class ControlApi<Item extends StoredItem> {
  #state: StandInState<Item>;
  #items: ItemKind<Item>;
  #routes: ControlRoute<Item>[];
  #listQuery: z.ZodType<Record<string, string | number | undefined>>;
  #onReset: (() => void | Promise<void>) | undefined;

  /** `onReset` also runs on `DELETE /_local/<items>` (the stand-in's own state). */
  constructor(
    state: StandInState<Item>,
    items: ItemKind<Item>,
    extra: ControlRoute<Item>[] = [],
    onReset?: () => void | Promise<void>,
  ) {
    this.#state = state;
    this.#onReset = onReset;
    this.#items = items;
    this.#listQuery = z.strictObject({
      ...Object.fromEntries(
        Object.keys(items.filters).map((name) => [name, z.string().min(1).optional()]),
      ),
      limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).optional(),
    });
    const base = `/_local/${items.plural}`;
    this.#routes = [
      { method: "GET", path: base, handle: (_, { url }) => this.#list(url) },
      { method: "DELETE", path: base, handle: () => this.#reset() },
      { method: "GET", path: `${base}/:id`, handle: ({ id }) => this.#get(id) },
      {
        method: "GET",
        path: "/_local/faults",
        handle: () => Response.json({ data: this.#state.faults.list() }),
      },
      { method: "POST", path: "/_local/faults", handle: (_, { req }) => this.#addFault(req) },
      {
        method: "DELETE",
        path: "/_local/faults",
        handle: () => Response.json({ deleted: this.#state.faults.clear() }),
      },
      { method: "GET", path: "/_local/rate-limit", handle: () => this.#rateLimit() },
      {
        method: "PUT",
        path: "/_local/rate-limit",
        handle: (_, { req }) => this.#setRateLimit(req),
      },
      { method: "GET", path: "/_local/stats", handle: () => this.#stats() },
      ...extra,
    ];
  }

  /** Answers a call to a path under `/_local/`. */
  async handle(req: Request, url: URL): Promise<Response> {
    const path = trimSlashes(url.pathname);
    const match = findRoute(this.#routes, req.method, path);
    if (match.kind === "not_found") {
      return problem(404, `No such control endpoint: ${url.pathname}`);
    }
    if (match.kind === "method_not_allowed") {
      return problem(405, `${req.method} is not allowed on ${path}; use ${match.allowed}.`);
    }
    return await match.route.handle(match.params, { req, url, state: this.#state });
  }

  #list(url: URL): Response {
    const parsed = this.#listQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) return problem(400, describe(parsed.error));
    const { limit = DEFAULT_LIST_LIMIT, ...wanted } = parsed.data;
    const tests = Object.entries(wanted)
      .filter((entry): entry is [string, string] => typeof entry[1] === "string")
      .map(([name, value]) => (item: Item) => this.#items.filters[name](item, value));
    const where = tests.length ? (item: Item) => tests.every((test) => test(item)) : undefined;
    return Response.json({ data: this.#state.store.list({ where, limit: Number(limit) }) });
  }

  #get(id: string): Response {
    const item = this.#state.store.get(id);
    return item ? Response.json(item) : problem(404, `No ${this.#items.singular} with id ${id}.`);
  }

  async #reset(): Promise<Response> {
    const state = this.#state;
    const deleted = await state.store.clear();
    await this.#onReset?.();
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
    return Response.json({
      ...this.#state.counters,
      [`${this.#items.plural}_stored`]: this.#state.store.size,
    });
  }
}
