/**
 * Sends emails through Resend (the `resend` SDK), batching what concurrent job handlers send
 * into `POST /emails/batch` calls of up to 100 and pacing requests under the account's rate
 * limit, so a burst of jobs costs a few requests instead of one per email.
 *
 * Each email carries a stable key (e.g. `invitation:<id>`). A request of one email uses that
 * key as Resend's `Idempotency-Key`; a batch uses a key derived from its emails' keys, so a job
 * retried with the same emails never sends twice. Outcomes come back per email: an id, or an
 * error classified the job core's way (retryable with `retry-after`, or permanent).
 *
 * @example
 * const sender = new EmailSender(resendConfig());
 * const lane = sender.join();
 * try {
 *   const [outcome] = await lane.send([{ key: "booking:42", from, to, subject, html, text }]);
 * } finally {
 *   lane.leave();
 * }
 */
import { Resend } from "resend";
import { z } from "zod";
import { retryAfterSeconds } from "./job_errors.ts";
import { errorText, log } from "./log.ts";
import { sha256Hex } from "./sha256.ts";

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
  };

/** Identical re-sends of a request that got no definite answer, before giving up. */
const AMBIGUOUS_RETRIES = 3;

function isAmbiguous(outcome: EmailOutcome): outcome is EmailOutcome & { ok: false } {
  return !outcome.ok && outcome.ambiguous === true;
}

