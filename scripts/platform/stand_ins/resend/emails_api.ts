/**
 * Resend's email endpoints, as the `resend` SDK calls them:
 *
 * - `POST /emails`: one email, answers `{ id }`;
 * - `POST /emails/batch`: 1 to 100 emails, answers `{ data: [{ id }] }`; `x-batch-validation:
 *   permissive` sends the valid ones and lists the others in `errors: [{ index, message }]`;
 * - `GET /emails/{id}`: the email in Resend's retrieve shape (`object: "email"`);
 * - `GET /emails`: the latest emails (`limit`, `after`, `before`), newest first.
 *
 * The kit runs each call through faults, the API key (401 `missing_api_key`, 403
 * `invalid_api_key`) and the rate limit (429) first (kit/provider_api.ts); the routes here do
 * the endpoint's work: idempotency key, validation, storage.
 */
import type { ApiCall, ApiRoute, ProviderErrors } from "../kit/provider_api.ts";
import { canonicalJson } from "../kit/idempotency.ts";
import type { StoredEmail } from "./email.ts";
import { type EmailInput, validateEmail } from "./email_validation.ts";
import {
  defaultErrorName,
  errorResponse,
  FIXED_ERRORS,
  rateLimitExceeded,
  resendError,
  type ResendErrorBody,
  validationError,
} from "./errors.ts";

/** Most emails in one batch call. */
export const MAX_BATCH_EMAILS = 100;
/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Call = ApiCall<StoredEmail>;

interface Answer {
  status: number;
  body: unknown;
}

type BatchMode = "strict" | "permissive";

/** True for the paths of Resend's email API (their 404s and 405s are Resend's). */
export function isEmailsPath(path: string): boolean {
  return path === "/emails" || path.startsWith("/emails/");
}

/**
 * The API key of `Authorization: Bearer <key>` (the bare key is accepted too), or Resend's 401
 * without one and 403 for a key not in `apiKeys`.
 */
export function authenticate(apiKeys: ReadonlySet<string>, req: Request): string | Response {
  const header = req.headers.get("authorization")?.trim();
  const key = header?.replace(/^Bearer(?:\s+|$)/i, "").trim();
  if (!key) return errorResponse(FIXED_ERRORS.MISSING_API_KEY);
  return apiKeys.has(key) ? key : errorResponse(FIXED_ERRORS.INVALID_API_KEY);
}

/** How Resend words what the kit decides. */
export const RESEND_ERRORS: ProviderErrors = {
  notFound: () => errorResponse(FIXED_ERRORS.ENDPOINT_NOT_FOUND),
  methodNotAllowed: () => errorResponse(FIXED_ERRORS.METHOD_NOT_ALLOWED),
  internal: () => errorResponse(FIXED_ERRORS.APPLICATION_ERROR),
  fault(rule, limit) {
    const { status } = rule;
    const message = rule.message ??
      (status === 429
        ? rateLimitExceeded(limit).message
        : status >= 500
        ? FIXED_ERRORS.APPLICATION_ERROR.message
        : `The local Resend stand-in answered ${status} on purpose (fault injection).`);
    return errorResponse(resendError(status, rule.name ?? defaultErrorName(status), message));
  },
  released: () =>
    errorResponse(resendError(
      503,
      "application_error",
      "The local Resend stand-in let go of a hanging call (faults cleared or stopping).",
    )),
  rateLimited: (decision) => errorResponse(rateLimitExceeded(decision.limit)),
};

/** Resend's retrieve shape of a stored email. */
export function retrieveShape(email: StoredEmail, now: number): Record<string, unknown> {
  const scheduled = email.scheduled_at ? Date.parse(email.scheduled_at) : NaN;
  return {
    object: "email",
    id: email.id,
    to: email.to,
    from: email.from,
    created_at: email.created_at,
    subject: email.subject,
    html: email.html,
    text: email.text,
    bcc: email.bcc,
    cc: email.cc,
    reply_to: email.reply_to,
    last_event: scheduled > now ? "scheduled" : "delivered",
    scheduled_at: email.scheduled_at,
    tags: email.tags ?? [],
    message_id: `<${email.id}@resend.local>`,
  };
}

/** Answers an endpoint's outcome as JSON (the kit adds the `ratelimit-*` headers). */
function respond(answer: Answer): Response {
  return Response.json(answer.body, { status: answer.status });
}

function errorAnswer(error: ResendErrorBody): Answer {
  return { status: error.statusCode, body: error };
}

