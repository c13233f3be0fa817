-- Responses: a link's page (waitlist_invitation_view) changes nothing; waitlist_respond() books
-- the slot for the first patient who accepts (appointment, filled offer, fulfilled entry, other
-- invitations withdrawn, confirmation email queued), records declines, and answers every later
-- click with why nothing changed. Restoring the cancelled appointment withdraws an open offer;
-- once the slot is filled, the no-double-booking constraint refuses the restore. A patient who
-- booked another appointment at that time since the invitation cannot accept it.
begin;
select plan(44);

select tests.waitlist_settings(p_wave_size => 3);

select tests.add_clinic('T16'), tests.add_patient('Walk-in', 'T16', p_email => null);
-- r1 to r3 want a consultation (priority 3 to 1), r4 the rare type; around the clock, any practitioner.
select tests.add_waitlist_entry(
  tests.add_patient('r' || n, 'T16', p_locale => case n when 1 then 'en' else 'fr' end),
  tests.appointment_type(case n when 4 then 't16 rare' else 't16 consultation' end),
  p_priority => greatest(4 - n, 1), p_availability => 'around the clock')
from generate_series(1, 4) n;

create function pg_temp.patient(p_first_name text) returns uuid
language sql as $$ select tests.patient(p_first_name, 'T16') $$;

/* An appointment of Cora, p_days ahead at 10:00 in Paris. */
create function pg_temp.appointment(p_practitioner text, p_type text, p_days int) returns uuid
language sql as $$
  select tests.add_appointment(pg_temp.patient('Cora'), tests.practitioner(p_practitioner),
    tests.appointment_type(p_type), tests.days_ahead_at(p_days))
$$;

create temp table t16_links (offer text, first_name text, invitation_id uuid, token text);

/* Cancels the appointment, opens wave 1, keeps the links (tokens) and marks the emails sent. */
create function pg_temp.cancel_and_invite(p_appointment uuid, p_offer_name text) returns uuid
language plpgsql as $$
declare
  v_wave jsonb := tests.cancel_and_invite(p_appointment);
begin
  insert into t16_links
  select p_offer_name, i.patient_first_name, i.invitation_id, i.token
  from tests.wave_invitations(v_wave) i;
  return (v_wave ->> 'slot_offer_id')::uuid;
end
$$;

create function pg_temp.link(p_offer_name text, p_first_name text) returns text
language sql as $$ select token from t16_links where offer = p_offer_name and first_name = p_first_name $$;
create function pg_temp.invitation(p_offer_name text, p_first_name text) returns uuid
language sql as $$ select invitation_id from t16_links where offer = p_offer_name and first_name = p_first_name $$;

/* Everything a response could change, as one value to compare before and after. (The
   platform's own monitor may commit a log row meanwhile: monitor rows are left out.) */
create function pg_temp.snapshot() returns text
language sql as $$
  select concat_ws(e'\n',
    (select string_agg(t::text, e'\n' order by t.id) from public.appointment_slot_offers t),
    (select string_agg(t::text, e'\n' order by t.id) from public.slot_offer_invitations t),
    (select string_agg(t::text, e'\n' order by t.id) from public.waitlist t),
    (select string_agg(t::text, e'\n' order by t.id) from public.appointments t),
    (select string_agg(t::text, e'\n' order by t.id) from public.waitlist_trigger_logs t
     where t.trigger_type <> 'monitor'),
    (select string_agg(t::text, e'\n' order by t.id) from jobs.jobs t where t.queue = 'waitlist'))
$$;

select pg_temp.appointment('Dr T16', 't16 consultation', 3) as a1 \gset
select pg_temp.cancel_and_invite(:'a1', 'o1') as o1 \gset

select is(
  (select array_agg(first_name order by first_name) from t16_links where offer = 'o1'),
  array['r1', 'r2', 'r3'],
  'the first wave invites r1, r2 and r3'
);

