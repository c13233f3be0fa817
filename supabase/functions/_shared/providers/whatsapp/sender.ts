/**
 * Sends WhatsApp text messages for the flows (through `./evolution_client.ts`): paced per
 * instance under `rate` messages per second (one `RateWindow` each, `../rate_window.ts`; a 429
 * pauses that instance for its `retry-after`), one message at a time per instance so they
 * arrive in order, and recorded in a journal so that a retried job does not send twice where
 * it can know.
 *
 * Evolution has no idempotency key. Each message carries a stable key (e.g. `review:42`); the
 * journal (`WhatsAppJournal`, SQL in `./rpc.ts`) is opened before the message leaves and
 * settled after. A message recorded as sent is skipped. What remains at-least-once: when the
 * answer of a send is lost (a timeout, a dropped connection, a 5xx, the worker dying before
 * the settle), the journal cannot know whether it went; the next attempt looks for the
 * `send.message` webhook Evolution posts for a message that went (same instance, number and
 * text, since the send was opened) and, without one, sends again. So a message goes twice
 * only when its answer was lost *and* its `send.message` event did not reach us before the
 * retry.
 *
 * Failures follow the job core's rules: `ThrottledError` (429, with `retry-after`),
 * `RetryLaterError` (5xx, timeouts), `NotOnWhatsAppError` (permanent; the journal records the
 * message as failed, and later attempts fail at once without calling Evolution).
 *
 * @example
 * const config = evolutionConfig();
 * const sender = new WhatsAppSender(
 *   new EvolutionClient(config),
 *   sqlWhatsAppJournal(serviceClient(functionEnv())),
 *   config.sendRate,
 * );
 * const { state, messageId } = await sender.send({
 *   key: `review_request:${booking.id}`,
 *   instance: instanceName,
 *   number: "33612345678",
 *   text: "How was your visit?",
 * });
 */
import { PermanentJobError, ThrottledError } from "../../jobs/errors.ts";
import { errorText, log } from "../../runtime/log.ts";
import { RateWindow } from "../rate_window.ts";
import { type EvolutionClient, NotOnWhatsAppError } from "./evolution_client.ts";
import type { OutgoingWhatsApp, WhatsAppJournal } from "./types.ts";

export { sqlWhatsAppJournal } from "./rpc.ts";
export type { OutgoingWhatsApp, SendOpening, SendSettlement, WhatsAppJournal } from "./types.ts";

/** What `send` did: `sent` now, or `skipped` because the journal says it went already. */
export interface SendResult {
  state: "sent" | "skipped";
  /** Evolution's message id (`null` for a skipped message whose id was never learnt). */
  messageId: string | null;
}

/** Knobs of the sender beyond its rate (tests set them). */
export interface WhatsAppSenderOptions {
  /** Milliseconds since the epoch (a fake clock in tests). */
  clock?: () => number;
  /**
   * Longest pause a send waits for its instance's pace before it gives up with a
   * `ThrottledError` (default 10 s: a job's lease must not run out while it waits).
   */
  maxWaitMs?: number;
}

/** An instance's pace, and the tail of its sends (one at a time, in order). */
interface Lane {
  window: RateWindow;
  tail: Promise<unknown>;
  /** Sends queued or under way. */
  pending: number;
  lastUsed: number;
}

/** Lanes idle longer than this are forgotten (their window is long empty). */
const LANE_IDLE_MS = 60_000;

/** The WhatsApp sender; see the module's description. */
export class WhatsAppSender {
  readonly #client: Pick<EvolutionClient, "sendText">;
  readonly #journal: WhatsAppJournal;
  readonly #rate: number;
  readonly #clock: () => number;
  readonly #maxWaitMs: number;
  readonly #lanes = new Map<string, Lane>();

  /**
   * @param client the Evolution client (only `sendText` is used)
   * @param journal where sends are recorded (`sqlWhatsAppJournal`)
   * @param rate messages per second per instance (`EVOLUTION_SEND_RATE`)
   */
  constructor(
    client: Pick<EvolutionClient, "sendText">,
    journal: WhatsAppJournal,
    rate: number,
    opts: WhatsAppSenderOptions = {},
  ) {
    this.#client = client;
    this.#journal = journal;
    this.#rate = rate;
    this.#clock = opts.clock ?? Date.now;
    this.#maxWaitMs = opts.maxWaitMs ?? 10_000;
  }

