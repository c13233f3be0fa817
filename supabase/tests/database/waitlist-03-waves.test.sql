-- Waves: waitlist_open_wave() invites the next wave_size candidates with fresh link tokens,
-- returns them for the email, plans the next wave (wave_interval later, never in quiet hours,
-- never after the cutoff) and is safe to call again; waitlist_record_invitation_emails() records
-- Resend's answers (sent: the token is erased; refused for good: failed; otherwise retried).
-- An offer nobody is left to fill expires. A patient with many matching entries does not cut a
-- wave short.
begin;
select plan(41);

select tests.waitlist_settings();

select tests.add_clinic('T15');
-- c1 to c5, any practitioner, priority 5 down to 1, available around the clock (also past midnight).
select tests.add_waitlist_entry(
  tests.add_patient('c' || n, 'T15', p_locale => case n when 1 then 'en' else 'fr' end),
  tests.appointment_type('t15 consultation'), p_priority => 6 - n, p_availability => 'around the clock')
from generate_series(1, 5) n;
-- c1 also waits for Dr T15 in particular: a second matching entry, ranked second.
select tests.add_waitlist_entry(tests.patient('c1', 'T15'), tests.appointment_type('t15 consultation'),
  tests.practitioner('Dr T15'), 5, p_created_at => now() + interval '1 second',
  p_availability => 'around the clock');

/* Cancels an appointment of Cora with a practitioner at a local date and time; returns its offer. */
create function pg_temp.cancelled_slot(p_practitioner text, p_type text, p_starts_at timestamptz)
returns uuid
language sql as $$
  select tests.cancel_appointment(tests.add_appointment(tests.patient('Cora', 'T15'),
    tests.practitioner(p_practitioner), tests.appointment_type(p_type), p_starts_at))
$$;

create function pg_temp.invitation_of(p_offer uuid, p_first_name text) returns uuid
language sql as $$
  select i.id from public.slot_offer_invitations i join public.patients p on p.id = i.patient_id
  where i.slot_offer_id = p_offer and p.first_name = p_first_name and p.last_name = 'T15'
$$;

-- Three days ahead at 10:00 in Paris.
select pg_temp.cancelled_slot('Dr T15', 't15 consultation', tests.days_ahead_at(3)) as offer1 \gset

-- ---------------------------------------------------------------------------------------------
-- Wave 1
-- ---------------------------------------------------------------------------------------------
select is(
  array(select patient_name from public.get_eligible_waitlist_candidates(:'offer1', 3) order by rank),
  array['c1 T15', 'c1 T15', 'c2 T15'],
  'a patient with two matching entries is a candidate through each'
);
create temp table t15_wave1 as select public.waitlist_open_wave(:'offer1', 1) as wave;

