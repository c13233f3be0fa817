/**
 * The waitlist end to end, driven the way people drive it, in headless Chromium: an admin
 * cancels an appointment in SQL; the patients on the waitlist receive invitations in the local
 * inbox (the Resend stand-in's page); the top-ranked one opens hers, clicks Accept inside the
 * email, confirms on the page that opens and sees the slot booked; the database holds the new
 * appointment and the filled offer; the confirmation email arrives in the inbox.
 *
 * The test makes a small clinic of its own (practitioner, appointment type, patients with
 * unique emails), turns the quiet hours off while it runs and removes all of it afterwards.
 * On failure, a screenshot of the page goes to `.local/e2e/`.
 */
import type postgres from "postgres";
import type { Page } from "playwright-core";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { screenshot, withPage } from "../_support/browser.ts";
import { testSql } from "../_support/db.ts";
import { resendControl } from "../../scripts/platform/stand_ins/resend/email.ts";

type Sql = postgres.Sql;

const INBOX_URL = `${Deno.env.get("RESEND_BASE_URL")}/`;
const RESPONSE_PATH = "/functions/v1/handle-invitation-response";
/** How long a step may wait for the page (emails arrive in about a second). */
const STEP_TIMEOUT_MS = 15_000;

interface Patient {
  id: string;
  firstName: string;
  email: string;
  locale: "fr" | "en";
  priority: number;
}

interface Fixture {
  practitionerId: string;
  practitionerName: string;
  appointmentTypeId: string;
  appointmentId: string;
  timeZone: string;
  startsAt: Date;
  /** The patient whose appointment is cancelled. */
  cancelling: Patient;
  /** On the waitlist, best ranked first: the English patient, then two French ones. */
  waiting: Patient[];
}

/**
 * A clinic of the test's own: a practitioner, an appointment type, a patient with a confirmed
 * appointment three days ahead at 10:30 clinic time, and three consenting patients on the
 * waitlist for that type, available every day at any hour, ranked by priority.
 */
async function createFixture(sql: Sql): Promise<Fixture> {
  const run = crypto.randomUUID().slice(0, 8);
  const patient = (firstName: string, locale: "fr" | "en", priority: number) => ({
    firstName,
    locale,
    priority,
    email: `${firstName.toLowerCase()}.${run}@example.com`,
  });
  const specs = [
    patient("Claude", "fr", 0),
    patient("Olivia", "en", 5),
    patient("Camille", "fr", 2),
    patient("Lucas", "fr", 1),
  ];
  return await sql.begin(async (tx: postgres.TransactionSql) => {
    const [{ clinic_time_zone: timeZone }] =
      await tx`select clinic_time_zone from public.waitlist_settings`;
    const practitionerName = `Dr Browser ${run}`;
    const [practitioner] = await tx`
      insert into public.practitioners (full_name) values (${practitionerName}) returning id`;
    const [type] = await tx`
      insert into public.appointment_types (name, name_en, duration_minutes)
      values (${`Consultation ${run}`}, ${`Consultation ${run}`}, 30) returning id`;
    const patients: Patient[] = [];
    for (const spec of specs) {
      const [row] = await tx`
        insert into public.patients (first_name, last_name, email, locale)
        values (${spec.firstName}, ${`Test ${run}`}, ${spec.email}, ${spec.locale}) returning id`;
      patients.push({ id: row.id, ...spec });
    }
    const [cancelling, ...waiting] = patients;
    const [appointment] = await tx`
      insert into public.appointments
        (patient_id, practitioner_id, appointment_type_id, starts_at, ends_at, status)
      select ${cancelling.id}, ${practitioner.id}, ${type.id},
             (day + time '10:30') at time zone ${timeZone},
             (day + time '11:00') at time zone ${timeZone}, 'confirmed'
      from (select (now() at time zone ${timeZone})::date + 3 as day) d
      returning id, starts_at`;
    for (const p of waiting) {
      const [entry] = await tx`
        insert into public.waitlist
          (patient_id, appointment_type_id, priority, consent_automated_notifications)
        values (${p.id}, ${type.id}, ${p.priority}, true) returning id`;
      await tx`
        insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
        select ${entry.id}, weekday, '00:00', '24:00' from generate_series(1, 7) weekday`;
    }
    return {
      practitionerId: practitioner.id,
      practitionerName,
      appointmentTypeId: type.id,
      appointmentId: appointment.id,
      timeZone,
      startsAt: appointment.starts_at,
      cancelling,
      waiting: waiting.sort((a, b) => b.priority - a.priority),
    };
  });
}

/** Removes the fixture; the offer, its invitations and the waitlist entries go with it. */
async function deleteFixture(sql: Sql, f: Fixture): Promise<void> {
  const patientIds = [f.cancelling, ...f.waiting].map((p) => p.id);
  await sql`delete from public.appointments where practitioner_id = ${f.practitionerId}`;
  await sql`delete from public.patients where id in ${sql(patientIds)}`;
  await sql`delete from public.practitioners where id = ${f.practitionerId}`;
  await sql`delete from public.appointment_types where id = ${f.appointmentTypeId}`;
}

/** "Monday 23 November", as English emails and pages write the slot's day. */
function englishDay(f: Fixture): string {
  return new Intl.DateTimeFormat("en-GB", {
    weekday: "long",
    day: "numeric",
    month: "long",
    timeZone: f.timeZone,
  }).format(f.startsAt);
}

/** The text of the page's only `<h1>`, once it is there. */
async function heading(page: Page): Promise<string> {
  return (await page.getByRole("heading", { level: 1 }).textContent())?.trim() ?? "";
}

