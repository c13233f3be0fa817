/**
 * The lock order of the waitlist under a patient who clicks fast: accept, accept again and
 * decline on one invitation, through the real `handle-invitation-response` function over HTTP,
 * while the booking-email job's SQL (`waitlist_booking_email`, then
 * `waitlist_record_booking_email`, as the job calls them) runs on the same invitation. Repeated
 * 200 times: no answer is a 5xx, no job call fails, and the Postgres log shows no deadlock.
 *
 * Each round has an offer and an invitation of its own (made in SQL with a known link token),
 * on a clinic of its own (tests/_support/waitlist_race.ts).
 */
import postgres from "postgres";
import { platformConfig } from "../../scripts/platform/config.ts";
import { postgresLogPath } from "../../scripts/platform/postgres.ts";
import { assert, assertEquals } from "../_support/assert.ts";
import {
  createRaceClinic,
  type RaceInvitation,
  raceInvitation,
} from "../_support/waitlist_race.ts";

const ROUNDS = 200;
const RESPONSE_URL = `${Deno.env.get("SUPABASE_URL")}/functions/v1/handle-invitation-response`;

/** Posts the confirmation form of an answer, as the patient's browser does. */
async function answer(token: string, action: "accept" | "decline"): Promise<number> {
  const res = await fetch(RESPONSE_URL, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, action }).toString(),
  });
  await res.body?.cancel();
  return res.status;
}

/** What the booking-email job does once it has sent the email: read, then record. */
async function bookingEmailJob(sql: postgres.Sql, invitation: RaceInvitation, attempt: number) {
  const [{ data }] = await sql`
    select public.waitlist_booking_email(${invitation.id}) as data`;
  assertEquals(data.state, "booked", `the booking email of invitation ${invitation.id}`);
  await sql`
    select public.waitlist_record_booking_email(
      ${invitation.id}, ${`race-${invitation.id}-${attempt}`}, null, ${attempt})`;
}

/** The size of the Postgres log now, to read what is written after. */
async function logSize(path: string): Promise<number> {
  return (await Deno.stat(path)).size;
}

/** What the Postgres log gained since `from` bytes. */
async function logSince(path: string, from: number): Promise<string> {
  return new TextDecoder().decode((await Deno.readFile(path)).subarray(from));
}

Deno.test(`accept, accept again and decline race the booking-email job ${ROUNDS} times without a deadlock`, async () => {
  const url = Deno.env.get("TEST_DB_URL");
  assert(url, "TEST_DB_URL is set (run the tests with scripts/test.sh)");
  // Two lanes of job calls and the set-up at once.
  const sql = postgres(url, { max: 6, onnotice: () => {} });
  const logPath = await postgresLogPath(platformConfig("test"));
  const logStart = await logSize(logPath);
  try {
    const clinic = await createRaceClinic(sql);
    const statuses: number[] = [];
    const jobErrors: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const invitation = await raceInvitation(sql, clinic, round);
      const first = await answer(invitation.token, "accept");
      assertEquals(first, 200, `round ${round}: the first acceptance books the slot`);
      // The patient presses Accept again and Decline; the job records its email meanwhile.
      const job = async (lane: number) => {
        for (let attempt = 1; attempt <= 2; attempt++) {
          try {
            await bookingEmailJob(sql, invitation, lane * 2 + attempt);
          } catch (error) {
            jobErrors.push(`round ${round}, lane ${lane}: ${(error as Error).message}`);
          }
        }
      };
      const patient = async () => [
        await answer(invitation.token, "accept"),
        await answer(invitation.token, "decline"),
      ];
      const [answers] = await Promise.all([patient(), job(0), job(1)]);
      statuses.push(...answers);
      const [row] = await sql`
        select status from public.slot_offer_invitations where id = ${invitation.id}`;
      assertEquals(row.status, "accepted", `round ${round}: the invitation stays accepted`);
    }
    const serverErrors = statuses.filter((s) => s >= 500);
    assertEquals(serverErrors, [], "no answer of the response page is a 5xx");
    assertEquals(
      statuses.filter((s) => s !== 409),
      [],
      "every later answer shows already_answered (409)",
    );
    assertEquals(jobErrors, [], "every call of the booking-email job succeeds");
    const log = await logSince(logPath, logStart);
    assertEquals(
      log.split("\n").filter((line) => line.includes("deadlock detected")),
      [],
      "the Postgres log shows no deadlock",
    );
  } finally {
    await sql.end();
  }
});
