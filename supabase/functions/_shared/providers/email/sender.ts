/**
 * Sends emails through Resend (the `resend` SDK), batching what concurrent job handlers send
 * into `POST /emails/batch` calls of up to 100 and pacing requests under the account's rate
 * limit (the configured one, or the one Resend announces when lower: see `./rate_window.ts`),
 * so a burst of jobs costs a few requests instead of one per email. The requests themselves
 * are `./resend_client.ts`.
 *
 * Each email carries a stable key (e.g. `invitation:<id>`). A request of one email uses that
 * key as Resend's `Idempotency-Key`; a batch uses a key derived from its emails' keys, so a job
 * retried with the same emails never sends twice. Outcomes come back per email: an id, or an
 * error classified the job core's way (retryable with `retry-after`, throttled by a 429, or
 * permanent).
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
import { log } from "../../runtime/log.ts";
import { sha256Hex } from "../../runtime/sha256.ts";
import type { EmailSenderConfig } from "./config.ts";
import { RateWindow } from "./rate_window.ts";
import { sendRequest } from "./resend_client.ts";
import type { EmailOutcome, OutgoingEmail } from "./types.ts";

export type { EmailSenderConfig } from "./config.ts";
export { resendConfig } from "./config.ts";
export { classifyFailure } from "./resend_client.ts";
export type { EmailOutcome, OutgoingEmail } from "./types.ts";

/** Identical re-sends of a request that got no definite answer, before giving up. */
const AMBIGUOUS_RETRIES = 3;

function isAmbiguous(outcome: EmailOutcome): outcome is EmailOutcome & { ok: false } {
  return !outcome.ok && outcome.ambiguous === true;
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
  readonly #window: RateWindow;

  constructor(config: EmailSenderConfig) {
    this.#config = {
      lingerMs: 50,
      fillWaitMs: 1_000,
      timeoutMs: 10_000,
      baseUrl: "",
      ...config,
    };
    this.#resend = new Resend(config.apiKey, config.baseUrl ? { baseUrl: config.baseUrl } : {});
    this.#window = new RateWindow(config.requestsPerSecond);
  }

  /** Requests per second the sender paces itself to now (lowered by Resend's announcement). */
  get requestsPerSecond(): number {
    return this.#window.limit;
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
        const slot = await this.#window.acquire();
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
   * Sends one request. When it gets no answer (a timeout, a dropped connection: Resend may have
   * sent the emails) or Resend says the same key is still in flight, the *identical* request —
   * same emails, same key — is sent again after a pause, up to `AMBIGUOUS_RETRIES` times, so
   * Resend's idempotency settles it. Only then does the failure go back to the jobs, whose
   * retries may group the emails differently.
   */
  async #request(
    emails: OutgoingEmail[],
    slot: Awaited<ReturnType<RateWindow["acquire"]>>,
  ): Promise<EmailOutcome[]> {
    const body = emails.map(({ key: _key, ...email }) => email);
    const key = emails.length === 1
      ? emails[0].key
      : `batch:${await sha256Hex(emails.map((e) => e.key).sort().join("\n"))}`;
    let outcomes = await this.#attempt(body, key, slot);
    for (let retry = 1; retry <= AMBIGUOUS_RETRIES && outcomes.some(isAmbiguous); retry++) {
      log.warn("resend request without a definite answer: sending it again", {
        idempotency_key: key,
        emails: emails.length,
        retry,
        error: outcomes.find(isAmbiguous)?.error,
      });
      await new Promise((resolve) => setTimeout(resolve, retry * 500));
      outcomes = await this.#attempt(body, key, await this.#window.acquire());
    }
    return outcomes;
  }

  /** One request; its answer's rate limit headers (and `retry-after`) pace the next ones. */
  async #attempt(
    body: Omit<OutgoingEmail, "key">[],
    key: string,
    answered: Awaited<ReturnType<RateWindow["acquire"]>>,
  ): Promise<EmailOutcome[]> {
    const started = Date.now();
    const { outcomes, headers } = await sendRequest(
      this.#resend,
      body,
      key,
      this.#config.timeoutMs,
    );
    // Everyone sharing this sender waits too when the account is over its limit.
    answered(headers);
    log.debug("resend request", { emails: body.length, duration_ms: Date.now() - started });
    return outcomes;
  }
}