/** The inbox entry (its subject link) of the email with this subject sent to `email`. */
function inboxEntry(page: Page, email: string, subject: string | RegExp) {
  return page.locator("li").filter({ hasText: email }).getByRole("link", {
    name: subject,
    exact: typeof subject === "string",
  });
}

/** The emails the stand-in holds for an address, newest first (its control API). */
function emailsTo(address: string): Promise<{ subject: string }[]> {
  return resendControl(INBOX_URL).list({ to: address });
}

Deno.test("a patient on the waitlist books a cancelled slot from the invitation in her inbox, and gets the confirmation email", async () => {
  const sql = testSql();
  const [saved] = await sql`
    select quiet_hours_start, quiet_hours_end, wave_size from public.waitlist_settings`;
  let fixture: Fixture | undefined;
  try {
    // (1) A clinic of our own; no quiet hours, one wave for the three candidates.
    await sql`update public.waitlist_settings
              set quiet_hours_start = null, quiet_hours_end = null, wave_size = 5`;
    const f = fixture = await createFixture(sql);
    const [olivia, ...french] = f.waiting;
    assertEquals(olivia.locale, "en");
    const day = englishDay(f);

    // (2) The admin cancels the appointment: the trigger opens a slot offer.
    await sql`update public.appointments set status = 'cancelled' where id = ${f.appointmentId}`;
    const [offer] = await sql`
      select id, status from public.appointment_slot_offers where appointment_id = ${f.appointmentId}`;
    assertEquals(offer?.status, "open", "the cancellation opened a slot offer");

    await withPage(async (page) => {
      page.setDefaultTimeout(STEP_TIMEOUT_MS);
      let step = "inbox";
      try {
        // (3) The invitations appear in the inbox, which refreshes itself: Olivia's in English,
        // the others' in French.
        await page.goto(INBOX_URL);
        assertEquals(await heading(page), "Local inbox");
        const invitationSubject = `A slot has opened up: ${day} at 10:30 am`;
        const invitation = inboxEntry(page, olivia.email, invitationSubject);
        await invitation.waitFor();
        for (const p of french) {
          await inboxEntry(page, p.email, /^Un créneau s'est libéré : .+ à 10 h 30$/).waitFor();
        }
        await invitation.click();
        await page.waitForURL(/\/inbox\/[^/]+$/);
        assertEquals(await heading(page), invitationSubject);

        // (4) Accept, inside the email (a sandboxed iframe whose links open in the window).
        step = "accept";
        const email = page.frameLocator('iframe[title="HTML part"]');
        await email.getByRole("link", { name: "Accept", exact: true }).click();
        await page.waitForURL((url) => url.pathname === RESPONSE_PATH);
        assertEquals(new URL(page.url()).searchParams.get("action"), "accept");

        // (5) The confirmation page shows the slot; opening it changed nothing yet.
        step = "confirm";
        assertEquals(await heading(page), "Book this slot?");
        const details = await page.locator("dl").innerText();
        assert(details.includes(`${day} `), `the date in:\n${details}`);
        assert(details.includes("10:30 am – 11:00 am"), `the time in:\n${details}`);
        assert(details.includes(f.practitionerName), `the practitioner in:\n${details}`);
        const [opened] = await sql`
          select status from public.slot_offer_invitations
          where slot_offer_id = ${offer.id} and patient_id = ${olivia.id}`;
        assertEquals(opened.status, "sent", "a GET of the link books nothing");
        await page.getByRole("button", { name: "Confirm the appointment" }).click();

        // (6) The booked page.
        step = "booked";
        await page.getByRole("heading", { name: "Your appointment is confirmed" }).waitFor();

        // (7) The appointment is in the database, and the offer is filled with it.
        const booked = await sql`
          select id, status, starts_at, practitioner_id from public.appointments
          where patient_id = ${olivia.id}`;
        assertEquals(booked.length, 1, "one appointment for Olivia");
        assertEquals(booked[0].status, "confirmed");
        assertEquals(booked[0].starts_at.getTime(), f.startsAt.getTime());
        assertEquals(booked[0].practitioner_id, f.practitionerId);
        const [filled] = await sql`
          select status, filled_appointment_id from public.appointment_slot_offers
          where id = ${offer.id}`;
        assertEquals([filled.status, filled.filled_appointment_id], ["filled", booked[0].id]);
        const invitations = await sql`
          select patient_id, rank, status from public.slot_offer_invitations
          where slot_offer_id = ${offer.id} order by rank`;
        assertEquals(invitations.map((i) => [i.patient_id, i.rank, i.status]), [
          [olivia.id, 1, "accepted"],
          [french[0].id, 2, "withdrawn"],
          [french[1].id, 3, "withdrawn"],
        ]);

        // (8) The confirmation email arrives in the inbox.
        step = "confirmation email";
        await page.goto(INBOX_URL);
        const confirmationSubject = `Appointment confirmed: ${day} at 10:30 am`;
        await inboxEntry(page, olivia.email, confirmationSubject).click();
        assertEquals(await heading(page), confirmationSubject);
        const confirmation = page.frameLocator('iframe[title="HTML part"]').locator("body");
        assertMatch(await confirmation.innerText(), /Your appointment is confirmed\./);
      } catch (error) {
        const where = await screenshot(page, `waitlist-${step.replaceAll(" ", "-")}`);
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`Step "${step}" failed: ${message}\nScreenshot: ${where}`, {
          cause: error,
        });
      }
    });
    assertEquals(await emailsTo(f.cancelling.email), [], "the cancelling patient is not invited");
  } finally {
    await sql`update public.waitlist_settings set ${
      sql(saved, "quiet_hours_start", "quiet_hours_end", "wave_size")
    }`;
    if (fixture) await deleteFixture(sql, fixture);
    await sql.end();
  }
});
