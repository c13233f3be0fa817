/**
 * The links in invitation emails, on the real local platform: opening one (GET, or HEAD as mail
 * scanners do) only shows a page; forged, expired, reused and malformed links, other methods,
 * withdrawn offers and patients busy at that time each get their page and status, and change
 * nothing.
 *
 * Every test has a clinic of its own (tests/_support/clinic.ts): its invitations are real, sent
 * by `process-cancellation` through the Resend stand-in.
 */
import { assert, assertEquals } from "../_support/assert.ts";
import {
  appointmentsOf,
  bookingJob,
  cancelAndInvite,
  confirmLink,
  formFields,
  invitationsOf,
  offerRow,
  openLink,
  postForm,
  RESPONSE_URL,
  shows,
  snapshot,
  startWaitlistTest,
  tokenOf,
  waitForJob,
} from "../_support/clinic.ts";
import { messages } from "../../supabase/functions/_shared/waitlist/i18n.ts";
import { invitationResponseHandler } from "../../supabase/functions/_shared/waitlist/response_handler.ts";
import { serviceClient } from "../../supabase/functions/_shared/runtime/client.ts";

const fr = messages("fr");

/** A link to the response page with these query parameters. */
function link(params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  return query ? `${RESPONSE_URL}?${query}` : RESPONSE_URL;
}

/** A well-formed token that no invitation has: 32 random bytes in base64url. */
function forgedToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

Deno.test("opening a link with GET or HEAD changes nothing", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    const before = await snapshot(t.sql, clinic, offerId);

    for (const url of links.flatMap((l) => [l.accept, l.decline])) {
      const get = await openLink(url);
      assertEquals(get.status, 200, url);
      assertEquals(formFields(get.html), {
        token: tokenOf(url),
        action: new URL(url).searchParams.get("action")!,
      });
      // The local gateway passes on only the methods Supabase documents for Edge Functions
      // (GET, POST, PUT, PATCH, DELETE, OPTIONS) and answers HEAD 405 itself: the function
      // never sees it. Its own answer to HEAD is checked in the next test.
      const head = await openLink(url, "HEAD");
      assertEquals([head.status, head.html], [405, ""], `HEAD ${url}`);
    }

    assertEquals(await snapshot(t.sql, clinic, offerId), before);
    const invitations = await invitationsOf(t.sql, offerId);
    assertEquals(invitations.map((i) => i.status), ["sent", "sent"]);
  } finally {
    await t.done();
  }
});

Deno.test("handle-invitation-response answers HEAD with the status and headers of GET and no body", async () => {
  // The gateway refuses HEAD (previous test), so the function's handler runs in this process,
  // on the platform's database through its RPC endpoint, as the deployed function does.
  const handler = invitationResponseHandler(serviceClient({
    SUPABASE_URL: Deno.env.get("SUPABASE_URL")!,
    SUPABASE_SERVICE_ROLE_KEY: Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
  }));
  const compare = async (url: string, status: number) => {
    const get = await handler(new Request(url));
    const head = await handler(new Request(url, { method: "HEAD" }));
    const body = await get.text();
    assertEquals([get.status, head.status], [status, status], url);
    assert(body.includes("<html"), `GET ${url} has a page`);
    assertEquals(head.body, null, `HEAD ${url} has no body`);
    assertEquals([...head.headers], [...get.headers]);
  };
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    const before = await snapshot(t.sql, clinic, offerId);
    for (const url of links.flatMap((l) => [l.accept, l.decline])) await compare(url, 200);
    await compare(link({ token: forgedToken(), action: "accept" }), 404);
    await compare(link({ token: "short", action: "accept" }), 400);
    assertEquals(await snapshot(t.sql, clinic, offerId), before);

    const { result } = await confirmLink(links[0].accept);
    assertEquals(result.status, 200);
    await compare(links[0].accept, 409); // already answered
    await compare(links[1].accept, 409); // already taken
    const booked = await offerRow(t.sql, offerId);
    await waitForJob(() => bookingJob(t.sql, booked.filled_appointment_id));
  } finally {
    await t.done();
  }
});

