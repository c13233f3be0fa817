-- Expiry and monitor: waitlist_expire_due() expires invitations past expires_at and closes offers
-- past their cutoff or with nothing left to do; waitlist_monitor() does that too, reopens
-- offers whose trigger failed, requeues overdue waves that have no job, and returns the
-- statistics.
begin;
select plan(31);

select tests.waitlist_settings();

select tests.add_clinic('T17');
-- e1 and e2 want a consultation, e3 the rare type; around the clock, any practitioner.
select tests.add_waitlist_entry(tests.add_patient('e' || n, 'T17'),
  tests.appointment_type(case n when 3 then 't17 rare' else 't17 consultation' end),
  p_created_at => now() - interval '1 day' + n * interval '1 minute', p_availability => 'around the clock')
from generate_series(1, 3) n;

/* An appointment of Cora, p_days ahead at 10:00 in Paris. */
create function pg_temp.appointment(p_practitioner text, p_type text, p_days int) returns uuid
language sql as $$
  select tests.add_appointment(tests.patient('Cora', 'T17'), tests.practitioner(p_practitioner),
    tests.appointment_type(p_type), tests.days_ahead_at(p_days))
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
select tests.remove_waitlist_settings();
update public.appointments set status = 'cancelled' where id = :'a5';
select tests.restore_waitlist_settings();
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
select tests.quiet_hours_from_now('1 hour', '3 hours');
select is(public.waitlist_monitor(now() + interval '70 minutes') -> 'repaired' -> 'waves_requeued', '1'::jsonb,
  'a wave overdue during the quiet hours is requeued');
select is(
  (select run_at from jobs.jobs where subject = 'slot_offer:' || :'o7' and state = 'waiting'),
  ((now() at time zone 'Europe/Paris') + interval '3 hours') at time zone 'Europe/Paris',
  'to run when the quiet hours end'
);

select * from finish();
rollback;
