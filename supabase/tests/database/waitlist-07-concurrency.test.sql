-- First come, first served under real concurrency. Two more sessions (dblink) answer links or
-- restore an appointment while the other's transaction is still open: the second waits for the
-- first and then sees its outcome, never a second booking. The fixtures are committed through a
-- third, autocommit session (inserted directly, so the cancellation trigger enqueues nothing)
-- and removed at the end. Acceptances pass p_now an hour ahead and mark the queue as already
-- woken in their transaction, so their confirmation jobs wake nothing before they are removed.
begin;
create extension if not exists dblink with schema extensions;
select plan(13);

select tests.connect('t19_setup'), tests.connect('t19_a'), tests.connect('t19_b');

/* The state answered by a waitlist_respond() sent with dblink_send_query. */
create function pg_temp.t19_answer(p_name text) returns text
language plpgsql as $$
declare
  v_state text;
begin
  select answer ->> 'state' into v_state from extensions.dblink_get_result(p_name) as t(answer jsonb);
  -- The empty result that frees the connection for the next query.
  perform * from extensions.dblink_get_result(p_name) as t(answer jsonb);
  return v_state;
end
$$;

create function pg_temp.t19_cleanup() returns void
language sql as $$
  select extensions.dblink_exec('t19_setup', $sql$
    delete from jobs.job_events where subject in (
      select 'appointment:' || a.id from public.appointments a
      where a.practitioner_id = '19000000-0000-0000-0000-0000000000d1');
    delete from jobs.jobs where subject in (
      select 'appointment:' || a.id from public.appointments a
      where a.practitioner_id = '19000000-0000-0000-0000-0000000000d1');
    delete from public.waitlist_trigger_logs where slot_offer_id in (
      select o.id from public.appointment_slot_offers o
      where o.practitioner_id = '19000000-0000-0000-0000-0000000000d1');
    delete from public.waitlist_trigger_logs where appointment_id in (
      select a.id from public.appointments a
      where a.practitioner_id = '19000000-0000-0000-0000-0000000000d1');
    delete from public.appointments where practitioner_id = '19000000-0000-0000-0000-0000000000d1';
    delete from public.patients where last_name = 'T19';
    delete from public.practitioners where id = '19000000-0000-0000-0000-0000000000d1';
    delete from public.appointment_types where id = '19000000-0000-0000-0000-0000000000e1';
  $sql$);
$$;
select pg_temp.t19_cleanup();

-- Three cancelled appointments of Cora, ten days ahead, each with an open offer (its wave 1
-- sent) and sent invitations whose links are t19-o<offer>-<patient>.
select extensions.dblink_exec('t19_setup', $sql$
  do $do$
  begin
    perform tests.add_practitioner('Dr T19', '19000000-0000-0000-0000-0000000000d1');
    perform tests.add_appointment_type('t19 consultation', p_id => '19000000-0000-0000-0000-0000000000e1');
    perform tests.add_patient('Cora', 'T19', p_id => '19000000-0000-0000-0000-0000000000c0');
    perform tests.add_waitlist_entry(
      tests.add_patient(f, 'T19', p_id => ('19000000-0000-0000-0000-0000000000' || f)::uuid),
      '19000000-0000-0000-0000-0000000000e1', p_availability => 'none')
    from unnest(array['f1', 'f2', 'f3', 'f4']) f;
    perform tests.add_slot_offer(
      tests.add_appointment('19000000-0000-0000-0000-0000000000c0', '19000000-0000-0000-0000-0000000000d1',
        '19000000-0000-0000-0000-0000000000e1', date_trunc('hour', now()) + interval '10 days' + n * interval '1 hour',
        30, 'cancelled', ('19000000-0000-0000-0000-0000000000a' || n)::uuid),
      p_id => ('19000000-0000-0000-0000-0000000000b' || n)::uuid)
    from generate_series(1, 3) n;
    update public.appointment_slot_offers set waves_sent = 1, invitation_count = 1
    where practitioner_id = '19000000-0000-0000-0000-0000000000d1';
    perform tests.add_invitation(('19000000-0000-0000-0000-0000000000b' || v.offer)::uuid, w.id,
      't19-o' || v.offer || '-' || v.first_name, now() + interval '1 day', 'sent')
    from (values ('1', 'f1'), ('1', 'f2'), ('2', 'f3'), ('3', 'f4')) v(offer, first_name)
    join public.waitlist w on w.patient_id = ('19000000-0000-0000-0000-0000000000' || v.first_name)::uuid;
  end
  $do$
$sql$);

/* Runs in session p_name, inside its open transaction: answer a link, an hour from now. */
create function pg_temp.t19_respond_sql(p_token text) returns text
language sql as $$
  select format($q$select public.waitlist_respond(%L, 'accept', now() + interval '1 hour')$q$, p_token)
$$;

