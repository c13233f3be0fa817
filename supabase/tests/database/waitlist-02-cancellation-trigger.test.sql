-- The cancellation trigger: setting an appointment's status to 'cancelled' opens one slot offer,
-- logs it and enqueues its first wave in the same transaction (a rollback leaves nothing);
-- cancelling again, other updates and other statuses open nothing; past appointments and those
-- inside the cutoff are logged as skipped; the first wave waits for the end of the quiet hours
-- unless the offer closes first; a failure never blocks the admin's update.
-- The trigger reads now(): appointments are placed relative to it.
begin;
select plan(39);

select tests.waitlist_settings();

select tests.add_clinic('T14');

/* An appointment of Cora with Dr T14, starting p_starts_in from now (whole minutes). */
create function pg_temp.appointment(p_starts_in interval, p_status text default 'confirmed')
returns uuid
language sql as $$
  select tests.add_appointment(tests.patient('Cora', 'T14'), tests.practitioner('Dr T14'),
    tests.appointment_type('t14 consultation'), date_trunc('minute', now()) + p_starts_in, 30, p_status)
$$;

/* What the flow left for an appointment: offers, log rows and waitlist jobs. */
create function pg_temp.trail(p_appointment uuid) returns text
language sql as $$
  select format('%s offer(s), %s log(s), %s job(s)',
    (select count(*) from public.appointment_slot_offers o where o.appointment_id = p_appointment),
    (select count(*) from public.waitlist_trigger_logs l where l.appointment_id = p_appointment),
    (select count(*) from jobs.jobs j
     where j.queue = 'waitlist' and j.subject in (select 'slot_offer:' || o.id
                                                  from public.appointment_slot_offers o
                                                  where o.appointment_id = p_appointment)))
$$;

-- ---------------------------------------------------------------------------------------------
-- A cancellation three days ahead.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('3 days') as a1 \gset
select tests.cancel_appointment(:'a1') as offer1 \gset

select is(pg_temp.trail(:'a1'), '1 offer(s), 1 log(s), 1 job(s)',
  'cancelling opens one offer, writes one log row and enqueues one job');
select results_eq(
  format($$select o.status, o.cancelled_patient_id, o.practitioner_id, o.appointment_type_id,
                  o.starts_at, o.ends_at, o.closes_at, o.next_wave_at, o.invitation_count,
                  o.waves_sent, o.created_at
           from public.appointment_slot_offers o where o.id = %L$$, :'offer1'),
  format($$select 'open', a.patient_id, a.practitioner_id, a.appointment_type_id, a.starts_at,
                  a.ends_at, a.starts_at - interval '2 hours', now(), 0, 0, now()
           from public.appointments a where a.id = %L$$, :'a1'),
  'the offer copies the slot, closes at the cutoff and plans its first wave now'
);
select is((select cancelled_at from public.appointments where id = :'a1'), now(),
  'the appointment records when it was cancelled');
select results_eq(
  format($$select trigger_type, status, message, slot_offer_id, details ->> 'first_wave_at' is not null
           from public.waitlist_trigger_logs where appointment_id = %L$$, :'a1'),
  format($$values ('cancellation', 'success', 'Slot offer opened; first wave queued', %L::uuid, true)$$, :'offer1'),
  'the log row says the offer opened and its first wave is queued'
);
select results_eq(
  format($$select queue, subject, payload, dedupe_key, run_at, state::text
           from jobs.jobs where subject = 'slot_offer:' || %L$$, :'offer1'),
  format($$values ('waitlist', 'slot_offer:%1$s',
                   jsonb_build_object('kind', 'offer_wave', 'slot_offer_id', %1$L::uuid, 'wave', 1),
                   'slot_offer:%1$s:wave:1', now(), 'waiting')$$, :'offer1'),
  'the first wave is an offer_wave job on the waitlist queue, deduplicated by offer and wave'
);

update public.appointments set status = 'cancelled' where id = :'a1';
select is(pg_temp.trail(:'a1'), '1 offer(s), 1 log(s), 1 job(s)',
  'cancelling a cancelled appointment again opens nothing new');
update public.appointments set notes = 'Called the patient' where id = :'a1';
select is(pg_temp.trail(:'a1'), '1 offer(s), 1 log(s), 1 job(s)',
  'updating another column of a cancelled appointment opens nothing new');

-- ---------------------------------------------------------------------------------------------
-- Other statuses, past appointments, the cutoff.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('4 days', 'scheduled') as a2 \gset
update public.appointments set status = 'confirmed' where id = :'a2';
update public.appointments set status = 'completed' where id = :'a2';
update public.appointments set status = 'no_show' where id = :'a2';
select is(pg_temp.trail(:'a2'), '0 offer(s), 0 log(s), 0 job(s)',
  'a change to a status other than cancelled opens nothing and logs nothing');

select pg_temp.appointment('-1 day') as a3 \gset
select tests.cancel_appointment(:'a3') as offer3 \gset
select is(pg_temp.trail(:'a3'), '0 offer(s), 1 log(s), 0 job(s)', 'cancelling a past appointment opens nothing');
select results_eq(
  format($$select status, message from public.waitlist_trigger_logs where appointment_id = %L$$, :'a3'),
  $$values ('skipped', 'No slot offer: the appointment time has passed')$$,
  'the log says the appointment time has passed'
);

