/**
 * The waitlist flow end to end on the real local platform: an admin's UPDATE cancels an
 * appointment, pg_net wakes `process-cancellation`, which opens a wave and emails the invitations
 * through the Resend stand-in; a patient opens a link and confirms; the booking is made
 * atomically and confirmed by email. Also: the provider's failures (429, 5xx, a hanging call, a
 * refusal) end in exactly one email per invitation, 50 simultaneous acceptances book the slot
 * once, and monitor-waitlist-system reports on it all.
 *
 * Every test has a clinic of its own (tests/_support/clinic.ts) and reads only its own emails.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import {
  addFault,
  appointmentsOf,
  bookingJob,
  cancelAppointment,
  cancelAppointments,
  type Clinic,
  confirmLink,
  cronTick,
  emailsOf,
  emailsTo,
  formFields,
  invitationLinks,
  invitationsOf,
  type Locale,
  logsOf,
  offerRow,
  openLink,
  postForm,
  ranked,
  RESPONSE_URL,
  shows,
  type Sql,
  startWaitlistTest,
  type StoredEmail,
  tokenOf,
  waitForEmails,
  waitForJob,
  waveJob,
} from "../_support/clinic.ts";
import { messages } from "../../supabase/functions/_shared/waitlist/i18n.ts";
import {
  formatDate,
  formatShortDateTime,
  formatTimeRange,
} from "../../supabase/functions/_shared/i18n/format.ts";

/** `RESEND_TIMEOUT_MS` of the functions (the test platform sets 2 s; the default is 10 s). */
const RESEND_TIMEOUT_MS = Number(Deno.env.get("RESEND_TIMEOUT_MS") ?? 10_000);

function invitationSubject(clinic: Clinic, locale: Locale): string {
  return messages(locale).invitation.subject(
    formatShortDateTime(clinic.startsAt, clinic.timeZone, locale),
  );
}

function bookingSubject(clinic: Clinic, locale: Locale): string {
  return messages(locale).booking.subject(
    formatShortDateTime(clinic.startsAt, clinic.timeZone, locale),
  );
}

/** The only email in a list, with a message naming the recipient when there are more or none. */
function only(emails: StoredEmail[] | undefined, who: string): StoredEmail {
  assertEquals(emails?.length, 1, `exactly one email for ${who}`);
  return emails![0];
}

/**
 * After a failed first send and a successful retry: one email per invitee, every invitation
 * `sent` after two attempts with the stand-in's email id, and its log an error (retry_count 0)
 * then a success (retry_count 1). The job used two attempts, or one when the failure was a
 * throttle (`throttled`: a 429 gives its attempt back and counts in `throttles`). Returns each
 * invitation's error log with its email.
 */
async function assertRetriedOnce(
  sql: Sql,
  clinic: Clinic,
  offerId: string,
  opts: { tick?: () => Promise<unknown>; throttled?: boolean } = {},
) {
  const job = await waitForJob(() => waveJob(sql, offerId), {
    tick: opts.tick,
    timeoutMs: 20_000,
  });
  assertEquals(
    [job.state, job.attempts, job.throttles],
    opts.throttled ? ["succeeded", 1, 1] : ["succeeded", 2, 0],
  );
  const emails = await emailsOf(clinic.candidates.map((c) => c.email));
  const invitations = await invitationsOf(sql, offerId);
  assertEquals(invitations.length, clinic.candidates.length);
  const logs = await logsOf(sql, clinic, offerId);
  const errors = [];
  for (const invitation of invitations) {
    const email = only(emails.get(invitation.email), invitation.email);
    assertEquals(
      [invitation.status, invitation.send_attempts, invitation.email_id, invitation.pending_token],
      ["sent", 2, email.id, null],
    );
    const mine = logs.filter((l) =>
      l.trigger_type === "invitation_email" && l.invitation_id === invitation.id
    );
    assertEquals(mine.map((l) => [l.status, l.retry_count]), [["error", 0], ["success", 1]]);
    assertEquals(mine[1].details.email_id, email.id);
    errors.push({ log: mine[0], email });
  }
  return errors;
}

