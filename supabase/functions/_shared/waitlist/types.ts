/**
 * The shapes the waitlist flow passes between its SQL functions, its job handler, its emails
 * and its pages. Field names follow the SQL functions' JSON (snake_case).
 */
import type { Locale } from "../i18n/locale.ts";

/** What a person needs to know about a slot. Times are ISO 8601 instants. */
export interface SlotDetails {
  starts_at: string;
  ends_at: string;
  /** The clinic's IANA time zone: every date shown is in this zone. */
  time_zone: string;
  clinic_name: string;
  practitioner_name: string;
  /** The appointment type, already in the recipient's language. */
  appointment_type: string;
}

/** An invitation email to one waitlist candidate. */
export interface InvitationEmailInput {
  locale: Locale;
  patient_first_name: string;
  slot: SlotDetails;
  /** Links to `handle-invitation-response` (a GET shows a confirmation page). */
  accept_url: string;
  decline_url: string;
  /** When the invitation stops being valid. */
  expires_at: string;
}

/** The confirmation email after a booking. */
export interface BookingEmailInput {
  locale: Locale;
  patient_first_name: string;
  slot: SlotDetails;
}

/** A rendered email: both parts, every value escaped in the HTML one. */
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/**
 * What a link shows. `confirm` asks the patient to confirm an accept or decline (GET);
 * the others are outcomes or refusals.
 */
export type PageState =
  | "confirm" // GET on a valid link: the slot and a button that POSTs the answer
  | "booked" // the POST booked the slot
  | "declined" // the POST recorded a decline
  | "already_taken" // someone else booked the slot first
  | "time_conflict" // the patient has another appointment at that time: nothing was booked
  | "expired" // the invitation or its offer expired
  | "withdrawn" // the cancelled appointment was restored: the slot is no longer available
  | "already_answered" // the patient already accepted or declined
  | "unknown" // no invitation has this token
  | "invalid" // the link is malformed (missing or badly formed token or action)
  | "unavailable"; // the service failed: nothing changed, try again later (503)

/** The answer a link asks for. */
export type ResponseAction = "accept" | "decline";

export interface PageInput {
  state: PageState;
  locale: Locale;
  /** Present for every state except `unknown` and `invalid`. */
  slot?: SlotDetails;
  patient_first_name?: string;
  /** For `confirm` (which answer the button sends) and `already_answered` (the earlier one). */
  action?: ResponseAction;
  /** For `confirm`: the token to send back in the form. */
  token?: string;
}
