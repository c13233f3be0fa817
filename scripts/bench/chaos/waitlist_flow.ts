/**
 * The chaos check's `waitlist` scenario: a clinic with a waitlist (scripts/bench/waitlist_seed.ts),
 * `cancellations` appointments cancelled in one transaction, each opening an offer whose first
 * wave invites up to 5 patients; while the work drains, patients accept invitations over HTTP
 * (the confirmation form's POST), one per offer and per address, so booking confirmations are
 * sent too.
 *
 * Items are the invitations created plus the bookings made. An invitation is delivered when the
 * Resend stand-in accepted an email carrying its link token (matched by the token's SHA-256,
 * the invitation's `token_hash`); a booking, when the stand-in accepted a booking email
 * (tag `flow=waitlist_booking`) to its patient: the accepting patients have distinct addresses.
 * Twice: more than one such email for one invitation or booking.
 */
import { sleep } from "../cli.ts";
import { sha256Hex } from "../../../supabase/functions/_shared/runtime/sha256.ts";
import {
  bookedAppointments,
  loadCalendar,
  loadWaitlist,
  type Scenario,
  TZ,
} from "../waitlist_seed.ts";
import type { ChaosFlow, Tally } from "./flow.ts";
import type { StoredEmail } from "../../platform/stand_ins/resend/email.ts";

/** Options of {@link waitlistFlow}. */
export interface WaitlistFlowOptions {
  cancellations: number;
  /** Waitlist entries of the seeded clinic. */
  waitlist: number;
  /** Invitations to accept (at most one per offer and per address). */
  accept: number;
}

/** The link tokens an email carries (its accept and decline links share one). */
function tokensOf(email: StoredEmail): Set<string> {
  const found = new Set<string>();
  for (const part of [email.text ?? "", email.html ?? ""]) {
    for (const m of part.matchAll(/[?&]token=([A-Za-z0-9_-]{20,})/g)) found.add(m[1]);
  }
  return found;
}

function tagged(email: StoredEmail, flow: string): boolean {
  return (email.tags ?? []).some((t) => t.name === "flow" && t.value === flow);
}

/** How long patients keep answering once the first invitations have arrived. */
const ANSWER_WINDOW_MS = 30_000;

