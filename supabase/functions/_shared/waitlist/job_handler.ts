/**
 * The `waitlist` queue's job handler, run by `process-cancellation`:
 * - `offer_wave`: opens a wave of a slot offer (`waitlist_open_wave`), emails each invitation,
 *   records what Resend answered (`waitlist_record_invitation_emails`);
 * - `booking_email`: sends the confirmation of a booking (`waitlist_booking_email`,
 *   `waitlist_record_booking_email`).
 *
 * Failures follow the job core's rules: an email Resend refuses for good marks its invitation
 * failed and the job goes on; a retryable failure fails the job (honouring `retry-after`), and
 * the retry sends the same invitations with the same tokens and idempotency keys. Once the
 * outcomes are recorded, the lane settles them (the sender's journal needs no replay of their
 * requests any more); an outcome never recorded is answered again by a replay of its request.
 */
import { z } from "zod";
import type { EmailOutcome, EmailSender, OutgoingEmail } from "../providers/email/sender.ts";
import { PermanentJobError, RetryLaterError, ThrottledError } from "../jobs/errors.ts";
import type { Job, JobContext } from "../jobs/runner.ts";
import { renderBookingEmail, renderInvitationEmail } from "./emails.ts";
import { pickLocale } from "../i18n/locale.ts";
import { linkBase } from "../runtime/links.ts";
import { responseUrl } from "./links.ts";
import {
  type Booking,
  bookingEmail,
  openWave,
  recordBookingEmail,
  recordInvitationEmails,
  type Wave,
} from "./rpc.ts";
import { slotFor } from "./slot.ts";

const payloadSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("offer_wave"),
    slot_offer_id: z.uuid(),
    wave: z.number().int().positive(),
  }),
  z.object({ kind: z.literal("booking_email"), invitation_id: z.uuid() }),
]);

export type WaitlistJobPayload = z.infer<typeof payloadSchema>;

export interface WaitlistHandlerDeps {
  sender: EmailSender;
  /** `SUPABASE_URL`: the default base of the links. */
  supabaseUrl: string;
}

/**
 * The retry a set of retryable outcomes asks for: the longest `retry-after` among them; a
 * `ThrottledError` (no attempt used) when Resend throttled every one of them.
 */
function retryError(failures: (EmailOutcome & { ok: false })[], context: string): RetryLaterError {
  const delays = failures.map((f) => f.retryAfterSeconds).filter((s) => s !== undefined);
  const message = `${failures.length} email(s) not sent (${context}): ${failures[0].error}`;
  const after = delays.length ? Math.max(...delays) : undefined;
  return failures.every((f) => f.throttled)
    ? new ThrottledError(message, after)
    : new RetryLaterError(message, after);
}