-- ---------------------------------------------------------------------------------------------
-- Looking is not answering.
-- ---------------------------------------------------------------------------------------------
create temp table t16_before as select pg_temp.snapshot() as s;
create temp table t16_views as
select public.waitlist_invitation_view(pg_temp.link('o1', 'r1')) as open_view,
       public.waitlist_invitation_view('not-a-token') as unknown_view,
       public.waitlist_invitation_view(pg_temp.link('o1', 'r1'), now() + interval '25 hours') as late_view;

select is(
  (select open_view - 'slot' - 'expires_at' from t16_views),
  jsonb_build_object('state', 'open', 'invitation_id', pg_temp.invitation('o1', 'r1'), 'locale', 'en',
                     'patient_first_name', 'r1', 'answer', null),
  'an open link shows the invitation: state, locale, first name, no answer yet'
);
select is(
  (select open_view -> 'slot' from t16_views),
  (select jsonb_build_object('starts_at', o.starts_at, 'ends_at', o.ends_at, 'time_zone', 'Europe/Paris',
                             'clinic_name', 'Cabinet médical', 'practitioner_name', 'Dr T16',
                             'appointment_type', 't16 consultation', 'appointment_type_en', 't16 visit')
   from public.appointment_slot_offers o where o.id = :'o1'),
  'the page shows the slot with both names of its type'
);
select is((select unknown_view from t16_views), '{"state": "unknown"}'::jsonb,
  'an unknown token shows state unknown and nothing else');
select is((select late_view ->> 'state' from t16_views), 'expired',
  'a link opened after its expiry shows expired');
select is(pg_temp.snapshot(), (select s from t16_before), 'viewing links changes no row');

select is(
  public.waitlist_respond(pg_temp.link('o1', 'r1'), 'accept', now() + interval '25 hours') ->> 'state',
  'expired',
  'accepting after the invitation expired answers expired'
);
select is(pg_temp.snapshot(), (select s from t16_before), 'and changes nothing');

select throws_ok(
  format('select public.waitlist_respond(%L, %L)', pg_temp.link('o1', 'r1'), 'maybe'),
  '22023', 'Unknown answer "maybe": use accept or decline',
  'an answer other than accept or decline is refused'
);
select is(public.waitlist_respond('not-a-token', 'accept'), '{"state": "unknown"}'::jsonb,
  'answering with an unknown token answers unknown');

-- ---------------------------------------------------------------------------------------------
-- r2 declines, r1 books, r3 is too late.
-- ---------------------------------------------------------------------------------------------
create temp table t16_r2 as select public.waitlist_respond(pg_temp.link('o1', 'r2'), 'decline') as answer;
select results_eq(
  $$select answer ->> 'state', answer ->> 'answer' from t16_r2$$,
  $$values ('declined', 'decline')$$,
  'declining answers declined'
);
select results_eq(
  format($$select i.status, i.responded_at, w.status, o.status
           from public.slot_offer_invitations i
           join public.waitlist w on w.id = i.waitlist_id
           join public.appointment_slot_offers o on o.id = i.slot_offer_id
           where i.id = %L$$, pg_temp.invitation('o1', 'r2')),
  $$values ('declined', now(), 'active', 'open')$$,
  'the invitation is declined, the patient stays on the waitlist and the offer stays open'
);
select is(
  public.waitlist_respond(pg_temp.link('o1', 'r2'), 'accept') - 'slot' - 'expires_at' - 'invitation_id',
  '{"state": "already_answered", "locale": "fr", "patient_first_name": "r2", "answer": "decline"}'::jsonb,
  'accepting after declining answers already_answered, with the earlier answer'
);