select results_eq(
  $$select wave ->> 'offer_status', (wave ->> 'wave')::int, wave ->> 'note',
           wave ->> 'sender', wave -> 'slot' ->> 'practitioner_name', wave -> 'slot' ->> 'time_zone'
    from t15_wave1$$,
  $$values ('open', 1, 'wave opened', 'Cabinet médical <rendez-vous@example.com>', 'Dr T15', 'Europe/Paris')$$,
  'opening a wave returns the offer, the note, the sender and the slot'
);
select results_eq(
  $$select patient_first_name, email, locale, expires_at, send_attempts
    from t15_wave1, tests.wave_invitations(wave)$$,
  $$values ('c1', 'c1@example.com', 'en', now() + interval '24 hours', 0),
           ('c2', 'c2@example.com', 'fr', now() + interval '24 hours', 0)$$,
  'the wave invites the wave_size best patients, in rank order, each once'
);
select is(
  (select count(*)::int from t15_wave1, tests.wave_invitations(wave) i where i.token ~ '^[A-Za-z0-9_-]{43}$'),
  2,
  'each invitation carries a 43-character base64url token'
);
select results_eq(
  $$select i.status, i.wave, i.pending_token = w.token, i.token_hash = sha256(convert_to(w.token, 'UTF8')),
           i.expires_at, i.sent_at, i.send_attempts
    from t15_wave1, tests.wave_invitations(wave) w
    join public.slot_offer_invitations i on i.id = w.invitation_id
    order by i.rank$$,
  $$values ('pending', 1, true, true, now() + interval '24 hours', null::timestamptz, 0),
           ('pending', 1, true, true, now() + interval '24 hours', null::timestamptz, 0)$$,
  'invitations wait for their email with the plain token and its SHA-256'
);
select is(
  (select count(distinct token)::int from t15_wave1, tests.wave_invitations(wave)), 2,
  'every invitation has its own token'
);
select results_eq(
  format($$select invitation_count, waves_sent, last_wave_at, next_wave_at
           from public.appointment_slot_offers where id = %L$$, :'offer1'),
  $$values (2, 1, now(), now() + interval '30 minutes')$$,
  'the offer counts the invitations and plans the next wave after the interval'
);
select results_eq(
  format($$select payload, dedupe_key, run_at, state::text from jobs.jobs
           where subject = 'slot_offer:' || %1$L and payload ->> 'wave' = '2'$$, :'offer1'),
  format($$values (jsonb_build_object('kind', 'offer_wave', 'slot_offer_id', %1$L::uuid, 'wave', 2),
                   'slot_offer:%1$s:wave:2', now() + interval '30 minutes', 'waiting')$$, :'offer1'),
  'the next wave is enqueued for then'
);
select results_eq(
  format($$select status, message, retry_count, details from public.waitlist_trigger_logs
           where slot_offer_id = %L and trigger_type = 'wave'$$, :'offer1'),
  $$values ('success', 'Wave 1: 2 invitation(s) created', 0,
            jsonb_build_object('wave', 1, 'invited', 2, 'next_wave_at', now() + interval '30 minutes'))$$,
  'the wave is logged'
);

-- Again, as a retried job would: the same unsent invitations, nothing new.
create temp table t15_wave1_again as select public.waitlist_open_wave(:'offer1', 1, 2) as wave;
select results_eq(
  $$select invitation_id, token from t15_wave1_again, tests.wave_invitations(wave)$$,
  $$select invitation_id, token from t15_wave1, tests.wave_invitations(wave)$$,
  'a repeated wave returns the same unsent invitations with the same tokens'
);
select is((select wave ->> 'note' from t15_wave1_again), 'unsent invitations',
  'and says they are unsent');
select results_eq(
  format($$select (select count(*)::int from public.slot_offer_invitations where slot_offer_id = %1$L),
                  (select count(*)::int from jobs.jobs where subject = 'slot_offer:' || %1$L),
                  (select invitation_count from public.appointment_slot_offers where id = %1$L)$$, :'offer1'),
  $$values (2, 2, 2)$$,
  'a repeated wave creates no invitation and no job'
);

-- ---------------------------------------------------------------------------------------------
-- Resend's answers: one accepted, one to retry.
-- ---------------------------------------------------------------------------------------------
select is(
  public.waitlist_record_invitation_emails(jsonb_build_array(
    jsonb_build_object('invitation_id', pg_temp.invitation_of(:'offer1', 'c1'), 'email_id', 'em_c1'),
    jsonb_build_object('invitation_id', pg_temp.invitation_of(:'offer1', 'c2'),
                       'error', 'Resend 429: too many requests', 'permanent', false))),
  2,
  'recording two answers returns 2'
);
select results_eq(
  format($$select p.first_name, i.status, i.pending_token is null, i.sent_at, i.email_id, i.send_attempts, i.last_error
           from public.slot_offer_invitations i join public.patients p on p.id = i.patient_id
           where i.slot_offer_id = %L order by i.rank$$, :'offer1'),
  $$values ('c1', 'sent', true, now(), 'em_c1', 1, null),
           ('c2', 'pending', false, null, null, 1, 'Resend 429: too many requests')$$,
  'an accepted email marks the invitation sent and erases its token; a retryable failure keeps it pending'
);
select results_eq(
  format($$select l.status, l.message, l.error_message, l.retry_count, l.details
           from public.waitlist_trigger_logs l join public.slot_offer_invitations i on i.id = l.invitation_id
           where l.slot_offer_id = %L and l.trigger_type = 'invitation_email' order by i.rank$$, :'offer1'),
  $$values ('success', 'Invitation email accepted by Resend', null, 0,
            '{"email_id": "em_c1", "invitation_status": "sent"}'::jsonb),
           ('error', 'Invitation email failed; the job will retry', 'Resend 429: too many requests', 0,
            '{"permanent": false, "invitation_status": "pending"}'::jsonb)$$,
  'each answer is logged'
);

