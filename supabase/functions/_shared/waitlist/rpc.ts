/**
 * Every SQL function the waitlist flow calls, with typed arguments (from the generated
 * `Database`), zod-checked results, and the one error policy of `../runtime/rpc.ts`: transient
 * errors are retried there, the rest is an `RpcError` the job handler and the pages both read.
 *
 * - the job handler: `waitlist_open_wave`, `waitlist_record_invitation_emails`,
 *   `waitlist_booking_email`, `waitlist_record_booking_email`;
 * - the pages: `waitlist_invitation_view` (GET), `waitlist_respond` (POST);
 * - the monitor: `waitlist_monitor`.
 */
import { z } from "zod";
import type { Json } from "../database.types.ts";
import type { DbClient } from "../runtime/client.ts";
import { AFTER_EFFECT_RETRY, callRpc } from "../runtime/rpc.ts";
import type { ResponseAction } from "./types.ts";

/** `waitlist_internal.slot_json()`: the slot, with both names of the appointment type. */
export const slotSchema = z.object({
  starts_at: z.string(),
  ends_at: z.string(),
  time_zone: z.string(),
  clinic_name: z.string(),
  practitioner_name: z.string(),
  appointment_type: z.string(),
  appointment_type_en: z.string(),
});

/** The slot as the SQL functions return it. */
export type SqlSlot = z.infer<typeof slotSchema>;

/** Who an email goes to, as both `invitations` of a wave and a booking carry it. */
const recipientShape = {
  email: z.string(),
  locale: z.string(),
  patient_first_name: z.string(),
};

const waveSchema = z.object({
  slot_offer_id: z.uuid(),
  offer_status: z.string(),
  note: z.string(),
  waves_sent: z.number().int(),
  sender: z.string(),
  public_base_url: z.string().nullable(),
  slot: slotSchema,
  invitations: z.array(z.object({
    invitation_id: z.uuid(),
    ...recipientShape,
    token: z.string(),
    expires_at: z.string(),
  })),
});

/** A wave as `waitlist_open_wave` returns it: the invitations still waiting for their email. */
export type Wave = z.infer<typeof waveSchema>;

const bookingSchema = z.object({
  appointment_id: z.uuid(),
  ...recipientShape,
  sender: z.string(),
  confirmation_email_id: z.string().nullable(),
  slot: slotSchema,
});

/** What the booking confirmation needs, as `waitlist_booking_email` returns it. */
export type Booking = z.infer<typeof bookingSchema>;

const invitationViewSchema = z.object({
  state: z.enum([
    "open",
    "booked",
    "declined",
    "already_answered",
    "already_taken",
    "time_conflict",
    "withdrawn",
    "expired",
    "unknown",
  ]),
  locale: z.string().optional(),
  patient_first_name: z.string().nullable().optional(),
  answer: z.enum(["accept", "decline"]).nullable().optional(),
  slot: slotSchema.nullable().optional(),
});

/** What a link leads to, as `waitlist_invitation_view` and `waitlist_respond` return it. */
export type InvitationView = z.infer<typeof invitationViewSchema>;

/** What Resend answered for one invitation email. */
export type InvitationEmailResult =
  | { invitation_id: string; email_id: string }
  | { invitation_id: string; error: string; permanent: boolean };

/** The monitor's statistics and repairs: passed on as they are. */
const monitorSchema = z.record(z.string(), z.unknown());

/** Opens wave `wave` of a slot offer (idempotent: the invitations still waiting come back). */
export function openWave(
  client: DbClient,
  args: { slotOfferId: string; wave: number; attempt: number },
  context: string,
): Promise<Wave> {
  return callRpc(
    client,
    "waitlist_open_wave",
    {
      p_slot_offer_id: args.slotOfferId,
      p_wave: args.wave,
      p_attempt: args.attempt,
    },
    waveSchema,
    { context },
  );
}

/**
 * Records what Resend answered for invitation emails. The emails are gone: transient errors are
 * retried longer (`AFTER_EFFECT_RETRY`), since a lost record would send them again.
 */
export async function recordInvitationEmails(
  client: DbClient,
  results: InvitationEmailResult[],
  context: string,
): Promise<void> {
  await callRpc(
    client,
    "waitlist_record_invitation_emails",
    {
      p_results: results as Json,
    },
    z.unknown(),
    { context, retry: AFTER_EFFECT_RETRY },
  );
}

/** What the confirmation of the booking made through `invitationId` needs. */
export function bookingEmail(
  client: DbClient,
  invitationId: string,
  context: string,
): Promise<Booking> {
  return callRpc(
    client,
    "waitlist_booking_email",
    {
      p_invitation_id: invitationId,
    },
    bookingSchema,
    { context },
  );
}

/**
 * Records what Resend answered for a booking confirmation: its id, or the error (retried like
 * `recordInvitationEmails`).
 */
export async function recordBookingEmail(
  client: DbClient,
  args: { invitationId: string; emailId?: string; error?: string; attempt: number },
  context: string,
): Promise<void> {
  await callRpc(
    client,
    "waitlist_record_booking_email",
    {
      p_invitation_id: args.invitationId,
      p_email_id: args.emailId,
      p_error: args.error,
      p_attempt: args.attempt,
    },
    z.unknown(),
    { context, retry: AFTER_EFFECT_RETRY },
  );
}

/** What the link with `token` leads to (a GET: changes nothing). */
export function viewInvitation(
  client: DbClient,
  token: string,
  context: string,
): Promise<InvitationView> {
  return callRpc(client, "waitlist_invitation_view", { p_token: token }, invitationViewSchema, {
    context,
  });
}

/** Answers the invitation of `token`: books atomically, or records the decline. */
export function respondToInvitation(
  client: DbClient,
  token: string,
  action: ResponseAction,
  context: string,
): Promise<InvitationView> {
  return callRpc(
    client,
    "waitlist_respond",
    { p_token: token, p_action: action },
    invitationViewSchema,
    {
      context,
    },
  );
}

/** Closes what is due, re-wakes anything overdue, and answers the waitlist's statistics. */
export function runWaitlistMonitor(client: DbClient): Promise<Record<string, unknown>> {
  return callRpc(client, "waitlist_monitor", {}, monitorSchema, { context: "waitlist monitor" });
}