async function sendOfferWave(
  job: Job<WaitlistJobPayload>,
  payload: Extract<WaitlistJobPayload, { kind: "offer_wave" }>,
  ctx: JobContext,
  deps: WaitlistHandlerDeps,
) {
  const context = `job ${job.id}, slot offer ${payload.slot_offer_id}, wave ${payload.wave}, ` +
    `attempt ${job.attempts}`;
  const lane = deps.sender.join();
  let outcomes: EmailOutcome[] = [];
  let wave: Wave;
  try {
    wave = await openWave(ctx.client, {
      slotOfferId: payload.slot_offer_id,
      wave: payload.wave,
      attempt: job.attempts,
    }, context);
    const base = linkBase(wave.public_base_url, deps.supabaseUrl);
    const emails: OutgoingEmail[] = wave.invitations.map((invitation) => {
      const locale = pickLocale(invitation.locale);
      const rendered = renderInvitationEmail({
        locale,
        patient_first_name: invitation.patient_first_name,
        slot: slotFor(wave.slot, locale),
        accept_url: responseUrl(base, invitation.token, "accept"),
        decline_url: responseUrl(base, invitation.token, "decline"),
        expires_at: invitation.expires_at,
      });
      return {
        key: `invitation:${invitation.invitation_id}`,
        from: wave.sender,
        to: invitation.email,
        ...rendered,
        tags: [{ name: "flow", value: "waitlist_invitation" }],
      };
    });
    outcomes = emails.length ? await lane.send(emails) : [];
  } finally {
    lane.leave();
  }

  if (outcomes.length) {
    await recordInvitationEmails(
      ctx.client,
      wave.invitations.map((invitation, i) => {
        const outcome = outcomes[i];
        return outcome.ok ? { invitation_id: invitation.invitation_id, email_id: outcome.id } : {
          invitation_id: invitation.invitation_id,
          error: outcome.error,
          permanent: outcome.permanent,
        };
      }),
      context,
    );
    // Recorded: the requests these outcomes came from need no replay.
    lane.settle();
  }
  const retryable = outcomes.filter((o): o is EmailOutcome & { ok: false } =>
    !o.ok && !o.permanent
  );
  if (retryable.length) throw retryError(retryable, context);
  if (wave.offer_status === "open" && payload.wave > wave.waves_sent) {
    // Earlier invitations were still waiting for their email: they went first; this wave
    // opens on the retry, a second from now.
    throw new RetryLaterError(
      `Wave ${payload.wave} waits for the earlier invitations (${context})`,
      1,
    );
  }
  return {
    slot_offer_id: wave.slot_offer_id,
    wave: payload.wave,
    note: wave.note,
    offer_status: wave.offer_status,
    sent: outcomes.filter((o) => o.ok).length,
    refused: outcomes.filter((o) => !o.ok).length,
  };
}

async function sendBookingEmail(
  job: Job<WaitlistJobPayload>,
  payload: Extract<WaitlistJobPayload, { kind: "booking_email" }>,
  ctx: JobContext,
  deps: WaitlistHandlerDeps,
) {
  const context = `job ${job.id}, invitation ${payload.invitation_id}, attempt ${job.attempts}`;
  const lane = deps.sender.join();
  let booking: Booking;
  let outcome: EmailOutcome;
  try {
    booking = await bookingEmail(ctx.client, payload.invitation_id, context);
    if (booking.confirmation_email_id) {
      return { invitation_id: payload.invitation_id, already_sent: booking.confirmation_email_id };
    }
    const locale = pickLocale(booking.locale);
    const rendered = renderBookingEmail({
      locale,
      patient_first_name: booking.patient_first_name,
      slot: slotFor(booking.slot, locale),
    });
    [outcome] = await lane.send([{
      key: `booking:${booking.appointment_id}`,
      from: booking.sender,
      to: booking.email,
      ...rendered,
      tags: [{ name: "flow", value: "waitlist_booking" }],
    }]);
  } finally {
    lane.leave();
  }
  await recordBookingEmail(ctx.client, {
    invitationId: payload.invitation_id,
    emailId: outcome.ok ? outcome.id : undefined,
    error: outcome.ok ? undefined : outcome.error,
    attempt: job.attempts,
  }, context);
  lane.settle();
  if (!outcome.ok) {
    if (outcome.permanent) throw new PermanentJobError(`${outcome.error} (${context})`);
    throw retryError([outcome], context);
  }
  return { invitation_id: payload.invitation_id, email_id: outcome.id };
}

/** Builds the handler of the `waitlist` queue. */
export function waitlistJobHandler(deps: WaitlistHandlerDeps) {
  return (job: Job<unknown>, ctx: JobContext): Promise<unknown> => {
    const payload = payloadSchema.safeParse(job.payload);
    if (!payload.success) {
      throw new PermanentJobError(
        `Waitlist job ${job.id} has an invalid payload: ${payload.error.message}`,
      );
    }
    const typed = job as Job<WaitlistJobPayload>;
    return payload.data.kind === "offer_wave"
      ? sendOfferWave(typed, payload.data, ctx, deps)
      : sendBookingEmail(typed, payload.data, ctx, deps);
  };
}
