/**
 * JSON responses in one shape for every function:
 * success → the payload itself; failure → `{ "error": { "code", "message", "details"? } }`.
 */

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** A JSON response with the given status (200 by default). */
export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
}

/** An error response: a stable machine `code`, a sentence for people, optional details. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  details?: unknown,
): Response {
  const error: Record<string, unknown> = { code, message };
  if (details !== undefined) error.details = details;
  return jsonResponse({ error }, status);
}

/**
 * Reads a JSON body. An empty body reads as `{}` (pg_cron and manual calls often send none);
 * anything that is not JSON returns `undefined`, for the caller to answer 400.
 */
export async function readJsonBody(req: Request): Promise<unknown | undefined> {
  const text = await req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The fields of a link's request: its query string, and for a POST its form body
 * (`application/x-www-form-urlencoded` or `multipart/form-data`), whose fields win. Answers
 * `undefined` when the form body cannot be read, for the caller to answer 400.
 *
 * @example
 * const fields = await readLinkFields(req); // { token: "…", rating: "4" }
 */
export async function readLinkFields(req: Request): Promise<Record<string, string> | undefined> {
  const fields: Record<string, string> = Object.fromEntries(new URL(req.url).searchParams);
  if (req.method !== "POST") return fields;
  const type = req.headers.get("content-type") ?? "";
  if (
    !type.includes("application/x-www-form-urlencoded") && !type.includes("multipart/form-data")
  ) {
    return fields;
  }
  try {
    for (const [name, value] of await req.formData()) {
      if (typeof value === "string") fields[name] = value;
    }
  } catch {
    return undefined;
  }
  return fields;
}
