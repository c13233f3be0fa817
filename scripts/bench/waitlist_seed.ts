/**
 * Seeding shared by the benchmarks that need a clinic with a waitlist (scripts/bench/waitlist.ts,
 * scripts/bench/chaos.ts): deterministic appointment types, practitioners, patients, waitlist
 * entries with availability windows, a four-week calendar of booked appointments, and the
 * appointments to cancel. The same scenario gives the same rows from run to run.
 */
import type postgres from "postgres";

/** The clinic's time zone in every benchmark. */
export const TZ = "Europe/Paris";

/**
 * A deterministic pseudo-random integer in [0, 1,000,000) for an SQL integer expression and a
 * salt: the data are the same from run to run.
 */
export const H = (expr: string, salt: number) =>
  `((hashint8((${expr})::bigint * 1000 + ${salt})::bigint & 2147483647) % 1000000)`;
/** The id of the n-th row of a kind (`p` patient, `d` practitioner, `t` type, `w` entry). */
export const ID = (prefix: string, kind: string, n: string) =>
  `md5('${prefix}-${kind}-' || (${n}))::uuid`;

/** The size of a seeded clinic; `prefix` keeps the ids of two scenarios apart. */
export interface Scenario {
  prefix: string;
  types: number;
  practitioners: number;
  patients: number;
  entries: number;
}

/**
 * Appointment types, practitioners, patients (5% without email, 25% English) and `entries`
 * waitlist entries with 1 to 3 availability windows each: types skewed (the commonest about
 * 2.5× the rarest), 30% "any practitioner", 75% priority 0 and the rest 1–10, 85% active
 * (others paused, fulfilled, cancelled), 85% consenting, 30% with a latest date, joined in the
 * last 6 months; windows on weekdays (8% on Saturdays), mornings, afternoons, days, evenings,
 * lunch, and a few overnight ones. Foreign keys are not re-checked row by row (the ids are
 * consistent by construction): `session_replication_role = replica` for the load.
 */
