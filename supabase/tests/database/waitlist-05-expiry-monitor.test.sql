-- Expiry and monitor: waitlist_expire_due() expires invitations past expires_at and closes offers
-- past their cutoff or with nothing left to do; waitlist_monitor() does that too, reopens
-- offers whose trigger failed, requeues overdue waves that have no job, and returns the
-- statistics.
begin;
select plan(31);

update public.waitlist_settings
set clinic_time_zone = 'Europe/Paris', wave_size = 2, wave_interval = '30 minutes',
    invitation_lifetime = '24 hours', offer_cutoff = '2 hours',
    quiet_hours_start = null, quiet_hours_end = null;

insert into public.practitioners (full_name) values ('Dr T17'), ('Dr T17 bis');
insert into public.appointment_types (name, duration_minutes) values ('t17 consultation', 30), ('t17 rare', 30);
insert into public.patients (first_name, last_name, email) values
  ('Cora', 'T17', 'cora@example.com'), ('e1', 'T17', 'e1@example.com'),
  ('e2', 'T17', 'e2@example.com'), ('e3', 'T17', 'e3@example.com');
-- e1 and e2 want a consultation, e3 the rare type; all week, any practitioner.
insert into public.waitlist (patient_id, appointment_type_id, consent_automated_notifications, earliest_date, created_at)
select p.id, t.id, true, current_date - 1, now() - interval '1 day' + substr(p.first_name, 2)::int * interval '1 minute'
from public.patients p
join public.appointment_types t on t.name = case p.first_name when 'e3' then 't17 rare' else 't17 consultation' end
where p.last_name = 'T17' and p.first_name like 'e_';
insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
select w.id, d, s, e
from public.waitlist w join public.patients p on p.id = w.patient_id and p.last_name = 'T17',
     generate_series(1, 7) d, (values (time '00:00', time '24:00'), (time '12:00', time '11:59')) v(s, e);

/* An appointment of Cora, p_days ahead at 10:00 in Paris. */
create function pg_temp.appointment(p_practitioner text, p_type text, p_days int) returns uuid
language sql as $$
  select tests.add_appointment(p.id, d.id, t.id, tests.days_ahead_at(p_days))
  from public.patients p, public.practitioners d, public.appointment_types t
  where p.first_name = 'Cora' and p.last_name = 'T17' and d.full_name = p_practitioner and t.name = p_type
$$;

/* Cancels the appointment and runs its first wave now, as the job would; emails are sent. */
create function pg_temp.cancel_and_invite(p_appointment uuid) returns uuid
language sql as $$ select (tests.cancel_and_invite(p_appointment) ->> 'slot_offer_id')::uuid $$;

create function pg_temp.offer_state(p_offer uuid) returns text
language sql as $$
  select status || coalesce(': ' || closed_reason, '') from public.appointment_slot_offers where id = p_offer
$$;

-- ---------------------------------------------------------------------------------------------
-- Expiry
-- ---------------------------------------------------------------------------------------------
-- Offer 1: e1 and e2 invited, a full wave, so a next wave is planned. Offer 2: only e3.
select pg_temp.cancel_and_invite(pg_temp.appointment('Dr T17', 't17 consultation', 3)) as o1 \gset
select pg_temp.cancel_and_invite(pg_temp.appointment('Dr T17 bis', 't17 rare', 4)) as o2 \gset
select results_eq(
  format($$select i.slot_offer_id, i.status, o.next_wave_at is not null from public.slot_offer_invitations i
           join public.appointment_slot_offers o on o.id = i.slot_offer_id
           where o.id in (%L, %L) order by o.starts_at, i.rank$$, :'o1', :'o2'),
  format($$values (%1$L::uuid, 'sent', true), (%1$L::uuid, 'sent', true), (%2$L::uuid, 'sent', false)$$, :'o1', :'o2'),
  'offer 1 has two sent invitations and a wave planned; offer 2 one invitation and none planned'
);

select is(public.waitlist_expire_due(now()), '{"invitations_expired": 0, "offers_expired": 0}'::jsonb,
  'nothing is due yet');
select is(public.waitlist_expire_due(now() + interval '24 hours'),
  '{"invitations_expired": 3, "offers_expired": 1}'::jsonb,
  'a day later the three invitations expire, and offer 2 with nothing left to do');
select is(
  (select array_agg(distinct status || ' ' || (pending_token is null)) from public.slot_offer_invitations
   where slot_offer_id in (:'o1', :'o2')),
  array['expired true'],
  'expired invitations hold no token'
);
select is(pg_temp.offer_state(:'o2'), 'expired: no eligible candidate left and no invitation open',
  'offer 2 expired because nobody can take it any more');
