/**
 * The glue to the `resend` SDK: one request (`POST /emails` for one email, `POST /emails/batch`
 * in permissive mode for more), its answer made into one outcome per email, and Resend's
 * failures classified the job core's way.
 */
import { Resend } from "resend";
import { retryAfterSeconds } from "../../jobs/errors.ts";
import { errorText } from "../../runtime/log.ts";
import type { HeaderSource } from "./rate_window.ts";
import type { EmailOutcome, OutgoingEmail } from "./types.ts";

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

/** Sends one request of `emails` under idempotency key `key`. Never throws. */
export async function sendRequest(
  resend: Resend,
  emails: ResendEmail[],
  key: string,
  timeoutMs: number,
): Promise<RequestResult> {
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    if (emails.length === 1) {
      const { data, error, headers } = await resend.emails.send(
        emails[0],
        { idempotencyKey: key, signal } as Parameters<Resend["emails"]["send"]>[1],
      );
      if (error || !data) return { outcomes: [classifyFailure(error ?? {}, headers)], headers };
      return { outcomes: [{ ok: true, id: data.id }], headers };
    }
    const { data, error, headers } = await resend.batch.send(
      emails,
      {
        idempotencyKey: key,
        batchValidation: "permissive",
        signal,
      } as Parameters<Resend["batch"]["send"]>[1],
    );
    if (error || !data) {
      return { outcomes: emails.map(() => classifyFailure(error ?? {}, headers)), headers };
    }
    return { outcomes: batchOutcomes(emails.length, data as BatchData), headers };
  } catch (error) {
    const outcomes = emails.map((): EmailOutcome => ({
      ok: false,
      error: errorText(error),
      permanent: false,
      ambiguous: true,
    }));
    return { outcomes, headers: null };
  }
}
