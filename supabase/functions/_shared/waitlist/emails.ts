/**
 * The waitlist's emails: the invitation sent when a slot opens up, and the confirmation sent
 * after a booking. Each has a subject, an HTML part (inline styles, no external assets,
 * readable on a phone; every value escaped) and a text part with the same information.
 */
import { PALETTE } from "../html/document.ts";
import { emailDocument, textPart } from "../html/email.ts";
import { markup, type SafeHtml } from "../html/markup.ts";
import { messages } from "./i18n.ts";
import { formatDateTime, formatShortDateTime, singleLine } from "../i18n/format.ts";
import type { Locale } from "../i18n/locale.ts";
import { type SlotLine, slotLines } from "./slot_lines.ts";
import type { BookingEmailInput, InvitationEmailInput, RenderedEmail } from "./types.ts";

const { text: TEXT_COLOR, muted: MUTED_COLOR, accent: ACCENT_COLOR } = PALETTE;

const PARAGRAPH = "margin:0 0 16px";
const SMALL_PARAGRAPH = `margin:0 0 16px;font-size:14px;color:${MUTED_COLOR}`;
const DETAILS = `margin:0 0 16px;padding:12px 16px;border-left:4px solid ${ACCENT_COLOR};` +
  `background:${PALETTE.accentTint}`;
const ROW = "margin:4px 0";
const LABEL = `color:${MUTED_COLOR}`;
const BUTTON = "display:inline-block;margin:0 8px 8px 0;padding:12px 28px;border-radius:6px;" +
  "font-weight:bold;font-size:16px;text-decoration:none";
const ACCEPT_BUTTON =
  `${BUTTON};background:${ACCENT_COLOR};border:2px solid ${ACCENT_COLOR};color:${PALETTE.card}`;
const DECLINE_BUTTON =
  `${BUTTON};background:${PALETTE.card};border:2px solid ${MUTED_COLOR};color:${TEXT_COLOR}`;

/**
 * The invitation to a waitlist candidate: the slot, when the invitation expires, that the
 * first to confirm gets it, and two links (Accept, Decline) that each open a confirmation page.
 * Throws a `TypeError` if a link is not an absolute http(s) URL, and a `RangeError` for a bad
 * instant or time zone.
 *
 * @example
 * const email = renderInvitationEmail({
 *   locale: "fr",
 *   patient_first_name: "Marie",
 *   slot,
 *   accept_url: "https://example.test/functions/v1/handle-invitation-response?token=t&action=accept",
 *   decline_url: "https://example.test/functions/v1/handle-invitation-response?token=t&action=decline",
 *   expires_at: "2026-11-23T18:00:00Z",
 * });
 * email.subject; // "Un créneau s'est libéré : mardi 24 novembre à 14 h 30"
 */
export function renderInvitationEmail(input: InvitationEmailInput): RenderedEmail {
  const { locale, slot } = input;
  const t = messages(locale);
  const acceptUrl = checkedUrl(input.accept_url, "accept_url");
  const declineUrl = checkedUrl(input.decline_url, "decline_url");
  const subject = t.invitation.subject(formatShortDateTime(slot.starts_at, slot.time_zone, locale));
  const expires = t.invitation.expires(formatDateTime(input.expires_at, slot.time_zone, locale));

  return renderEmail(input, {
    subject,
    intro: t.invitation.intro,
    html: markup`<p style="${PARAGRAPH}">${t.invitation.firstCome}</p>
<p style="${PARAGRAPH}"><strong>${expires}</strong></p>
<div style="margin:24px 0 16px">
<a href="${acceptUrl}" style="${ACCEPT_BUTTON}">${t.invitation.accept}</a>
<a href="${declineUrl}" style="${DECLINE_BUTTON}">${t.invitation.decline}</a>
</div>
<p style="${SMALL_PARAGRAPH}">${t.invitation.linksConfirm}</p>`,
    text: [
      t.invitation.firstCome,
      expires,
      "",
      t.labelled(t.invitation.accept),
      acceptUrl,
      "",
      t.labelled(t.invitation.decline),
      declineUrl,
      "",
      t.invitation.linksConfirm,
    ],
    signOff: t.invitation.signOff,
  });
}

/**
 * The confirmation after a booking: the slot, and a request to warn the clinic if the patient
 * cannot come. Throws a `RangeError` for a bad instant or time zone.
 *
 * @example
 * renderBookingEmail({ locale: "en", patient_first_name: "Mary", slot }).subject;
 * // "Appointment confirmed: Tuesday 24 November at 2:30 pm"
 */
export function renderBookingEmail(input: BookingEmailInput): RenderedEmail {
  const { locale, slot } = input;
  const t = messages(locale);
  return renderEmail(input, {
    subject: t.booking.subject(formatShortDateTime(slot.starts_at, slot.time_zone, locale)),
    intro: t.booking.intro,
    html: markup`<p style="${PARAGRAPH}">${t.booking.cancelNotice}</p>`,
    text: [t.booking.cancelNotice],
    signOff: t.booking.signOff,
  });
}

/** What sets one email apart from the other; the rest is the same frame around the slot. */
interface EmailContent {
  subject: string;
  /** The paragraph between the greeting and the slot. */
  intro: string;
  /** What follows the slot, in the HTML part and (as lines) in the text part. */
  html: SafeHtml;
  text: string[];
  /** The line above the clinic's name. */
  signOff: string;
}

/** An email to the patient of `input`: greeting, intro, the slot, `content`, signature. */
function renderEmail(input: BookingEmailInput, content: EmailContent): RenderedEmail {
  const { locale, slot } = input;
  const t = messages(locale);
  const greeting = t.greeting(singleLine(input.patient_first_name ?? ""));
  const details = slotLines(slot, locale);
  const clinic = singleLine(slot.clinic_name ?? "");

  const body = markup`<p style="${PARAGRAPH}">${greeting}</p>
<p style="${PARAGRAPH}">${content.intro}</p>
${detailsHtml(details, locale)}
${content.html}
${signature(content.signOff, clinic)}`;

  const text = [
    greeting,
    "",
    content.intro,
    "",
    ...detailsText(details, locale),
    "",
    ...content.text,
    "",
    content.signOff,
    clinic,
  ];

  const { subject } = content;
  return { subject, html: emailDocument(locale, subject, body), text: textPart(text) };
}

/** The link as given, once checked to be an absolute http(s) URL without whitespace. */
function checkedUrl(url: string, field: string): string {
  let protocol = "";
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Not a URL: refused below.
  }
  if ((protocol !== "https:" && protocol !== "http:") || /\s/.test(url)) {
    throw new TypeError(`Expected an absolute http(s) URL in ${field}, got ${JSON.stringify(url)}`);
  }
  return url;
}

function detailsHtml(lines: SlotLine[], locale: Locale): SafeHtml {
  const t = messages(locale);
  const rows = lines.map(({ label, value }) => [
    markup`<p style="${ROW}"><span style="${LABEL}">${t.labelled(label)}</span> `,
    markup`<strong>${value}</strong></p>\n`,
  ]);
  return markup`<div style="${DETAILS}">\n${rows}</div>`;
}

function detailsText(lines: SlotLine[], locale: Locale): string[] {
  const t = messages(locale);
  return lines.map((line) => `${t.labelled(line.label)} ${line.value}`);
}

function signature(signOff: string, clinic: string): SafeHtml {
  return markup`<p style="margin:24px 0 0">${signOff}<br>${clinic}</p>`;
}