Deno.test("a forged well-formed token shows the not-found page and changes nothing", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 1 });
    const { offerId } = await cancelAndInvite(t.sql, clinic);
    const before = await snapshot(t.sql, clinic, offerId);
    const token = forgedToken();
    assertEquals(token.length, 43);

    const get = await openLink(link({ token, action: "accept" }));
    assertEquals(get.status, 404);
    assert(shows(get, fr.pages.unknown.heading), get.html);
    const post = await postForm(link({ token, action: "accept" }), { token, action: "accept" });
    assertEquals(post.status, 404);
    assert(shows(post, fr.pages.unknown.heading), post.html);

    assertEquals(await snapshot(t.sql, clinic, offerId), before);
  } finally {
    await t.done();
  }
});

Deno.test("an expired invitation shows the expired page and a POST on it books nothing", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    const [expired, valid] = await invitationsOf(t.sql, offerId);
    await t.sql`
      update public.slot_offer_invitations set expires_at = now() - interval '1 minute'
      where id = ${expired.id}`;

    const get = await openLink(links[0].accept);
    assertEquals(get.status, 410);
    assert(shows(get, fr.pages.expired.heading), get.html);
    const post = await postForm(links[0].accept, {
      token: tokenOf(links[0].accept),
      action: "accept",
    });
    assertEquals(post.status, 410);
    assert(shows(post, fr.pages.expired.heading), post.html);

    // pg_cron's waitlist-expire may mark the invitation expired meanwhile; nothing else moves.
    const [after] = await t.sql`
      select status, responded_at from public.slot_offer_invitations where id = ${expired.id}`;
    assert(["sent", "expired"].includes(after.status), after.status);
    assertEquals(after.responded_at, null);
    assertEquals((await appointmentsOf(t.sql, clinic)).length, 1, "only the cancelled one");
    assertEquals((await offerRow(t.sql, offerId)).status, "open");
    const [entry] = await t.sql`
      select status from public.waitlist where id = ${clinic.candidates[0].waitlistId}`;
    assertEquals(entry.status, "active");
    // The other invitation still works.
    const other = await openLink(links[1].accept);
    assertEquals([other.status, valid.status], [200, "sent"]);
  } finally {
    await t.done();
  }
});

Deno.test("a reused link shows it was already answered and books no second appointment", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    const { accept, decline } = links[0];
    const { result } = await confirmLink(accept);
    assertEquals(result.status, 200);
    assert(shows(result, fr.pages.booked.heading), result.html);
    // The confirmation email is recorded on the invitation: let it go before the snapshot.
    const [appointmentId] = await t.sql`
      select filled_appointment_id as id from public.appointment_slot_offers where id = ${offerId}`;
    const job = await waitForJob(() => bookingJob(t.sql, appointmentId.id));
    assertEquals(job.state, "succeeded");
    const booked = await snapshot(t.sql, clinic, offerId);
    assertEquals(booked.appointments.length, 2);

    const again = await postForm(accept, { token: tokenOf(accept), action: "accept" });
    assertEquals(again.status, 409);
    assert(shows(again, fr.pages.alreadyAnswered.heading), again.html);
    assert(shows(again, fr.pages.alreadyAnswered.accepted), again.html);
    const reopened = await openLink(accept);
    assertEquals(reopened.status, 409);
    const changedMind = await postForm(decline, { token: tokenOf(decline), action: "decline" });
    assertEquals(changedMind.status, 409);
    assert(shows(changedMind, fr.pages.alreadyAnswered.accepted), changedMind.html);

    const after = await snapshot(t.sql, clinic, offerId);
    assertEquals(after, booked, "the second answers changed nothing");
    assertEquals(after.invitations[0].status, "accepted");
  } finally {
    await t.done();
  }
});

