import { assert, assertEquals, assertMatch, assertThrows } from "../_support/assert.ts";
import { escapeHtml, markup } from "../../supabase/functions/_shared/html/markup.ts";
import { type Locale, pickLocale } from "../../supabase/functions/_shared/i18n/locale.ts";
import {
  formatDate,
  formatDateTime,
  formatTime,
  formatTimeRange,
} from "../../supabase/functions/_shared/i18n/format.ts";
import {
  renderBookingEmail,
  renderInvitationEmail,
} from "../../supabase/functions/_shared/waitlist/emails.ts";
import {
  pageResponse,
  responseHeaders,
} from "../../supabase/functions/_shared/html/page_response.ts";
import { renderResponsePage } from "../../supabase/functions/_shared/waitlist/pages.ts";
import type {
  InvitationEmailInput,
  PageState,
  SlotDetails,
} from "../../supabase/functions/_shared/waitlist/types.ts";

const PARIS = "Europe/Paris";
const NASTY = '<b>Dr "X" & Co</b>';
const NASTY_ESCAPED = "&lt;b&gt;Dr &quot;X&quot; &amp; Co&lt;/b&gt;";
const ACCEPT_URL =
  "https://clinic.test/functions/v1/handle-invitation-response?token=t0k&action=accept";
const DECLINE_URL =
  "https://clinic.test/functions/v1/handle-invitation-response?token=t0k&action=decline";

/** Tuesday 24 November 2026, 14:30–15:00 in Paris (UTC+1). */
function slot(overrides: Partial<SlotDetails> = {}): SlotDetails {
  return {
    starts_at: "2026-11-24T13:30:00Z",
    ends_at: "2026-11-24T14:00:00+00:00",
    time_zone: PARIS,
    clinic_name: "Cabinet du Parc",
    practitioner_name: "Dr Martin",
    appointment_type: "Consultation",
    ...overrides,
  };
}

function invitation(overrides: Partial<InvitationEmailInput> = {}): InvitationEmailInput {
  return {
    locale: "fr",
    patient_first_name: "Marie",
    slot: slot(),
    accept_url: ACCEPT_URL,
    decline_url: DECLINE_URL,
    expires_at: "2026-11-23T18:00:00Z",
    ...overrides,
  };
}

/** The text a reader sees in an HTML document: tags removed, entities left as they are. */
function visibleText(html: string): string {
  const body = html.slice(html.indexOf("<body"));
  return body.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");
}

function count(haystack: string, pattern: RegExp): number {
  return haystack.match(pattern)?.length ?? 0;
}

function h1(html: string): string | undefined {
  return html.match(/<h1>([^<]*)<\/h1>/)?.[1];
}

