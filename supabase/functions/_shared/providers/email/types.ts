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
