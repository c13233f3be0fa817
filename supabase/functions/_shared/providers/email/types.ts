/**
 * The shapes the email provider passes around: an email to send, and what happened to it.
 */

/** One email to send; `key` identifies it for idempotency (stable across retries). */
export interface OutgoingEmail {
  key: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  tags?: { name: string; value: string }[];
}

/** What happened to one email. */
export type EmailOutcome =
  | { ok: true; id: string }
  | {
    ok: false;
    error: string;
    permanent: boolean;
    retryAfterSeconds?: number;
    /** No definite answer: Resend may have sent it (a timeout, a dropped connection). */
    ambiguous?: boolean;
    /** Resend throttled the request (429): waiting is the fix, not a failure of the email. */
    throttled?: boolean;
  };

/**
 * A request as it leaves and as the journal keeps it: its `Idempotency-Key`, its body exactly
 * as sent (JSON text: an array of emails for `POST /emails/batch`, one email for
 * `POST /emails`), and its emails' keys in the order of the body.
 */
export interface JournalledRequest {
  key: string;
  body: string;
  emailKeys: string[];
}

/** What the journal answers before a request leaves. */
export type JournalOpening =
  /** The request is journalled (committed): send it. */
  | { recorded: true }
  /**
   * Some of its emails belong to these journalled requests, not settled yet: re-send those
   * verbatim instead (nothing was journalled).
   */
  | { recorded: false; journalled: JournalledRequest[] };

/**
 * The write-ahead journal of requests the sender receives (the real one is SQL:
 * `./rpc.ts`). One call per request, before it leaves.
 */
export interface EmailJournal {
  /**
   * Settles the requests `settledKeys` (their answers were kept by every caller: no replay
   * needed), then journals `request` unless one of its emails is in a journalled request not
   * settled yet, which it returns instead. Throws when the journal cannot be reached: the
   * request must not leave then.
   */
  open(request: JournalledRequest, settledKeys: string[]): Promise<JournalOpening>;
}