create temp table t15_wave1_retry as select public.waitlist_open_wave(:'offer1', 1, 3) as wave;
select results_eq(
  $$select patient_first_name, token, send_attempts from t15_wave1_retry, tests.wave_invitations(wave)$$,
  $$select patient_first_name, token, 1 from t15_wave1, tests.wave_invitations(wave) where patient_first_name = 'c2'$$,
  'the retried wave returns only the unsent invitation, with its first token'
);
select public.waitlist_record_invitation_emails(jsonb_build_array(
  jsonb_build_object('invitation_id', pg_temp.invitation_of(:'offer1', 'c2'), 'email_id', 'em_c2')));
select results_eq(
  format($$select i.status, i.pending_token, i.send_attempts, l.retry_count
           from public.slot_offer_invitations i
           join public.waitlist_trigger_logs l on l.invitation_id = i.id and l.status = 'success'
           where i.id = %L$$, pg_temp.invitation_of(:'offer1', 'c2')),
  $$values ('sent', null::text, 2, 1)$$,
  'the second attempt sends it; its log row counts one earlier attempt'
);

create temp table t15_wave1_late as select public.waitlist_open_wave(:'offer1', 1, 4) as wave;
select results_eq(
  $$select wave ->> 'note', jsonb_array_length(wave -> 'invitations') from t15_wave1_late$$,
  $$values ('wave already opened', 0)$$,
  'once its emails are sent, wave 1 again returns nothing to send'
);
select is(
  (select count(*)::int from public.slot_offer_invitations where slot_offer_id = :'offer1'), 2,
  'and creates nothing'
);

-- ---------------------------------------------------------------------------------------------
-- Wave 2, half an hour later, in the evening's quiet hours: wave 3 waits for them to end.
-- ---------------------------------------------------------------------------------------------
select tests.quiet_hours_from_now('45 minutes', '3 hours');

create temp table t15_wave2 as
select public.waitlist_open_wave(:'offer1', 2, 1, now() + interval '30 minutes') as wave;
select results_eq(
  $$select patient_first_name, expires_at from t15_wave2, tests.wave_invitations(wave)$$,
  $$values ('c3', now() + interval '30 minutes' + interval '24 hours'),
           ('c4', now() + interval '30 minutes' + interval '24 hours')$$,
  'wave 2 invites the next two candidates'
);
select results_eq(
  format($$select o.next_wave_at, j.run_at, j.dedupe_key
           from public.appointment_slot_offers o
           join jobs.jobs j on j.subject = 'slot_offer:' || o.id and j.payload ->> 'wave' = '3'
           where o.id = %L$$, :'offer1'),
  format($$values (((now() at time zone 'Europe/Paris') + interval '3 hours') at time zone 'Europe/Paris',
                   ((now() at time zone 'Europe/Paris') + interval '3 hours') at time zone 'Europe/Paris',
                   'slot_offer:%s:wave:3')$$, :'offer1'),
  'the next wave would fall in the quiet hours: it is planned for their end'
);
select tests.waitlist_settings();

-- c3's address is refused for good; c4's email goes.
select public.waitlist_record_invitation_emails(jsonb_build_array(
  jsonb_build_object('invitation_id', pg_temp.invitation_of(:'offer1', 'c3'),
                     'error', 'Resend 422: invalid recipient', 'permanent', true),
  jsonb_build_object('invitation_id', pg_temp.invitation_of(:'offer1', 'c4'), 'email_id', 'em_c4')),
  now() + interval '31 minutes');
