/**
 * Resend's email endpoints, as the `resend` SDK calls them:
 *
 * - `POST /emails`: one email, answers `{ id }`;
 * - `POST /emails/batch`: 1 to 100 emails, answers `{ data: [{ id }] }`; `x-batch-validation:
 *   permissive` sends the valid ones and lists the others in `errors: [{ index, message }]`;
 * - `GET /emails/{id}`: the email in Resend's retrieve shape (`object: "email"`);
 * - `GET /emails`: the latest emails (`limit`, `after`, `before`), newest first.
 *
 * Each call goes through, in order: faults, the API key (401 `missing_api_key`, 403
 * `invalid_api_key`), the rate limit (429), then the endpoint (idempotency key, validation,
 * storage). See faults.ts, rate_limiter.ts and idempotency.ts.
 */
import { type StoredEmail } from "./email_store.ts";
import { type EmailInput, validateEmail } from "./email_validation.ts";
import {
  APPLICATION_ERROR,
  CONCURRENT_IDEMPOTENT_REQUESTS,
  defaultErrorName,
  EMAIL_NOT_FOUND,
  ENDPOINT_NOT_FOUND,
  errorResponse,
  INVALID_API_KEY,
  INVALID_EMAIL_ID,
  INVALID_IDEMPOTENCY_KEY,
  INVALID_IDEMPOTENT_REQUEST,
  INVALID_JSON,
  METHOD_NOT_ALLOWED,
  MISSING_API_KEY,
  rateLimitExceeded,
  resendError,
  type ResendErrorBody,
  validationError,
} from "./errors.ts";
import type { FaultRule } from "./faults.ts";
import { canonicalJson } from "./idempotency.ts";
import { rateLimitHeaders } from "./rate_limiter.ts";
import type { StandInState } from "./state.ts";

/** Most emails in one batch call. */
export const MAX_BATCH_EMAILS = 100;
/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Route =
  | { kind: "send" | "batch" | "list" }
  | { kind: "get"; id: string }
  | { kind: "not_found" | "method_not_allowed" };

/** How a call ended, for the counters. */
type Outcome = "faulted" | "rate_limited" | "handled";

interface Call {
  req: Request;
  url: URL;
  apiKey: string;
  /** `ratelimit-*` headers, sent with every answer past the rate limit. */
  headers: Record<string, string>;
  /** Wait before the effect (a `delay` fault); 0 for none. */
  delayMs: number;
}

interface Answer {
  status: number;
  body: unknown;
}

type BatchMode = "strict" | "permissive";

/** True when `path` is served by {@link EmailsApi}. */
export function isEmailsPath(path: string): boolean {
  return path === "/emails" || path.startsWith("/emails/");
}

function matchRoute(method: string, path: string): Route {
  if (path === "/emails") {
    if (method === "POST") return { kind: "send" };
    return method === "GET" ? { kind: "list" } : { kind: "method_not_allowed" };
  }
  if (path === "/emails/batch") {
    return method === "POST" ? { kind: "batch" } : { kind: "method_not_allowed" };
  }
  const match = /^\/emails\/([^/]+)$/.exec(path);
  if (!match) return { kind: "not_found" };
  if (method !== "GET") return { kind: "method_not_allowed" };
  let id: string;
  try {
    id = decodeURIComponent(match[1]);
  } catch {
    id = match[1];
  }
  return { kind: "get", id };
}

/** The API key of `Authorization: Bearer <key>` (the bare key is accepted too); null if none. */
function apiKeyOf(req: Request): string | null {
  const header = req.headers.get("authorization")?.trim();
  if (!header) return null;
  const key = header.replace(/^Bearer(?:\s+|$)/i, "").trim();
  return key || null;
}

/** The answer of a `status` fault. */
function faultResponse(rule: Extract<FaultRule, { action: "status" }>, limit: number): Response {
  const { status } = rule;
  const message = rule.message ??
    (status === 429
      ? rateLimitExceeded(limit).message
      : status >= 500
      ? APPLICATION_ERROR.message
      : `The local Resend stand-in answered ${status} on purpose (fault injection).`);
  const headers: Record<string, string> = {};
  if (status === 429) {
    const seconds = String(rule.retry_after ?? 1);
    Object.assign(headers, {
      "ratelimit-limit": String(limit),
      "ratelimit-remaining": "0",
      "ratelimit-reset": seconds,
      "retry-after": seconds,
    });
  } else if (rule.retry_after !== undefined) {
    headers["retry-after"] = String(rule.retry_after);
  }
  return errorResponse(
    resendError(status, rule.name ?? defaultErrorName(status), message),
    headers,
  );
}

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

/** The Resend endpoints of one stand-in. */
export class EmailsApi {
  #state: StandInState;

  constructor(state: StandInState) {
    this.#state = state;
  }

  /** Answers a call to a path under `/emails`. */
  async handle(req: Request, url: URL): Promise<Response> {
    const counters = this.#state.counters;
    counters.requests_received++;
    counters.requests_in_flight++;
    try {
      const { response, outcome } = await this.#answer(req, url);
      if (outcome === "handled") {
        if (response.status === 200) counters.requests_accepted++;
        else if (response.status < 500) counters.requests_rejected++;
      }
      return response;
    } finally {
      counters.requests_in_flight--;
    }
  }

