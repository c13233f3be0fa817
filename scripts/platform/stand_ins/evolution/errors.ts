/**
 * Evolution API's error answers: a JSON body `{ status, error, response: { message } }` with the
 * HTTP status of the same value (Evolution's exceptions and its express error handler). The
 * `message` is an array of the exception's arguments, except a bare 401 whose message is the
 * string `"Unauthorized"`. The texts below are Evolution's own (see /work/notes/evolution_api.md).
 */
import type { ProviderErrors } from "../kit/provider_api.ts";

/** The body of every error Evolution answers. */
export interface EvolutionErrorBody {
  status: number;
  error: string;
  response: { message: unknown };
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The reason phrase Evolution puts in `error` for a status. */
export function reasonOf(status: number): string {
  return REASONS[status] ?? (status >= 500 ? "Internal Server Error" : "Bad Request");
}

/** An error answer: `messages` become `response.message` (an array, as Evolution sends it). */
export function evolutionError(
  status: number,
  messages: unknown[],
  headers?: HeadersInit,
): Response {
  const body: EvolutionErrorBody = {
    status,
    error: reasonOf(status),
    response: { message: messages },
  };
  return Response.json(body, { status, headers });
}

/** 401 exactly as Evolution's guard answers it (message is a string, not an array). */
export function unauthorized(): Response {
  const body: EvolutionErrorBody = {
    status: 401,
    error: "Unauthorized",
    response: { message: "Unauthorized" },
  };
  return Response.json(body, { status: 401 });
}

/** 404 of the instance guard for an instance that does not exist. */
export function instanceNotFound(name: string): Response {
  return evolutionError(404, [`The "${name}" instance does not exist`]);
}

/** How Evolution words what the kit decides (unknown path, faults, rate limit...). */
export const EVOLUTION_ERRORS: ProviderErrors = {
  notFound: () => evolutionError(404, ["Cannot find the requested route"]),
  methodNotAllowed: (allowed) =>
    evolutionError(404, [`Cannot use this method here; the route takes ${allowed.join(", ")}`]),
  internal: () => evolutionError(500, ["Internal Server Error"]),
  fault: (rule) =>
    evolutionError(rule.status, [
      rule.message ??
        `The local Evolution API stand-in answered ${rule.status} on purpose (fault injection).`,
    ]),
  released: () =>
    evolutionError(503, [
      "The local Evolution API stand-in let go of a hanging call (faults cleared or stopping).",
    ]),
  rateLimited: (decision) =>
    evolutionError(429, [
      `Too many requests: the local Evolution API stand-in admits ${decision.limit} per second.`,
    ]),
};