/** The waitlist scenario. */
export function waitlistFlow(opts: WaitlistFlowOptions): ChaosFlow {
  const clinic: Scenario = {
    prefix: "chaos",
    types: 8,
    practitioners: 12,
    patients: Math.max(100, Math.round(opts.waitlist * 0.6)),
    entries: opts.waitlist,
  };
  let toCancel: string[] = [];
  let offerIds: string[] = [];
  /** HTTP answers to the patients' POSTs, by status. */
  const answers = new Map<string, number>();
  /** Token → the invitation it answers, for the emails seen so far. */
  const hashOf = new Map<string, string>();

  /** The link tokens of invitation emails not seen before (their hashes are remembered). */
  async function newTokens(emails: StoredEmail[]) {
    const fresh: string[] = [];
    for (const email of emails) {
      if (!tagged(email, "waitlist_invitation")) continue;
      for (const token of tokensOf(email)) {
        if (!hashOf.has(token)) {
          hashOf.set(token, await sha256Hex(token));
          fresh.push(token);
        }
      }
    }
    return fresh;
  }

  return {
    name: "waitlist",
    queues: ["waitlist"],

    async prepare({ db }) {
      await db`
        update public.waitlist_settings
        set quiet_hours_start = null, quiet_hours_end = null, clinic_time_zone = ${TZ},
            wave_size = 5, offer_cutoff = '2 hours'`;
      await loadWaitlist(db, clinic);
      await loadCalendar(db, clinic);
      await db`analyze`;
      toCancel = await bookedAppointments(db, clinic.prefix, opts.cancellations);
    },

    async burst({ db }) {
      await db.begin((tx) =>
        tx`update public.appointments set status = 'cancelled' where id = any(${toCancel}::uuid[])`
      );
      const rows = await db`
        select id from public.appointment_slot_offers
        where appointment_id = any(${toCancel}::uuid[])`;
      offerIds = rows.map((r) => r.id as string);
    },

    async meanwhile(ctx, deadline) {
      const { db, platform, resend } = ctx;
      const url = `${platform.cfg.apiUrl}/functions/v1/handle-invitation-response`;
      const usedOffers = new Set<string>();
      const usedAddresses = new Set<string>();
      /** Tokens to POST again: the answer was not definite (5xx, network). */
      let retry: { token: string; offer: string; email: string }[] = [];
      let booked = 0;
      /** Patients answer for ANSWER_WINDOW_MS after the first invitation arrives. */
      let stopAt = deadline;
      while (booked < opts.accept && Date.now() < stopAt) {
        const picks = retry;
        retry = [];
        try {
          const tokens = await newTokens(await resend.list({ limit: 100_000 }));
          if (tokens.length && stopAt === deadline) {
            stopAt = Math.min(deadline, Date.now() + ANSWER_WINDOW_MS);
            ctx.note("waitlist: the first invitations are in; patients answer");
          }
          const hashes = tokens.map((t) => hashOf.get(t)!);
          if (hashes.length) {
            const rows = await db`
              select encode(token_hash, 'hex') as hash, slot_offer_id, lower(email) as email
              from public.slot_offer_invitations
              where token_hash in (select decode(h, 'hex') from unnest(${hashes}::text[]) h)
                and status in ('pending', 'sent')`;
            const byHash = new Map(rows.map((r) => [r.hash as string, r]));
            for (const token of tokens) {
              const row = byHash.get(hashOf.get(token)!);
              if (!row || picks.length + booked >= opts.accept) continue;
              if (usedOffers.has(row.slot_offer_id) || usedAddresses.has(row.email)) continue;
              usedOffers.add(row.slot_offer_id);
              usedAddresses.add(row.email);
              picks.push({ token, offer: row.slot_offer_id, email: row.email });
            }
          }
        } catch (error) {
          // Postgres restarting, say: look again shortly.
          answers.set("lookup failed", (answers.get("lookup failed") ?? 0) + 1);
          ctx.note(`waitlist: patients' lookup failed: ${(error as Error).message}`);
        }
        for (const pick of picks) {
          let status: string;
          try {
            const res = await fetch(url, {
              method: "POST",
              headers: { "content-type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams({ token: pick.token, action: "accept" }).toString(),
            });
            await res.body?.cancel();
            status = String(res.status);
          } catch (error) {
            status = `network: ${(error as Error).message.slice(0, 60)}`;
          }
          answers.set(status, (answers.get(status) ?? 0) + 1);
          if (status === "200") booked++;
          // A 5xx or no answer is not definite: the patient presses again.
          else if (!/^4/.test(status)) retry.push(pick);
        }
        await sleep(300);
      }
      ctx.note(`waitlist: patients stop answering (${booked} booking(s) answered 200)`);
    },

    async tally({ db, resend }): Promise<Tally> {
      const invitations = await db`
        select id, encode(token_hash, 'hex') as hash, status, lower(email) as email
        from public.slot_offer_invitations where slot_offer_id = any(${offerIds}::uuid[])`;
      const emails = await resend.list({ limit: 100_000 });
      const invitationByHash = new Map(invitations.map((i) => [i.hash as string, i]));
      const perInvitation = new Map<string, number>();
      let unmatched = 0;
      const bookingsTo = new Map<string, number>();
      for (const email of emails) {
        if (tagged(email, "waitlist_booking")) {
          for (const to of email.to) {
            const address = to.toLowerCase();
            bookingsTo.set(address, (bookingsTo.get(address) ?? 0) + 1);
          }
          continue;
        }
        const hashes = await Promise.all([...tokensOf(email)].map(sha256Hex));
        const invitation = hashes.length === 1 ? invitationByHash.get(hashes[0]) : undefined;
        if (!invitation) {
          unmatched++;
          continue;
        }
        perInvitation.set(invitation.id, (perInvitation.get(invitation.id) ?? 0) + 1);
      }
      const accepted = invitations.filter((i) => i.status === "accepted");
      const acceptedAddresses = new Set(accepted.map((i) => i.email as string));
      const invitationsDelivered = invitations.filter((i) => perInvitation.has(i.id)).length;
      const invitationsTwice = [...perInvitation.values()].filter((n) => n > 1).length;
      const bookingsDelivered = accepted.filter((i) => bookingsTo.has(i.email)).length;
      const bookingsTwice = accepted.filter((i) => (bookingsTo.get(i.email) ?? 0) > 1).length;
      const strayBookings = [...bookingsTo.keys()].filter((a) => !acceptedAddresses.has(a)).length;
      const [jobs] = await db`
        select count(*) filter (where state = 'dead')::int as dead
        from jobs.jobs where queue = 'waitlist'`;
      const statuses = new Map<string, number>();
      for (const i of invitations) statuses.set(i.status, (statuses.get(i.status) ?? 0) + 1);
      const items = invitations.length + accepted.length;
      const delivered = invitationsDelivered + bookingsDelivered;
      const answerText = [...answers.entries()].map(([s, n]) => `${n} × ${s}`).join(", ");
      return {
        items,
        delivered,
        lost: items - delivered,
        twice: invitationsTwice + bookingsTwice,
        dead: jobs.dead,
        details: [
          `waitlist: ${offerIds.length} offers from ${toCancel.length} cancellations in one ` +
          `transaction; ${invitations.length} invitations (${
            [...statuses.entries()].map(([s, n]) => `${n} ${s}`).join(", ")
          }), ${invitationsDelivered} emailed, ${invitationsTwice} emailed twice; ` +
          `${accepted.length} bookings, ${bookingsDelivered} confirmed by email, ` +
          `${bookingsTwice} confirmed twice.`,
          `waitlist: the stand-in holds ${emails.length} emails; ${unmatched} invitation-like ` +
          `email(s) match no invitation of the run, ${strayBookings} booking email(s) to an ` +
          `address with no booking; patients' POSTs: ${answerText || "none"}.`,
        ],
      };
    },
  };
}