select is(pg_temp.offer_state(:'o1'), 'open', 'offer 1, with a wave planned, stays open');
select is(public.waitlist_expire_due(now() + interval '24 hours'),
  '{"invitations_expired": 0, "offers_expired": 0}'::jsonb, 'expiring again finds nothing');

select is(
  public.waitlist_expire_due((select closes_at from public.appointment_slot_offers where id = :'o1')),
  '{"invitations_expired": 0, "offers_expired": 1}'::jsonb,
  'at its cutoff offer 1 closes'
);
select results_eq(
  format($$select status, closed_reason, closed_at = closes_at, next_wave_at from public.appointment_slot_offers where id = %L$$, :'o1'),
  $$values ('expired', 'the offer reached its cutoff', true, null::timestamptz)$$,
  'the offer expired at its cutoff and plans no more waves'
);
select results_eq(
  format($$select slot_offer_id, message from public.waitlist_trigger_logs
           where trigger_type = 'offer_closed' and slot_offer_id in (%L, %L) order by id$$, :'o1', :'o2'),
  format($$values (%L::uuid, 'Offer expired: no eligible candidate left and no invitation open'),
                  (%L::uuid, 'Offer expired: the offer reached its cutoff')$$, :'o2', :'o1'),
  'each closing is logged'
);

-- An open invitation of an offer past its cutoff expires with the offer.
select pg_temp.cancel_and_invite(pg_temp.appointment('Dr T17', 't17 consultation', 2)) as o3 \gset
select is(
  public.waitlist_expire_due((select closes_at from public.appointment_slot_offers where id = :'o3')),
  '{"invitations_expired": 2, "offers_expired": 1}'::jsonb,
  'at the cutoff the offer and its invitations expire together'
);

-- ---------------------------------------------------------------------------------------------
-- The monitor reopens an offer whose trigger failed.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('Dr T17', 't17 consultation', 5) as a5 \gset
create temp table t17_settings as select * from public.waitlist_settings;
delete from public.waitlist_settings;
update public.appointments set status = 'cancelled' where id = :'a5';
insert into public.waitlist_settings select * from t17_settings;
select is(
  (select count(*)::int from public.appointment_slot_offers where appointment_id = :'a5'), 0,
  'a cancellation whose trigger failed has no offer'
);

create temp table t17_stats as select public.waitlist_monitor(now()) as stats;
select is((select stats -> 'repaired' from t17_stats),
  '{"offers_opened": 1, "waves_requeued": 0, "queue_woken": false}'::jsonb,
  'the monitor opens the missing offer');
select results_eq(
  format($$select o.status, o.next_wave_at, j.payload ->> 'wave', j.state::text
           from public.appointment_slot_offers o join jobs.jobs j on j.subject = 'slot_offer:' || o.id
           where o.appointment_id = %L$$, :'a5'),
  $$values ('open', now(), '1', 'waiting')$$,
  'with its first wave queued'
);
select ok(
  (select stats ?& array['checked_at', 'offers', 'open_offers_without_invitations', 'invitations',
                         'last_24h', 'recent_errors', 'queue', 'expired', 'repaired'] from t17_stats),
  'the statistics have every section'
);
select is(
  (select stats -> 'offers' from t17_stats),
  (select jsonb_build_object(
     'open', count(*) filter (where status = 'open'), 'filled', count(*) filter (where status = 'filled'),
     'expired', count(*) filter (where status = 'expired'), 'withdrawn', count(*) filter (where status = 'withdrawn'))
   from public.appointment_slot_offers),
  'offers are counted by status, zeros included'
);
select is(
  (select array_agg(k order by k) from t17_stats, jsonb_object_keys(stats -> 'invitations') k),
  array['accepted', 'declined', 'expired', 'failed', 'pending', 'sent', 'withdrawn'],
  'invitations are counted by every status'
);
select is(
  (select stats -> 'last_24h' from t17_stats),
  (select jsonb_build_object(
     'cancellations', (select count(*) from public.waitlist_trigger_logs where trigger_type = 'cancellation'
                       and created_at > now() - interval '24 hours'),
     'invitations_sent', (select count(*) from public.slot_offer_invitations where sent_at > now() - interval '24 hours'),
     'bookings', (select count(*) from public.appointment_slot_offers where filled_at > now() - interval '24 hours'),
     'errors', (select count(*) from public.waitlist_trigger_logs where status = 'error'
                and created_at > now() - interval '24 hours'))),
  'the last 24 hours count cancellations, invitations sent, bookings and errors'
);
select is(
  (select e -> 'appointment_id' from t17_stats, jsonb_array_elements(stats -> 'recent_errors') e
   where e ->> 'message' = 'Opening the slot offer failed; monitor-waitlist-system will retry'),
  to_jsonb(:'a5'::uuid),
  'recent errors show the failed cancellation'
);
select results_eq(
  $$select stats -> 'queue' ->> 'queue', stats -> 'queue' ->> 'function_name', stats -> 'expired' from t17_stats$$,
  $$values ('waitlist', 'process-cancellation', '{"invitations_expired": 0, "offers_expired": 0}'::jsonb)$$,
  'the statistics include the queue''s health and what was expired'
);
select results_eq(
  $$select status, message, details from public.waitlist_trigger_logs
    where trigger_type = 'monitor' and created_at = now() order by id$$,
  $$values ('success', 'Monitor repaired overdue work',
            '{"offers_opened": 1, "waves_requeued": 0, "queue_woken": false}'::jsonb)$$,
  'the monitor logs what it repaired'
);
select is(public.waitlist_monitor(now()) -> 'repaired' -> 'offers_opened', '0'::jsonb,
  'a second run opens nothing more');
