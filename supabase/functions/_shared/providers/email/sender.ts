/**
 * Sends emails through Resend (the `resend` SDK), batching what concurrent job handlers send
 * into `POST /emails/batch` calls of up to 100 and pacing requests under the account's rate
 * limit (the configured one, or the one Resend announces when lower: see `../rate_window.ts`),
 * so a burst of jobs costs a few requests instead of one per email. The requests themselves
 * are `./resend_client.ts`.
 *
 * Each email carries a stable key (e.g. `invitation:<id>`). A request of one email uses that
 * key as Resend's `Idempotency-Key`; a batch uses a key derived from its emails' keys. Outcomes
 * come back per email: an id, or an error classified the job core's way (retryable with
 * `retry-after`, throttled by a 429, or permanent).
 *
 * Every request is journalled before it leaves (`EmailJournal`, one call per request: its key,
 * its exact body, its emails' keys). When an email to send belongs to a journalled request not
 * settled yet (its answer was lost, or its callers died before keeping it), that request is
 * re-sent verbatim instead, and Resend answers with the original answer: retried emails are
 * never regrouped under another key and sent twice. A request is settled once its answer came
 * back and every lane that got outcomes from it called `settle()` (after keeping them); the
 * settled keys travel with the next journal call.
 *
 * @example
 * const sender = new EmailSender(resendConfig(), sqlEmailJournal(client));
 * const lane = sender.join();
 * let outcome;
 * try {
 *   [outcome] = await lane.send([{ key: "booking:42", from, to, subject, html, text }]);
 * } finally {
 *   lane.leave();
 * }
 * await keep(outcome); // e.g. record the email id
 * lane.settle();
 */
import { Resend } from "resend";
import { errorText, log } from "../../runtime/log.ts";
import type { EmailSenderConfig } from "./config.ts";
import { RateWindow } from "../rate_window.ts";
import { buildRequest, sendRequest } from "./resend_client.ts";
import type {
  EmailJournal,
  EmailOutcome,
  JournalledRequest,
  JournalOpening,
  OutgoingEmail,
} from "./types.ts";

export type { EmailSenderConfig } from "./config.ts";
export { resendConfig } from "./config.ts";
export { classifyFailure } from "./resend_client.ts";
export { sqlEmailJournal } from "./rpc.ts";
export type { EmailJournal, EmailOutcome, OutgoingEmail } from "./types.ts";

/** What `RateWindow.acquire` gives: call it when the request's answer is in. */
type Answered = Awaited<ReturnType<RateWindow["acquire"]>>;

/** Identical re-sends of a request that got no definite answer, before giving up (default). */
const AMBIGUOUS_RETRIES = 3;

/** Answers of successful requests kept in memory, to hand out again without a replay. */
const ANSWERS_KEPT = 500;

function isAmbiguous(outcome: EmailOutcome): outcome is EmailOutcome & { ok: false } {
  return !outcome.ok && outcome.ambiguous === true;
}

/** Resend's hard limit of emails per batch request. */
export const MAX_BATCH = 100;

interface Pending {
  email: OutgoingEmail;
  queuedAt: number;
  resolve: (outcome: EmailOutcome) => void;
  /** The lane's list of what it received: [request key, email key]. */
  received: [string, string][];
}

/** A participant's handle: announce emails with `send`, always `leave` when done. */
export interface SenderLane {
  /** Sends `emails` (with the other lanes'); one outcome per email, in order. */
  send(emails: OutgoingEmail[]): Promise<EmailOutcome[]>;
  /** Leaves the round without sending (harmless after `send`). */
  leave(): void;
  /**
   * Says the outcomes `send` returned are kept (e.g. recorded): the requests they came from
   * need no replay. Without it they stay journalled, and a later send of one of these emails
   * re-sends the journalled request (Resend answers with the original answer).
   */
  settle(): void;
}

/**
 * The batching sender. Participants (job handlers) `join()` before they know their emails; a
 * batch goes as soon as it holds 100 emails, or every participant has sent or left, or its
 * first email has waited long enough (`lingerMs`, or `fillWaitMs` while the participants still
 * preparing emails are enough to fill it) — and never faster than the rate limit allows.
 */
export class EmailSender {
  readonly #resend: Resend;
  readonly #journal: EmailJournal;
  readonly #config: Required<EmailSenderConfig>;
  #queue: Pending[] = [];
  #participants = 0;
  #waitingParticipants = 0;
  /** Emails per `send` so far (a running average): what a waiting participant will add. */
  #emailsPerSend = 1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing = false;
  readonly #window: RateWindow;
  /** Requests answered in full, by key: the emails whose lanes have not settled yet. */
  #unsettled = new Map<string, Set<string>>();
  /** Keys of settled requests, for the next journal call. */
  #settled: string[] = [];
  /** Outcomes of requests answered in full, by key (the last `ANSWERS_KEPT`). */
  #answers = new Map<string, EmailOutcome[]>();

