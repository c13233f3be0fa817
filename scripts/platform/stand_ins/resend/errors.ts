/**
 * Resend's error answers: a JSON body `{ statusCode, name, message }` with the HTTP status of
 * the same value (https://resend.com/docs/api-reference/errors). The names and messages below
 * are the ones Resend documents or is seen to answer.
 */

/** The body of every error Resend answers. */
export interface ResendErrorBody {
  statusCode: number;
  name: string;
  message: string;
}

/** Builds an error body. */
export function resendError(statusCode: number, name: string, message: string): ResendErrorBody {
  return { statusCode, name, message };
}

/** A JSON response carrying `error`, with its status and the given extra headers. */
export function errorResponse(error: ResendErrorBody, headers?: HeadersInit): Response {
  return Response.json(error, { status: error.statusCode, headers });
}

/**
 * Resend's fixed error answers, as `[statusCode, name, message]`, by the name the stand-in
 * gives them.
 */
const FIXED_ERROR_ROWS = {
  /** 401: no `Authorization` header (or an empty one). */
  MISSING_API_KEY: [401, "missing_api_key", "Missing API key in the authorization header."],
  /** 403: a key the stand-in does not accept. */
  INVALID_API_KEY: [403, "invalid_api_key", "API key is invalid."],
  /** 404: a path Resend does not serve. */
  ENDPOINT_NOT_FOUND: [404, "not_found", "The requested endpoint does not exist."],
  /** 405: a known path with a method it does not take. */
  METHOD_NOT_ALLOWED: [405, "method_not_allowed", "Method is not allowed for the requested path."],
  /** 404: `GET /emails/{id}` for an id never sent. */
  EMAIL_NOT_FOUND: [404, "not_found", "Email not found."],
  /** 422: `GET /emails/{id}` with an id that is not a UUID. */
  INVALID_EMAIL_ID: [422, "invalid_parameter", "The `id` must be a valid UUID."],
  /** 400: an `Idempotency-Key` empty or longer than 256 characters. */
  INVALID_IDEMPOTENCY_KEY: [400, "invalid_idempotency_key", "The key must be between 1-256 chars."],
  /** 409: a used idempotency key with another payload. */
  INVALID_IDEMPOTENT_REQUEST: [
    409,
    "invalid_idempotent_request",
    "Same idempotency key used with a different request payload.",
  ],
  /** 409: an idempotency key whose first request is still running. */
  CONCURRENT_IDEMPOTENT_REQUESTS: [
    409,
    "concurrent_idempotent_requests",
    "Same idempotency key used while original request is still in progress.",
  ],
  /** 400: a body that is not JSON. */
  INVALID_JSON: [400, "validation_error", "The request body must be valid JSON."],
  /** 500: the stand-in failed (also the default body of a 5xx fault). */
  APPLICATION_ERROR: [500, "application_error", "An unexpected error occurred."],
} as const satisfies Record<string, readonly [number, string, string]>;

/**
 * Resend's fixed error answers, by the name the stand-in gives them (the comment of each row
 * of `FIXED_ERROR_ROWS` says when it is given).
 *
 * @example
 * errorResponse(FIXED_ERRORS.MISSING_API_KEY); // 401 missing_api_key
 */
export const FIXED_ERRORS = Object.fromEntries(
  Object.entries(FIXED_ERROR_ROWS).map(([key, row]) => [key, resendError(row[0], row[1], row[2])]),
) as { readonly [K in keyof typeof FIXED_ERROR_ROWS]: ResendErrorBody };

/** Resend's 429 answer for a key over its requests-per-second limit. */
export function rateLimitExceeded(requestsPerSecond: number): ResendErrorBody {
  return resendError(
    429,
    "rate_limit_exceeded",
    `Too many requests. You can only make ${requestsPerSecond} requests per second. ` +
      "See rate limit response headers for more information. " +
      "Or contact support to increase rate limit.",
  );
}

/** 422 `validation_error` with a message naming the field and the problem. */
export function validationError(message: string): ResendErrorBody {
  return resendError(422, "validation_error", message);
}

/** 422 `missing_required_field` for a field that is absent, null or empty. */
export function missingField(field: string): ResendErrorBody {
  return resendError(422, "missing_required_field", `Missing \`${field}\` field.`);
}

/** The `name` Resend uses for an HTTP status, for faults that do not give one. */
export function defaultErrorName(status: number): string {
  const names: Record<number, string> = {
    400: "validation_error",
    401: "missing_api_key",
    403: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    409: "concurrent_idempotent_requests",
    422: "validation_error",
    429: "rate_limit_exceeded",
  };
  return names[status] ?? (status >= 500 ? "application_error" : "validation_error");
}