select results_eq(
  format($$select status, pending_token, send_attempts, last_error, sent_at
           from public.slot_offer_invitations where id = %L$$, pg_temp.invitation_of(:'offer1', 'c3')),
  $$values ('failed', null::text, 1, 'Resend 422: invalid recipient', null::timestamptz)$$,
  'a permanent failure marks the invitation failed, keeps the error and erases the token'
);
select results_eq(
  format($$select status, message, error_message, details from public.waitlist_trigger_logs
           where invitation_id = %L$$, pg_temp.invitation_of(:'offer1', 'c3')),
  $$values ('error', 'Invitation email refused for good', 'Resend 422: invalid recipient',
            '{"permanent": true, "invitation_status": "failed"}'::jsonb)$$,
  'the refusal is logged'
);
select is(
  (select status from public.slot_offer_invitations where id = pg_temp.invitation_of(:'offer1', 'c4')),
  'sent', 'the other invitation of the wave is sent'
);

-- ---------------------------------------------------------------------------------------------
-- Wave 3: one candidate left, fewer than the wave size: nothing more is planned.
-- ---------------------------------------------------------------------------------------------
create temp table t15_wave3 as
select public.waitlist_open_wave(:'offer1', 3, 1, now() + interval '3 hours') as wave;
select results_eq(
  $$select patient_first_name from t15_wave3, tests.wave_invitations(wave)$$,
  $$values ('c5')$$,
  'wave 3 invites the last candidate'
);
select results_eq(
  format($$select status, invitation_count, waves_sent, next_wave_at
           from public.appointment_slot_offers where id = %L$$, :'offer1'),
  $$values ('open', 5, 3, null::timestamptz)$$,
  'a wave smaller than the wave size plans no next wave; the offer stays open for the invitees'
);
select is(
  (select count(*)::int from jobs.jobs where subject = 'slot_offer:' || :'offer1' and payload ->> 'wave' = '4'),
  0,
  'and enqueues no job'
);
select public.waitlist_record_invitation_emails(jsonb_build_array(
  jsonb_build_object('invitation_id', pg_temp.invitation_of(:'offer1', 'c5'), 'email_id', 'em_c5')),
  now() + interval '3 hours');

-- A wave nobody is left for, while invitations are still open (a requeued job, say).
create temp table t15_wave4 as
select public.waitlist_open_wave(:'offer1', 4, 1, now() + interval '4 hours') as wave;
select results_eq(
  format($$select status, message from public.waitlist_trigger_logs
           where slot_offer_id = %L and trigger_type = 'wave' and details ->> 'wave' = '4'$$, :'offer1'),
  $$values ('skipped', 'Wave 4: no eligible candidate left')$$,
  'a wave without candidates is logged as skipped'
);
select is((select status from public.appointment_slot_offers where id = :'offer1'), 'open',
  'the offer stays open while sent invitations can still be answered');

-- ---------------------------------------------------------------------------------------------
-- An offer nobody can take, one past its cutoff, one closing before the next wave.
-- ---------------------------------------------------------------------------------------------
select pg_temp.cancelled_slot('Dr T15 bis', 't15 rare',
  tests.days_ahead_at(4)) as offer2 \gset
create temp table t15_empty as select public.waitlist_open_wave(:'offer2', 1, 3) as wave;
select results_eq(
  $$select wave ->> 'offer_status', jsonb_array_length(wave -> 'invitations') from t15_empty$$,
  $$values ('expired', 0)$$,
  'a first wave without any candidate expires the offer'
);
select results_eq(
  format($$select status, closed_at, closed_reason, next_wave_at, waves_sent
           from public.appointment_slot_offers where id = %L$$, :'offer2'),
  $$values ('expired', now(), 'no eligible candidate left', null::timestamptz, 1)$$,
  'the offer records why it closed'
);
select results_eq(
  format($$select trigger_type, status, message, retry_count from public.waitlist_trigger_logs
           where slot_offer_id = %L and trigger_type <> 'cancellation' order by id$$, :'offer2'),
  $$values ('wave', 'skipped', 'Wave 1: no eligible candidate left', 2),
           ('offer_closed', 'success', 'Offer expired: no eligible candidate left', 0)$$,
  'the empty wave (third attempt) and the closing are logged'
);
create temp table t15_closed as select public.waitlist_open_wave(:'offer2', 2) as wave;
select results_eq(
  $$select wave ->> 'note', wave ->> 'offer_status', jsonb_array_length(wave -> 'invitations') from t15_closed$$,
  $$values ('offer closed', 'expired', 0)$$,
  'a wave of a closed offer does nothing'
);

