/**
 * The stand-ins' small router: routes are a method and a path pattern (`/emails/:id`, one
 * segment per parameter, decoded), and a lookup tells a match from an unknown path and from a
 * known path called with another method (for 404 and 405 answers). Used for the provider's API,
 * the control API and the pages alike.
 */

/** One route: `handle` receives what the stand-in's part passes along. */
export interface Route<Args extends unknown[]> {
  method: string;
  /** `/emails`, `/emails/:id`: `:name` matches one non-empty segment. */
  path: string;
  handle(params: Record<string, string>, ...args: Args): Promise<Response> | Response;
}

/** The outcome of {@link findRoute}. */
export type RouteMatch<Args extends unknown[]> =
  | { kind: "found"; route: Route<Args>; params: Record<string, string> }
  | { kind: "not_found" }
  | { kind: "method_not_allowed"; allowed: string[] };

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // an undecodable segment is kept as sent; it will not be found
  }
}

/** The parameters of `path` under `pattern`, or null when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    if (part.startsWith(":")) {
      if (!got[i]) return null;
      params[part.slice(1)] = decode(got[i]);
    } else if (part !== got[i]) return null;
  }
  return params;
}

/** `path` without trailing slashes (`/` stays `/`). */
export function trimSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

/**
 * The route for `method` and `path`. A literal segment wins over a parameter: with
 * `POST /emails/batch` and `GET /emails/:id`, `GET /emails/batch` is a 405, not an id.
 *
 * @example
 * const match = findRoute(routes, req.method, new URL(req.url).pathname);
 * if (match.kind === "found") return await match.route.handle(match.params, req);
 */
export function findRoute<Args extends unknown[]>(
  routes: Route<Args>[],
  method: string,
  path: string,
): RouteMatch<Args> {
  const matching = routes
    .map((route) => ({ route, params: matchPath(route.path, path) }))
    .filter((m): m is { route: Route<Args>; params: Record<string, string> } => m.params !== null);
  const fewest = Math.min(...matching.map((m) => Object.keys(m.params).length));
  const best = matching.filter((m) => Object.keys(m.params).length === fewest);
  const found = best.find((m) => m.route.method === method);
  if (found) return { kind: "found", ...found };
  const allowed = [...new Set(best.map((m) => m.route.method))];
  return allowed.length ? { kind: "method_not_allowed", allowed } : { kind: "not_found" };
}
