-- Eligibility and ranking: get_eligible_waitlist_candidates() invites active, consenting
-- patients with an email whose entry matches the slot (type, practitioner or any, dates, an
-- availability window in the clinic's zone) and who are free, neither the cancelling patient nor
-- already invited; it ranks them by priority, then by waiting time. Windows follow the clinic's
-- local time across daylight-saving changes and past midnight.
begin;
select plan(41);

select tests.waitlist_settings();

-- Fixtures are named: patients by first_name (last name T13), entries by notes, so tests read by name.
select tests.add_practitioner('Dr T13 A'), tests.add_practitioner('Dr T13 B');
select tests.add_appointment_type('t13 ' || n, m)
from (values ('consultation', 30), ('follow-up', 30), ('dst', 30), ('night', 60)) v(n, m);

create function pg_temp.practitioner(p_name text) returns uuid
language sql as $$ select tests.practitioner(p_name) $$;
create function pg_temp.type(p_name text) returns uuid
language sql as $$ select tests.appointment_type('t13 ' || p_name) $$;
create function pg_temp.patient(p_name text) returns uuid
language sql as $$ select tests.patient(p_name, 'T13') $$;
create function pg_temp.entry(p_name text) returns uuid
language sql as $$
  select w.id from public.waitlist w join public.patients p on p.id = w.patient_id and p.last_name = 'T13'
  where w.notes = p_name
$$;

/* A waitlist entry named p_name and its patient (p_name T13, email p_name@example.com unless
   p_email is false); by default active, consenting, for Dr T13 A, a consultation, from
   2026-01-01 on, without any window (add them with pg_temp.add_window). */
create function pg_temp.add_entry(
  p_name text,
  p_priority int default 0,
  p_created_at timestamptz default '2026-01-01 00:00+00',
  p_type text default 'consultation',
  p_practitioner text default 'Dr T13 A',
  p_status text default 'active',
  p_consent boolean default true,
  p_earliest date default '2026-01-01',
  p_latest date default null,
  p_email boolean default true
) returns uuid
language sql as $$
  select tests.add_waitlist_entry(
    tests.add_patient(p_name, 'T13', p_email => case when p_email then '' end),
    pg_temp.type(p_type),
    case when p_practitioner is not null then pg_temp.practitioner(p_practitioner) end,
    p_priority, p_consent, p_earliest, p_latest, p_created_at,
    p_availability => 'none', p_status => p_status, p_notes => p_name)
$$;

create function pg_temp.add_window(p_name text, p_weekday int, p_start time, p_end time)
returns void
language sql as $$ select tests.add_availability(pg_temp.entry(p_name), p_weekday, p_start, p_end) $$;

/* A cancelled appointment of `canceller` and its open offer (made by hand: the trigger only
   opens offers for future slots, and these tests use fixed dates). */
create function pg_temp.add_offer(
  p_starts_at timestamptz,
  p_minutes int,
  p_type text,
  p_practitioner text default 'Dr T13 A'
) returns uuid
language sql as $$
  select tests.add_slot_offer(tests.add_appointment(pg_temp.patient('canceller'),
    pg_temp.practitioner(p_practitioner), pg_temp.type(p_type), p_starts_at, p_minutes, 'cancelled'))
$$;

/* The entries (by name) eligible for a new offer of that slot, in rank order. */
create function pg_temp.eligible_for(p_starts_at timestamptz, p_minutes int, p_type text)
returns text[]
language plpgsql as $$
declare
  v_offer uuid := pg_temp.add_offer(p_starts_at, p_minutes, p_type);
begin
  return array(select w.notes
               from public.get_eligible_waitlist_candidates(v_offer) c
               join public.waitlist w on w.id = c.waitlist_id
               order by c.rank);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- One offer, Monday 2026-03-30 09:00–09:30 in Paris (07:00 UTC, summer time), Dr T13 A, consultation.
-- Every excluded entry has priority 10: were a rule missing, it would rank first.
-- ---------------------------------------------------------------------------------------------
select pg_temp.add_entry('canceller', 10);
select pg_temp.add_entry('first', 5, '2026-01-10 00:00+00');
select pg_temp.add_entry('second', 5, '2026-01-20 00:00+00', p_practitioner => null);
select pg_temp.add_entry('third', 0, '2026-01-01 00:00+00');
select pg_temp.add_entry('edge_dates', 0, '2026-01-02 00:00+00',
  p_earliest => '2026-03-30', p_latest => '2026-03-30');
select pg_temp.add_entry('freed', 0, '2026-01-03 00:00+00');
select pg_temp.add_entry('adjacent', 0, '2026-01-04 00:00+00');
select pg_temp.add_entry('paused', 10, p_status => 'paused');
select pg_temp.add_entry('fulfilled', 10, p_status => 'fulfilled');
select pg_temp.add_entry('left_the_list', 10, p_status => 'cancelled');
select pg_temp.add_entry('no_consent', 10, p_consent => false);
select pg_temp.add_entry('no_email', 10, p_email => false);
select pg_temp.add_entry('other_type', 10, p_type => 'follow-up');
select pg_temp.add_entry('other_practitioner', 10, p_practitioner => 'Dr T13 B');
select pg_temp.add_entry('too_late', 10, p_latest => '2026-03-29');
select pg_temp.add_entry('too_early', 10, p_earliest => '2026-03-31');
select pg_temp.add_entry('no_window', 10);
select pg_temp.add_entry('no_window_at_all', 10);
select pg_temp.add_entry('busy', 10);
select pg_temp.add_entry('invited', 10);

select pg_temp.add_window(w.notes, 1, '09:00', '10:00')
from public.waitlist w join public.patients p on p.id = w.patient_id and p.last_name = 'T13'
where w.notes not in ('third', 'no_window', 'no_window_at_all');
-- The first window of `third` does not match; the label must name the one that does.
select pg_temp.add_window('third', 2, '09:00', '10:00');
select pg_temp.add_window('third', 1, '08:00', '12:00');
-- Near misses: the right day but starting late or ending early, the right hours another day.
select pg_temp.add_window('no_window', 1, '09:15', '10:00');
select pg_temp.add_window('no_window', 1, '08:00', '09:15');
select pg_temp.add_window('no_window', 7, '09:00', '10:00');

select pg_temp.add_offer('2026-03-30 07:00+00', 30, 'consultation') as offer_id \gset

-- Appointments of candidates: a confirmed one overlapping (with another practitioner), a
-- cancelled one overlapping, a confirmed one ending when the slot starts.
select tests.add_appointment(pg_temp.patient(v.name), pg_temp.practitioner('Dr T13 B'),
  pg_temp.type('follow-up'), v.starts_at, 30, v.status)
from (values ('busy', timestamptz '2026-03-30 07:15+00', 'confirmed'),
             ('freed', '2026-03-30 07:00+00', 'cancelled'),
             ('adjacent', '2026-03-30 06:30+00', 'confirmed')) v(name, starts_at, status);

select tests.add_invitation(:'offer_id', pg_temp.entry('invited'), 't13-invited', '2026-03-29 07:00+00');

create temp table t13_candidates as
select c.*, w.notes as name
from public.get_eligible_waitlist_candidates(:'offer_id') c
join public.waitlist w on w.id = c.waitlist_id;

select results_eq(
  $$select name, rank from t13_candidates order by rank$$,
  $$values ('first', 1), ('second', 2), ('third', 3), ('edge_dates', 4), ('freed', 5), ('adjacent', 6)$$,
  'exactly the matching entries are candidates, by priority (higher first) then longest waiting'
);

create function pg_temp.is_candidate(p_name text) returns boolean
language sql as $$ select exists (select from t13_candidates where name = p_name) $$;

select ok(not pg_temp.is_candidate('paused'), 'a paused entry is not a candidate');
select ok(not pg_temp.is_candidate('fulfilled'), 'a fulfilled entry is not a candidate');
select ok(not pg_temp.is_candidate('left_the_list'), 'a cancelled entry is not a candidate');
select ok(not pg_temp.is_candidate('no_consent'),
  'an entry without consent to automated notifications is not a candidate');
select ok(not pg_temp.is_candidate('no_email'), 'a patient without an email is not a candidate');
select ok(not pg_temp.is_candidate('other_type'), 'an entry for another appointment type is not a candidate');
select ok(not pg_temp.is_candidate('other_practitioner'),
  'an entry asking for another practitioner is not a candidate');
select ok(pg_temp.is_candidate('second'), 'an entry for any practitioner is a candidate');
select ok(not pg_temp.is_candidate('too_late'), 'an entry whose latest date is before the slot is not a candidate');
select ok(not pg_temp.is_candidate('too_early'), 'an entry whose earliest date is after the slot is not a candidate');
select ok(pg_temp.is_candidate('edge_dates'), 'earliest and latest dates include the slot''s own day');
select ok(not pg_temp.is_candidate('no_window'),
  'an entry whose windows do not contain the whole slot is not a candidate');
select ok(not pg_temp.is_candidate('no_window_at_all'), 'an entry without any window is not a candidate');
select ok(not pg_temp.is_candidate('busy'),
  'a patient with an overlapping appointment (any practitioner) is not a candidate');
select ok(pg_temp.is_candidate('freed'), 'a cancelled overlapping appointment does not exclude a patient');
select ok(pg_temp.is_candidate('adjacent'), 'an appointment ending when the slot starts does not exclude a patient');
select ok(not pg_temp.is_candidate('canceller'), 'the patient who cancelled is not invited to their own slot');
select ok(not pg_temp.is_candidate('invited'), 'a patient already invited to this offer is not invited again');

select results_eq(
  $$select name, patient_name, email, locale, priority, waiting_since, practitioner_preference, availability
    from t13_candidates where name in ('first', 'second', 'third') order by rank$$,
  $$values ('first', 'first T13', 'first@example.com', 'fr', 5::smallint, '2026-01-10 00:00+00'::timestamptz,
            'this practitioner', 'Mon 09:00–10:00'),
           ('second', 'second T13', 'second@example.com', 'fr', 5::smallint, '2026-01-20 00:00+00'::timestamptz,
            'any practitioner', 'Mon 09:00–10:00'),
           ('third', 'third T13', 'third@example.com', 'fr', 0::smallint, '2026-01-01 00:00+00'::timestamptz,
            'this practitioner', 'Mon 08:00–12:00')$$,
  'each candidate comes with its contact, priority, waiting time, preference and the window that matched'
);
select is(
  (select why from t13_candidates where name = 'first'),
  'priority 5; waiting since 2026-01-10 01:00; asked for this practitioner; available Mon 09:00–10:00; dates 2026-01-01 to open-ended',
  'why explains the rank and the match, with the waiting time in clinic time'
);
select is(
  (select why from t13_candidates where name = 'third'),
  'priority 0; waiting since 2026-01-01 01:00; asked for this practitioner; available Mon 08:00–12:00; dates 2026-01-01 to open-ended',
  'why names the matching window, not the entry''s first one'
);
select is(
  (select why from t13_candidates where name = 'edge_dates'),
  'priority 0; waiting since 2026-01-02 01:00; asked for this practitioner; available Mon 09:00–10:00; dates 2026-03-30 to 2026-03-30',
  'why shows a closed date range'
);

select results_eq(
  format('select t.name, c.rank from public.get_eligible_waitlist_candidates(%L, 2) c
          join t13_candidates t on t.waitlist_id = c.waitlist_id order by c.rank', :'offer_id'),
  $$values ('first', 1), ('second', 2)$$,
  'p_limit keeps the best candidates'
);
select is(
  (select count(*)::int from public.get_eligible_waitlist_candidates(:'offer_id', null)),
  6,
  'a null p_limit returns every candidate'
);
select throws_ok(
  $$select * from public.get_eligible_waitlist_candidates('00000000-0000-0000-0000-000000000000')$$,
  'P0002', 'Slot offer 00000000-0000-0000-0000-000000000000 does not exist',
  'an unknown offer raises no_data_found'
);

-- ---------------------------------------------------------------------------------------------
-- Windows are local times in the clinic's zone, across daylight-saving changes.
-- ---------------------------------------------------------------------------------------------
select pg_temp.add_entry('monday', 0, p_type => 'dst');
select pg_temp.add_window('monday', 1, '09:00', '10:00');

select is(pg_temp.eligible_for('2026-03-30 07:00+00', 30, 'dst'), array['monday'],
  'after the spring change, 07:00 UTC on Monday is 09:00 in Paris: inside Mon 09:00–10:00');
select is(pg_temp.eligible_for('2026-03-23 08:00+00', 30, 'dst'), array['monday'],
  'before the spring change, 08:00 UTC on Monday is 09:00 in Paris: inside the window');
select is(pg_temp.eligible_for('2026-03-30 08:00+00', 30, 'dst'), '{}'::text[],
  'after the spring change, 08:00 UTC is 10:00 in Paris: outside the window');
select is(pg_temp.eligible_for('2026-03-23 07:00+00', 30, 'dst'), '{}'::text[],
  'before the spring change, 07:00 UTC is 08:00 in Paris: outside the window');
select is(pg_temp.eligible_for('2026-10-19 07:00+00', 30, 'dst'), array['monday'],
  'before the autumn change, 07:00 UTC on Monday is 09:00 in Paris: inside the window');
select is(pg_temp.eligible_for('2026-10-26 08:00+00', 30, 'dst'), array['monday'],
  'after the autumn change, 08:00 UTC on Monday is 09:00 in Paris: inside the window');
select is(pg_temp.eligible_for('2026-10-26 07:00+00', 30, 'dst'), '{}'::text[],
  'after the autumn change, 07:00 UTC is 08:00 in Paris: outside the window');

select tests.waitlist_settings(p_time_zone => 'America/New_York');
select is(pg_temp.eligible_for('2026-03-30 13:00+00', 30, 'dst'), array['monday'],
  'with the clinic in New York, Monday 09:00 local is 13:00 UTC: the window follows the setting');
select is(pg_temp.eligible_for('2026-03-30 07:00+00', 30, 'dst'), '{}'::text[],
  'with the clinic in New York, 07:00 UTC (03:00 local) no longer matches');
select tests.waitlist_settings();
select throws_ok(
  $$update public.waitlist_settings set clinic_time_zone = 'Mars/Olympus_Mons'$$,
  '22023', 'Unknown time zone "Mars/Olympus_Mons": use an IANA name such as Europe/Paris',
  'an unknown clinic time zone is refused'
);

-- ---------------------------------------------------------------------------------------------
-- Past midnight: an overnight window (Friday 22:00–02:00) and one ending at midnight.
-- ---------------------------------------------------------------------------------------------
select pg_temp.add_entry('overnight', 1, p_type => 'night');
select pg_temp.add_window('overnight', 5, '22:00', '02:00');
select pg_temp.add_entry('until_midnight', 0, p_type => 'night');
select pg_temp.add_window('until_midnight', 5, '22:00', '24:00');

select is(pg_temp.eligible_for('2026-03-27 21:30+00', 60, 'night'), array['overnight', 'until_midnight'],
  'Friday 22:30–23:30 in Paris fits both Friday evening windows');
select is(pg_temp.eligible_for('2026-03-27 22:30+00', 60, 'night'), array['overnight'],
  'Friday 23:30–00:30 crosses midnight: inside Fri 22:00–02:00, not inside Fri 22:00–24:00');
select is(pg_temp.eligible_for('2026-03-27 23:30+00', 60, 'night'), array['overnight'],
  'Saturday 00:30–01:30 is inside the Friday overnight window opened the evening before');
select is(pg_temp.eligible_for('2026-03-28 00:30+00', 60, 'night'), '{}'::text[],
  'Saturday 01:30–02:30 runs past the end of the overnight window');
select pg_temp.add_offer('2026-03-27 23:30+00', 60, 'night') as night_offer_id \gset
select is(
  (select c.availability from public.get_eligible_waitlist_candidates(:'night_offer_id') c),
  'Fri 22:00–02:00',
  'the label of an overnight window shows its Friday start and its end the next morning'
);

select * from finish();
rollback;