/** `POST /emails` and `POST /emails/batch`. */
async function send(call: Call, batch: boolean): Promise<Answer> {
  const { req, key: apiKey } = call;
  const { idempotency } = call.state;
  const key = req.headers.get("idempotency-key");
  if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    return errorAnswer(FIXED_ERRORS.INVALID_IDEMPOTENCY_KEY);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(await req.text());
  } catch {
    return errorAnswer(FIXED_ERRORS.INVALID_JSON);
  }
  let mode: BatchMode = "strict";
  if (batch) {
    const header = req.headers.get("x-batch-validation")?.trim().toLowerCase();
    if (header !== undefined && header !== "strict" && header !== "permissive") {
      return errorAnswer(validationError(
        "The `x-batch-validation` header must be `strict` or `permissive`.",
      ));
    }
    mode = (header as BatchMode | undefined) ?? "strict";
  }

  if (key !== null) {
    const fingerprint = canonicalJson({ path: call.url.pathname, mode, payload });
    const outcome = idempotency.begin(apiKey, key, fingerprint);
    if (outcome.kind === "replay") return { status: outcome.status, body: outcome.body };
    if (outcome.kind === "conflict") return errorAnswer(FIXED_ERRORS.INVALID_IDEMPOTENT_REQUEST);
    if (outcome.kind === "in_flight") {
      return errorAnswer(FIXED_ERRORS.CONCURRENT_IDEMPOTENT_REQUESTS);
    }
  }
  let answer: Answer;
  try {
    await call.delay();
    answer = batch ? await sendBatch(call, payload, mode, key) : await sendOne(call, payload, key);
  } catch (error) {
    if (key !== null) idempotency.release(apiKey, key);
    throw error;
  }
  if (key !== null) {
    if (answer.status === 200) idempotency.complete(apiKey, key, answer.status, answer.body);
    else idempotency.release(apiKey, key);
  }
  return answer;
}

function stored(call: Call, email: EmailInput, idempotencyKey: string | null): StoredEmail {
  return {
    id: crypto.randomUUID(),
    created_at: new Date(call.state.now()).toISOString(),
    ...email,
    idempotency_key: idempotencyKey,
  };
}

async function sendOne(call: Call, payload: unknown, key: string | null): Promise<Answer> {
  const result = validateEmail(payload, { batch: false });
  if (!result.ok) return errorAnswer(result.error);
  const email = stored(call, result.email, key);
  await call.state.store.add([email]);
  return { status: 200, body: { id: email.id } };
}

async function sendBatch(
  call: Call,
  payload: unknown,
  mode: BatchMode,
  key: string | null,
): Promise<Answer> {
  if (!Array.isArray(payload)) {
    return errorAnswer(validationError("The request body must be an array of emails."));
  }
  if (payload.length === 0) {
    return errorAnswer(validationError("The batch must contain at least one email."));
  }
  if (payload.length > MAX_BATCH_EMAILS) {
    return errorAnswer(validationError(
      `The batch can contain at most ${MAX_BATCH_EMAILS} emails; it has ${payload.length}.`,
    ));
  }
  const valid: EmailInput[] = [];
  const errors: Array<{ index: number; message: string }> = [];
  for (const [index, item] of payload.entries()) {
    const result = validateEmail(item, { batch: true });
    if (result.ok) valid.push(result.email);
    else if (mode === "strict") return errorAnswer(result.error);
    else errors.push({ index, message: result.error.message });
  }
  const emails = valid.map((email) => stored(call, email, key));
  await call.state.store.add(emails);
  const data = emails.map((email) => ({ id: email.id }));
  return { status: 200, body: mode === "permissive" ? { data, errors } : { data } };
}

/** `GET /emails/{id}`. */
async function get(call: Call, id: string): Promise<Answer> {
  if (!UUID.test(id)) return errorAnswer(FIXED_ERRORS.INVALID_EMAIL_ID);
  await call.delay();
  const email = call.state.store.get(id.toLowerCase());
  if (!email) return errorAnswer(FIXED_ERRORS.EMAIL_NOT_FOUND);
  return { status: 200, body: retrieveShape(email, call.state.now()) };
}

/** `GET /emails?limit=&after=&before=`: newest first, as Resend lists. */
async function list(call: Call): Promise<Answer> {
  const params = call.url.searchParams;
  const rawLimit = params.get("limit");
  const limit = rawLimit === null ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return errorAnswer(validationError("The `limit` parameter must be between 1 and 100."));
  }
  const after = params.get("after");
  const before = params.get("before");
  if (after !== null && before !== null) {
    return errorAnswer(validationError("Use either `after` or `before`, not both."));
  }
  await call.delay();
  const all = call.state.store.list();
  const cursor = after ?? before;
  const at = cursor === null ? -1 : all.findIndex((email) => email.id === cursor);
  if (cursor !== null && at < 0) return errorAnswer(FIXED_ERRORS.EMAIL_NOT_FOUND);
  const page = before !== null
    ? all.slice(Math.max(0, at - limit), at)
    : all.slice(at + 1, at + 1 + limit);
  const more = before !== null ? at - limit > 0 : at + 1 + limit < all.length;
  const now = call.state.now();
  return {
    status: 200,
    body: {
      object: "list",
      has_more: more,
      data: page.map((email) => {
        const { html: _html, text: _text, object: _object, ...item } = retrieveShape(email, now);
        return item;
      }),
    },
  };
}

/** The routes of Resend's email API. */
export const EMAIL_ROUTES: ApiRoute<StoredEmail>[] = [
  { method: "POST", path: "/emails", handle: async (_, call) => respond(await send(call, false)) },
  { method: "GET", path: "/emails", handle: async (_, call) => respond(await list(call)) },
  {
    method: "POST",
    path: "/emails/batch",
    handle: async (_, call) => respond(await send(call, true)),
  },
  {
    method: "GET",
    path: "/emails/:id",
    handle: async ({ id }, call) => respond(await get(call, id)),
  },
];