Deno.test("a cancellation emails the top-ranked wave in each patient's language, and the first to confirm books the slot", async () => {
  const t = await startWaitlistTest();
  try {
    // Seven candidates for a wave of five: rank by priority, then by waiting time.
    const clinic = await t.clinic({
      candidates: [
        {},
        { priority: 5, locale: "en" },
        {},
        { priority: 3 },
        {},
        { locale: "en" },
        {},
      ],
    });
    const wave = ranked(clinic.candidates).slice(0, 5);
    const notInvited = ranked(clinic.candidates).slice(5);
    assertEquals(wave.map((c) => c.index), [1, 3, 0, 2, 4]);

    const offerId = await cancelAppointment(t.sql, clinic);
    // "Within a few seconds": the wake-up after COMMIT, no cron involved.
    await waitForEmails(wave.map((c) => c.email), { timeoutMs: 5_000 });
    const job = await waitForJob(() => waveJob(t.sql, offerId));
    assertEquals([job.state, job.attempts, job.result.sent], ["succeeded", 1, 5]);

    const emails = await emailsOf(clinic.candidates.map((c) => c.email));
    for (const candidate of notInvited) {
      assertEquals(emails.get(candidate.email), [], `no email for ${candidate.email}`);
    }
    const links = new Map<string, { accept: string; decline: string }>();
    for (const candidate of wave) {
      const email = only(emails.get(candidate.email), candidate.email);
      const words = messages(candidate.locale);
      assertEquals(email.subject, invitationSubject(clinic, candidate.locale));
      assert(email.text.startsWith(`${words.greeting(candidate.firstName)}\n`), email.text);
      assert(email.text.includes(words.invitation.intro), `${candidate.locale}: ${email.text}`);
      assert(email.text.includes(clinic.practitionerName));
      const link = invitationLinks(email);
      assert(link.accept.startsWith(`${RESPONSE_URL}?`), link.accept);
      assertEquals(tokenOf(link.accept), tokenOf(link.decline));
      assertMatch(tokenOf(link.accept), /^[A-Za-z0-9_-]{43}$/);
      links.set(candidate.patientId, link);
    }

    const invitations = await invitationsOf(t.sql, offerId);
    assertEquals(invitations.map((i) => i.patient_id), wave.map((c) => c.patientId));
    assertEquals(invitations.map((i) => i.rank), [1, 2, 3, 4, 5]);
    for (const [n, invitation] of invitations.entries()) {
      const email = emails.get(wave[n].email)![0];
      assertEquals(
        [
          invitation.status,
          invitation.email_id,
          invitation.pending_token,
          invitation.send_attempts,
        ],
        ["sent", email.id, null, 1],
      );
      assertEquals([invitation.email, invitation.locale], [wave[n].email, wave[n].locale]);
    }
    const logs = await logsOf(t.sql, clinic, offerId);
    assertEquals(
      logs.map((l) => [l.trigger_type, l.status]),
      [
        ["cancellation", "success"],
        ["wave", "success"],
        ...wave.map(() => ["invitation_email", "success"]),
      ],
    );
    assertEquals(logs[1].details.invited, 5);
    assertEquals(
      logs.slice(2).map((l) => l.details.email_id).sort(),
      invitations.map((i) => i.email_id).sort(),
    );

    // The highest-ranked (English) patient opens Accept: the slot and a form; nothing booked yet.
    const winner = wave[0];
    const en = messages("en");
    const { confirm, result } = await confirmLink(links.get(winner.patientId)!.accept);
    assert(shows(confirm, en.pages.confirmAccept.heading), confirm.html);
    assert(shows(confirm, clinic.practitionerName));
    assert(shows(confirm, formatDate(clinic.startsAt, clinic.timeZone, "en")));
    assert(
      shows(confirm, formatTimeRange(clinic.startsAt, clinic.endsAt, clinic.timeZone, "en")),
    );
    assertEquals(formFields(confirm.html), {
      token: tokenOf(links.get(winner.patientId)!.accept),
      action: "accept",
    });
    assertEquals(result.status, 200);
    assert(shows(result, en.pages.booked.heading), result.html);

    const appointments = await appointmentsOf(t.sql, clinic);
    assertEquals(appointments.length, 2, "the cancelled appointment and the booking");
    const booked = appointments[1];
    assertEquals(
      [booked.patient_id, booked.starts_at, booked.ends_at, booked.status],
      [winner.patientId, clinic.startsAt, clinic.endsAt, "confirmed"],
    );
    const offer = await offerRow(t.sql, offerId);
    assertEquals([offer.status, offer.filled_appointment_id], ["filled", booked.id]);
    const [entry] = await t.sql`select * from public.waitlist where id = ${winner.waitlistId}`;
    assertEquals([entry.status, entry.fulfilled_appointment_id], ["fulfilled", booked.id]);
    const answered = await invitationsOf(t.sql, offerId);
    assertEquals(answered.map((i) => i.status), [
      "accepted",
      "withdrawn",
      "withdrawn",
      "withdrawn",
      "withdrawn",
    ]);
    assertEquals(offer.filled_invitation_id, answered[0].id);

    // One confirmation email, in English, recorded on the invitation.
    const confirmation = await waitForEmails([winner.email], {
      filter: (e) => e.subject === bookingSubject(clinic, "en"),
    });
    const bookingEmail = only(
      confirmation.get(winner.email),
      `the confirmation of ${winner.email}`,
    );
    const sentJob = await waitForJob(() => bookingJob(t.sql, booked.id));
    assertEquals(sentJob.state, "succeeded");
    assertEquals((await emailsTo(winner.email)).length, 2, "the invitation and the confirmation");
    const [accepted] = await invitationsOf(t.sql, offerId);
    assertEquals(accepted.confirmation_email_id, bookingEmail.id);
    assert(bookingEmail.text.includes(clinic.practitionerName));

    // The others' links now say the slot is taken (in French), and book nothing.
    const fr = messages("fr");
    for (const loser of wave.slice(1)) {
      const page = await openLink(links.get(loser.patientId)!.accept);
      assertEquals(page.status, 409, loser.email);
      assert(shows(page, fr.pages.alreadyTaken.heading), page.html);
    }
    const late = await postForm(links.get(wave[1].patientId)!.accept, {
      token: tokenOf(links.get(wave[1].patientId)!.accept),
      action: "accept",
    });
    assertEquals(late.status, 409);
    assert(shows(late, fr.pages.alreadyTaken.heading));
    assertEquals((await appointmentsOf(t.sql, clinic)).length, 2);
    for (const candidate of clinic.candidates.filter((c) => c !== winner)) {
      const subject = bookingSubject(clinic, candidate.locale);
      assertEquals((await emailsTo(candidate.email)).filter((e) => e.subject === subject), []);
    }
  } finally {
    await t.done();
  }
});