select is(
  (select message from public.waitlist_trigger_logs
   where trigger_type = 'monitor' and created_at = now() order by id desc limit 1),
  'Monitor found nothing to repair',
  'and logs that it found nothing'
);

-- ---------------------------------------------------------------------------------------------
-- The monitor requeues a due wave that has no job.
-- ---------------------------------------------------------------------------------------------
select pg_temp.cancel_and_invite(pg_temp.appointment('Dr T17 bis', 't17 consultation', 6)) as o6 \gset
select is(
  (select next_wave_at from public.appointment_slot_offers where id = :'o6'), now() + interval '30 minutes',
  'wave 2 of offer 6 is due in 30 minutes'
);
-- Its jobs are lost (cancelled by an operator, say).
select count(public.job_cancel(id, 'lost')) from jobs.jobs where subject = 'slot_offer:' || :'o6';

select is(public.waitlist_monitor(now() + interval '31 minutes') -> 'repaired' -> 'waves_requeued', '0'::jsonb,
  'a wave due for less than two minutes is left to its job');
-- Wake-ups go to a test address from here on.
delete from vault.secrets where name in ('project_url', 'cron_secret');
select vault.create_secret('http://api.test/', 'project_url');
select vault.create_secret('test-cron-secret', 'cron_secret');
select is(public.waitlist_monitor(now() + interval '33 minutes') -> 'repaired',
  '{"offers_opened": 0, "waves_requeued": 1, "queue_woken": true}'::jsonb,
  'a wave overdue with no unfinished job is requeued, and the queue, with jobs due, is woken');
select is(
  (select array_agg(convert_from(body, 'UTF8')::jsonb) from net.http_request_queue
   where url = 'http://api.test/functions/v1/process-cancellation'),
  array['{"queue": "waitlist", "reason": "monitor"}'::jsonb],
  'the wake-up calls process-cancellation with the reason monitor'
);
select results_eq(
  format($$select payload, dedupe_key, run_at, state::text from jobs.jobs
           where subject = 'slot_offer:' || %1$L and state = 'waiting'$$, :'o6'),
  format($$values (jsonb_build_object('kind', 'offer_wave', 'slot_offer_id', %1$L::uuid, 'wave', 2),
                   'slot_offer:%1$s:wave:2', now() + interval '33 minutes', 'waiting')$$, :'o6'),
  'the requeued job opens wave 2, runnable at once'
);
select is(public.waitlist_monitor(now() + interval '34 minutes') -> 'repaired' -> 'waves_requeued', '0'::jsonb,
  'once requeued, the wave is not requeued again');

-- Found overdue in the quiet hours, a wave waits for their end like any other.
select pg_temp.cancel_and_invite(pg_temp.appointment('Dr T17', 't17 consultation', 7)) as o7 \gset
select count(public.job_cancel(id, 'lost')) from jobs.jobs where subject = 'slot_offer:' || :'o7';
update public.waitlist_settings
set quiet_hours_start = ((now() at time zone 'Europe/Paris') + interval '1 hour')::time,
    quiet_hours_end = ((now() at time zone 'Europe/Paris') + interval '3 hours')::time;
select is(public.waitlist_monitor(now() + interval '70 minutes') -> 'repaired' -> 'waves_requeued', '1'::jsonb,
  'a wave overdue during the quiet hours is requeued');
select is(
  (select run_at from jobs.jobs where subject = 'slot_offer:' || :'o7' and state = 'waiting'),
  ((now() at time zone 'Europe/Paris') + interval '3 hours') at time zone 'Europe/Paris',
  'to run when the quiet hours end'
);

select * from finish();
rollback;