create temp table t16_r1 as select public.waitlist_respond(pg_temp.link('o1', 'r1'), 'accept') as answer;
select ok(
  (select answer ->> 'state' = 'booked' and answer ->> 'locale' = 'en' and answer ? 'appointment_id' from t16_r1),
  'accepting first books the slot'
);
select (answer ->> 'appointment_id') as booked1 from t16_r1 \gset
select results_eq(
  format($$select a.patient_id, a.practitioner_id, a.appointment_type_id, a.starts_at, a.ends_at, a.status, a.notes
           from public.appointments a where a.id = %L$$, :'booked1'),
  format($$select %L::uuid, o.practitioner_id, o.appointment_type_id, o.starts_at, o.ends_at, 'confirmed',
                  'Booked from the waitlist (slot offer ' || o.id || ')'
           from public.appointment_slot_offers o where o.id = %L$$, pg_temp.patient('r1'), :'o1'),
  'the appointment is r1''s, with the offer''s practitioner, type and time'
);
select results_eq(
  format($$select status, filled_at, filled_appointment_id, filled_invitation_id, closed_at, closed_reason, next_wave_at
           from public.appointment_slot_offers where id = %L$$, :'o1'),
  format($$values ('filled', now(), %L::uuid, %L::uuid, now(), 'booked', null::timestamptz)$$,
         :'booked1', pg_temp.invitation('o1', 'r1')),
  'the offer is filled by that appointment and invitation'
);
select results_eq(
  format($$select l.first_name, i.status, i.responded_at from public.slot_offer_invitations i
           join t16_links l on l.invitation_id = i.id where i.slot_offer_id = %L order by l.first_name$$, :'o1'),
  $$values ('r1', 'accepted', now()), ('r2', 'declined', now()), ('r3', 'withdrawn', null::timestamptz)$$,
  'r1''s invitation is accepted and the other open one withdrawn'
);
select results_eq(
  format($$select status, fulfilled_at, fulfilled_appointment_id from public.waitlist where patient_id = %L$$,
         pg_temp.patient('r1')),
  format($$values ('fulfilled', now(), %L::uuid)$$, :'booked1'),
  'r1''s waitlist entry is fulfilled by the appointment'
);
select results_eq(
  format($$select queue, payload, subject, dedupe_key, run_at, state::text from jobs.jobs
           where payload ->> 'kind' = 'booking_email' and subject = 'appointment:' || %L$$, :'booked1'),
  format($$values ('waitlist', jsonb_build_object('kind', 'booking_email', 'invitation_id', %L::uuid),
                   'appointment:%s', 'booking_email:%2$s', now(), 'waiting')$$,
         pg_temp.invitation('o1', 'r1'), :'booked1'),
  'the confirmation email is enqueued in the same transaction'
);
select results_eq(
  format($$select status, message, appointment_id, invitation_id from public.waitlist_trigger_logs
           where slot_offer_id = %L and trigger_type = 'response' order by id$$, :'o1'),
  format($$values ('success', 'Invitation declined; the patient stays on the waitlist', null::uuid, %L::uuid),
                  ('success', 'Invitation accepted; appointment booked', %L::uuid, %L::uuid)$$,
         pg_temp.invitation('o1', 'r2'), :'booked1', pg_temp.invitation('o1', 'r1')),
  'both answers are logged'
);

select is(public.waitlist_respond(pg_temp.link('o1', 'r3'), 'accept') ->> 'state', 'already_taken',
  'a second patient accepting answers already_taken');
select is(public.waitlist_respond(pg_temp.link('o1', 'r1'), 'accept') ->> 'state', 'already_answered',
  'the same link accepted again answers already_answered');
select is(
  (select count(*)::int from public.appointments a join public.appointment_slot_offers o
     on a.practitioner_id = o.practitioner_id and a.starts_at = o.starts_at
   where o.id = :'o1' and a.status <> 'cancelled'),
  1,
  'the slot is booked once'
);
select is((select status from public.waitlist where patient_id = pg_temp.patient('r3')), 'active',
  'the patient who was too late stays on the waitlist');