Deno.test("declining an invitation records the answer and keeps the patient on the waitlist", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const offerId = await cancelAppointment(t.sql, clinic);
    const [first, second] = clinic.candidates;
    const emails = await waitForEmails([first.email, second.email]);
    const { decline } = invitationLinks(emails.get(first.email)![0]);

    const fr = messages("fr");
    const { confirm, result } = await confirmLink(decline);
    assert(shows(confirm, fr.pages.confirmDecline.heading), confirm.html);
    assertEquals(formFields(confirm.html).action, "decline");
    assertEquals(result.status, 200);
    assert(shows(result, fr.pages.declined.heading), result.html);

    const invitations = await invitationsOf(t.sql, offerId);
    assertEquals(invitations.map((i) => [i.patient_id, i.status]), [
      [first.patientId, "declined"],
      [second.patientId, "sent"],
    ]);
    assert(invitations[0].responded_at instanceof Date);
    const entries = await t.sql`
      select status from public.waitlist where id in ${t.sql([first.waitlistId])}`;
    assertEquals(entries.map((e) => e.status), ["active"]);
    assertEquals((await offerRow(t.sql, offerId)).status, "open");
    assertEquals((await appointmentsOf(t.sql, clinic)).length, 1, "nothing booked");
    const responses = (await logsOf(t.sql, clinic, offerId)).filter((l) =>
      l.trigger_type === "response"
    );
    assertEquals(responses.map((l) => [l.invitation_id, l.details.answer]), [
      [invitations[0].id, "decline"],
    ]);
  } finally {
    await t.done();
  }
});