select pg_temp.appointment('1 hour') as a4 \gset
select tests.cancel_appointment(:'a4') as offer4 \gset
select is(pg_temp.trail(:'a4'), '0 offer(s), 1 log(s), 0 job(s)',
  'cancelling an appointment inside the cutoff opens nothing');
select results_eq(
  format($$select status, message from public.waitlist_trigger_logs where appointment_id = %L$$, :'a4'),
  $$values ('skipped', 'No slot offer: the appointment starts within the cutoff (02:00:00 before its start)')$$,
  'the log says the appointment starts within the cutoff'
);

-- date_trunc('minute', now()) + 2 hours closes at or before now.
select pg_temp.appointment('2 hours') as a5 \gset
select tests.cancel_appointment(:'a5') as offer5 \gset
select is(pg_temp.trail(:'a5'), '0 offer(s), 1 log(s), 0 job(s)',
  'an offer that would close at once is not opened');

select tests.waitlist_settings(p_offer_cutoff => '30 minutes');
select pg_temp.appointment('1 hour 30 minutes') as a6 \gset
select tests.cancel_appointment(:'a6') as offer6 \gset
select is(
  (select closes_at - starts_at from public.appointment_slot_offers where appointment_id = :'a6'),
  interval '-30 minutes',
  'a shorter cutoff in the settings lets a later cancellation open an offer'
);
select tests.waitlist_settings();

-- ---------------------------------------------------------------------------------------------
-- The outbox: the offer, its log and its job commit or roll back with the cancellation.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('5 days') as a7 \gset
savepoint before_a7;
select tests.cancel_appointment(:'a7') as offer7 \gset
select is(pg_temp.trail(:'a7'), '1 offer(s), 1 log(s), 1 job(s)', 'inside the transaction the offer is open');
rollback to savepoint before_a7;
select is(pg_temp.trail(:'a7'), '0 offer(s), 0 log(s), 0 job(s)', 'a rolled back cancellation leaves no offer, log or job');
select is((select count(*)::int from jobs.jobs where subject = 'slot_offer:' || :'offer7'), 0,
  'nor a job for the vanished offer');
select is((select status from public.appointments where id = :'a7'), 'confirmed',
  'and the appointment is still confirmed');

-- ---------------------------------------------------------------------------------------------
-- Quiet hours: from an hour ago to an hour from now, clinic time.
-- ---------------------------------------------------------------------------------------------
select tests.quiet_hours_from_now('-1 hour', '1 hour');

select pg_temp.appointment('6 days') as a8 \gset
select tests.cancel_appointment(:'a8') as offer8 \gset
select is(
  (select run_at from jobs.jobs where subject = 'slot_offer:' || :'offer8'),
  ((now() at time zone 'Europe/Paris') + interval '1 hour') at time zone 'Europe/Paris',
  'in quiet hours the first wave runs when they end'
);
select is(
  (select next_wave_at from public.appointment_slot_offers where id = :'offer8'),
  ((now() at time zone 'Europe/Paris') + interval '1 hour') at time zone 'Europe/Paris',
  'the offer plans its first wave at the end of the quiet hours'
);
select is(
  (select message from public.waitlist_trigger_logs where appointment_id = :'a8'),
  'Slot offer opened; first wave after the quiet hours',
  'the log says the first wave waits for the quiet hours to end'
);

-- Closes 30 minutes from now, before the quiet hours end: no waiting.
select pg_temp.appointment('2 hours 31 minutes') as a9 \gset
select tests.cancel_appointment(:'a9') as offer9 \gset
select results_eq(
  format($$select j.run_at, o.next_wave_at from jobs.jobs j
           join public.appointment_slot_offers o on j.subject = 'slot_offer:' || o.id
           where o.id = %L$$, :'offer9'),
  $$values (now(), now())$$,
  'in quiet hours, an offer that closes before they end sends its first wave now'
);

-- Quiet hours that do not contain now change nothing.
select tests.quiet_hours_from_now('1 hour', '2 hours');
select pg_temp.appointment('7 days') as a10 \gset
select tests.cancel_appointment(:'a10') as offer10 \gset
select is(
  (select run_at from jobs.jobs where subject = 'slot_offer:' || :'offer10'),
  now(),
  'outside the quiet hours the first wave runs now'
);
select tests.waitlist_settings();

-- The rule itself, on fixed dates (the trigger and the waves both use it).
create function pg_temp.after_quiet(p_at timestamptz, p_closes_at timestamptz default null)
returns timestamptz
language sql as $$
  select waitlist_internal.after_quiet_hours(p_at, p_closes_at, s) from public.waitlist_settings s
$$;
select is(pg_temp.after_quiet('2026-11-24 23:00+01'), '2026-11-24 23:00+01'::timestamptz,
  'without quiet hours every time is fine');