/** Asserts that a document loads nothing from elsewhere and runs no script. */
function assertSelfContained(html: string): void {
  for (
    const pattern of [/<script/i, /<link/i, /<img/i, /<iframe/i, /\ssrc=/i, /url\(/i, /@import/i]
  ) {
    assert(!pattern.test(html), `Expected no match for ${pattern}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Locale and escaping
// ---------------------------------------------------------------------------------------------

Deno.test("pickLocale() answers English for any en tag and French for anything else", () => {
  for (const value of ["en", "en-GB", "EN", " en-us ", "en_GB"]) {
    assertEquals(pickLocale(value), "en", `for ${JSON.stringify(value)}`);
  }
  for (const value of ["fr", "fr-FR", "de", "english", "", null, undefined, 42, { locale: "en" }]) {
    assertEquals(pickLocale(value), "fr", `for ${JSON.stringify(value)}`);
  }
});

Deno.test("escapeHtml() escapes the five characters that matter in text and attributes", () => {
  assertEquals(
    escapeHtml(`<a href="x">Tom & Jerry's</a>`),
    "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;",
  );
  assertEquals(escapeHtml("plain text"), "plain text");
});

Deno.test("the markup template escapes values but keeps nested markup as is", () => {
  const inner = markup`<em>${"<i>"}</em>`;
  const outer = markup`<p title="${'"x"'}">${inner}${["a&", "b"]}${null}${false}${3}</p>`;
  assertEquals(outer.value, '<p title="&quot;x&quot;"><em>&lt;i&gt;</em>a&amp;b3</p>');
});

// ---------------------------------------------------------------------------------------------
// Dates in the clinic's time zone
// ---------------------------------------------------------------------------------------------

Deno.test("a date and time read in French and in English, in the clinic's time zone", () => {
  assertEquals(
    formatDateTime("2026-11-24T13:30:00Z", PARIS, "fr"),
    "mardi 24 novembre 2026 à 14 h 30",
  );
  assertEquals(
    formatDateTime("2026-11-24T13:30:00Z", PARIS, "en"),
    "Tuesday 24 November 2026 at 2:30 pm",
  );
  assertEquals(
    formatTimeRange("2026-11-24T13:30:00Z", "2026-11-24T14:00:00Z", PARIS, "fr"),
    "14 h 30 – 15 h 00",
  );
  assertEquals(
    formatTimeRange("2026-11-24T13:30:00Z", "2026-11-24T14:00:00Z", PARIS, "en"),
    "2:30 pm – 3:00 pm",
  );
});

Deno.test("the same instant reads differently in another clinic's time zone", () => {
  assertEquals(formatTime("2026-11-24T13:30:00Z", "America/New_York", "en"), "8:30 am");
  assertEquals(formatTime("2026-11-24T13:30:00Z", "Asia/Tokyo", "fr"), "22 h 30");
});

Deno.test("French dates write the first of the month as 1er", () => {
  assertEquals(formatDate("2026-12-01T09:00:00Z", PARIS, "fr"), "mardi 1er décembre 2026");
  assertEquals(formatDate("2026-12-01T09:00:00Z", PARIS, "en"), "Tuesday 1 December 2026");
});

Deno.test("a slot at 09:00 Paris time the day after the spring change shows 09:00", () => {
  // On 2026-03-29 Paris moves from UTC+1 to UTC+2: 09:00 local is 08:00 UTC before, 07:00 after.
  const before = "2026-03-28T08:00:00Z";
  const after = "2026-03-30T07:00:00Z";
  for (const instant of [before, after]) {
    assertEquals(formatTime(instant, PARIS, "fr"), "9 h 00");
    assertEquals(formatTime(instant, PARIS, "en"), "9:00 am");
  }
  assertEquals(formatDateTime(after, PARIS, "fr"), "lundi 30 mars 2026 à 9 h 00");
});

Deno.test("a slot across the spring change shows the clocks' jump from 1:30 to 3:30", () => {
  // 00:30 UTC is 01:30 UTC+1; 01:30 UTC is 03:30 UTC+2: one hour apart, two on the clock.
  const range = formatTimeRange("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z", PARIS, "fr");
  assertEquals(range, "1 h 30 – 3 h 30");
});

Deno.test("a slot across the autumn change shows local times on each side of it", () => {
  // On 2026-10-25 Paris moves back from UTC+2 to UTC+1 at 01:00 UTC.
  assertEquals(
    formatTimeRange("2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", PARIS, "fr"),
    "2 h 30 – 3 h 00",
  );
  assertEquals(formatTime("2026-10-24T07:00:00Z", PARIS, "en"), "9:00 am");
  assertEquals(formatTime("2026-10-26T08:00:00Z", PARIS, "en"), "9:00 am");
});

Deno.test("a slot crossing midnight says that it ends the next day", () => {
  const start = "2026-11-24T22:30:00Z"; // 23:30 in Paris
  const end = "2026-11-24T23:30:00Z"; // 00:30 on the 25th in Paris
  assertEquals(formatTimeRange(start, end, PARIS, "fr"), "23 h 30 – 0 h 30 (le lendemain)");
  assertEquals(formatTimeRange(start, end, PARIS, "en"), "11:30 pm – 12:30 am (next day)");
  assertEquals(formatDate(start, PARIS, "fr"), "mardi 24 novembre 2026");
});

Deno.test("the local date is the clinic's, even when UTC is still on the day before", () => {
  assertEquals(formatDate("2026-11-24T23:30:00Z", PARIS, "en"), "Wednesday 25 November 2026");
});

Deno.test("a slot over several days shows both dates in full", () => {
  assertEquals(
    formatTimeRange("2026-11-24T13:30:00Z", "2026-11-26T09:00:00Z", PARIS, "en"),
    "Tuesday 24 November 2026 at 2:30 pm – Thursday 26 November 2026 at 10:00 am",
  );
});

Deno.test("formatting reads Postgres' text form of a timestamptz and short offsets", () => {
  assertEquals(formatTime("2026-11-24 13:30:00+00", PARIS, "fr"), "14 h 30");
  assertEquals(formatTime("2026-11-24 13:30:00.123456+00", PARIS, "fr"), "14 h 30");
  assertEquals(formatTime("2026-11-24T14:30:00+01", PARIS, "fr"), "14 h 30");
  assertEquals(formatTime("2026-11-24T08:30:00-0500", PARIS, "fr"), "14 h 30");
});

Deno.test("formatting refuses instants without a UTC offset and unknown time zones", () => {
  assertMatch(
    assertThrows(() => formatTime("2026-11-24T13:30:00", PARIS, "fr")).message,
    /UTC offset/,
  );
  assertMatch(assertThrows(() => formatTime("tomorrow", PARIS, "fr")).message, /UTC offset/);
  assertMatch(
    assertThrows(() => formatTime("2026-11-24T13:30:00Z", "Mars/Olympus", "fr")).message,
    /Unknown time zone: Mars\/Olympus/,
  );
});

// ---------------------------------------------------------------------------------------------
// Invitation email
// ---------------------------------------------------------------------------------------------

Deno.test("a French invitation email states the slot, the expiry and the rules", () => {
  const email = renderInvitationEmail(invitation());
  assertEquals(email.subject, "Un créneau s'est libéré : mardi 24 novembre à 14 h 30");
  for (const part of [email.html, email.text]) {
    assert(part.includes("Bonjour Marie,"));
    assert(part.includes("mardi 24 novembre 2026"));
    assert(part.includes("14 h 30 – 15 h 00"));
    assert(part.includes("Dr Martin"));
    assert(part.includes("Consultation"));
    assert(part.includes("Cabinet du Parc"));
    assert(part.includes("lundi 23 novembre 2026 à 19 h 00"), "expiry in Paris time");
    assert(part.includes("Premier arrivé, premier servi"));
    assert(part.includes("page de confirmation"));
  }
  assertMatch(email.html, /^<!doctype html>\n<html lang="fr">/);
  assertMatch(email.html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
});

Deno.test("an English invitation email speaks English", () => {
  const email = renderInvitationEmail(invitation({ locale: "en", patient_first_name: "Mary" }));
  assertEquals(email.subject, "A slot has opened up: Tuesday 24 November at 2:30 pm");
  assertMatch(email.html, /<html lang="en">/);
  for (const part of [email.html, email.text]) {
    assert(part.includes("Hello Mary,"));
    assert(part.includes("Tuesday 24 November 2026"));
    assert(part.includes("2:30 pm – 3:00 pm"));
    assert(part.includes("This invitation expires on Monday 23 November 2026 at 7:00 pm."));
    assert(part.includes("First come, first served"));
    assert(part.includes("nothing is recorded until you confirm"));
  }
  assert(!email.text.includes("Bonjour"));
});

Deno.test("an invitation email has an Accept and a Decline button linking to their URLs", () => {
  const cases: [Locale, string, string][] = [["fr", "Accepter", "Refuser"], [
    "en",
    "Accept",
    "Decline",
  ]];
  for (const [locale, accept, decline] of cases) {
    const { html } = renderInvitationEmail(invitation({ locale }));
    const links = [...html.matchAll(/<a href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].map((
      m,
    ) => [m[1], m[2]]);
    assertEquals(links, [
      [escapeHtml(ACCEPT_URL), accept],
      [escapeHtml(DECLINE_URL), decline],
    ]);
    assert(html.includes("?token=t0k&amp;action=accept"), "& escaped in the attribute");
  }
});

Deno.test("an invitation email's button labels appear nowhere else in its visible text", () => {
  const cases: [Locale, RegExp, RegExp][] = [
    ["fr", /accepter/gi, /refuser/gi],
    ["en", /accept/gi, /decline/gi],
  ];
  for (const [locale, accept, decline] of cases) {
    const text = visibleText(renderInvitationEmail(invitation({ locale })).html);
    assertEquals(count(text, accept), 1, `${locale}: ${accept}`);
    assertEquals(count(text, decline), 1, `${locale}: ${decline}`);
  }
});

Deno.test("an invitation email's text part puts each URL on its own line", () => {
  const lines = renderInvitationEmail(invitation()).text.split("\n");
  const accept = lines.indexOf(ACCEPT_URL);
  const decline = lines.indexOf(DECLINE_URL);
  assert(accept > 0 && decline > accept, "both URLs on lines of their own, Accept first");
  assertEquals(lines[accept - 1], "Accepter :");
  assertEquals(lines[decline - 1], "Refuser :");
});

Deno.test("an invitation email escapes the practitioner's name in its HTML part", () => {
  const email = renderInvitationEmail(
    invitation({
      patient_first_name: "<script>alert(1)</script>",
      slot: slot({
        practitioner_name: NASTY,
        clinic_name: "Soins & Co",
        appointment_type: "<i>Bilan</i>",
      }),
    }),
  );
  assert(email.html.includes(NASTY_ESCAPED));
  assert(email.html.includes("Soins &amp; Co"));
  assert(email.html.includes("&lt;i&gt;Bilan&lt;/i&gt;"));
  assert(email.html.includes("&lt;script&gt;"));
  assert(
    !email.html.includes("<b>") && !email.html.includes("<script") && !email.html.includes("<i>"),
  );
  // The text part is plain text: the values as they are.
  assert(email.text.includes(NASTY));
  assert(email.text.includes("Soins & Co"));
  assert(!email.text.includes("&amp;"));
  assert(!email.subject.includes("&"), "the subject holds no entity");
});

Deno.test("an invitation email escapes quotes in its URLs' attributes", () => {
  const url = 'https://clinic.test/r?token="><script>x</script>';
  const { html } = renderInvitationEmail(invitation({ accept_url: url }));
  assert(
    html.includes('href="https://clinic.test/r?token=&quot;&gt;&lt;script&gt;x&lt;/script&gt;"'),
  );
  assert(!html.includes("<script"));
});

Deno.test("a value with line breaks cannot forge a line of an invitation's text part", () => {
  const email = renderInvitationEmail(
    invitation({ slot: slot({ practitioner_name: "Dr Martin\nhttps://evil.test\r\n" }) }),
  );
  assert(!email.text.split("\n").includes("https://evil.test"));
  assert(email.text.includes("Avec : Dr Martin https://evil.test\n"));
});

Deno.test("an invitation email refuses links that are not absolute http(s) URLs", () => {
  for (const url of ["javascript:alert(1)", "/relative?token=t", "https://clinic.test/a b", ""]) {
    const error = assertThrows(() => renderInvitationEmail(invitation({ decline_url: url })));
    assertMatch(error.message, /decline_url/);
  }
});

Deno.test("an invitation email loads nothing from elsewhere", () => {
  assertSelfContained(renderInvitationEmail(invitation()).html);
});

Deno.test("an invitation email without a first name still greets politely", () => {
  const email = renderInvitationEmail(invitation({ patient_first_name: "" }));
  assert(email.text.startsWith("Bonjour,\n"));
});

// ---------------------------------------------------------------------------------------------
// Booking email
// ---------------------------------------------------------------------------------------------

Deno.test("a booking email confirms the slot in the patient's language", () => {
  const fr = renderBookingEmail({ locale: "fr", patient_first_name: "Marie", slot: slot() });
  assertEquals(fr.subject, "Rendez-vous confirmé : mardi 24 novembre à 14 h 30");
  assert(fr.text.includes("Votre rendez-vous est confirmé"));
  assert(fr.text.includes("Heure : 14 h 30 – 15 h 00"));
  assertMatch(fr.html, /<html lang="fr">/);

  const en = renderBookingEmail({ locale: "en", patient_first_name: "Mary", slot: slot() });
  assertEquals(en.subject, "Appointment confirmed: Tuesday 24 November at 2:30 pm");
  assert(en.text.includes("Time: 2:30 pm – 3:00 pm"));
  assert(en.html.includes("Your appointment is confirmed"));
  assertSelfContained(en.html);
});

Deno.test("a booking email escapes the practitioner's name in its HTML part", () => {
  const email = renderBookingEmail({
    locale: "en",
    patient_first_name: "Mary",
    slot: slot({ practitioner_name: NASTY }),
  });
  assert(email.html.includes(NASTY_ESCAPED));
  assert(!email.html.includes("<b>"));
  assert(email.text.includes(`With: ${NASTY}`));
});

Deno.test("a booking email for a slot crossing midnight shows the end as the next day", () => {
  const email = renderBookingEmail({
    locale: "fr",
    patient_first_name: "Marie",
    slot: slot({ starts_at: "2026-11-24T22:30:00Z", ends_at: "2026-11-24T23:30:00Z" }),
  });
  assert(email.text.includes("Date : mardi 24 novembre 2026"));
  assert(email.text.includes("Heure : 23 h 30 – 0 h 30 (le lendemain)"));
});

// ---------------------------------------------------------------------------------------------
// Response pages
// ---------------------------------------------------------------------------------------------

const PAGES: Record<PageState, { status: number; fr: string; en: string }> = {
  confirm: { status: 200, fr: "Réserver ce créneau ?", en: "Book this slot?" },
  booked: {
    status: 200,
    fr: "Votre rendez-vous est confirmé",
    en: "Your appointment is confirmed",
  },
  declined: {
    status: 200,
    fr: "Votre réponse est enregistrée",
    en: "Your answer has been recorded",
  },
  already_taken: {
    status: 409,
    fr: "Ce créneau vient d'être pris",
    en: "This slot has just been taken",
  },
  time_conflict: {
    status: 409,
    fr: "Vous avez déjà un rendez-vous à cette heure-là",
    en: "You already have an appointment at that time",
  },
  expired: { status: 410, fr: "Cette invitation a expiré", en: "This invitation has expired" },
  withdrawn: {
    status: 410,
    fr: "Ce créneau n'est plus disponible",
    en: "This slot is no longer available",
  },
  already_answered: { status: 409, fr: "Vous avez déjà répondu", en: "You have already answered" },
  unknown: { status: 404, fr: "Lien introuvable", en: "Link not found" },
  invalid: { status: 400, fr: "Lien invalide", en: "Invalid link" },
  unavailable: {
    status: 503,
    fr: "Service momentanément indisponible",
    en: "Service temporarily unavailable",
  },
};

Deno.test("each page state has its HTTP status and its heading in both languages", () => {
  for (const [state, expected] of Object.entries(PAGES) as [PageState, typeof PAGES[PageState]][]) {
    for (const locale of ["fr", "en"] as const) {
      const page = renderResponsePage({
        state,
        locale,
        slot: slot(),
        action: "accept",
        token: "t0k",
      });
      assertEquals(page.status, expected.status, `${state} status`);
      assertEquals(h1(page.html), escapeHtml(expected[locale]), `${state} ${locale} heading`);
      assertEquals(count(page.html, /<h1>/g), 1, `${state} has one h1`);
    }
  }
});

Deno.test("every page is a complete, self-contained HTML document in the patient's language", () => {
  for (const state of Object.keys(PAGES) as PageState[]) {
    for (const locale of ["fr", "en"] as const) {
      const { html } = renderResponsePage({ state, locale, action: "decline", token: "t0k" });
      assertMatch(html, new RegExp(`^<!doctype html>\\n<html lang="${locale}">`));
      assertMatch(html, /<meta charset="utf-8">/);
      assertMatch(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
      assertMatch(html, /<style>[^<]+<\/style>/);
      assertMatch(html, /<\/html>\n$/);
      assertSelfContained(html);
    }
  }
});

Deno.test("the accept confirmation page posts the token and the answer to its own URL", () => {
  const { html } = renderResponsePage({
    state: "confirm",
    locale: "fr",
    slot: slot(),
    action: "accept",
    token: "t0k",
  });
  const form = html.match(/<form[^>]*>[\s\S]*<\/form>/)?.[0] ?? "";
  assertMatch(form, /^<form method="post">/);
  assert(!/<form[^>]*\saction=/.test(form), "no action attribute");
  assert(form.includes('<input type="hidden" name="token" value="t0k">'));
  assert(form.includes('<input type="hidden" name="action" value="accept">'));
  assertEquals(
    [...form.matchAll(/<button type="submit"[^>]*>([^<]*)<\/button>/g)].map((m) => m[1]),
    [
      "Confirmer le rendez-vous",
    ],
  );
  assert(html.includes("14 h 30 – 15 h 00"), "the slot is shown");
});

Deno.test("the decline confirmation page has its own heading and button", () => {
  const fr = renderResponsePage({ state: "confirm", locale: "fr", action: "decline", token: "t" });
  assertEquals(h1(fr.html), "Refuser ce créneau ?");
  assertMatch(fr.html, /<input type="hidden" name="action" value="decline">/);
  assertMatch(fr.html, /<button type="submit"[^>]*>Confirmer le refus<\/button>/);
  const en = renderResponsePage({ state: "confirm", locale: "en", action: "decline", token: "t" });
  assertEquals(h1(en.html), "Decline this slot?");
  assertMatch(en.html, /<button type="submit"[^>]*>Confirm I decline<\/button>/);
  const accept = renderResponsePage({
    state: "confirm",
    locale: "en",
    action: "accept",
    token: "t",
  });
  assertMatch(accept.html, /<button type="submit"[^>]*>Confirm the appointment<\/button>/);
});

Deno.test("the confirmation page escapes the token in its hidden field", () => {
  const { html } = renderResponsePage({
    state: "confirm",
    locale: "en",
    action: "accept",
    token: '"><script>x</script>',
  });
  assert(html.includes('name="token" value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"'));
  assert(!html.includes("<script"));
});

Deno.test("a confirmation page cannot be rendered without an answer and a token", () => {
  assertThrows(() => renderResponsePage({ state: "confirm", locale: "fr", token: "t" }));
  assertThrows(() => renderResponsePage({ state: "confirm", locale: "fr", action: "accept" }));
});

Deno.test("only the confirmation page has a form", () => {
  for (const state of Object.keys(PAGES) as PageState[]) {
    const { html } = renderResponsePage({
      state,
      locale: "fr",
      slot: slot(),
      action: "accept",
      token: "t",
    });
    assertEquals(html.includes("<form"), state === "confirm", state);
  }
});

Deno.test("outcome pages show the slot details, escaped", () => {
  for (const state of ["booked", "declined", "already_taken", "expired", "withdrawn"] as const) {
    const { html } = renderResponsePage({
      state,
      locale: "en",
      slot: slot({ practitioner_name: NASTY }),
    });
    assert(html.includes("<dt>With</dt><dd>" + NASTY_ESCAPED + "</dd>"), state);
    assert(html.includes("Tuesday 24 November 2026"), state);
    assert(!html.includes("<b>"), state);
  }
});

Deno.test("the page title names the clinic, escaped", () => {
  const { html } = renderResponsePage({
    state: "booked",
    locale: "fr",
    slot: slot({ clinic_name: "Soins & <Co>" }),
  });
  assert(html.includes("<title>Votre rendez-vous est confirmé – Soins &amp; &lt;Co&gt;</title>"));
});

Deno.test("the declined page says the patient stays on the waiting list", () => {
  const fr = renderResponsePage({ state: "declined", locale: "fr", slot: slot() });
  assert(fr.html.includes("Vous restez sur la liste d&#39;attente"));
  const en = renderResponsePage({ state: "declined", locale: "en", slot: slot() });
  assert(en.html.includes("You stay on the waiting list"));
});

Deno.test("the already answered page says which answer was given when it is known", () => {
  const accepted = renderResponsePage({
    state: "already_answered",
    locale: "fr",
    action: "accept",
  });
  assert(accepted.html.includes("Vous avez déjà accepté ce créneau."));
  const declined = renderResponsePage({
    state: "already_answered",
    locale: "en",
    action: "decline",
  });
  assert(declined.html.includes("You have already declined this slot."));
  const unknown = renderResponsePage({ state: "already_answered", locale: "en" });
  assert(!/already (accepted|declined)/.test(unknown.html));
  assert(unknown.html.includes("has already been recorded"));
});

Deno.test("the unknown, invalid and unavailable pages show no slot", () => {
  for (const state of ["unknown", "invalid", "unavailable"] as const) {
    const { html } = renderResponsePage({ state, locale: "fr" });
    assert(!html.includes("<dl>"), state);
  }
});

Deno.test("pages greet the patient by first name, escaped", () => {
  const { html } = renderResponsePage({
    state: "booked",
    locale: "en",
    slot: slot(),
    patient_first_name: "<Mary>",
  });
  assert(html.includes("<p>Hello &lt;Mary&gt;,</p>"));
});

Deno.test("page responses carry a strict content security policy and no-store", async () => {
  assertEquals(
    responseHeaders["content-security-policy"],
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  const response = pageResponse(
    renderResponsePage({ state: "expired", locale: "fr", slot: slot() }),
  );
  assertEquals(response.status, 410);
  assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(response.headers.get("cache-control"), "no-store");
  assertEquals(response.headers.get("x-robots-tag"), "noindex");
  assertEquals(response.headers.get("referrer-policy"), "no-referrer");
  assertEquals(
    response.headers.get("content-security-policy"),
    responseHeaders["content-security-policy"],
  );
  assertMatch(await response.text(), /<h1>Cette invitation a expiré<\/h1>/);
});
