/**
 * Fixtures for the waitlist flow tests, on the running test platform: a clinic of its own per
 * test (practitioner, appointment type, patients with unique emails, waitlist entries available
 * all week, an appointment to cancel), the waitlist settings changed for the test and restored,
 * and the helpers that read what the flow did: emails in the Resend stand-in, the links inside
 * them, the pages behind those links, the rows and jobs in the database.
 *
 * ```ts
 * const t = await startWaitlistTest({ wave_size: 3 });
 * try {
 *   const clinic = await t.clinic({ candidates: 3 });
 *   const offerId = await cancelAppointment(t.sql, clinic);
 *   const emails = await waitForEmails(clinic.candidates.map((c) => c.email));
 * } finally {
 *   await t.done(); // clears faults, restores the settings, closes the connection
 * }
 * ```
 */
import type postgres from "postgres";
import { escapeHtml } from "../../supabase/functions/_shared/html/markup.ts";
import {
  type ResendControl,
  resendControl,
  type StoredEmail as ResendStoredEmail,
} from "../../scripts/platform/stand_ins/resend/email.ts";
import type { FaultRule } from "../../scripts/platform/stand_ins/kit/faults.ts";
import { QUEUES } from "../../supabase/functions/_shared/jobs/queues.ts";
import { assert, assertEquals } from "./assert.ts";
import { testSql } from "./db.ts";
import { waitFor, type WaitOptions } from "./wait.ts";

