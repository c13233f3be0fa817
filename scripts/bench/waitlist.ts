/**
 * Waitlist benchmark (a script that prints figures, not a test).
 *
 *   bash scripts/bench.sh waitlist [latency] [burst] [candidates]
 *     [--cancellations 200] [--waitlist 10000] [--spacing 250]
 *     [--burst 200] [--entries 1000000] [--calls 1000] [--nobody 20] [--plans]
 *
 * On a fresh, durable `bench` platform (quiet hours off, the Resend stand-in at its default
 * limit of 5 requests per second) it measures:
 *   1. latency: COMMIT of a cancelling UPDATE → the first invitation email of that cancellation
 *      accepted by the Resend stand-in (its `created_at`), cancellations one after another, with
 *      a waitlist of 10,000 entries;
 *   2. burst: 200 cancellations committed in one transaction → every first-wave email
 *      accepted, against what the rate limit allows, with proof that no email was lost or
 *      sent twice;
 *   3. get_eligible_waitlist_candidates(offer, 5) with 1,000,000 waitlist entries.
 * With no section named, all three run. Ctrl-C stops the platform.
 */
import postgres from "postgres";
import {
  flag,
  header,
  int,
  ms,
  round,
  sections,
  sleep,
  stopOnSignals,
  verdict,
  waitFor,
} from "./cli.ts";
import { type Platform, startPlatform } from "../platform/start.ts";
import { epochMs, latencySummary } from "./stats.ts";
import {
  type ResendControl,
  resendControl,
  type StoredEmail,
} from "../platform/stand_ins/resend/email.ts";
import { sha256Hex } from "../../supabase/functions/_shared/runtime/sha256.ts";
import {
  bookedAppointments,
  H,
  ID,
  loadCalendar,
  loadWaitlist,
  type Scenario,
  TZ,
} from "./waitlist_seed.ts";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const SECTIONS = ["latency", "burst", "candidates"] as const;
type Section = typeof SECTIONS[number];

const run = sections(SECTIONS);

const CANCELLATIONS = flag("cancellations", 200);
const WAITLIST = flag("waitlist", 10_000);
/** Least time between two cancellations of the latency run (see section 1). */
const SPACING_MS = flag("spacing", 250);
const BURST = flag("burst", 200);
const ENTRIES = flag("entries", 1_000_000);
const CALLS = flag("calls", 1000);
/** Offers nobody is available for (Sunday afternoon): the worst case, reported apart. */
const NOBODY = flag("nobody", 20);
/** Print the full plan of every variant tried in section 3. */
const PLANS = Deno.args.includes("--plans");
const LATENCY_WARMUP = 5;
const BURST_WARMUP = 30;

// ---------------------------------------------------------------------------------------------
// Platform, clean-up, small helpers
// ---------------------------------------------------------------------------------------------

let platform: Platform | undefined;
let sql: postgres.Sql | undefined;
let stopping: Promise<void> | undefined;
/** Where the database's notices go while a plan is being captured. */
let noticeSink: string[] | undefined;

function shutdown(): Promise<void> {
  stopping ??= (async () => {
    await sql?.end({ timeout: 2 }).catch(() => {});
    await platform?.stop();
  })();
  return stopping;
}

stopOnSignals(shutdown);

// --- The Resend stand-in's control API ------------------------------------------------------

let resendStandIn: ResendControl | undefined;
/** The control client of the bench platform's Resend stand-in. */
const standIn = () => resendStandIn ??= resendControl(platform!.standIns.resend.url);
const standInStats = () => standIn().stats();
const standInEmail = (id: string) => standIn().get(id);