  /**
   * Sends `message` unless the journal says it went. Throws the client's errors (classified
   * for the job core), a `ThrottledError` when the instance is paused for longer than
   * `maxWaitMs`, and a `PermanentJobError` for a message refused earlier.
   */
  async send(message: OutgoingWhatsApp): Promise<SendResult> {
    const lane = this.#lane(message.instance);
    lane.pending++;
    const turn = lane.tail.then(() => this.#turn(lane, message)).finally(() => lane.pending--);
    lane.tail = turn.catch(() => {});
    const outcome = await turn;
    if (outcome.kind === "skipped") return { state: "skipped", messageId: outcome.messageId };
    if (outcome.kind === "failed") {
      await this.#settleFailure(message, outcome.error);
      throw outcome.error;
    }
    await this.#journal.settle(message.key, { state: "sent", messageId: outcome.messageId });
    return { state: "sent", messageId: outcome.messageId };
  }

  /**
   * The instance's turn for `message`: waits for a slot, opens the journal, sends. Returns
   * rather than throws a failure of the send itself, which the journal must hear about.
   */
  async #turn(lane: Lane, message: OutgoingWhatsApp): Promise<
    | { kind: "skipped"; messageId: string | null }
    | { kind: "sent"; messageId: string }
    | { kind: "failed"; error: unknown }
  > {
    lane.lastUsed = this.#clock();
    const wait = lane.window.waitMs();
    if (wait > this.#maxWaitMs) {
      throw new ThrottledError(
        `WhatsApp message ${message.key} waits for instance ${message.instance}, paused ` +
          `${Math.ceil(wait / 1000)} s after Evolution asked us to slow down`,
        Math.ceil(wait / 1000),
      );
    }
    const answered = await lane.window.acquire();
    let opening;
    try {
      opening = await this.#journal.open(message);
    } catch (error) {
      answered();
      throw error;
    }
    if (opening.state === "sent") {
      answered();
      return { kind: "skipped", messageId: opening.messageId };
    }
    if (opening.state === "failed") {
      answered();
      throw new PermanentJobError(
        `WhatsApp message ${message.key} from instance ${message.instance} to ` +
          `${message.number} was refused earlier (see its journal entry): not sent again`,
      );
    }
    try {
      const { messageId } = await this.#client.sendText(message.instance, message);
      return { kind: "sent", messageId };
    } catch (error) {
      if (error instanceof ThrottledError) lane.window.pause(error.retryAfterSeconds ?? 1);
      return { kind: "failed", error };
    } finally {
      answered();
      lane.lastUsed = this.#clock();
    }
  }

  /**
   * Records a failed send: `failed` for a number without WhatsApp (no retry changes it);
   * otherwise `unknown`, which leaves the send open (it may have gone, or a retry sends it).
   * A journal that cannot be reached is logged: the send's own error is what the job hears.
   */
  async #settleFailure(message: OutgoingWhatsApp, error: unknown) {
    const state = error instanceof NotOnWhatsAppError ? "failed" : "unknown";
    try {
      await this.#journal.settle(message.key, { state, error: errorText(error) });
    } catch (settleError) {
      log.warn("whatsapp journal could not record a failed send", {
        send_key: message.key,
        instance: message.instance,
        state,
        error: errorText(settleError),
      });
    }
  }

  /** The lane of `instance`; forgets lanes idle for a minute. */
  #lane(instance: string): Lane {
    const now = this.#clock();
    for (const [name, lane] of this.#lanes) {
      if (lane.pending === 0 && now - lane.lastUsed > LANE_IDLE_MS) this.#lanes.delete(name);
    }
    let lane = this.#lanes.get(instance);
    if (!lane) {
      const window = new RateWindow(this.#rate, this.#clock);
      lane = { window, tail: Promise.resolve(), pending: 0, lastUsed: now };
      this.#lanes.set(instance, lane);
    }
    return lane;
  }
}