export type Sql = postgres.Sql;
export type Locale = "fr" | "en";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh`);
  return value;
}

/** `<SUPABASE_URL>/functions/v1`: the base of every invitation link. */
export const FUNCTIONS_URL = `${env("SUPABASE_URL")}/functions/v1`;
/** The page behind the Accept and Decline links. */
export const RESPONSE_URL = `${FUNCTIONS_URL}/handle-invitation-response`;
/** The control client of the test platform's Resend stand-in. */
export const resend: ResendControl = resendControl(env("RESEND_BASE_URL"));

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/** The columns of `public.waitlist_settings` a test may change (and that are restored). */
const SETTING_COLUMNS = [
  "wave_size",
  "wave_interval",
  "invitation_lifetime",
  "offer_cutoff",
  "quiet_hours_start",
  "quiet_hours_end",
  "clinic_time_zone",
  "clinic_name",
  "sender",
  "public_base_url",
] as const;

export type WaitlistSettings = Partial<
  Record<(typeof SETTING_COLUMNS)[number], string | number | null>
>;

/**
 * Changes the settings row for a test, with the quiet hours off (a test run at night must not
 * see its first wave postponed to the morning); returns the function that restores the row.
 */
export async function overrideWaitlistSettings(
  sql: Sql,
  changes: WaitlistSettings = {},
): Promise<() => Promise<void>> {
  const [before] = await sql`select ${sql([...SETTING_COLUMNS])} from public.waitlist_settings`;
  const wanted = { quiet_hours_start: null, quiet_hours_end: null, ...changes };
  const columns = Object.keys(wanted) as (keyof WaitlistSettings)[];
  await sql`update public.waitlist_settings set ${sql(wanted, columns)}`;
  return async () => {
    await sql`update public.waitlist_settings set ${sql(before, ...SETTING_COLUMNS)}`;
  };
}

// ---------------------------------------------------------------------------------------------
// The clinic of one test
// ---------------------------------------------------------------------------------------------

/** How one waitlist candidate is set up. */
export interface CandidateSpec {
  /** Patient language; the column's default (French) when absent. */
  locale?: Locale;
  /** Waitlist priority, 0 (default) to 10. */
  priority?: number;
}

export interface Candidate {
  /** Position in creation order: earlier entries have waited longer. */
  index: number;
  patientId: string;
  waitlistId: string;
  firstName: string;
  email: string;
  locale: Locale;
  priority: number;
}

export interface Clinic {
  runId: string;
  timeZone: string;
  practitionerId: string;
  practitionerName: string;
  appointmentTypeId: string;
  appointmentTypeName: string;
  /** The patient whose appointment is cancelled (not on the waitlist). */
  cancellingPatientId: string;
  /** The appointment the test cancels. */
  appointmentId: string;
  startsAt: Date;
  endsAt: Date;
  /** In creation order (index 0 has waited longest). */
  candidates: Candidate[];
}

export interface ClinicOptions {
  /** How many candidates (all defaults), or one spec per candidate. */
  candidates: number | CandidateSpec[];
  /** The slot is this many days ahead, at 10:00 clinic time (default 3). */
  daysAhead?: number;
}

/**
 * Creates a clinic of its own: a practitioner, an appointment type, the cancelling patient
 * with a confirmed 30-minute appointment, and the candidates — consenting patients with unique
 * emails, on the waitlist for that type and practitioner, available every day at any hour.
 * Candidates wait longer the earlier they come in the list, so with equal priorities the list
 * order is the ranking.
 */
export async function createClinic(sql: Sql, opts: ClinicOptions): Promise<Clinic> {
  const runId = crypto.randomUUID().slice(0, 8);
  const specs: CandidateSpec[] = typeof opts.candidates === "number"
    ? Array.from({ length: opts.candidates }, () => ({}))
    : opts.candidates;
  const daysAhead = opts.daysAhead ?? 3;
  return await sql.begin(async (tx: postgres.TransactionSql) => {
    const [{ clinic_time_zone: timeZone }] =
      await tx`select clinic_time_zone from public.waitlist_settings`;
    const practitionerName = `Dr Test ${runId}`;
    const [practitioner] = await tx`
      insert into public.practitioners (full_name, email)
      values (${practitionerName}, ${`dr-${runId}@clinic.example.test`}) returning id`;
    const appointmentTypeName = `Consultation ${runId}`;
    const [type] = await tx`
      insert into public.appointment_types (name, name_en, duration_minutes)
      values (${appointmentTypeName}, ${`Consultation (en) ${runId}`}, 30) returning id`;
    const [cancelling] = await tx`
      insert into public.patients (first_name, last_name, email)
      values ('Camille', ${`Annule ${runId}`}, ${`cancelling-${runId}@patients.example.test`})
      returning id`;
    const [appointment] = await tx`
      insert into public.appointments
        (patient_id, practitioner_id, appointment_type_id, starts_at, ends_at, status)
      select ${cancelling.id}, ${practitioner.id}, ${type.id}, s.starts_at,
             s.starts_at + interval '30 minutes', 'confirmed'
      from (select ((now() at time zone ${timeZone})::date + ${daysAhead}::int + time '10:00')
                     at time zone ${timeZone} as starts_at) s
      returning id, starts_at, ends_at`;

    const candidates: Candidate[] = [];
    for (const [index, spec] of specs.entries()) {
      const firstName = `Patient${index + 1}`;
      const email = `wl-${runId}-${index + 1}@patients.example.test`;
      const [patient] = await tx`
        insert into public.patients (first_name, last_name, email, locale)
        values (${firstName}, ${`Test ${runId}`}, ${email}, coalesce(${spec.locale ?? null}, 'fr'))
        returning id, locale`;
      const [entry] = await tx`
        insert into public.waitlist
          (patient_id, practitioner_id, appointment_type_id, priority,
           consent_automated_notifications, created_at)
        values (${patient.id}, ${practitioner.id}, ${type.id}, ${spec.priority ?? 0}, true,
                now() - ${specs.length - index} * interval '1 minute')
        returning id`;
      // Every weekday, midnight to midnight.
      await tx`
        insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
        select ${entry.id}, d, time '00:00', time '24:00' from generate_series(1, 7) d`;
      candidates.push({
        index,
        patientId: patient.id,
        waitlistId: entry.id,
        firstName,
        email,
        locale: patient.locale,
        priority: spec.priority ?? 0,
      });
    }
    return {
      runId,
      timeZone,
      practitionerId: practitioner.id,
      practitionerName,
      appointmentTypeId: type.id,
      appointmentTypeName,
      cancellingPatientId: cancelling.id,
      appointmentId: appointment.id,
      startsAt: appointment.starts_at,
      endsAt: appointment.ends_at,
      candidates,
    };
  });
}

/** The candidates in the order the waitlist ranks them: priority first, then waiting time. */
export function ranked(candidates: Candidate[]): Candidate[] {
  return [...candidates].sort((a, b) => b.priority - a.priority || a.index - b.index);
}

/**
 * Cancels the appointment and waits until every candidate has their invitation email and the
 * wave's job has finished (so the clinic must have no more candidates than the wave size).
 * Returns the offer and each candidate's links, in the order of `clinic.candidates`.
 */
export async function cancelAndInvite(sql: Sql, clinic: Clinic) {
  const offerId = await cancelAppointment(sql, clinic);
  const recipients = clinic.candidates.map((c) => c.email);
  const emails = await waitForEmails(recipients);
  const job = await waitForJob(() => waveJob(sql, offerId));
  assertEquals(job.state, "succeeded", `the job of the first wave of offer ${offerId}`);
  return { offerId, links: recipients.map((r) => invitationLinks(emails.get(r)![0])) };
}

/** Cancels the clinic's appointment (the admin's UPDATE); returns the slot offer it opened. */
export async function cancelAppointment(sql: Sql, clinic: Clinic): Promise<string> {
  const [offerId] = await cancelAppointments(sql, [clinic]);
  return offerId;
}

/** Cancels the appointments of several clinics in one transaction; returns their offers. */
export async function cancelAppointments(sql: Sql, clinics: Clinic[]): Promise<string[]> {
  return await sql.begin(async (tx: postgres.TransactionSql) => {
    const offers: string[] = [];
    for (const clinic of clinics) {
      await tx`
        update public.appointments set status = 'cancelled' where id = ${clinic.appointmentId}`;
      const [offer] = await tx`
        select id from public.appointment_slot_offers
        where appointment_id = ${clinic.appointmentId} and status = 'open'`;
      assert(offer, `cancelling appointment ${clinic.appointmentId} opened no slot offer`);
      offers.push(offer.id);
    }
    return offers;
  });
}

// ---------------------------------------------------------------------------------------------
// One test's setup and teardown
// ---------------------------------------------------------------------------------------------

export interface WaitlistTest {
  sql: Sql;
  /** Creates a clinic of this test's own (see {@link createClinic}). */
  clinic(opts: ClinicOptions): Promise<Clinic>;
  /** Clears the stand-in's faults, restores the settings and closes the connection. */
  done(): Promise<void>;
}

/**
 * Opens a connection and sets the waitlist settings for one test (quiet hours off, plus
 * `settings`). Call `done()` in `finally`.
 */
export async function startWaitlistTest(settings: WaitlistSettings = {}): Promise<WaitlistTest> {
  const sql = testSql();
  let restore: () => Promise<void>;
  try {
    await clearFaults();
    restore = await overrideWaitlistSettings(sql, settings);
  } catch (error) {
    await sql.end();
    throw error;
  }
  return {
    sql,
    clinic: (opts) => createClinic(sql, opts),
    done: async () => {
      try {
        await clearFaults();
        await restore();
      } finally {
        await sql.end();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rows and jobs
// ---------------------------------------------------------------------------------------------

/**
 * Everything a link could change about an offer, in one comparable value: its invitations,
 * the offer, the practitioner's appointments, the candidates' waitlist entries and the number
 * of log rows about it.
 */
export async function snapshot(sql: Sql, clinic: Clinic, offerId: string) {
  const entries = await sql`
    select * from public.waitlist
    where id in ${sql(clinic.candidates.map((c) => c.waitlistId))} order by created_at, id`;
  return {
    offer: await offerRow(sql, offerId),
    invitations: await invitationsOf(sql, offerId),
    appointments: await appointmentsOf(sql, clinic),
    waitlist: [...entries],
    logs: (await logsOf(sql, clinic, offerId)).length,
  };
}

/** The invitations of an offer, by rank. */
export async function invitationsOf(sql: Sql, offerId: string) {
  return [
    ...await sql`
      select * from public.slot_offer_invitations
      where slot_offer_id = ${offerId} order by wave, rank`,
  ];
}

export async function offerRow(sql: Sql, offerId: string) {
  const [offer] = await sql`select * from public.appointment_slot_offers where id = ${offerId}`;
  return offer;
}

/** The appointments of the clinic's practitioner (the cancelled one included). */
export async function appointmentsOf(sql: Sql, clinic: Clinic) {
  return [
    ...await sql`
      select * from public.appointments where practitioner_id = ${clinic.practitionerId}
      order by created_at, id`,
  ];
}

/** The waitlist log rows of an offer and of its appointment, oldest first. */
export async function logsOf(sql: Sql, clinic: Clinic, offerId: string) {
  return [
    ...await sql`
      select * from public.waitlist_trigger_logs
      where slot_offer_id = ${offerId} or appointment_id = ${clinic.appointmentId}
         or invitation_id in (select id from public.slot_offer_invitations
                              where slot_offer_id = ${offerId})
      order by id`,
  ];
}

/** The job of an offer's wave (its dedupe key is `slot_offer:<id>:wave:<n>`). */
export async function waveJob(sql: Sql, offerId: string, wave = 1) {
  const [job] = await sql`
    select * from jobs.jobs
    where queue = ${QUEUES.waitlist.name} and dedupe_key = ${`slot_offer:${offerId}:wave:${wave}`}`;
  return job;
}

/** The job that sends the confirmation of a booked appointment. */
export async function bookingJob(sql: Sql, appointmentId: string) {
  const [job] = await sql`
    select * from jobs.jobs
    where queue = ${QUEUES.waitlist.name} and dedupe_key = ${`booking_email:${appointmentId}`}`;
  return job;
}

/** Waits until `find()` returns a job in one of `states` (finished states by default). */
export async function waitForJob(
  find: () => Promise<postgres.Row | undefined>,
  opts: WaitOptions & { states?: string[]; tick?: () => Promise<unknown> } = {},
) {
  const states = opts.states ?? ["succeeded", "dead"];
  return await waitFor(async () => {
    await opts.tick?.();
    const job = await find();
    return job && states.includes(job.state) ? job : undefined;
  }, { intervalMs: 50, ...opts });
}

/**
 * What pg_cron's `jobs-drain-waitlist` does every minute: wakes `process-cancellation` when a
 * job of the queue is claimable (a retry whose backoff is over). Tests call it in their wait
 * loops to simulate the cron tick instead of waiting up to a minute for the real one.
 */
export async function cronTick(sql: Sql): Promise<void> {
  await sql`select jobs.drain(${QUEUES.waitlist.name})`;
}

// ---------------------------------------------------------------------------------------------
// The Resend stand-in
// ---------------------------------------------------------------------------------------------

/** An email the waitlist sent, as the stand-in stored it: with both parts (checked on read). */
export type StoredEmail = ResendStoredEmail & { html: string; text: string };

/** Installs a fault on the stand-in's Resend API. */
export async function addFault(rule: FaultRule): Promise<void> {
  await resend.faults.add(rule);
}

/** Removes every fault and lets hanging calls go. */
export async function clearFaults(): Promise<void> {
  await resend.faults.clear();
}

/** The emails stored for one recipient, oldest first. */
export async function emailsTo(recipient: string): Promise<StoredEmail[]> {
  const emails = await resend.list({ to: recipient, limit: 1000 });
  return emails.reverse().map((email) => {
    assert(
      email.html !== null && email.text !== null,
      `email ${email.id} to ${recipient} has both an HTML and a text part`,
    );
    return email as StoredEmail;
  });
}

/** The emails of each recipient, oldest first. */
export async function emailsOf(recipients: string[]): Promise<Map<string, StoredEmail[]>> {
  const lists = await Promise.all(recipients.map(emailsTo));
  return new Map(recipients.map((recipient, i) => [recipient, lists[i]]));
}

/**
 * Waits until every recipient has at least `each` emails (default 1) matching `filter`, and
 * returns them, oldest first. `tick` runs before each probe (e.g. {@link cronTick}).
 */
export async function waitForEmails(
  recipients: string[],
  opts: WaitOptions & {
    each?: number;
    filter?: (email: StoredEmail) => boolean;
    tick?: () => Promise<unknown>;
  } = {},
): Promise<Map<string, StoredEmail[]>> {
  const each = opts.each ?? 1;
  const filter = opts.filter ?? (() => true);
  return await waitFor(async () => {
    await opts.tick?.();
    const all = await emailsOf(recipients);
    const kept = new Map([...all].map(([to, emails]) => [to, emails.filter(filter)]));
    return [...kept.values()].every((emails) => emails.length >= each) ? kept : undefined;
  }, {
    intervalMs: 100,
    what: `${each} email(s) for each of ${recipients.join(", ")}`,
    ...opts,
  });
}

/** The Accept and Decline links of an invitation email, from its text part. */
export function invitationLinks(email: StoredEmail): { accept: string; decline: string } {
  const urls = email.text.match(/^https?:\/\/\S+$/gm) ?? [];
  const byAction = new Map(urls.map((url) => [new URL(url).searchParams.get("action"), url]));
  const accept = byAction.get("accept");
  const decline = byAction.get("decline");
  assertEquals(urls.length, 2, `two links in the text part of email ${email.id}`);
  assert(accept && decline, `an accept and a decline link in email ${email.id}`);
  return { accept, decline };
}

/** The token of an invitation link. */
export function tokenOf(url: string): string {
  const token = new URL(url).searchParams.get("token");
  assert(token, `no token in ${url}`);
  return token;
}

// ---------------------------------------------------------------------------------------------
// The pages behind the links
// ---------------------------------------------------------------------------------------------

export interface Page {
  status: number;
  headers: Headers;
  html: string;
}

/** Opens a link (GET by default) and reads the page. */
export async function openLink(url: string, method = "GET"): Promise<Page> {
  const res = await fetch(url, { method });
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** Submits the fields as the confirmation form does: POST, form-urlencoded, to `url`. */
export async function postForm(url: string, fields: Record<string, string>): Promise<Page> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** The hidden fields of the page's confirmation form (`token`, `action`). */
export function formFields(html: string): Record<string, string> {
  const form = /<form method="post">([\s\S]*?)<\/form>/.exec(html);
  assert(form, "the page has a form that posts back to the link");
  const fields: Record<string, string> = {};
  for (const match of form[1].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1]] = match[2];
  }
  return fields;
}

/** Opens a link and submits the confirmation form it shows, as a patient's browser does. */
export async function confirmLink(url: string): Promise<{ confirm: Page; result: Page }> {
  const confirm = await openLink(url);
  assertEquals(confirm.status, 200, `the confirmation page of ${url}`);
  return { confirm, result: await postForm(url, formFields(confirm.html)) };
}

/** Does the page show this text (escaped as the page escapes it)? */
export function shows(page: Page, text: string): boolean {
  return page.html.includes(escapeHtml(text));
}