/** The link tokens an email carries (its accept and decline links share one). */
function tokensOf(email: StoredEmail): Set<string> {
  const found = new Set<string>();
  for (const part of [email.text ?? "", email.html ?? ""]) {
    for (const m of part.matchAll(/[?&]token=([A-Za-z0-9_-]{20,})/g)) found.add(m[1]);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// 1. Latency
// ---------------------------------------------------------------------------------------------

interface OneCancellation {
  offerId: string;
  invitations: number;
  /** COMMIT → first invitation email accepted by the stand-in. */
  latencyMs: number;
  /** COMMIT → the wave's job claimed (wake-up through pg_net and the gateway). */
  claimMs: number;
  /** COMMIT → invitations created (waitlist_open_wave's transaction). */
  waveMs: number;
}

/**
 * Cancels one appointment, waits for its first email (or for its wave to find no candidate)
 * and for the emails to be recorded, and returns the times.
 */
async function cancelOne(conn: postgres.ReservedSql, appointmentId: string) {
  const db = sql!;
  const before = (await standInStats()).emails_stored;
  await conn`begin`;
  await conn`update public.appointments set status = 'cancelled' where id = ${appointmentId}`;
  const [offer] = await conn`
    select id from public.appointment_slot_offers
    where appointment_id = ${appointmentId} and status = 'open'`;
  await conn`commit`;
  const committedAt = epochMs();
  if (!offer) throw new Error(`Cancelling ${appointmentId} opened no offer`);
  const offerId = offer.id as string;

  let polls = 0;
  await waitFor(async () => {
    if ((await standInStats()).emails_stored > before) return true;
    if (++polls % 50 === 0) {
      const [o] = await db`
        select waves_sent, invitation_count from public.appointment_slot_offers
        where id = ${offerId}`;
      if (o.waves_sent > 0 && o.invitation_count === 0) return false;
    }
    return undefined;
  }, `the first email of offer ${offerId}`);
  // The emails are recorded (no invitation pending) before the next cancellation.
  const invitations = await waitFor(
    async () => {
      const rows = await db`
      select email_id, status, created_at from public.slot_offer_invitations
      where slot_offer_id = ${offerId}`;
      return rows.every((r) => r.status !== "pending") ? rows : undefined;
    },
    `the emails of offer ${offerId} to be recorded`,
    { everyMs: 5 },
  );
  if (invitations.length === 0) return { committedAt, result: undefined };

  const emails = await Promise.all(
    invitations.filter((r) => r.email_id).map((r) => standInEmail(r.email_id)),
  );
  const [claim] = await db`
    select min(created_at) as at from jobs.job_events
    where subject = ${"slot_offer:" + offerId} and to_state = 'running'`;
  const first = Math.min(...emails.map((e) => Date.parse(e.created_at)));
  const waveAt = Math.min(...invitations.map((r) => (r.created_at as Date).getTime()));
  const result: OneCancellation = {
    offerId,
    invitations: invitations.length,
    latencyMs: first - committedAt,
    claimMs: (claim.at as Date).getTime() - committedAt,
    waveMs: waveAt - committedAt,
  };
  return { committedAt, result };
}

async function latencySection() {
  const db = sql!;
  const ids = await bookedAppointments(db, "clinic", LATENCY_WARMUP + CANCELLATIONS);
  const conn = await db.reserve();
  const results: OneCancellation[] = [];
  let noCandidate = 0;
  let lastCommit = 0;
  try {
    for (const [i, id] of ids.entries()) {
      // Below the 5 requests/s the sender allows itself, so that each figure is the pipeline's
      // own latency, not a wait behind the previous cancellations' requests.
      await sleep(Math.max(0, lastCommit + SPACING_MS - epochMs()));
      const { committedAt, result } = await cancelOne(conn, id);
      lastCommit = committedAt;
      if (i < LATENCY_WARMUP) continue;
      if (result) results.push(result);
      else noCandidate++;
    }
  } finally {
    conn.release();
  }
  const latency = latencySummary(results.map((r) => r.latencyMs));
  const claim = latencySummary(results.map((r) => r.claimMs));
  const wave = latencySummary(results.map((r) => r.waveMs));
  const sendMs = latencySummary(results.map((r) => r.latencyMs - r.waveMs));
  header(
    `1. LATENCY: COMMIT of the cancelling UPDATE → first invitation email accepted by Resend`,
  );
  console.log(
    `  ${results.length} cancellations one after another (each waits for its emails to be recorded,`,
  );
  console.log(
    `  at most one per ${SPACING_MS} ms), ${int(WAITLIST)} waitlist entries, quiet hours off,`,
  );
  console.log(
    `  ${LATENCY_WARMUP} warm-up cancellations not counted; ${noCandidate} found no candidate.`,
  );
  console.log(
    `  invitations per cancellation: ${
      round(results.reduce((a, r) => a + r.invitations, 0) / results.length, 2)
    } (wave size 5)`,
  );
  console.log(`  p50 / p95 / p99 / max:`);
  console.log(
    `    COMMIT → first email accepted   ${ms(latency)}   target p99 < 1000 ms: ${
      verdict(latency.p99 < 1000)
    }`,
  );
  console.log(
    `    of which COMMIT → job claimed    ${ms(claim)}   (pg_net wake-up, gateway, job_claim)`,
  );
  console.log(
    `    COMMIT → invitations created     ${ms(wave)}   (+ waitlist_open_wave: ranking, tokens)`,
  );
  console.log(
    `    invitations created → accepted   ${ms(sendMs)}   (RPC answer, rendering, Resend call)`,
  );
  return { latency_ms: latency, claim_ms: claim, wave_ms: wave, no_candidate: noCandidate };
}

// ---------------------------------------------------------------------------------------------
// 2. Burst
// ---------------------------------------------------------------------------------------------

/**
 * Cancels `ids` in one transaction and waits until every first wave they open is emailed and
 * recorded. Returns when the transaction committed and the offers it opened.
 */
async function cancelTogether(db: postgres.Sql, ids: string[]) {
  await db.begin((tx) =>
    tx`update public.appointments set status = 'cancelled' where id = any(${ids}::uuid[])`
  );
  const committedAt = epochMs();
  const offerRows = await db`
    select id from public.appointment_slot_offers
    where appointment_id = any(${ids}::uuid[]) and status = 'open'`;
  const offerIds = offerRows.map((r) => r.id as string);
  if (offerIds.length !== ids.length) {
    throw new Error(`${offerIds.length} offers opened, ${ids.length} expected`);
  }
  await waitFor(
    async () => {
      const [s] = await db`
      select count(*) filter (where o.waves_sent >= 1)::int as opened,
             (select count(*) from public.slot_offer_invitations i
              where i.slot_offer_id = any(${offerIds}::uuid[]) and i.status = 'pending')::int
               as pending
      from public.appointment_slot_offers o where o.id = any(${offerIds}::uuid[])`;
      return s.opened === offerIds.length && s.pending === 0 ? true : undefined;
    },
    "every first wave of the cancellations to be emailed and recorded",
    {
      timeoutMs: 180_000,
      everyMs: 50,
    },
  );
  return { committedAt, offerIds };
}

async function burstSection() {
  const db = sql!;
  // Warm up with a small burst: the function starts, and every connection of the gateway's
  // pool opens and compiles the flow's SQL functions (once per connection), as on a running
  // system; a cold start would count against the burst when it runs alone.
  await cancelTogether(db, await bookedAppointments(db, "clinic", BURST_WARMUP));
  const ids = await bookedAppointments(db, "clinic", BURST);
  // A clean stand-in (emails, counters, rate-limit windows), and the sender's own one-second
  // window emptied.
  await standIn().reset();
  const limit = await standIn().rateLimit.get();
  await sleep(1100);

  const { committedAt, offerIds } = await cancelTogether(db, ids);
  await sleep(200); // stray duplicates, if any, would land now
  const stats = await standInStats();

  const invitations = await db`
    select i.id, i.slot_offer_id, i.email, i.status, i.email_id,
           encode(i.token_hash, 'hex') as token_hash
    from public.slot_offer_invitations i
    where i.slot_offer_id = any(${offerIds}::uuid[]) and i.wave = 1`;
  const listed = await standIn().list({ limit: 100_000 });

  // Integrity: every invitation sent once, with its own email, and nothing else sent.
  const byHash = new Map(invitations.map((i) => [i.token_hash as string, i]));
  const emailIds = new Set(invitations.map((i) => i.email_id));
  const notSent = invitations.filter((i) => i.status !== "sent" || !i.email_id).length;
  const emailsPerInvitation = new Map<string, number>();
  let unknownToken = 0;
  let wrongRecipient = 0;
  let idMismatch = 0;
  const recipientSubject = new Map<string, number>();
  for (const email of listed) {
    const tokens = [...tokensOf(email)];
    const hashes = await Promise.all(tokens.map(sha256Hex));
    const invitation = hashes.length === 1 ? byHash.get(hashes[0]) : undefined;
    if (!invitation) {
      unknownToken++;
      continue;
    }
    emailsPerInvitation.set(invitation.id, (emailsPerInvitation.get(invitation.id) ?? 0) + 1);
    if (!email.to.map((t) => t.toLowerCase()).includes(String(invitation.email).toLowerCase())) {
      wrongRecipient++;
    }
    if (invitation.email_id !== email.id) idMismatch++;
    const key = `${invitation.slot_offer_id}|${email.to.join(",")}|${email.subject}`;
    recipientSubject.set(key, (recipientSubject.get(key) ?? 0) + 1);
  }
  const twice = [...emailsPerInvitation.values()].filter((n) => n > 1).length;
  const never = invitations.filter((i) => !emailsPerInvitation.has(i.id)).length;
  const dupRecipientSubject = [...recipientSubject.values()].filter((n) => n > 1).length;

  const accepted = listed.map((e) => Date.parse(e.created_at));
  const firstAt = Math.min(...accepted);
  const lastAt = Math.max(...accepted);
  const elapsedS = (lastAt - committedAt) / 1000;
  const sendingS = (lastAt - firstAt) / 1000;

  // Batch sizes: emails sharing an idempotency key `batch:<hash>` left in one request; an
  // email alone carries its own key.
  const batches = new Map<string, { size: number; at: number }>();
  for (const email of listed) {
    const key = email.idempotency_key?.startsWith("batch:") ? email.idempotency_key : email.id;
    const b = batches.get(key) ?? { size: 0, at: Date.parse(email.created_at) };
    b.size++;
    batches.set(key, b);
  }
  const sizes = new Map<number, number>();
  for (const b of batches.values()) sizes.set(b.size, (sizes.get(b.size) ?? 0) + 1);
  const sizeText = [...sizes.entries()].sort((a, b) => b[0] - a[0])
    .map(([size, n]) => `${n} × ${size}`).join(", ");
  const timeline = [...batches.values()].sort((a, b) => a.at - b.at)
    .map((b) => `${round((b.at - committedAt) / 1000, 2)}s:${b.size}`).join(" ");

  // How the job core ran the 200 first-wave jobs: claims (per function run), retries.
  const subjects = offerIds.map((id) => `slot_offer:${id}`);
  const [jobStats] = await db`
    select count(*) filter (where to_state = 'retrying')::int as retried,
           count(distinct worker) filter (where to_state = 'running')::int as runs,
           coalesce(max(attempt), 0)::int as max_attempt
    from jobs.job_events where subject = any(${subjects})`;
  const claims = await db`
    select created_at, count(*)::int as n from jobs.job_events
    where subject = any(${subjects}) and to_state = 'running'
    group by created_at order by created_at`;
  const claimText = claims
    .map((c) => `${c.n} at ${round(((c.created_at as Date).getTime() - committedAt) / 1000, 2)}s`)
    .join(", ");

  const requests = stats.requests_accepted;
  const allowedEmailsPerS = limit * 100;
  const integrityOk = notSent === 0 && emailIds.size === invitations.length &&
    stats.emails_stored === invitations.length && listed.length === invitations.length &&
    twice === 0 && never === 0 && unknownToken === 0 && wrongRecipient === 0 &&
    idMismatch === 0 && dupRecipientSubject === 0;

  header(
    `2. BURST: ${BURST} cancellations committed in ONE transaction (one UPDATE of ${BURST} rows)`,
  );
  console.log(
    `  stand-in rate limit: ${limit} requests/s per key (sliding 1 s window); sender paces at 5/s`,
  );
  console.log(
    `  first-wave emails: ${listed.length} for ${invitations.length} invitations of ${offerIds.length} offers`,
  );
  console.log(`  COMMIT → first email accepted: ${round((firstAt - committedAt) / 1000, 3)} s`);
  console.log(
    `  COMMIT → every first-wave email accepted: ${round(elapsedS, 3)} s   (first → last email: ${
      round(sendingS, 3)
    } s)`,
  );
  console.log(
    `  emails/s achieved: ${int(listed.length / elapsedS)} over COMMIT → last (${
      int(listed.length / Math.max(sendingS, 1e-3))
    } first → last)   allowed: ${limit} req/s × 100 = ${allowedEmailsPerS} emails/s`,
  );
  console.log(
    `  requests: ${stats.requests_received} received, ${requests} accepted, ${stats.requests_rate_limited} answered 429, ${stats.requests_rejected} rejected, ${stats.requests_faulted} faulted`,
  );
  console.log(
    `  requests/s achieved: ${
      round(requests / elapsedS, 2)
    } (limit ${limit})   utilisation = requests / (limit × elapsed) = ${
      round((100 * requests) / (limit * elapsedS), 1)
    }%`,
  );
  console.log(
    `  fewest requests possible: ${
      Math.ceil(invitations.length / 100)
    } (100 emails each) → at the limit all could be accepted within ${
      round(Math.max(0, Math.ceil(invitations.length / 100 / limit) - 1), 0)
    } s of the first request`,
  );
  console.log(
    `  jobs: ${offerIds.length} first-wave jobs, claimed in ${claims.length} batches by ${jobStats.runs} function run(s): ${claimText}`,
  );
  console.log(
    `        ${jobStats.retried} job attempt(s) failed and retried (429 → retry-after), highest attempt ${jobStats.max_attempt}`,
  );
  console.log(`  batch sizes (emails per request): ${sizeText}`);
  console.log(`  requests over time (s after COMMIT : emails): ${timeline}`);
  console.log(
    `  integrity: ${integrityOk ? "OK" : "FAILED"}`,
  );
  console.log(`    invitations not 'sent' or without email_id: ${notSent}`);
  console.log(`    distinct email_id: ${emailIds.size} of ${invitations.length} invitations`);
  console.log(
    `    emails in the stand-in: ${stats.emails_stored} (= invitations: ${
      stats.emails_stored === invitations.length
    })`,
  );
  console.log(`    invitations emailed twice (by link token): ${twice}; never emailed: ${never}`);
  console.log(
    `    emails whose token matches no invitation: ${unknownToken}; to the wrong address: ${wrongRecipient}; id ≠ recorded email_id: ${idMismatch}`,
  );
  console.log(`    same (offer, recipient, subject) more than once: ${dupRecipientSubject}`);
  return {
    emails: listed.length,
    invitations: invitations.length,
    elapsed_s: round(elapsedS, 3),
    first_to_last_s: round(sendingS, 3),
    emails_per_s: Math.round(listed.length / elapsedS),
    requests,
    rate_limited: stats.requests_rate_limited,
    utilisation_pct: round((100 * requests) / (limit * elapsedS), 1),
    batch_sizes: Object.fromEntries(sizes),
    jobs_retried: jobStats.retried,
    integrity_ok: integrityOk,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. get_eligible_waitlist_candidates with 1,000,000 entries
// ---------------------------------------------------------------------------------------------

/** Section 3's data; `entries` is set when loading (see candidatesSection). */
const CAND: Scenario = {
  prefix: "cand",
  types: 20,
  practitioners: 30,
  patients: Math.max(1000, Math.round(ENTRIES / 4)),
  entries: ENTRIES,
};

/**
 * Offers to time: `n` cancelled appointments of varied types, practitioners, days and times —
 * clinic hours (Monday to Saturday, 08:00–19:30) for the main figure; "nobody" ones on Sunday
 * afternoons, when no window is open, for the case where nobody is eligible.
 */
async function makeOffers(db: postgres.Sql, n: number, kind: "clinic" | "nobody") {
  const { prefix: P, types: T, practitioners: D, patients: NP } = CAND;
  const salt = kind === "clinic" ? 0 : 500;
  const time = kind === "clinic"
    ? `(current_date + d.day) + time '08:00' + (${H("i", 53 + salt)} % 24) * interval '30 minutes'`
    : `(current_date + d.day) + time '14:00'`;
  const day = kind === "clinic"
    ? `(select x from generate_series(1, 40) x
        where extract(isodow from current_date + x) <= 6
        offset ${H("i", 54 + salt)} % 30 limit 1)`
    : `(select x from generate_series(1, 40) x
        where extract(isodow from current_date + x) = 7
        offset ${H("i", 54 + salt)} % 4 limit 1)`;
  const rows = await db.unsafe(`
    with a as (
      insert into public.appointments
        (patient_id, practitioner_id, appointment_type_id, starts_at, ends_at, status,
         cancelled_at, notes)
      select ${ID(P, "p", `1 + ${H("i", 50 + salt)} % ${NP}`)},
             ${ID(P, "d", `1 + ${H("i", 51 + salt)} % ${D}`)},
             ${ID(P, "t", `1 + ${H("i", 52 + salt)} % ${T}`)},
             s.at, s.at + interval '30 minutes', 'cancelled', now(), 'bench:offer:${kind}'
      from generate_series(1, ${n}) i
      cross join lateral (select ${day} as day) d
      cross join lateral (select (${time}) at time zone '${TZ}' as at) s
      returning *
    )
    insert into public.appointment_slot_offers
      (appointment_id, cancelled_patient_id, practitioner_id, appointment_type_id, starts_at,
       ends_at, closes_at)
    select a.id, a.patient_id, a.practitioner_id, a.appointment_type_id, a.starts_at, a.ends_at,
           a.starts_at - interval '2 hours'
    from a
    returning id`);
  return rows.map((r) => r.id as string);
}

async function candidatesSection() {
  const db = sql!;
  const loadStarted = performance.now();
  // The table holds ENTRIES in all (the clinic scenario's entries, when loaded, count).
  const [{ existing }] = await db`select count(*)::int as existing from public.waitlist`;
  CAND.entries = Math.max(0, ENTRIES - existing);
  await loadWaitlist(db, CAND);
  await loadCalendar(db, CAND);
  const loadS = (performance.now() - loadStarted) / 1000;
  // What autovacuum does after a bulk load, done now so that it does not run mid-measurement:
  // statistics, and the visibility map (index-only scans).
  const vacuumStarted = performance.now();
  for (const table of ["waitlist", "waitlist_availability", "patients", "appointments"]) {
    await db.unsafe(`vacuum (analyze) public.${table}`);
  }
  const vacuumS = (performance.now() - vacuumStarted) / 1000;
  const [counts] = await db`
    select (select count(*) from public.waitlist)::int as entries,
           (select count(*) from public.waitlist
            where status = 'active' and consent_automated_notifications)::int as invitable,
           (select count(*) from public.waitlist_availability)::int as windows,
           (select count(*) from public.patients)::int as patients,
           (select count(*) from public.appointments)::int as appointments,
           pg_size_pretty(pg_total_relation_size('public.waitlist')) as waitlist_size,
           pg_size_pretty(pg_total_relation_size('public.waitlist_availability')) as windows_size,
           current_setting('shared_buffers') as shared_buffers`;

  const offers = await makeOffers(db, CALLS, "clinic");
  const nobody = await makeOffers(db, NOBODY, "nobody");

  // Client-side: one prepared call at a time from one connection, over every offer.
  const conn = await db.reserve();
  const { times: client, returned } = await clientLoop(conn, offers).finally(() => conn.release());
  // Server-side: clock_timestamp() around each call, in a plpgsql loop.
  const server = await serverLoop(db, offers);
  const worstServer = await serverLoop(db, nobody);

  const clientS = latencySummary(client);
  const serverS = latencySummary(server);
  const worstS = latencySummary(worstServer);
  const short = returned.filter((n) => n < 5).length;

  // Offers explained as the function runs its query (auto_explain on nested statements, sent
  // to this client as notices): the median one, the p99 one, a "nobody eligible" one.
  const ranked = offers.map((id, i) => ({ id, t: server[i] })).sort((a, b) => a.t - b.t);
  const at = (p: number) => ranked[Math.min(ranked.length - 1, Math.ceil(ranked.length * p) - 1)];
  const warm = offers.slice(0, 10);
  const medianPlan = await explainInFunction(at(0.5).id, warm);
  const p99Plan = await explainInFunction(at(0.99).id, warm);
  const worstPlan = await explainInFunction(nobody[0], warm);

  header(
    `3. get_eligible_waitlist_candidates(offer, 5) with ${int(counts.entries)} waitlist entries`,
  );
  console.log(
    `  data: ${int(counts.entries)} entries (${counts.waitlist_size}; ${
      int(counts.invitable)
    } active and consenting), ${int(counts.windows)} windows (${counts.windows_size}), ${
      int(counts.patients)
    } patients, ${int(counts.appointments)} appointments`,
  );
  console.log(
    `        ${CAND.types} types (skewed), ${CAND.practitioners} practitioners (30% of entries "any"), windows Mon–Fri (8% Sat), shared_buffers ${counts.shared_buffers}`,
  );
  console.log(`  loaded in ${round(loadS)} s, vacuum (analyze) ${round(vacuumS)} s`);
  console.log(
    `  ${offers.length} offers: varied type, practitioner, day (Mon–Sat, next 6 weeks), time 08:00–19:30; ${short} got fewer than 5 rows (avg ${
      round(returned.reduce((a, b) => a + b, 0) / returned.length, 2)
    })`,
  );
  console.log(
    `  p50 / p95 / p99 / max of select * from get_eligible_waitlist_candidates(offer, 5):`,
  );
  console.log(
    `    client-side (postgres.js, one connection)   ${ms(clientS)}   target p99 < 10 ms: ${
      verdict(clientS.p99 < 10)
    }`,
  );
  console.log(
    `    server-side (clock_timestamp(), plpgsql)    ${ms(serverS)}   target p99 < 10 ms: ${
      verdict(serverS.p99 < 10)
    }`,
  );
  console.log(
    `    nobody eligible (Sunday 14:00, ${nobody.length} offers)   ${
      ms(worstS)
    }   (not in the target)`,
  );
  console.log(`  where the time goes (auto_explain inside the function):`);
  for (const [label, plan] of [["p50", medianPlan], ["p99", p99Plan], ["nobody", worstPlan]]) {
    console.log(`    ${label.padEnd(6)} ${planSummary(plan)}`);
  }
  console.log(`  plan of the p99 offer:`);
  console.log(printable(p99Plan));

  const trial = await tryVariants(offers, nobody, at(0.99).id);
  console.log(trial.text);
  return {
    entries: counts.entries,
    client_ms: clientS,
    server_ms: serverS,
    nobody_ms: worstS,
    variants: trial.summary,
  };
}

/** Client-side timings of one call per offer, after 50 warm-up calls, on one connection. */
async function clientLoop(
  db: postgres.ReservedSql | postgres.TransactionSql,
  ids: string[],
) {
  const times: number[] = [];
  const returned: number[] = [];
  const picked: string[] = [];
  for (const id of ids.slice(0, 50)) {
    await db`select * from public.get_eligible_waitlist_candidates(${id}, 5)`;
  }
  for (const id of ids) {
    const t0 = performance.now();
    const rows = await db`select * from public.get_eligible_waitlist_candidates(${id}, 5)`;
    times.push(performance.now() - t0);
    returned.push(rows.length);
    picked.push(rows.map((r) => `${r.rank}:${r.waitlist_id}`).join(","));
  }
  return { times, returned, picked };
}

/** Server-side timings of one call per offer (after 50 warm-up calls), in one plpgsql loop. */
async function serverLoop(db: postgres.Sql, ids: string[]): Promise<number[]> {
  return await db.begin(async (tx) => {
    await tx`create temp table bench_times (n int, ms float8) on commit drop`;
    await tx.unsafe(`
      do $$
      declare
        v_ids uuid[] := array[${ids.map((id) => `'${id}'`).join(",")}]::uuid[];
        v_t0 timestamptz;
        v_n int;
      begin
        for i in 1 .. least(50, array_length(v_ids, 1)) loop
          perform count(*) from public.get_eligible_waitlist_candidates(v_ids[i], 5);
        end loop;
        for i in 1 .. array_length(v_ids, 1) loop
          v_t0 := clock_timestamp();
          select count(*) into v_n from public.get_eligible_waitlist_candidates(v_ids[i], 5);
          insert into bench_times values (i, extract(epoch from clock_timestamp() - v_t0) * 1000);
        end loop;
      end $$`);
    const rows = await tx`select ms from bench_times order by n`;
    return rows.map((r) => r.ms as number);
  });
}

/** The plan of the function's query for one offer, via auto_explain (nested statements). */
async function explainInFunction(offerId: string, warmWith: string[]): Promise<string> {
  return await sql!.begin((tx) => explainIn(tx, offerId, warmWith));
}

/**
 * The plan of the function's query for one offer as the function runs it, in this transaction:
 * auto_explain on nested statements, its output sent to this client as notices.
 */
async function explainIn(
  tx: postgres.TransactionSql,
  offerId: string,
  warmWith: string[],
): Promise<string> {
  // As in a busy session: after a few calls PL/pgSQL may switch to a generic plan.
  for (const id of warmWith) {
    await tx`select * from public.get_eligible_waitlist_candidates(${id}, 5)`;
  }
  const notices: string[] = [];
  await tx`load 'auto_explain'`;
  await tx`set local auto_explain.log_min_duration = 0`;
  await tx`set local auto_explain.log_analyze = on`;
  await tx`set local auto_explain.log_buffers = on`;
  await tx`set local auto_explain.log_timing = on`;
  await tx`set local auto_explain.log_nested_statements = on`;
  await tx`set local client_min_messages = log`;
  noticeSink = notices;
  try {
    await tx`select * from public.get_eligible_waitlist_candidates(${offerId}, 5)`;
  } finally {
    noticeSink = undefined;
    await tx`set local client_min_messages = notice`;
    await tx`set local auto_explain.log_min_duration = -1`;
  }
  // The function's own query (the one whose text has the ranking's window function), from its
  // plan's root down.
  const notice = notices.find((n) => n.includes("row_number() over")) ?? notices.join("\n");
  const lines = notice.split("\n");
  const root = lines.findIndex((l) => /^\s*Limit\s+\(/.test(l));
  return lines.slice(Math.max(0, root)).join("\n");
}

/** A plan for printing: indented, long lines cut. */
function printable(plan: string): string {
  return plan.split("\n").map((l) => `      ${l.length > 150 ? l.slice(0, 147) + "..." : l}`)
    .join("\n");
}

/**
 * One line about a plan: total time and buffers, entries walked in the candidate index (rows
 * kept + removed by its filter), and per probe (rows × loops, time) the joins done per entry.
 */
function planSummary(plan: string): string {
  const lines = plan.split("\n");
  const total = /actual time=[\d.]+\.\.([\d.]+)/.exec(lines[0])?.[1];
  const buffers = /Buffers: (.*)/.exec(lines[1] ?? "")?.[1] ?? "";
  const parts: string[] = [`${total} ms, buffers ${buffers}`];
  lines.forEach((line, i) => {
    const node =
      /->\s+(Index Scan|Index Only Scan|Bitmap Heap Scan) using (\S+)|->\s+(Index Scan|Index Only Scan|Bitmap Heap Scan|Seq Scan) on (\S+)/
        .exec(line);
    if (!node) return;
    const name = node[2] ?? node[4];
    const m = /actual time=([\d.]+)\.\.([\d.]+) rows=(\d+) loops=(\d+)/.exec(line);
    if (!m) return;
    const loops = Number(m[4]);
    const removed = lines.slice(i + 1, i + 8).find((l) => l.includes("Rows Removed by Filter"));
    const removedN = removed ? Number(/(\d+)/.exec(removed)![1]) : 0;
    const spent = round(Number(m[2]) * loops, 1);
    if (name.startsWith("waitlist_candidates")) {
      parts.push(`walked ${Number(m[3]) + removedN} entries (${m[3]} kept) in ${spent} ms`);
    } else if (loops > 1) {
      parts.push(`${name} ×${loops} ${spent} ms`);
    }
  });
  return parts.join("; ");
}

/**
 * In scratch transactions (rolled back): the same calls with each part of the ranking's
 * speed-up taken back in turn, to show what each is worth: A, the candidate index's included
 * columns; G, the generic plan; R, the availability window checked before the patient lookup.
 * Each variant is timed client-side, like the first figure, on the same offers.
 */
async function tryVariants(offers: string[], nobody: string[], p99Offer: string) {
  const db = sql!;
  const fn = "public.get_eligible_waitlist_candidates(uuid, int)";
  const plainIndex = [
    `drop index public.waitlist_candidates`,
    `create index waitlist_candidates on public.waitlist
      (appointment_type_id, priority desc, created_at, id)
      where status = 'active' and consent_automated_notifications`,
  ];
  const customPlans = `alter function ${fn} reset plan_cache_mode`;
  // The query with the patients joined first, and the planner free to choose the join order.
  const [{ def }] = await db`select pg_get_functiondef(${fn}::regprocedure) as def`;
  const patientsJoin = "  join public.patients p on p.id = w.patient_id\n";
  const afterWindow = "  ) win\n";
  const fromWaitlist = "  from public.waitlist w\n";
  const patientsFirst = String(def).replace(patientsJoin, "").replace(
    fromWaitlist,
    fromWaitlist + patientsJoin,
  ).replace(/^ SET join_collapse_limit TO .*\n/m, "");
  const variants: { name: string; ddl: string[] }[] = [
    { name: "as migrated (A + G + R)", ddl: [] },
    { name: "without A: the candidate index without its included columns", ddl: plainIndex },
    { name: "without G: a custom plan at every call", ddl: [customPlans] },
    { name: "without R: patients joined before the availability window", ddl: [patientsFirst] },
    {
      name: "none of A, G, R",
      ddl: [...plainIndex, customPlans, patientsFirst],
    },
  ];
  if (!String(def).includes(afterWindow + patientsJoin) || !String(def).includes(fromWaitlist)) {
    throw new Error("get_eligible_waitlist_candidates no longer reads as this benchmark expects");
  }
  const lines: string[] = [];
  const summary: Record<string, unknown> = {};
  let baseline: string[] | undefined;
  for (const v of variants) {
    try {
      await db.begin(async (tx) => {
        for (const ddl of v.ddl) await tx.unsafe(ddl);
        const { times, returned, picked } = await clientLoop(tx, offers);
        const worst = (await clientLoop(tx, nobody)).times;
        const s = latencySummary(times);
        const w = latencySummary(worst);
        const rows = returned.reduce((a, b) => a + b, 0);
        baseline ??= picked;
        const differ = picked.filter((p, i) => p !== baseline![i]).length;
        summary[v.name] = { offers: s, nobody: w, rows, differing_offers: differ };
        lines.push(`    ${v.name}`);
        lines.push(
          `      offers ${ms(s)}; nobody eligible ${
            ms(w)
          }; ${rows} rows, ${differ} offers ranked differently from as migrated`,
        );
        const plan = await explainIn(tx, p99Offer, []);
        lines.push(`      p99 offer: ${planSummary(plan)}`);
        if (PLANS) lines.push(printable(plan));
        throw new Rollback();
      });
    } catch (error) {
      if (!(error instanceof Rollback)) throw error;
    }
  }
  return {
    text: `  scratch transactions (rolled back), client-side p50 / p95 / p99 / max, same offers:\n${
      lines.join("\n")
    }`,
    summary,
  };
}

class Rollback extends Error {}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const results: Record<string, unknown> = {};
try {
  const started = performance.now();
  platform = await startPlatform("bench", { fresh: true, log: () => {} });
  sql = postgres(platform.cfg.dbUrl, {
    max: 8,
    onnotice: (notice) => noticeSink?.push(String(notice.message)),
  });
  const db = sql;
  console.log(
    `bench platform up in ${
      round((performance.now() - started) / 1000)
    } s (db ${platform.cfg.dbUrl}, Resend stand-in ${platform.standIns.resend.url})`,
  );
  await db`
    update public.waitlist_settings
    set quiet_hours_start = null, quiet_hours_end = null, clinic_time_zone = ${TZ},
        wave_size = 5, offer_cutoff = '2 hours'`;

  if (run.has("latency") || run.has("burst")) {
    const clinic: Scenario = {
      prefix: "clinic",
      types: 8,
      practitioners: 12,
      patients: Math.max(100, Math.round(WAITLIST * 0.6)),
      entries: WAITLIST,
    };
    await loadWaitlist(db, clinic);
    await loadCalendar(db, clinic);
    await db`analyze`;
  }
  if (run.has("latency")) results.latency = await latencySection();
  if (run.has("burst")) results.burst = await burstSection();
  if (run.has("candidates")) results.candidates = await candidatesSection();
  console.log(`\ntotal ${round((performance.now() - started) / 1000)} s`);
  console.log(JSON.stringify(results));
} finally {
  await shutdown();
}