export async function loadWaitlist(db: postgres.Sql, s: Scenario) {
  const { prefix: P, types: T, practitioners: D, patients: NP, entries: N } = s;
  const windows = [
    ["08:00", "12:00"],
    ["08:00", "12:00"],
    ["08:00", "12:00"],
    ["08:00", "12:00"],
    ["08:00", "12:00"],
    ["13:00", "18:00"],
    ["13:00", "18:00"],
    ["13:00", "18:00"],
    ["13:00", "18:00"],
    ["09:00", "17:00"],
    ["09:00", "17:00"],
    ["09:00", "17:00"],
    ["09:00", "17:00"],
    ["09:00", "17:00"],
    ["08:00", "19:00"],
    ["08:00", "19:00"],
    ["17:00", "20:00"],
    ["17:00", "20:00"],
    ["12:00", "14:00"],
    ["22:00", "02:00"],
  ];
  const windowArray = `array[${windows.map(([a, b]) => `['${a}','${b}']`).join(",")}]`;
  await db.begin(async (tx) => {
    await tx.unsafe(`set local session_replication_role = replica`);
    await tx.unsafe(`
      insert into public.appointment_types (id, name, name_en, duration_minutes)
      select ${ID(P, "t", "i")}, '${P} type ' || i, '${P} type ' || i || ' (en)',
             (array[15, 20, 30, 30, 30])[1 + i % 5]
      from generate_series(1, ${T}) i`);
    await tx.unsafe(`
      insert into public.practitioners (id, full_name, email)
      select ${ID(P, "d", "i")}, 'Dr ${P} ' || i, 'dr.' || i || '@${P}.example.com'
      from generate_series(1, ${D}) i`);
    await tx.unsafe(`
      insert into public.patients (id, first_name, last_name, email, locale)
      select ${ID(P, "p", "g")}, 'Patient' || g, '${P}',
             case when ${H("g", 1)} < 950000 then 'patient' || g || '@${P}.example.com' end,
             case when ${H("g", 2)} < 250000 then 'en' else 'fr' end
      from generate_series(1, ${NP}) g`);
    await tx.unsafe(`
      insert into public.waitlist
        (id, patient_id, practitioner_id, appointment_type_id, earliest_date, latest_date,
         priority, status, consent_automated_notifications, created_at, updated_at)
      select ${ID(P, "w", "g")},
             ${ID(P, "p", `1 + ${H("g", 11)} % ${NP}`)},
             case when ${H("g", 12)} < 300000 then null
                  else ${ID(P, "d", `1 + ${H("g", 13)} % ${D}`)} end,
             ${ID(P, "t", `1 + floor(${T} * power(${H("g", 14)} / 1e6, 1.3))::int`)},
             current_date - (${H("g", 15)} % 90)::int,
             case when ${H("g", 16)} < 700000 then null
                  else current_date + 14 + (${H("g", 17)} % 120)::int end,
             case when ${H("g", 18)} < 750000 then 0 else 1 + ${H("g", 19)} % 10 end,
             case when ${H("g", 20)} < 850000 then 'active'
                  when ${H("g", 20)} < 900000 then 'paused'
                  when ${H("g", 20)} < 970000 then 'fulfilled'
                  else 'cancelled' end,
             ${H("g", 21)} < 850000,
             now() - (${H("g", 22)} % (180 * 86400)) * interval '1 second',
             now()
      from generate_series(1, ${N}) g`);
    await tx.unsafe(`
      insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
      select ${ID(P, "w", "g")},
             case when ${H("g * 4 + k", 31)} < 920000 then 1 + ${H("g * 4 + k", 32)} % 5 else 6 end,
             (${windowArray})[1 + ${H("g * 4 + k", 33)} % ${windows.length}][1]::time,
             (${windowArray})[1 + ${H("g * 4 + k", 33)} % ${windows.length}][2]::time
      from generate_series(1, ${N}) g
      cross join lateral generate_series(1, 1 + ${H("g", 30)} % 3) k`);
  });
}

/**
 * The clinic's calendar for the next four weeks: each practitioner's weekdays, 08:00–18:00
 * clinic time in 30-minute slots, 60% booked by patients of the scenario.
 */
export async function loadCalendar(db: postgres.Sql, s: Scenario) {
  const { prefix: P, types: T, practitioners: D, patients: NP } = s;
  const key = "d * 100000 + day * 100 + slot";
  await db.unsafe(`
    insert into public.appointments
      (patient_id, practitioner_id, appointment_type_id, starts_at, ends_at, status, notes)
    select ${ID(P, "p", `1 + ${H(key, 41)} % ${NP}`)}, ${ID(P, "d", "d")},
           ${ID(P, "t", `1 + ${H(key, 42)} % ${T}`)},
           at.starts_at, at.starts_at + interval '30 minutes', 'confirmed', 'bench:${P}'
    from generate_series(1, ${D}) d
    cross join generate_series(1, 28) day
    cross join generate_series(0, 19) slot
    cross join lateral (
      select ((current_date + day) + time '08:00' + slot * interval '30 minutes')
             at time zone '${TZ}' as starts_at) at
    where extract(isodow from current_date + day) between 1 and 5
      and ${H(key, 40)} < 600000`);
}

/** `n` booked appointments of the scenario, at least a day ahead, in a shuffled order. */
export async function bookedAppointments(db: postgres.Sql, prefix: string, n: number) {
  const rows = await db`
    select id from public.appointments
    where notes = ${"bench:" + prefix} and status = 'confirmed'
      and starts_at > now() + interval '1 day'
    order by md5(id::text)
    limit ${n}`;
  if (rows.length < n) throw new Error(`Only ${rows.length} appointments to cancel, ${n} needed`);
  return rows.map((r) => r.id as string);
}