  /**
   * @param config how to reach Resend and batch
   * @param journal where requests are journalled before they leave (`sqlEmailJournal`)
   */
  constructor(config: EmailSenderConfig, journal: EmailJournal) {
    this.#config = {
      lingerMs: 50,
      fillWaitMs: 1_000,
      timeoutMs: 10_000,
      ambiguousRetries: AMBIGUOUS_RETRIES,
      baseUrl: "",
      ...config,
    };
    this.#journal = journal;
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
    const received: [string, string][] = [];
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
          new Promise<EmailOutcome>((resolve) =>
            this.#queue.push({ email, queuedAt, resolve, received })
          )
        );
        done();
        return Promise.all(outcomes);
      },
      leave: done,
      settle: () => {
        for (const [requestKey, emailKey] of received.splice(0)) {
          const waiting = this.#unsettled.get(requestKey);
          if (!waiting) continue;
          waiting.delete(emailKey);
          if (waiting.size === 0) {
            this.#unsettled.delete(requestKey);
            this.#settled.push(requestKey);
          }
        }
      },
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
        await this.#dispatch(batch, slot);
        // Between requests, let emails that arrived meanwhile form the next batch.
        if (this.#queue.length < MAX_BATCH && this.#waitingParticipants > 0) break;
      }
    } finally {
      this.#flushing = false;
      this.#schedule();
    }
  }

  /**
   * Journals the request of `batch` and sends it; or, when some of its emails belong to
   * journalled requests not settled yet, re-sends those verbatim (or hands out their answer
   * when this sender has it) and puts the other emails back at the head of the queue.
   */
  async #dispatch(batch: Pending[], slot: Answered) {
    const request = await buildRequest(batch.map((p) => p.email));
    const settled = this.#settled.splice(0);
    let opening: JournalOpening;
    try {
      opening = await this.#journal.open(request, settled);
    } catch (error) {
      // Nothing left: the request was not journalled, so it must not go.
      this.#settled.unshift(...settled);
      slot();
      const failure: EmailOutcome = {
        ok: false,
        error: `The email journal could not record request ${request.key} of ${batch.length} ` +
          `email(s), so it was not sent: ${errorText(error)}`,
        permanent: false,
      };
      for (const pending of batch) pending.resolve(failure);
      return;
    }
    if (opening.recorded) {
      this.#hand(batch, request, await this.#request(request, slot));
      return;
    }
    const covered = new Set<Pending>();
    let slotUsed = false;
    for (const journalled of opening.journalled) {
      const keys = new Set(journalled.emailKeys);
      const asked = batch.filter((p) => keys.has(p.email.key));
      if (asked.length === 0) continue;
      for (const p of asked) covered.add(p);
      let outcomes = this.#answers.get(journalled.key);
      if (!outcomes) {
        log.info("email in a journalled request: sending that request again", {
          idempotency_key: journalled.key,
          emails: journalled.emailKeys.length,
          asked: asked.length,
        });
        outcomes = await this.#request(journalled, slotUsed ? await this.#window.acquire() : slot);
        slotUsed = true;
      }
      this.#hand(asked, journalled, outcomes);
    }
    if (!slotUsed) slot();
    if (covered.size === 0) {
      // The journal named requests without any of these emails: never loop on that.
      const failure: EmailOutcome = {
        ok: false,
        error: `The email journal answered requests without the emails of ${request.key}`,
        permanent: false,
      };
      for (const pending of batch) pending.resolve(failure);
      return;
    }
    this.#queue.unshift(...batch.filter((p) => !covered.has(p)));
  }

  /**
   * Resolves the pending emails of `request` with its outcomes. A request answered in full
   * (every outcome an id or a permanent refusal) waits for its lanes to settle; one that failed
   * stays journalled, so that a retry re-sends it.
   */
  #hand(pending: Pending[], request: JournalledRequest, outcomes: EmailOutcome[]) {
    const answered = outcomes.every((o) => o.ok || (o.permanent && !o.ambiguous));
    if (answered) {
      this.#answers.delete(request.key);
      this.#answers.set(request.key, outcomes);
      if (this.#answers.size > ANSWERS_KEPT) {
        this.#answers.delete(this.#answers.keys().next().value!);
      }
      if (!this.#unsettled.has(request.key)) {
        this.#unsettled.set(request.key, new Set(request.emailKeys));
        if (this.#unsettled.size > ANSWERS_KEPT) {
          this.#unsettled.delete(this.#unsettled.keys().next().value!);
        }
      }
    }
    const index = new Map(request.emailKeys.map((key, i) => [key, i]));
    for (const p of pending) {
      const i = index.get(p.email.key)!;
      if (answered) p.received.push([request.key, p.email.key]);
      p.resolve(outcomes[i]);
    }
  }

  /**
   * Sends one request. When it gets no answer (a timeout, a dropped connection: Resend may have
   * sent the emails) or Resend says the same key is still in flight, the *identical* request —
   * same body, same key — is sent again after a pause, up to `ambiguousRetries` times, so
   * Resend's idempotency settles it. Only then does the failure go back to the jobs (the
   * request stays journalled: their retries re-send it).
   */
  async #request(request: JournalledRequest, slot: Answered): Promise<EmailOutcome[]> {
    let outcomes = await this.#attempt(request, slot);
    for (
      let retry = 1;
      retry <= this.#config.ambiguousRetries && outcomes.some(isAmbiguous);
      retry++
    ) {
      log.warn("resend request without a definite answer: sending it again", {
        idempotency_key: request.key,
        emails: request.emailKeys.length,
        retry,
        error: outcomes.find(isAmbiguous)?.error,
      });
      await new Promise((resolve) => setTimeout(resolve, retry * 500));
      outcomes = await this.#attempt(request, await this.#window.acquire());
    }
    return outcomes;
  }

  /** One request; its answer's rate limit headers (and `retry-after`) pace the next ones. */
  async #attempt(request: JournalledRequest, answered: Answered): Promise<EmailOutcome[]> {
    const started = Date.now();
    const { outcomes, headers } = await sendRequest(this.#resend, request, this.#config.timeoutMs);
    // Everyone sharing this sender waits too when the account is over its limit.
    answered(headers);
    log.debug("resend request", {
      emails: request.emailKeys.length,
      duration_ms: Date.now() - started,
    });
    return outcomes;
  }
}