Deno.test("a 429 with retry-after is waited out in the same run and each invitee gets exactly one email", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 3 });
    await addFault({ action: "status", status: 429, retry_after: 1 });
    const offerId = await cancelAppointment(t.sql, clinic);
    // No cron tick here: the runner itself waits out a retry-after of at most 5 s.
    await waitForEmails(clinic.candidates.map((c) => c.email), { timeoutMs: 8_000 });
    const retried = await assertRetriedOnce(t.sql, clinic, offerId, { throttled: true });
    for (const { log, email } of retried) {
      assertMatch(log.error_message, /429/);
      const pause = Date.parse(email.created_at) - log.created_at.getTime();
      assert(pause >= 1_000, `the email left ${pause} ms after the 429, before its retry-after`);
    }
  } finally {
    await t.done();
  }
});

Deno.test("a 500 is retried after a backoff and each invitee gets exactly one email", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 3 });
    await addFault({ action: "status", status: 500 });
    const offerId = await cancelAppointment(t.sql, clinic);
    // The retry waits 5-10 s of backoff, then for pg_cron's drain, which runs every minute:
    // the loop simulates the cron tick with jobs.drain('waitlist') (it wakes the worker only
    // once the retry is due).
    await waitForEmails(clinic.candidates.map((c) => c.email), {
      timeoutMs: 20_000,
      intervalMs: 250,
      tick: () => cronTick(t.sql),
    });
    const retried = await assertRetriedOnce(t.sql, clinic, offerId);
    for (const { log, email } of retried) {
      assertMatch(log.error_message, /500/);
      const pause = Date.parse(email.created_at) - log.created_at.getTime();
      assert(pause >= 5_000, `the retry came ${pause} ms after the 500, inside the backoff`);
    }
  } finally {
    await t.done();
  }
});

/** Asserts the wave's job succeeded at its first attempt with one email per invitee. */
async function assertSentOnceInOneAttempt(sql: Sql, clinic: Clinic, offerId: string) {
  const job = await waitForJob(() => waveJob(sql, offerId), {
    timeoutMs: RESEND_TIMEOUT_MS * 4 + 10_000,
  });
  assertEquals([job.state, job.attempts], ["succeeded", 1]);
  const emails = await emailsOf(clinic.candidates.map((c) => c.email));
  const invitations = await invitationsOf(sql, offerId);
  assertEquals(invitations.length, clinic.candidates.length);
  return invitations.map((invitation) => {
    const email = only(emails.get(invitation.email), invitation.email);
    assertEquals(
      [invitation.status, invitation.send_attempts, invitation.email_id, invitation.pending_token],
      ["sent", 1, email.id, null],
    );
    return email;
  });
}

Deno.test("a Resend call that hangs is sent again identically after the timeout, one email per invitee", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 3 });
    await addFault({ action: "hang" });
    const cancelledAt = Date.now();
    const offerId = await cancelAppointment(t.sql, clinic);
    // The client gives up after RESEND_TIMEOUT_MS and re-sends the same request, same key.
    const emails = await assertSentOnceInOneAttempt(t.sql, clinic, offerId);
    for (const email of emails) {
      const waited = Date.parse(email.created_at) - cancelledAt;
      assert(waited >= RESEND_TIMEOUT_MS, `sent ${waited} ms after the cancellation`);
    }
  } finally {
    await t.done(); // also lets the hanging call go
  }
});