  async #answer(req: Request, url: URL): Promise<{ response: Response; outcome: Outcome }> {
    const state = this.#state;
    const route = matchRoute(req.method, url.pathname);
    if (route.kind === "not_found") {
      return { response: errorResponse(ENDPOINT_NOT_FOUND), outcome: "handled" };
    }
    if (route.kind === "method_not_allowed") {
      return { response: errorResponse(METHOD_NOT_ALLOWED), outcome: "handled" };
    }

    const fault = state.faults.take(url.pathname);
    if (fault) state.counters.requests_faulted++;
    if (fault?.action === "status") {
      return { response: faultResponse(fault, state.limiter.limit), outcome: "faulted" };
    }
    if (fault?.action === "hang") {
      await state.faults.hold(null);
      const released = resendError(
        503,
        "application_error",
        "The local Resend stand-in let go of a hanging call (faults cleared or stopping).",
      );
      return { response: errorResponse(released), outcome: "faulted" };
    }

    const apiKey = apiKeyOf(req);
    if (!apiKey) return { response: errorResponse(MISSING_API_KEY), outcome: "handled" };
    if (!state.apiKeys.has(apiKey)) {
      return { response: errorResponse(INVALID_API_KEY), outcome: "handled" };
    }
    const decision = state.limiter.take(apiKey);
    const headers = rateLimitHeaders(decision);
    if (!decision.allowed) {
      state.counters.requests_rate_limited++;
      return {
        response: errorResponse(rateLimitExceeded(decision.limit), headers),
        outcome: "rate_limited",
      };
    }

    const call: Call = {
      req,
      url,
      apiKey,
      headers,
      delayMs: fault?.action === "delay" ? fault.delay_ms : 0,
    };
    const answer = route.kind === "get"
      ? await this.#get(call, route.id)
      : route.kind === "list"
      ? await this.#list(call)
      : await this.#send(call, route.kind === "batch");
    return {
      response: Response.json(answer.body, { status: answer.status, headers }),
      outcome: "handled",
    };
  }

  async #delay(call: Call): Promise<void> {
    if (call.delayMs > 0) await this.#state.faults.hold(call.delayMs);
  }

  /** `POST /emails` and `POST /emails/batch`. */
  async #send(call: Call, batch: boolean): Promise<Answer> {
    const { req, apiKey } = call;
    const { idempotency } = this.#state;
    const key = req.headers.get("idempotency-key");
    if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      return errorAnswer(INVALID_IDEMPOTENCY_KEY);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(await req.text());
    } catch {
      return errorAnswer(INVALID_JSON);
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
      if (outcome.kind === "conflict") return errorAnswer(INVALID_IDEMPOTENT_REQUEST);
      if (outcome.kind === "in_flight") return errorAnswer(CONCURRENT_IDEMPOTENT_REQUESTS);
    }
    let answer: Answer;
    try {
      await this.#delay(call);
      answer = batch
        ? await this.#sendBatch(payload, mode, key)
        : await this.#sendOne(payload, key);
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

  #stored(email: EmailInput, idempotencyKey: string | null): StoredEmail {
    return {
      id: crypto.randomUUID(),
      created_at: new Date(this.#state.now()).toISOString(),
      ...email,
      idempotency_key: idempotencyKey,
    };
  }

  async #sendOne(payload: unknown, key: string | null): Promise<Answer> {
    const result = validateEmail(payload, { batch: false });
    if (!result.ok) return errorAnswer(result.error);
    const email = this.#stored(result.email, key);
    await this.#state.store.add([email]);
    return { status: 200, body: { id: email.id } };
  }

  async #sendBatch(payload: unknown, mode: BatchMode, key: string | null): Promise<Answer> {
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
    const emails = valid.map((email) => this.#stored(email, key));
    await this.#state.store.add(emails);
    const data = emails.map((email) => ({ id: email.id }));
    return { status: 200, body: mode === "permissive" ? { data, errors } : { data } };
  }

  /** `GET /emails/{id}`. */
  async #get(call: Call, id: string): Promise<Answer> {
    if (!UUID.test(id)) return errorAnswer(INVALID_EMAIL_ID);
    await this.#delay(call);
    const email = this.#state.store.get(id.toLowerCase());
    if (!email) return errorAnswer(EMAIL_NOT_FOUND);
    return { status: 200, body: retrieveShape(email, this.#state.now()) };
  }

  /** `GET /emails?limit=&after=&before=`: newest first, as Resend lists. */
  async #list(call: Call): Promise<Answer> {
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
    await this.#delay(call);
    const all = this.#state.store.list();
    const cursor = after ?? before;
    const at = cursor === null ? -1 : all.findIndex((email) => email.id === cursor);
    if (cursor !== null && at < 0) return errorAnswer(EMAIL_NOT_FOUND);
    const page = before !== null
      ? all.slice(Math.max(0, at - limit), at)
      : all.slice(at + 1, at + 1 + limit);
    const more = before !== null ? at - limit > 0 : at + 1 + limit < all.length;
    const now = this.#state.now();
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
}

function errorAnswer(error: ResendErrorBody): Answer {
  return { status: error.statusCode, body: error };
}
