/**
 * The glue to the `resend` SDK: the request of a group of emails (`POST /emails` for one email,
 * `POST /emails/batch` in permissive mode for more) built once as the JSON text that is sent
 * and journalled, sent verbatim (also when re-sent from the journal), its answer made into one
 * outcome per email, and Resend's failures classified the job core's way.
 */
import { Resend } from "resend";
import { retryAfterSeconds } from "../../jobs/errors.ts";
import { errorText } from "../../runtime/log.ts";
import type { HeaderSource } from "../rate_window.ts";
import { sha256Hex } from "../../runtime/sha256.ts";
import type { EmailOutcome, JournalledRequest, OutgoingEmail } from "./types.ts";

/** An email as Resend takes it: without our idempotency key. */
export type ResendEmail = Omit<OutgoingEmail, "key">;

/** The outcomes of one request, and the headers of its answer (none without an answer). */
export interface RequestResult {
  outcomes: EmailOutcome[];
  headers: HeaderSource;
}

/**
 * Classifies a Resend failure: 408, 409 concurrent, 429, 5xx and network errors retry; a 429
 * is `throttled` (Resend asks us to wait).
 */
export function classifyFailure(
  error: { statusCode?: number | null; name?: string; message?: string },
  headers: Record<string, string> | null,
): EmailOutcome & { ok: false } {
  const status = error.statusCode ?? null;
  const text = `Resend answered ${status ?? "no response"} ${error.name ?? ""}: ${
    error.message ?? ""
  }`.trim();
  const retryable = status === null || status === 408 || status === 429 || status >= 500 ||
    error.name === "concurrent_idempotent_requests";
  const outcome: EmailOutcome & { ok: false } = {
    ok: false,
    error: text,
    permanent: !retryable,
    retryAfterSeconds: retryable ? retryAfterSeconds(headers?.["retry-after"] ?? null) : undefined,
    // No answer at all, or the same key still in flight: Resend may have sent the emails.
    ambiguous: status === null || error.name === "concurrent_idempotent_requests",
  };
  if (status === 429) outcome.throttled = true;
  return outcome;
}

interface BatchData {
  data?: { id: string }[];
  errors?: { index: number; message: string }[];
}

/** Permissive batches answer ids for the valid emails, in order, and errors by index. */
function batchOutcomes(count: number, data: BatchData): EmailOutcome[] {
  const errors = new Map((data.errors ?? []).map((e) => [e.index, e.message]));
  const ids = [...(data.data ?? [])];
  return Array.from({ length: count }, (_, index): EmailOutcome => {
    if (errors.has(index)) {
      return {
        ok: false,
        error: `Resend refused the email: ${errors.get(index)}`,
        permanent: true,
      };
    }
    const id = ids.shift()?.id;
    return id
      ? { ok: true, id }
      : { ok: false, error: "Resend returned no id for this email", permanent: false };
  });
}

/**
 * Builds the request for `emails`: for one email, `POST /emails` under the email's own key; for
 * more, `POST /emails/batch` under a key derived from the set of their keys, so the same emails
 * make the same request. The body is the JSON text sent, as the journal keeps it.
 */
export async function buildRequest(emails: OutgoingEmail[]): Promise<JournalledRequest> {
  const body = emails.map(({ key: _key, ...email }): ResendEmail => email);
  const emailKeys = emails.map((e) => e.key);
  if (emails.length === 1) {
    return { key: emailKeys[0], body: JSON.stringify(body[0]), emailKeys };
  }
  const key = `batch:${await sha256Hex([...emailKeys].sort().join("\n"))}`;
  return { key, body: JSON.stringify(body), emailKeys };
}

/**
 * Sends `request` verbatim (its key, its exact body; a batch in permissive mode): one outcome
 * per email, in the order of its `emailKeys`. Never throws.
 */
export async function sendRequest(
  resend: Resend,
  request: JournalledRequest,
  timeoutMs: number,
): Promise<RequestResult> {
  const count = request.emailKeys.length;
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    const payload: unknown = JSON.parse(request.body);
    const batch = Array.isArray(payload);
    // `post` sends JSON.stringify(payload): the journalled text again, byte for byte.
    const { data, error, headers } = await resend.post<BatchData & { id?: string }>(
      batch ? "/emails/batch" : "/emails",
      payload,
      {
        idempotencyKey: request.key,
        headers: batch ? { "x-batch-validation": "permissive" } : {},
        signal,
      } as Parameters<Resend["post"]>[2],
    );
    if (error || !data) {
      const failure = classifyFailure(error ?? {}, headers);
      return { outcomes: Array.from({ length: count }, () => failure), headers };
    }
    if (!batch) {
      return {
        outcomes: [
          data.id ? { ok: true, id: data.id } : {
            ok: false,
            error: "Resend returned no id for this email",
            permanent: false,
          },
        ],
        headers,
      };
    }
    return { outcomes: batchOutcomes(count, data), headers };
  } catch (error) {
    const outcomes = Array.from({ length: count }, (): EmailOutcome => ({
      ok: false,
      error: errorText(error),
      permanent: false,
      ambiguous: true,
    }));
    return { outcomes, headers: null };
  }
}