Deno.test("a Resend call that answers after the client gave up is not sent again by the re-send", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 3 });
    // The stand-in sends the emails but answers after the client's timeout: the identical
    // re-send meets the same idempotency key and gets the stored answer back.
    await addFault({ action: "delay", delay_ms: RESEND_TIMEOUT_MS + 1_000 });
    const cancelledAt = Date.now();
    const offerId = await cancelAppointment(t.sql, clinic);
    const emails = await assertSentOnceInOneAttempt(t.sql, clinic, offerId);
    for (const email of emails) {
      // Stored by the first, late call.
      const late = Date.parse(email.created_at) - cancelledAt;
      assert(late >= RESEND_TIMEOUT_MS + 1_000, `stored ${late} ms after the cancellation`);
    }
  } finally {
    await t.done();
  }
});

/*
 * Two offers' emails share one batch request. The stand-in answers it only after the client
 * gave up, but stores it: Resend may have sent. The sender re-sends the identical request (same
 * emails, same key) until it gets a definite answer, so Resend replays its first answer and
 * nothing is sent twice, even though each job alone would have had a different key.
 */
Deno.test("a batch answered after the client gave up is re-sent identically and sent once", async () => {
  const t = await startWaitlistTest();
  try {
    const [a, b] = [await t.clinic({ candidates: 2 }), await t.clinic({ candidates: 1 })];
    const recipients = [...a.candidates, ...b.candidates].map((c) => c.email);
    await addFault({ action: "delay", delay_ms: RESEND_TIMEOUT_MS + 1_000 });
    // Both cancellations in one transaction: one wake-up, one run, one batch request.
    const [offerA, offerB] = await cancelAppointments(t.sql, [a, b]);
    for (const id of [offerA, offerB]) {
      const job = await waitForJob(() => waveJob(t.sql, id), {
        timeoutMs: RESEND_TIMEOUT_MS * 3 + 10_000,
      });
      assertEquals([job.state, job.attempts], ["succeeded", 1]);
    }
    const emails = await emailsOf(recipients);
    assertEquals(
      Object.fromEntries(recipients.map((r) => [r, emails.get(r)?.length])),
      Object.fromEntries(recipients.map((r) => [r, 1])),
      "one email per invitee",
    );
    const sent = [...await invitationsOf(t.sql, offerA), ...await invitationsOf(t.sql, offerB)];
    assertEquals(sent.map((i) => i.status), ["sent", "sent", "sent"]);
  } finally {
    await t.done();
  }
});

Deno.test("a refusal for good (422) marks the invitations failed and the job is not retried", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 3 });
    await addFault({ action: "status", status: 422, name: "validation_error" });
    const offerId = await cancelAppointment(t.sql, clinic);
    const job = await waitForJob(() => waveJob(t.sql, offerId));
    // The handler records the refusal and ends the job: it succeeds after one attempt.
    assertEquals([job.state, job.attempts], ["succeeded", 1]);
    assertEquals([job.result.sent, job.result.refused], [0, 3]);
    const history = await t.sql`
      select to_state::text from jobs.job_events where job_id = ${job.id} order by id`;
    assertEquals(history.map((e) => e.to_state), ["waiting", "running", "succeeded"]);

    const invitations = await invitationsOf(t.sql, offerId);
    assertEquals(invitations.length, 3);
    for (const invitation of invitations) {
      assertEquals(
        [
          invitation.status,
          invitation.email_id,
          invitation.pending_token,
          invitation.send_attempts,
        ],
        ["failed", null, null, 1],
      );
      assertMatch(invitation.last_error, /422 validation_error/);
    }
    const logs = (await logsOf(t.sql, clinic, offerId)).filter((l) =>
      l.trigger_type === "invitation_email"
    );
    assertEquals(
      logs.map((l) => [l.status, l.details.permanent, l.details.invitation_status]),
      invitations.map(() => ["error", true, "failed"]),
    );
    const emails = await emailsOf(clinic.candidates.map((c) => c.email));
    assertEquals([...emails.values()].flat(), [], "the refused emails were never stored");
  } finally {
    await t.done();
  }
});