select pg_temp.cancelled_slot('Dr T15 bis', 't15 consultation',
  tests.days_ahead_at(5)) as offer3 \gset
create temp table t15_late as
select public.waitlist_open_wave(:'offer3', 1, 1, (select closes_at from public.appointment_slot_offers where id = :'offer3')) as wave;
select results_eq(
  $$select wave ->> 'note', wave ->> 'offer_status', jsonb_array_length(wave -> 'invitations') from t15_late$$,
  $$values ('offer closed', 'expired', 0)$$,
  'a wave at the offer''s cutoff closes it instead of inviting'
);
select results_eq(
  format($$select o.closed_reason, o.closed_at = o.closes_at,
                  (select count(*)::int from public.slot_offer_invitations i where i.slot_offer_id = o.id)
           from public.appointment_slot_offers o where o.id = %L$$, :'offer3'),
  $$values ('the offer reached its cutoff', true, 0)$$,
  'the offer expired at its cutoff, with no invitation'
);

-- Cancelled 2 h 21 min before its start: the offer closes in about 20 minutes, before the next
-- wave could run. Its invitations expire with it.
select pg_temp.cancelled_slot('Dr T15 bis', 't15 consultation',
  date_trunc('minute', now()) + interval '2 hours 21 minutes') as offer4 \gset
create temp table t15_short as select public.waitlist_open_wave(:'offer4', 1) as wave;
select results_eq(
  format($$select (select count(*)::int from public.slot_offer_invitations i where i.slot_offer_id = o.id),
                  o.next_wave_at,
                  (select count(*)::int from jobs.jobs j where j.subject = 'slot_offer:' || o.id)
           from public.appointment_slot_offers o where o.id = %L$$, :'offer4'),
  $$values (2, null::timestamptz, 1)$$,
  'a full wave plans no next wave that would run after the cutoff'
);
select is(
  (select array_agg(distinct i.expires_at = o.closes_at)
   from public.slot_offer_invitations i join public.appointment_slot_offers o on o.id = i.slot_offer_id
   where o.id = :'offer4'),
  array[true],
  'invitations never outlive their offer''s cutoff'
);

select throws_ok(
  $$select public.waitlist_open_wave('00000000-0000-0000-0000-000000000000', 1)$$,
  'P0002', 'Slot offer 00000000-0000-0000-0000-000000000000 does not exist',
  'a wave of an unknown offer raises no_data_found'
);
select is(
  public.waitlist_record_invitation_emails(jsonb_build_array(
    jsonb_build_object('invitation_id', '00000000-0000-0000-0000-000000000000', 'email_id', 'em_x'))),
  0,
  'an answer for an unknown invitation records nothing'
);

-- ---------------------------------------------------------------------------------------------
-- m1 holds four matching entries at the top of the ranking: the wave still invites two patients
-- (each once) and, being full, plans the next one.
-- ---------------------------------------------------------------------------------------------
select tests.add_appointment_type('t15 popular');
-- m1: four entries with priority 9 (created a minute apart); p1 (priority 2) and p2 (priority 1): one each.
select tests.add_waitlist_entry(tests.add_patient(v.name, 'T15'), tests.appointment_type('t15 popular'),
  p_priority => v.priority)
from (values ('m1', 9), ('p1', 2), ('p2', 1)) v(name, priority);
select tests.add_waitlist_entry(tests.patient('m1', 'T15'), tests.appointment_type('t15 popular'),
  p_priority => 9, p_created_at => now() - make_interval(mins => n))
from generate_series(2, 4) n;
select pg_temp.cancelled_slot('Dr T15', 't15 popular',
  tests.days_ahead_at(4)) as offer5 \gset
select is(
  (select array_agg(i.patient_first_name order by i.patient_first_name)
   from tests.wave_invitations(public.waitlist_open_wave(:'offer5', 1)) i),
  array['m1', 'p1'],
  'the wave invites m1 once and the next patient, past m1''s other entries'
);
select isnt(
  (select next_wave_at from public.appointment_slot_offers where id = :'offer5'), null,
  'the full wave plans the next one'
);

select * from finish();
rollback;