const configSchema = z.object({
  RESEND_API_KEY: z.string().min(1),
  /** Unset in production (the SDK's default); the local stand-in's URL locally. */
  RESEND_BASE_URL: z.url().optional(),
  /** Requests per second this sender allows itself: Resend's default account limit is 5. */
  RESEND_REQUESTS_PER_SECOND: z.coerce.number().positive().default(5),
  /** How long one request may take before it counts as failed (and retryable). */
  RESEND_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

export interface EmailSenderConfig {
  apiKey: string;
  baseUrl?: string;
  requestsPerSecond: number;
  /**
   * Longest wait for more emails before a partial batch goes, while participants are still
   * preparing theirs (default 50 ms).
   */
  lingerMs?: number;
  /**
   * Longest wait for a batch to fill when the participants still preparing emails are enough
   * to fill it, judging by how many emails a participant has sent on average (default 1 s): a
   * request slot is worth 100 emails, so a burst is not spent on small batches.
   */
  fillWaitMs?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

/** Reads the sender's settings from the environment; names what is missing. */
export function resendConfig(source = Deno.env.toObject()): EmailSenderConfig {
  const parsed = configSchema.safeParse(source);
  if (!parsed.success) {
    const names = parsed.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new Error(`Email sending is not configured: check ${names}`);
  }
  return {
    apiKey: parsed.data.RESEND_API_KEY,
    baseUrl: parsed.data.RESEND_BASE_URL,
    requestsPerSecond: parsed.data.RESEND_REQUESTS_PER_SECOND,
    timeoutMs: parsed.data.RESEND_TIMEOUT_MS,
  };
}

/** Resend's hard limit of emails per batch request. */
export const MAX_BATCH = 100;

interface Pending {
  email: OutgoingEmail;
  queuedAt: number;
  resolve: (outcome: EmailOutcome) => void;
}

/** A participant's handle: announce emails with `send`, always `leave` when done. */
export interface SenderLane {
  send(emails: OutgoingEmail[]): Promise<EmailOutcome[]>;
  leave(): void;
}

/** Classifies a Resend failure: 408, 409 concurrent, 429, 5xx and network errors retry. */
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
  return {
    ok: false,
    error: text,
    permanent: !retryable,
    retryAfterSeconds: retryable ? retryAfterSeconds(headers?.["retry-after"] ?? null) : undefined,
    // No answer at all, or the same key still in flight: Resend may have sent the emails.
    ambiguous: status === null || error.name === "concurrent_idempotent_requests",
  };
}

/**
 * The batching sender. Participants (job handlers) `join()` before they know their emails; a
 * batch goes as soon as it holds 100 emails, or every participant has sent or left, or its
 * first email has waited long enough (`lingerMs`, or `fillWaitMs` while the participants still
 * preparing emails are enough to fill it) — and never faster than the rate limit allows.
 */
export class EmailSender {
  readonly #resend: Resend;
  readonly #config: Required<EmailSenderConfig>;
  #queue: Pending[] = [];
  #participants = 0;
  #waitingParticipants = 0;
  /** Emails per `send` so far (a running average): what a waiting participant will add. */
  #emailsPerSend = 1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing = false;
  #nextSlotAt = 0;
  /** When the answers of the requests of the last second came back. */
  #answeredAt: number[] = [];

  constructor(config: EmailSenderConfig) {
    this.#config = {
      lingerMs: 50,
      fillWaitMs: 1_000,
      timeoutMs: 10_000,
      baseUrl: "",
      ...config,
    };
    this.#resend = new Resend(config.apiKey, config.baseUrl ? { baseUrl: config.baseUrl } : {});
  }

  /** Joins the current round: the sender waits for this participant before a partial batch. */
  join(): SenderLane {
    this.#participants++;
    this.#waitingParticipants++;
    let active = true;
    const done = () => {
      if (!active) return;
      active = false;
      this.#waitingParticipants--;
      this.#participants--;
      this.#schedule();
    };
    return {
      send: (emails) => {
        if (!active) throw new Error("This lane has left: join again to send more");
        if (emails.length > 0) this.#emailsPerSend += (emails.length - this.#emailsPerSend) / 10;
        const queuedAt = Date.now();
        const outcomes = emails.map((email) =>
          new Promise<EmailOutcome>((resolve) => this.#queue.push({ email, queuedAt, resolve }))
        );
        done();
        return Promise.all(outcomes);
      },
      leave: done,
    };
  }

  #schedule() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0 || this.#flushing) return;
    const fillable =
      this.#queue.length + this.#waitingParticipants * this.#emailsPerSend >= MAX_BATCH;
    const wait = this.#queue.length >= MAX_BATCH || this.#waitingParticipants === 0
      ? 0
      : this.#queue[0].queuedAt + (fillable ? this.#config.fillWaitMs : this.#config.lingerMs) -
        Date.now();
    if (wait <= 0) {
      void this.#flush();
    } else {
      this.#timer = setTimeout(() => this.#schedule(), wait);
    }
  }

  /** Sends batches until the queue is empty, one request at a time, under the rate limit. */
  async #flush() {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const slot = await this.#requestSlot();
        const batch = this.#queue.splice(0, MAX_BATCH);
        const outcomes = await this.#request(batch.map((p) => p.email), slot);
        batch.forEach((pending, i) => pending.resolve(outcomes[i]));
        // Between requests, let emails that arrived meanwhile form the next batch.
        if (this.#queue.length < MAX_BATCH && this.#waitingParticipants > 0) break;
      }
    } finally {
      this.#flushing = false;
      this.#schedule();
    }
  }

  /**
   * A sliding window of `requestsPerSecond` requests per second, as Resend counts them. Resend
   * counts a request when it arrives, some time between our sending it and its answer coming
   * back; so a request holds its slot until one second after its answer, which keeps us under
   * the limit whatever the delays. Requests go one at a time (see `#flush`), so every earlier
   * one has its answer when this is called. Returns the function to call when the answer is in
   * (or the request has given up).
   */
  async #requestSlot(): Promise<() => void> {
    const limit = Math.max(1, Math.floor(this.#config.requestsPerSecond));
    while (true) {
      const now = Date.now();
      this.#answeredAt = this.#answeredAt.filter((t) => now - t < 1000);
      const wait = Math.max(
        this.#nextSlotAt - now,
        this.#answeredAt.length < limit ? 0 : this.#answeredAt[0] + 1000 - now,
      );
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return () => this.#answeredAt.push(Date.now());
  }

  /**
   * Sends one request. When it gets no answer (a timeout, a dropped connection: Resend may have
   * sent the emails) or Resend says the same key is still in flight, the *identical* request —
   * same emails, same key — is sent again after a pause, up to `AMBIGUOUS_RETRIES` times, so
   * Resend's idempotency settles it. Only then does the failure go back to the jobs, whose
   * retries may group the emails differently.
   */
  async #request(emails: OutgoingEmail[], slot: () => void): Promise<EmailOutcome[]> {
    const body = emails.map(({ key: _key, ...email }) => email);
    const key = emails.length === 1
      ? emails[0].key
      : `batch:${await sha256Hex(emails.map((e) => e.key).sort().join("\n"))}`;
    let outcomes = await this.#attempt(emails.length, body, key, slot);
    for (let retry = 1; retry <= AMBIGUOUS_RETRIES && outcomes.some(isAmbiguous); retry++) {
      log.warn("resend request without a definite answer: sending it again", {
        idempotency_key: key,
        emails: emails.length,
        retry,
        error: outcomes.find(isAmbiguous)?.error,
      });
      await new Promise((resolve) => setTimeout(resolve, retry * 500));
      outcomes = await this.#attempt(emails.length, body, key, await this.#requestSlot());
    }
    return outcomes;
  }

  async #attempt(
    count: number,
    body: Omit<OutgoingEmail, "key">[],
    key: string,
    answered: () => void,
  ): Promise<EmailOutcome[]> {
    const started = Date.now();
    try {
      const signal = AbortSignal.timeout(this.#config.timeoutMs);
      if (count === 1) {
        const { data, error, headers } = await this.#resend.emails.send(
          body[0],
          { idempotencyKey: key, signal } as Parameters<Resend["emails"]["send"]>[1],
        );
        if (error || !data) return [this.#failed(error ?? {}, headers)];
        return [{ ok: true, id: data.id }];
      }
      const { data, error, headers } = await this.#resend.batch.send(
        body,
        {
          idempotencyKey: key,
          batchValidation: "permissive",
          signal,
        } as Parameters<Resend["batch"]["send"]>[1],
      );
      if (error || !data) return body.map(() => this.#failed(error ?? {}, headers));
      return this.#batchOutcomes(count, data as BatchData);
    } catch (error) {
      return body.map(() => ({
        ok: false,
        error: errorText(error),
        permanent: false,
        ambiguous: true,
      }));
    } finally {
      answered();
      log.debug("resend request", { emails: count, duration_ms: Date.now() - started });
    }
  }

  #failed(
    error: { statusCode?: number | null; name?: string; message?: string },
    headers: Record<string, string> | null,
  ): EmailOutcome {
    const outcome = classifyFailure(error, headers);
    if (outcome.retryAfterSeconds !== undefined) {
      // Everyone sharing this sender waits too: the account is over its limit.
      this.#nextSlotAt = Math.max(this.#nextSlotAt, Date.now() + outcome.retryAfterSeconds * 1000);
    }
    return outcome;
  }

  /** Permissive batches answer ids for the valid emails, in order, and errors by index. */
  #batchOutcomes(count: number, data: BatchData): EmailOutcome[] {
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
}

interface BatchData {
  data?: { id: string }[];
  errors?: { index: number; message: string }[];
}
