-- The queries operators already run, from the seed document, work unchanged (unqualified table
-- names, as in the dashboard's SQL editor) and return the rows they are run for: recent logs,
-- recent offers, recent invitations, errors only, and counts per trigger type and status.
-- Each query text below is run as written, inside `create temp table ... as`.
begin;
select plan(9);

select tests.waitlist_settings();

select tests.add_clinic('T20');
-- q1 (priority 2) and q2 (priority 1) wait for a consultation, all week, any practitioner.
select tests.add_waitlist_entry(tests.add_patient('q' || n, 'T20'), tests.appointment_type('t20 consultation'),
  p_priority => 3 - n)
from generate_series(1, 2) n;

/* An appointment of Cora with Dr T20 at p_starts_at, 30 minutes long. */
create function pg_temp.appointment(p_starts_at timestamptz) returns uuid
language sql as $$
  select tests.add_appointment(tests.patient('Cora', 'T20'), tests.practitioner('Dr T20'),
    tests.appointment_type('t20 consultation'), p_starts_at)
$$;

-- One cancellation that opens an offer: its wave invites q1 (emailed) and q2 (refused for
-- good). One inside the cutoff, which opens nothing.
select pg_temp.appointment(tests.days_ahead_at(3)) as opened \gset
select tests.cancel_appointment(:'opened') as offer \gset
create temp table t20_wave as select public.waitlist_open_wave(:'offer', 1) as wave;
select public.waitlist_record_invitation_emails((
  select jsonb_agg(case i ->> 'patient_first_name'
                     when 'q1' then jsonb_build_object('invitation_id', i ->> 'invitation_id', 'email_id', 'em_q1')
                     else jsonb_build_object('invitation_id', i ->> 'invitation_id',
                                             'error', 'Resend refused the email: invalid to', 'permanent', true)
                   end)
  from t20_wave, jsonb_array_elements(wave -> 'invitations') i));
select pg_temp.appointment(date_trunc('minute', now()) + interval '1 hour') as too_late \gset
select tests.cancel_appointment(:'too_late');

-- ---------------------------------------------------------------------------------------------
-- The queries, as operators write them.
-- ---------------------------------------------------------------------------------------------
create temp table recent_logs as
SELECT * FROM waitlist_trigger_logs
ORDER BY created_at DESC
LIMIT 10;

create temp table recent_offers as
SELECT * FROM appointment_slot_offers
ORDER BY created_at DESC
LIMIT 5;

create temp table recent_invitations as
SELECT * FROM slot_offer_invitations
ORDER BY sent_at DESC
LIMIT 10;

create temp table errors_only as
SELECT * FROM waitlist_trigger_logs
WHERE status = 'error'
ORDER BY created_at DESC;

create temp table counts as
SELECT trigger_type, status, COUNT(*)
FROM waitlist_trigger_logs
GROUP BY trigger_type, status;

-- ---------------------------------------------------------------------------------------------
-- What they return.
-- ---------------------------------------------------------------------------------------------
select ok(
  (select count(*) from recent_logs where slot_offer_id = :'offer' and trigger_type = 'cancellation') = 1,
  'recent logs: the cancellation that opened the offer'
);
select ok(
  (select count(*) from recent_logs
   where appointment_id = :'too_late' and status = 'skipped' and message like '%cutoff%') = 1,
  'recent logs: the cancellation inside the cutoff, skipped, saying why'
);
select ok(
  (select count(*) from recent_logs where slot_offer_id = :'offer' and trigger_type = 'wave'
     and message = 'Wave 1: 2 invitation(s) created') = 1,
  'recent logs: the wave and how many it invited'
);
select results_eq(
  format($$select appointment_id, status, waves_sent from recent_offers where id = %L$$, :'offer'),
  format($$values (%L::uuid, 'open', 1)$$, :'opened'),
  'recent offers: the open offer of the cancelled appointment, one wave sent'
);
select is(
  (select count(*)::int from recent_offers where appointment_id = :'too_late'), 0,
  'recent offers: none for the cancellation inside the cutoff'
);
select results_eq(
  $$select r.email, r.status, r.email_id, r.last_error is not null
    from recent_invitations r join public.patients p on p.id = r.patient_id
    where p.last_name = 'T20' order by r.email$$,
  $$values ('q1@example.com', 'sent', 'em_q1', false),
           ('q2@example.com', 'failed', null, true)$$,
  'recent invitations: each with its email outcome'
);
select is(
  (select array_agg(distinct status) from errors_only), array['error'],
  'errors only: nothing but errors'
);
select ok(
  (select count(*) from errors_only where slot_offer_id = :'offer' and trigger_type = 'invitation_email') = 1,
  'errors only: the refused email'
);
select set_eq(
  $$select trigger_type, status, count from counts
    where (trigger_type, status) in (('cancellation', 'skipped'), ('wave', 'success'))$$,
  $$select l.trigger_type, l.status, count(*) from public.waitlist_trigger_logs l
    where (l.trigger_type, l.status) in (('cancellation', 'skipped'), ('wave', 'success'))
    group by 1, 2$$,
  'counts per trigger type and status'
);

select * from finish();
rollback;