Deno.test("malformed links show the invalid-link page and change nothing", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 1 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    const token = tokenOf(links[0].accept);
    const before = await snapshot(t.sql, clinic, offerId);

    const cases: Record<string, Record<string, string>> = {
      "a token too short": { token: token.slice(0, 42), action: "accept" },
      "a token too long": { token: `${token}A`, action: "accept" },
      "a token with bad characters": { token: `${token.slice(0, 42)}.`, action: "accept" },
      "no token": { action: "accept" },
      "no action": { token },
      'the action "maybe"': { token, action: "maybe" },
      "nothing at all": {},
    };
    for (const [what, params] of Object.entries(cases)) {
      const get = await openLink(link(params));
      assertEquals(get.status, 400, `GET with ${what}`);
      assert(shows(get, fr.pages.invalid.heading), get.html);
      const post = await postForm(RESPONSE_URL, params);
      assertEquals(post.status, 400, `POST with ${what}`);
      assert(shows(post, fr.pages.invalid.heading), post.html);
    }
    // The form's fields win over the link's: a bad action posted to a good link is refused.
    const overridden = await postForm(links[0].accept, { token, action: "maybe" });
    assertEquals(overridden.status, 400);

    assertEquals(await snapshot(t.sql, clinic, offerId), before);
  } finally {
    await t.done();
  }
});

Deno.test("methods other than GET, HEAD and POST are refused with 405", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 1 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    const before = await snapshot(t.sql, clinic, offerId);
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const res = await fetch(links[0].accept, { method });
      await res.body?.cancel();
      assertEquals(res.status, 405, method);
      assertEquals(res.headers.get("allow"), "GET, HEAD, POST");
    }
    assertEquals(await snapshot(t.sql, clinic, offerId), before);
  } finally {
    await t.done();
  }
});

Deno.test("the links of a restored appointment say the slot is no longer available", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    await t
      .sql`update public.appointments set status = 'confirmed' where id = ${clinic.appointmentId}`;
    const withdrawn = await snapshot(t.sql, clinic, offerId);
    assertEquals(withdrawn.offer.status, "withdrawn");
    assertEquals(withdrawn.invitations.map((i) => i.status), ["withdrawn", "withdrawn"]);

    for (const url of links.flatMap((l) => [l.accept, l.decline])) {
      const page = await openLink(url);
      assertEquals(page.status, 410, url);
      assert(shows(page, fr.pages.withdrawn.heading), page.html);
    }
    const post = await postForm(links[0].accept, {
      token: tokenOf(links[0].accept),
      action: "accept",
    });
    assertEquals(post.status, 410);
    assert(shows(post, fr.pages.withdrawn.heading), post.html);
    assertEquals(await snapshot(t.sql, clinic, offerId), withdrawn);
    assertEquals(
      (await appointmentsOf(t.sql, clinic)).map((a) => [a.patient_id, a.status]),
      [[clinic.cancellingPatientId, "confirmed"]],
    );
  } finally {
    await t.done();
  }
});

Deno.test("a patient booked elsewhere at that time since the invitation is told so, and nothing is booked", async () => {
  const t = await startWaitlistTest();
  try {
    const clinic = await t.clinic({ candidates: 2 });
    const { offerId, links } = await cancelAndInvite(t.sql, clinic);
    // The first candidate books another practitioner at an overlapping time, at the desk.
    const [other] = await t.sql`
      insert into public.practitioners (full_name) values (${`Dr Desk ${clinic.runId}`})
      returning id`;
    await t.sql`
      insert into public.appointments
        (patient_id, practitioner_id, appointment_type_id, starts_at, ends_at)
      values (${clinic.candidates[0].patientId}, ${other.id}, ${clinic.appointmentTypeId},
              ${new Date(clinic.startsAt.getTime() + 10 * 60_000)},
              ${new Date(clinic.endsAt.getTime() + 10 * 60_000)})`;
    const before = await snapshot(t.sql, clinic, offerId);

    const { result } = await confirmLink(links[0].accept);
    assertEquals(result.status, 409);
    assert(shows(result, fr.pages.timeConflict.heading), result.html);
    const after = await snapshot(t.sql, clinic, offerId);
    assertEquals(
      { ...after, logs: 0 },
      { ...before, logs: 0 },
      "no appointment, the invitation and the offer still open",
    );
    assertEquals(after.logs, before.logs + 1, "the refusal is logged");

    // The slot is still there for the next candidate.
    const next = await confirmLink(links[1].accept);
    assertEquals(next.result.status, 200);
    assert(shows(next.result, fr.pages.booked.heading), next.result.html);
  } finally {
    await t.done();
  }
});
