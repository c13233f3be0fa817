/**
 * The waitlist's demo in the dev command: the statement that cancels the next demo appointment
 * (the trigger opens a slot offer to the waitlist), what to do in the inbox, and, when the
 * clinic is inside its quiet hours, the statement that turns them off first (the first wave
 * would otherwise wait for their end, unless the offer closes before).
 */
import type { DemoContext, DemoText, FlowDemo } from "./demo.ts";

/**
 * How far ahead the demo's appointment must start: the offer cutoff (2 hours by default) plus
 * an hour, so that the offer stays open while someone clicks through the emails.
 */
export const DEMO_LEAD = "3 hours";

/** Cancels the next demo appointment: the trigger opens a slot offer to the waitlist. */
export const CANCEL_NEXT_APPOINTMENT = "update appointments set status = 'cancelled' " +
  "where id = (select id from appointments where status = 'confirmed' " +
  `and starts_at > now() + interval '${DEMO_LEAD}' order by starts_at limit 1);`;

/** Turns the waitlist's quiet hours off, so that invitations go out at any hour. */
export const QUIET_HOURS_OFF =
  "update waitlist_settings set quiet_hours_start = null, quiet_hours_end = null;";

/** What the demo probe reads: the next demo appointment and the clinic's quiet hours now. */
interface DemoState {
  time_zone: string;
  clinic_time: string;
  quiet_hours: string | null;
  held_back: boolean | null;
  first_wave_at: string | null;
  patient: string | null;
  practitioner: string | null;
  starts: string | null;
}

/** The demo probe: the appointment the printed statement will cancel, and the quiet hours. */
async function probe({ sql }: DemoContext): Promise<DemoState | undefined> {
  const [demo] = await sql<DemoState[]>`
    select s.clinic_time_zone as time_zone,
           to_char(now() at time zone s.clinic_time_zone, 'HH24:MI') as clinic_time,
           to_char(s.quiet_hours_start, 'HH24:MI') || '–' || to_char(s.quiet_hours_end, 'HH24:MI')
             as quiet_hours,
           first_wave.at > now() as held_back,
           to_char(first_wave.at at time zone s.clinic_time_zone, 'Dy HH24:MI') as first_wave_at,
           next.patient, next.practitioner,
           to_char(next.starts_at at time zone s.clinic_time_zone, 'Dy DD Mon "at" HH24:MI')
             as starts
    from waitlist_settings s
    left join lateral (
      select a.starts_at, p.first_name || ' ' || p.last_name as patient, d.full_name as practitioner
      from appointments a
      join patients p on p.id = a.patient_id
      join practitioners d on d.id = a.practitioner_id
      where a.status = 'confirmed' and a.starts_at > now() + ${DEMO_LEAD}::interval
      order by a.starts_at limit 1
    ) next on true
    cross join lateral (
      select waitlist_internal.after_quiet_hours(now(), next.starts_at - s.offer_cutoff, s) as at
    ) first_wave`;
  return demo;
}

/** How to try the waitlist now, given the probe's answer and the inbox's address. */
export function waitlistDemoText(demo: DemoState | undefined, inboxUrl: string): string {
  if (!demo?.starts) {
    return `Try the waitlist: no confirmed demo appointment starts more than ${DEMO_LEAD} from now
(the demo data covers the two weeks after it was loaded). For new demo data, restart with:
  bash scripts/dev.sh --reset
`;
  }
  const steps = [
    `Cancel the next demo appointment more than ${DEMO_LEAD} ahead (now ${demo.patient}'s,
     ${demo.starts}, with ${demo.practitioner}):
       ${CANCEL_NEXT_APPOINTMENT}`,
    `Open the inbox, ${inboxUrl}/, where the invitations appear within a second or two,
     each in its patient's language. Open one, click Accept (Accepter in French) and confirm
     on the page that opens: the slot is booked, and the confirmation email appears in the inbox.`,
  ];
  if (demo.held_back) {
    steps.unshift(
      `It is ${demo.clinic_time} at the clinic (${demo.time_zone}), inside the quiet hours
     (${demo.quiet_hours}): the first invitations would wait until ${demo.first_wave_at}.
     For the demo, turn the quiet hours off first:
       ${QUIET_HOURS_OFF}`,
    );
  }
  return `Try the waitlist, in psql:
${steps.map((step, i) => `  ${i + 1}. ${step}`).join("\n")}
`;
}

/** The waitlist's demo. */
export const waitlistDemo: FlowDemo = {
  flow: "waitlist",
  async run(ctx: DemoContext): Promise<DemoText> {
    return { tryIt: waitlistDemoText(await probe(ctx), ctx.platform.standIns.resend.url) };
  },
};
