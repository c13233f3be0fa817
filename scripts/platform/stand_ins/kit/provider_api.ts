/**
 * The provider's API of a stand-in (Resend's `/emails`, Evolution API's `/message/...`): the
 * stand-in declares its routes, how a caller is authenticated and how the provider words its
 * errors; the kit runs every call through the same steps, in order:
 *
 * 1. the route (an unknown path or method answers the provider's 404 or 405);
 * 2. faults (faults.ts): a `status` fault answers at once, a `hang` never answers, a `delay`
 *    is handed to the route, which waits (`call.delay()`) where the provider's effect happens;
 * 3. the caller's key (`authenticate`), then the per-key rate limit (rate_limiter.ts), whose
 *    `ratelimit-*` headers go on every answer past this point;
 * 4. the route's handler.
 *
 * The counters of state.ts count every call to a path the API owns.
 */
import type { StatusFault } from "./faults.ts";
import type { StoredItem } from "./item_store.ts";
import { type RateDecision, rateLimitHeaders } from "./rate_limiter.ts";
import { findRoute, type Route } from "./router.ts";
import type { StandInState } from "./state.ts";

/** How the provider answers what the kit decides (bodies in the provider's own shape). */
export interface ProviderErrors {
  /** A path the provider does not serve. */
  notFound(): Response;
  /** A known path called with another method. */
  methodNotAllowed(allowed: string[]): Response;
  /** The stand-in failed (an exception in a handler). */
  internal(): Response;
  /** A `status` fault's answer; `limit` is the current rate limit. The kit adds the headers. */
  fault(rule: StatusFault, limit: number): Response;
  /** A hanging call let go (faults cleared, or the stand-in stopping). */
  released(): Response;
  /** Over the rate limit; the kit adds the `ratelimit-*` and `retry-after` headers. */
  rateLimited(decision: RateDecision): Response;
}

/** One call past faults, authentication and the rate limit, as a route handler gets it. */
export interface ApiCall<Item extends StoredItem> {
  req: Request;
  url: URL;
  /** The caller's key (see {@link ProviderApi.authenticate}): rate limit and idempotency scope. */
  key: string;
  state: StandInState<Item>;
  /** Waits as long as a `delay` fault says (or until faults are cleared); at once without. */
  delay(): Promise<void>;
}

/** A route of the provider's API. */
export type ApiRoute<Item extends StoredItem> = Route<[ApiCall<Item>]>;

/** What a stand-in declares of its provider's API. */
export interface ProviderApi<Item extends StoredItem> {
  /** True for the paths the API serves; 404s there count as calls. */
  owns(path: string): boolean;
  routes: ApiRoute<Item>[];
  errors: ProviderErrors;
  /** The caller's key, or the answer refusing the call (401, 403...). */
  authenticate(req: Request): string | Response;
}

/** How a call ended, for the counters. */
type Outcome = "faulted" | "rate_limited" | "handled";

function withHeaders(res: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) res.headers.set(name, value);
  return res;
}

/** The headers of a `status` fault: `retry-after`, and on a 429 the `ratelimit-*` ones. */
function faultHeaders(rule: StatusFault, limit: number): Record<string, string> {
  if (rule.status === 429) {
    const seconds = String(rule.retry_after ?? 1);
    return {
      "ratelimit-limit": String(limit),
      "ratelimit-remaining": "0",
      "ratelimit-reset": seconds,
      "retry-after": seconds,
    };
  }
  return rule.retry_after === undefined ? {} : { "retry-after": String(rule.retry_after) };
}

/**
 * Answers a call to a path the API owns, counting it.
 *
 * @throws whatever a handler throws (the server answers `errors.internal()`).
 */
export async function handleApiCall<Item extends StoredItem>(
  api: ProviderApi<Item>,
  state: StandInState<Item>,
  req: Request,
  url: URL,
): Promise<Response> {
  const counters = state.counters;
  counters.requests_received++;
  counters.requests_in_flight++;
  try {
    const { response, outcome } = await answer(api, state, req, url);
    if (outcome === "handled") {
      if (response.status >= 200 && response.status < 300) counters.requests_accepted++;
      else if (response.status < 500) counters.requests_rejected++;
    }
    return response;
  } finally {
    counters.requests_in_flight--;
  }
}

async function answer<Item extends StoredItem>(
  api: ProviderApi<Item>,
  state: StandInState<Item>,
  req: Request,
  url: URL,
): Promise<{ response: Response; outcome: Outcome }> {
  const match = findRoute(api.routes, req.method, url.pathname);
  if (match.kind === "not_found") return { response: api.errors.notFound(), outcome: "handled" };
  if (match.kind === "method_not_allowed") {
    return { response: api.errors.methodNotAllowed(match.allowed), outcome: "handled" };
  }

  const fault = state.faults.take(url.pathname);
  if (fault) state.counters.requests_faulted++;
  if (fault?.action === "status") {
    const limit = state.limiter.limit;
    const response = withHeaders(api.errors.fault(fault, limit), faultHeaders(fault, limit));
    return { response, outcome: "faulted" };
  }
  if (fault?.action === "hang") {
    await state.faults.hold(null);
    return { response: api.errors.released(), outcome: "faulted" };
  }

  const key = api.authenticate(req);
  if (key instanceof Response) return { response: key, outcome: "handled" };
  const decision = state.limiter.take(key);
  const headers = rateLimitHeaders(decision);
  if (!decision.allowed) {
    state.counters.requests_rate_limited++;
    return {
      response: withHeaders(api.errors.rateLimited(decision), headers),
      outcome: "rate_limited",
    };
  }

  const delayMs = fault?.action === "delay" ? fault.delay_ms : 0;
  const call: ApiCall<Item> = {
    req,
    url,
    key,
    state,
    delay: async () => {
      if (delayMs > 0) await state.faults.hold(delayMs);
    },
  };
  const response = await match.route.handle(match.params, call);
  return { response: withHeaders(response, headers), outcome: "handled" };
}