select results_eq(
  $$select public.waitlist_invitation_view(pg_temp.link('o1', 'r1')) ->> 'answer',
           public.waitlist_invitation_view(pg_temp.link('o1', 'r1')) ->> 'state',
           public.waitlist_invitation_view(pg_temp.link('o1', 'r3')) ->> 'state'$$,
  $$values ('accept', 'already_answered', 'already_taken')$$,
  'the links now show the answer given, or that the slot is taken'
);

-- The confirmation email's data and outcome.
select results_eq(
  format($$select e ->> 'state', e ->> 'email', e ->> 'sender', e ->> 'appointment_id', e ->> 'confirmation_email_id'
           from public.waitlist_booking_email(%L) e$$, pg_temp.invitation('o1', 'r1')),
  format($$values ('booked', 'r1@example.com', 'Cabinet médical <rendez-vous@example.com>', %L, null)$$, :'booked1'),
  'the confirmation email goes to the booked patient, from the clinic''s sender'
);
select public.waitlist_record_booking_email(pg_temp.invitation('o1', 'r1'), 'em_confirm_r1');
select results_eq(
  format($$select i.confirmation_email_id, i.confirmation_sent_at, l.status, l.message
           from public.slot_offer_invitations i
           join public.waitlist_trigger_logs l on l.invitation_id = i.id and l.trigger_type = 'booking_email'
           where i.id = %L$$, pg_temp.invitation('o1', 'r1')),
  $$values ('em_confirm_r1', now(), 'success', 'Booking confirmation accepted by Resend')$$,
  'the confirmation email is recorded and logged'
);
select throws_ok(
  format('select public.waitlist_booking_email(%L)', pg_temp.invitation('o1', 'r3')),
  'P0002', format('Invitation %s does not exist or was not accepted', pg_temp.invitation('o1', 'r3')),
  'there is no confirmation for an invitation that was not accepted'
);

-- Restoring the cancelled appointment now would double-book the practitioner.
select throws_ok(
  format($$update public.appointments set status = 'confirmed' where id = %L$$, :'a1'),
  '23P01', 'conflicting key value violates exclusion constraint "appointments_no_double_booking"',
  'restoring an appointment whose slot was filled is refused'
);

-- ---------------------------------------------------------------------------------------------
-- Restored before the slot is filled: the offer and its links are withdrawn.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('Dr T16 bis', 't16 consultation', 4) as a2 \gset
select pg_temp.cancel_and_invite(:'a2', 'o2') as o2 \gset
select is(
  (select array_agg(first_name order by first_name) from t16_links where offer = 'o2'),
  array['r2', 'r3'],
  'the second offer invites those still waiting'
);
update public.appointments set status = 'confirmed' where id = :'a2';
select results_eq(
  format($$select status, closed_at, closed_reason, next_wave_at from public.appointment_slot_offers where id = %L$$, :'o2'),
  $$values ('withdrawn', now(), 'the cancelled appointment was restored', null::timestamptz)$$,
  'restoring the appointment withdraws its open offer'
);
select is(
  (select array_agg(status) from public.slot_offer_invitations where slot_offer_id = :'o2'),
  array['withdrawn', 'withdrawn'],
  'and its invitations'
);
select results_eq(
  format($$select trigger_type, status, message from public.waitlist_trigger_logs
           where slot_offer_id = %L and trigger_type in ('offer_closed', 'restore') order by id$$, :'o2'),
  $$values ('offer_closed', 'success', 'Offer withdrawn: the cancelled appointment was restored'),
           ('restore', 'success', 'Appointment restored before the slot was filled')$$,
  'the withdrawal and the restore are logged'
);
select is(public.waitlist_invitation_view(pg_temp.link('o2', 'r2')) ->> 'state', 'withdrawn',
  'a link of the withdrawn offer shows withdrawn');
select is(public.waitlist_respond(pg_temp.link('o2', 'r3'), 'accept') ->> 'state', 'withdrawn',
  'accepting it answers withdrawn');