select tests.waitlist_settings(p_quiet_hours_start => '21:00', p_quiet_hours_end => '08:00');
select results_eq(
  $$select pg_temp.after_quiet(t) from unnest(array[
      '2026-11-24 20:59+01', '2026-11-24 21:00+01', '2026-11-24 23:30+01', '2026-11-25 03:00+01',
      '2026-11-25 07:59+01', '2026-11-25 08:00+01']::timestamptz[]) with ordinality u(t, n) order by n$$,
  $$select t from unnest(array[
      '2026-11-24 20:59+01', '2026-11-25 08:00+01', '2026-11-25 08:00+01', '2026-11-25 08:00+01',
      '2026-11-25 08:00+01', '2026-11-25 08:00+01']::timestamptz[]) with ordinality u(t, n) order by n$$,
  'overnight quiet hours (21:00–08:00) move a time from 21:00 on to 08:00 the next morning'
);
select is(pg_temp.after_quiet('2026-03-28 22:00+01'), '2026-03-29 08:00+02'::timestamptz,
  'across the spring change the end of the quiet hours is 08:00 summer time');
select is(pg_temp.after_quiet('2026-10-24 22:00+02'), '2026-10-25 08:00+01'::timestamptz,
  'across the autumn change the end of the quiet hours is 08:00 winter time');
select is(pg_temp.after_quiet('2026-11-24 22:00+01', '2026-11-25 08:00+01'), '2026-11-24 22:00+01'::timestamptz,
  'an offer closing by the end of the quiet hours does not wait for them');
select is(pg_temp.after_quiet('2026-11-24 22:00+01', '2026-11-25 08:01+01'), '2026-11-25 08:00+01'::timestamptz,
  'an offer closing after the end of the quiet hours waits for them');
select tests.waitlist_settings(p_quiet_hours_start => '12:00', p_quiet_hours_end => '14:00');
select results_eq(
  $$select pg_temp.after_quiet('2026-11-24 11:59+01'), pg_temp.after_quiet('2026-11-24 13:00+01'),
           pg_temp.after_quiet('2026-11-24 14:00+01')$$,
  $$values ('2026-11-24 11:59+01'::timestamptz, '2026-11-24 14:00+01'::timestamptz, '2026-11-24 14:00+01'::timestamptz)$$,
  'daytime quiet hours (12:00–14:00) move a time inside them to 14:00 the same day'
);
select tests.waitlist_settings();
select throws_ok(
  $$update public.waitlist_settings set quiet_hours_start = '21:00'$$,
  '23514', 'new row for relation "waitlist_settings" violates check constraint "waitlist_settings_quiet_hours_pair"',
  'quiet hours need both a start and an end'
);
select throws_ok(
  $$insert into public.waitlist_settings default values$$,
  '23505', 'duplicate key value violates unique constraint "waitlist_settings_pkey"',
  'there is only one settings row'
);

-- ---------------------------------------------------------------------------------------------
-- A clinic admin cancels through the API (RLS applies; the trigger is security definer).
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('8 days') as a11 \gset
select tests.act_as_clinic_admin('00000000-0000-0000-0000-0000000000a1');
select lives_ok(
  format($$update public.appointments set status = 'cancelled' where id = %L$$, :'a11'),
  'a clinic admin cancels an appointment'
);
reset role;
select is(pg_temp.trail(:'a11'), '1 offer(s), 1 log(s), 1 job(s)',
  'the admin''s cancellation opens the offer and enqueues its wave');

-- ---------------------------------------------------------------------------------------------
-- A failure inside the trigger never blocks the update: it is logged as an error.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('9 days') as a12 \gset
select tests.remove_waitlist_settings();
select lives_ok(
  format($$update public.appointments set status = 'cancelled' where id = %L$$, :'a12'),
  'a cancellation succeeds even when the offer cannot be opened'
);
select tests.restore_waitlist_settings();
select is((select status from public.appointments where id = :'a12'), 'cancelled',
  'the appointment is cancelled');
select is(pg_temp.trail(:'a12'), '0 offer(s), 1 log(s), 0 job(s)', 'no offer was opened');
select results_eq(
  format($$select status, message, error_message, details ->> 'sqlstate'
           from public.waitlist_trigger_logs where appointment_id = %L$$, :'a12'),
  $$values ('error', 'Opening the slot offer failed; monitor-waitlist-system will retry',
            'public.waitlist_settings has no row: insert one (insert into public.waitlist_settings default values)',
            '55000')$$,
  'the error is logged with its message and SQLSTATE'
);

-- At most one open offer per appointment, whatever the path.
select throws_ok(
  format($$insert into public.appointment_slot_offers (appointment_id, cancelled_patient_id,
             practitioner_id, appointment_type_id, starts_at, ends_at, closes_at)
           select appointment_id, cancelled_patient_id, practitioner_id, appointment_type_id,
                  starts_at, ends_at, closes_at
           from public.appointment_slot_offers where id = %L$$, :'offer1'),
  '23505', 'duplicate key value violates unique constraint "slot_offers_one_open_per_appointment"',
  'a second open offer for the same appointment is refused'
);

select * from finish();
rollback;