Deno.test("of 50 simultaneous confirmations exactly one books the slot and one confirmation is sent", async () => {
  const t = await startWaitlistTest({ wave_size: 50 });
  try {
    const clinic = await t.clinic({ candidates: 50 });
    const offerId = await cancelAppointment(t.sql, clinic);
    const recipients = clinic.candidates.map((c) => c.email);
    const emails = await waitForEmails(recipients, { timeoutMs: 20_000 });
    assertEquals((await invitationsOf(t.sql, offerId)).length, 50);
    const accepts = recipients.map((r) => invitationLinks(emails.get(r)![0]).accept);

    const pages = await Promise.all(
      accepts.map((url) => postForm(url, { token: tokenOf(url), action: "accept" })),
    );
    const fr = messages("fr");
    const winners = pages.flatMap((page, i) => page.status === 200 ? [i] : []);
    assertEquals(winners.length, 1, `statuses: ${pages.map((p) => p.status)}`);
    assert(shows(pages[winners[0]], fr.pages.booked.heading));
    const losers = pages.filter((page) => page.status === 409);
    assertEquals(losers.length, 49);
    for (const page of losers) assert(shows(page, fr.pages.alreadyTaken.heading), page.html);

    const winner = clinic.candidates[winners[0]];
    const booked = await t.sql`
      select * from public.appointments
      where practitioner_id = ${clinic.practitionerId} and status <> 'cancelled'`;
    assertEquals(booked.map((a) => [a.patient_id, a.starts_at]), [
      [winner.patientId, clinic.startsAt],
    ]);
    const invitations = await invitationsOf(t.sql, offerId);
    assertEquals(invitations.filter((i) => i.status === "accepted").length, 1);
    assertEquals(invitations.filter((i) => i.status === "withdrawn").length, 49);

    await waitForEmails([winner.email], {
      filter: (e) => e.subject === bookingSubject(clinic, "fr"),
    });
    const job = await waitForJob(() => bookingJob(t.sql, booked[0].id));
    assertEquals(job.state, "succeeded");
    const after = await emailsOf(recipients);
    const confirmations = [...after.values()].flat().filter((e) =>
      e.subject === bookingSubject(clinic, "fr")
    );
    assertEquals(confirmations.map((e) => e.to), [[winner.email]]);
  } finally {
    await t.done();
  }
});

Deno.test("monitor-waitlist-system answers the service role with statistics and refuses anonymous callers", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const offerId = await cancelAppointment(t.sql, clinic);
    await waitForEmails(clinic.candidates.map((c) => c.email));
    await waitForJob(() => waveJob(t.sql, offerId));

    const url = `${Deno.env.get("SUPABASE_URL")}/functions/v1/monitor-waitlist-system`;
    const res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")}` },
    });
    assertEquals(res.status, 200);
    assertMatch(res.headers.get("content-type") ?? "", /application\/json/);
    const stats = await res.json();
    for (const key of ["offers", "invitations", "last_24h", "queue", "repaired"]) {
      assert(key in stats, `the answer has ${key}: ${JSON.stringify(stats)}`);
    }
    assertEquals(stats.repaired, { offers_opened: 0, waves_requeued: 0, queue_woken: false });
    assertEquals(stats.queue.queue, "waitlist");
    // Its counts are the tables' (which hold this test's two invitations, at least).
    const counts = await t.sql`
      select status, count(*)::int as n from public.slot_offer_invitations group by status`;
    for (const { status, n } of counts) assertEquals(stats.invitations[status], n, status);
    assert(stats.invitations.sent >= 2, JSON.stringify(stats.invitations));
    assert(stats.offers.open >= 1, JSON.stringify(stats.offers));
    assert(stats.last_24h.cancellations >= 1, JSON.stringify(stats.last_24h));

    for (const authorization of [undefined, `Bearer ${Deno.env.get("SUPABASE_ANON_KEY")}`]) {
      const denied = await fetch(url, {
        method: "POST",
        headers: authorization ? { authorization } : {},
      });
      assertEquals(denied.status, 401, authorization ?? "no key");
      assertEquals((await denied.json()).error.code, "unauthorized");
    }
  } finally {
    await t.done();
  }
});