-- ---------------------------------------------------------------------------------------------
-- Two patients accept the same slot at once.
-- ---------------------------------------------------------------------------------------------
select extensions.dblink_exec('t19_a', $$begin; set local jobs.woken_queues = ',waitlist,'$$);
select extensions.dblink_exec('t19_b', $$begin; set local jobs.woken_queues = ',waitlist,'$$);
select is(
  (select answer ->> 'state' from extensions.dblink('t19_a', pg_temp.t19_respond_sql('t19-o1-f1')) as t(answer jsonb)),
  'booked',
  'the first acceptance books the slot (not yet committed)'
);
select extensions.dblink_send_query('t19_b', pg_temp.t19_respond_sql('t19-o1-f2'));
select ok(tests.wait_until_blocked('t19_b'), 'the second acceptance waits for the first transaction');
select extensions.dblink_exec('t19_a', 'commit');
select is(pg_temp.t19_answer('t19_b'), 'already_taken', 'then it finds the slot taken');
select extensions.dblink_exec('t19_b', 'commit');
select results_eq(
  $$select * from extensions.dblink('t19_setup', $sql$
      select o.status, o.filled_invitation_id = i.id, i.status,
             (select count(*)::int from public.appointments a
              where a.practitioner_id = o.practitioner_id and a.starts_at = o.starts_at and a.status <> 'cancelled')
      from public.appointment_slot_offers o
      join public.slot_offer_invitations i on i.slot_offer_id = o.id and i.patient_id = '19000000-0000-0000-0000-0000000000f2'
      where o.id = '19000000-0000-0000-0000-0000000000b1'$sql$)
    as t(offer_status text, filled_by_f2 boolean, f2_invitation text, bookings int)$$,
  $$values ('filled', false, 'withdrawn', 1)$$,
  'the slot is booked once, by the first; the second invitation is withdrawn'
);

-- ---------------------------------------------------------------------------------------------
-- The admin restores the appointment while a patient accepts.
-- ---------------------------------------------------------------------------------------------
select extensions.dblink_exec('t19_a', 'begin');
select extensions.dblink_exec('t19_a',
  $$update public.appointments set status = 'confirmed' where id = '19000000-0000-0000-0000-0000000000a2'$$);
select extensions.dblink_exec('t19_b', $$begin; set local jobs.woken_queues = ',waitlist,'$$);
select extensions.dblink_send_query('t19_b', pg_temp.t19_respond_sql('t19-o2-f3'));
select ok(tests.wait_until_blocked('t19_b'), 'an acceptance waits for the restore in progress');
select extensions.dblink_exec('t19_a', 'commit');
select is(pg_temp.t19_answer('t19_b'), 'withdrawn', 'then it finds the offer withdrawn');
select extensions.dblink_exec('t19_b', 'commit');
select results_eq(
  $$select * from extensions.dblink('t19_setup', $sql$
      select (select status from public.appointment_slot_offers where id = '19000000-0000-0000-0000-0000000000b2'),
             (select count(*)::int from public.appointments where patient_id = '19000000-0000-0000-0000-0000000000f3')$sql$)
    as t(offer_status text, bookings int)$$,
  $$values ('withdrawn', 0)$$,
  'the restored appointment keeps its time and nothing is booked'
);

-- ---------------------------------------------------------------------------------------------
-- A patient accepts while the admin restores the appointment.
-- ---------------------------------------------------------------------------------------------
select extensions.dblink_exec('t19_a', $$begin; set local jobs.woken_queues = ',waitlist,'$$);
select is(
  (select answer ->> 'state' from extensions.dblink('t19_a', pg_temp.t19_respond_sql('t19-o3-f4')) as t(answer jsonb)),
  'booked',
  'the acceptance books the slot (not yet committed)'
);
select extensions.dblink_exec('t19_b', 'begin');
select extensions.dblink_send_query('t19_b',
  $$update public.appointments set status = 'confirmed' where id = '19000000-0000-0000-0000-0000000000a3'$$);
select ok(tests.wait_until_blocked('t19_b'), 'the restore waits for the booking in progress');
select extensions.dblink_exec('t19_a', 'commit');
-- (dblink repeats the remote error as a NOTICE: hidden to keep the output clean.)
set local client_min_messages = warning;
select count(*) from extensions.dblink_get_result('t19_b', false) as t(status text);
select count(*) from extensions.dblink_get_result('t19_b', false) as t(status text);
reset client_min_messages;
select is(
  split_part(extensions.dblink_error_message('t19_b'), e'\n', 1),
  'ERROR:  conflicting key value violates exclusion constraint "appointments_no_double_booking"',
  'then the restore is refused: the practitioner is booked'
);
select extensions.dblink_exec('t19_b', 'rollback');
select results_eq(
  $$select * from extensions.dblink('t19_setup', $sql$
      select (select status from public.appointment_slot_offers where id = '19000000-0000-0000-0000-0000000000b3'),
             (select status from public.appointments where id = '19000000-0000-0000-0000-0000000000a3')$sql$)
    as t(offer_status text, appointment_status text)$$,
  $$values ('filled', 'cancelled')$$,
  'the slot stays filled and the original appointment cancelled'
);

select is(
  (select n from extensions.dblink('t19_setup', $sql$
     select count(*)::int from jobs.jobs where subject in (
       select 'appointment:' || a.id from public.appointments a
       where a.practitioner_id = '19000000-0000-0000-0000-0000000000d1')$sql$) as t(n int)),
  2,
  'each booking queued one confirmation email'
);

select pg_temp.t19_cleanup();
select is(
  (select n from extensions.dblink('t19_setup', $sql$
     select count(*)::int from public.patients where last_name = 'T19'$sql$) as t(n int)),
  0,
  'the committed fixtures are removed'
);
select extensions.dblink_disconnect('t19_a');
select extensions.dblink_disconnect('t19_b');
select extensions.dblink_disconnect('t19_setup');

select * from finish();
rollback;