select is(
  (select count(*)::int from public.appointments where patient_id = pg_temp.patient('r3')), 0,
  'and books nothing'
);

-- ---------------------------------------------------------------------------------------------
-- The last open invitation declined, no wave planned: the offer expires.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('Dr T16 bis', 't16 rare', 5) as a3 \gset
select pg_temp.cancel_and_invite(:'a3', 'o3') as o3 \gset
select is(public.waitlist_respond(pg_temp.link('o3', 'r4'), 'decline') ->> 'state', 'declined',
  'the only invitee declines');
select results_eq(
  format($$select status, closed_reason from public.appointment_slot_offers where id = %L$$, :'o3'),
  $$values ('expired', 'every invitation was answered or expired')$$,
  'with nobody left to answer and no wave planned, the offer expires'
);

-- ---------------------------------------------------------------------------------------------
-- The time was booked another way meanwhile: the acceptance books nothing.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('Dr T16', 't16 consultation', 6) as a4 \gset
select pg_temp.cancel_and_invite(:'a4', 'o4') as o4 \gset
select tests.add_appointment(pg_temp.patient('Walk-in'), practitioner_id, appointment_type_id,
  starts_at + interval '15 minutes')
from public.appointment_slot_offers where id = :'o4';
select is(public.waitlist_respond(pg_temp.link('o4', 'r2'), 'accept') ->> 'state', 'already_taken',
  'accepting a slot the practitioner no longer has free answers already_taken');
select results_eq(
  format($$select o.status, o.closed_reason,
                  (select array_agg(distinct i.status) from public.slot_offer_invitations i where i.slot_offer_id = o.id),
                  (select count(*)::int from public.appointments a where a.patient_id = %L)
           from public.appointment_slot_offers o where o.id = %L$$, pg_temp.patient('r2'), :'o4'),
  $$values ('withdrawn', 'the time was booked outside the waitlist', array['withdrawn'], 0)$$,
  'the offer and its invitations are withdrawn, and nothing is booked'
);

-- ---------------------------------------------------------------------------------------------
-- The patient booked another appointment at that time meanwhile: nothing is booked for them,
-- and the slot stays open to the others.
-- ---------------------------------------------------------------------------------------------
select pg_temp.appointment('Dr T16', 't16 consultation', 7) as a5 \gset
select pg_temp.cancel_and_invite(:'a5', 'o5') as o5 \gset
select tests.add_appointment(pg_temp.patient('r3'), tests.practitioner('Dr T16 bis'), appointment_type_id,
  starts_at - interval '15 minutes')
from public.appointment_slot_offers where id = :'o5';
select is(public.waitlist_respond(pg_temp.link('o5', 'r3'), 'accept') ->> 'state', 'time_conflict',
  'accepting a slot that overlaps another appointment of the patient answers time_conflict');
select results_eq(
  format($$select i.status, o.status, w.status,
                  (select count(*)::int from public.appointments a where a.patient_id = i.patient_id)
           from public.slot_offer_invitations i
           join public.appointment_slot_offers o on o.id = i.slot_offer_id
           join public.waitlist w on w.id = i.waitlist_id
           where i.id = %L$$, pg_temp.invitation('o5', 'r3')),
  $$values ('sent', 'open', 'active', 1)$$,
  'nothing is booked: the invitation and the offer stay open, the patient stays on the waitlist'
);
select results_eq(
  format($$select status, message from public.waitlist_trigger_logs
           where invitation_id = %L and trigger_type = 'response'$$, pg_temp.invitation('o5', 'r3')),
  $$values ('skipped', 'Acceptance refused: the patient has another appointment at that time')$$,
  'the refusal is logged'
);
select is(public.waitlist_respond(pg_temp.link('o5', 'r2'), 'accept') ->> 'state', 'booked',
  'another patient can still book the slot');

select * from finish();
rollback;
