-- Least privilege for the clinic and the waitlist: row level security on every table, anon sees
-- nothing, an authenticated user who is not a clinic admin sees no row, an admin (app_metadata
-- role 'admin') sees and edits what the dashboard needs; only service_role calls the waitlist
-- functions; internal helpers are out of every API role's reach; plain link tokens are gone once
-- their email is sent.
begin;
select plan(66);

select tests.waitlist_settings(p_wave_size => 2);

/* Runs a statement as the current role and answers how many rows it changed. */
create function pg_temp.rows_changed(p_sql text) returns int
language plpgsql as $$
declare
  v_count int;
begin
  execute p_sql;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Catalog: RLS, policies, function settings, comments, EXECUTE grants.
-- ---------------------------------------------------------------------------------------------
create temp table t18_tables (name text primary key);
insert into t18_tables values ('practitioners'), ('patients'), ('appointment_types'), ('appointments'),
  ('waitlist_settings'), ('waitlist'), ('waitlist_availability'), ('appointment_slot_offers'),
  ('slot_offer_invitations'), ('waitlist_trigger_logs');
grant select on t18_tables to anon, authenticated, service_role;

select is(
  array(select t.name from t18_tables t join pg_class c on c.oid = ('public.' || t.name)::regclass
        where not c.relrowsecurity order by 1),
  '{}'::text[],
  'row level security is enabled on every clinic and waitlist table'
);
select is(
  array(select format('%s: "%s" %s to %s', tablename, policyname, cmd, array_to_string(roles, ', '))
        from pg_policies
        where schemaname = 'public' and tablename in (select name from t18_tables)
        order by tablename, policyname),
  array['appointment_slot_offers: "Clinic admins read slot offers" SELECT to authenticated',
        'appointment_types: "Clinic admins manage appointment types" ALL to authenticated',
        'appointments: "Clinic admins manage appointments" ALL to authenticated',
        'patients: "Clinic admins manage patients" ALL to authenticated',
        'practitioners: "Clinic admins manage practitioners" ALL to authenticated',
        'slot_offer_invitations: "Clinic admins read invitations" SELECT to authenticated',
        'waitlist: "Clinic admins manage the waitlist" ALL to authenticated',
        'waitlist_availability: "Clinic admins manage availability windows" ALL to authenticated',
        'waitlist_settings: "Clinic admins manage waitlist settings" ALL to authenticated',
        'waitlist_trigger_logs: "Clinic admins read waitlist logs" SELECT to authenticated'],
  'each table has one policy, for authenticated clinic admins; the flow''s own tables are read-only'
);

create temp table t18_functions as
select p.oid::regprocedure as fn, p.proname::text as name, p.pronamespace::regnamespace::text as schema
from pg_proc p
where p.pronamespace = 'waitlist_internal'::regnamespace
   or (p.pronamespace = 'public'::regnamespace
       and (p.proname like 'waitlist\_%' or p.proname in ('get_eligible_waitlist_candidates',
            'handle_appointment_cancellation', 'is_clinic_admin', 'appointments_touch')));

select is(
  array(select fn::text from t18_functions f join pg_proc p on p.oid = f.fn
        where not coalesce(p.proconfig @> array['search_path=""'], false) order by 1),
  '{}'::text[],
  'every clinic and waitlist function pins an empty search_path'
);
select is(
  array(select f.name from t18_functions f join pg_proc p on p.oid = f.fn
        where f.schema = 'public' and (f.name like 'waitlist\_%' or f.name = 'get_eligible_waitlist_candidates')
          and not p.prosecdef order by 1),
  '{}'::text[],
  'every callable waitlist function is security definer'
);
select is(
  array(select fn::text from t18_functions where obj_description(fn, 'pg_proc') is null
        union all
        select t.name from t18_tables t where obj_description(('public.' || t.name)::regclass, 'pg_class') is null
        order by 1),
  '{}'::text[],
  'every clinic and waitlist table and function has a comment'
);
select is(
  array(select distinct f.name || ':' || coalesce(r.rolname, 'PUBLIC')
        from t18_functions f
        join pg_proc p on p.oid = f.fn
        cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        left join pg_roles r on r.oid = a.grantee
        where f.schema = 'public' and (f.name like 'waitlist\_%' or f.name = 'get_eligible_waitlist_candidates')
          and coalesce(r.rolname, 'PUBLIC') not in ('postgres', 'service_role')
        order by 1),
  '{}'::text[],
  'only the owner and service_role may execute the waitlist functions'
);
select is(
  tests.functions_api_roles_may_execute('waitlist_internal'),
  '{}'::text[],
  'no API role may execute an internal waitlist helper'
);
select is(
  tests.api_roles_using_schema('waitlist_internal'),
  '{}'::text[],
  'no API role may use the waitlist_internal schema'
);

-- ---------------------------------------------------------------------------------------------
-- Fixtures: a cancelled appointment, its offer, two invitations (one sent, one accepted), logs.
-- ---------------------------------------------------------------------------------------------
select tests.add_clinic('T18');
-- s1 and s2 wait for a consultation, any practitioner, every day from 08:00 to 18:00.
with entries as (
  select tests.add_waitlist_entry(tests.add_patient('s' || n, 'T18'), tests.appointment_type('t18 consultation'),
    p_availability => 'none') as id
  from generate_series(1, 2) n
)
select tests.add_availability(e.id, d, '08:00', '18:00') from entries e, generate_series(1, 7) d;
select tests.add_appointment(tests.patient('Cora', 'T18'), tests.practitioner('Dr T18'),
  tests.appointment_type('t18 consultation'), tests.days_ahead_at(3)) as a1 \gset
select tests.cancel_appointment(:'a1') as o1 \gset

create temp table t18_wave as select public.waitlist_open_wave(:'o1', 1) as wave;
create temp table t18_links as
select i.invitation_id, i.patient_first_name, i.token from t18_wave, tests.wave_invitations(wave) i;
select ok((select count(*) = 2 and bool_and(token is not null) from t18_links),
  'a new wave hands out two plain tokens for the emails');
select public.waitlist_record_invitation_emails(
  (select jsonb_agg(jsonb_build_object('invitation_id', invitation_id, 'email_id', 'em_' || patient_first_name))
   from t18_links));
select is(
  (select count(*)::int from public.slot_offer_invitations where pending_token is not null and status <> 'pending'),
  0,
  'no invitation keeps its plain token once its email is sent'
);
select is(
  (select count(*)::int from public.slot_offer_invitations i join t18_links l on l.invitation_id = i.id
   where i.pending_token is null and i.token_hash = sha256(convert_to(l.token, 'UTF8'))),
  2,
  'only the SHA-256 of each token stays'
);
select throws_ok(
  format($$update public.slot_offer_invitations set pending_token = 'x' where id = %L$$,
         (select invitation_id from t18_links where patient_first_name = 's2')),
  '23514',
  'new row for relation "slot_offer_invitations" violates check constraint "invitations_plain_token_only_while_pending"',
  'a sent invitation cannot hold a plain token'
);
select is(
  public.waitlist_respond((select token from t18_links where patient_first_name = 's1'), 'accept') ->> 'state',
  'booked',
  'the link still works: s1 books the slot'
);

create temp table t18_calls (name text, call text);
insert into t18_calls values
  ('get_eligible_waitlist_candidates', format('select * from public.get_eligible_waitlist_candidates(%L)', :'o1')),
  ('waitlist_open_wave', format('select public.waitlist_open_wave(%L, 1)', :'o1')),
  ('waitlist_record_invitation_emails', $$select public.waitlist_record_invitation_emails('[]')$$),
  ('waitlist_invitation_view', $$select public.waitlist_invitation_view('not-a-token')$$),
  ('waitlist_respond', $$select public.waitlist_respond('not-a-token', 'accept')$$),
  ('waitlist_booking_email', format('select public.waitlist_booking_email(%L)',
    (select invitation_id from t18_links where patient_first_name = 's1'))),
  ('waitlist_record_booking_email', format('select public.waitlist_record_booking_email(%L, %L)',
    (select invitation_id from t18_links where patient_first_name = 's1'), 'em_confirm')),
  ('waitlist_expire_due', 'select public.waitlist_expire_due()'),
  ('waitlist_monitor', 'select public.waitlist_monitor()');
grant select on t18_calls to anon, authenticated, service_role;

/* How many rows of each table the current role sees. (Log rows of the platform's own monitor,
   which may commit one meanwhile, are left out.) */
create function pg_temp.visible_rows() returns table (relation text, n bigint)
language sql as $$
  select 'appointment_slot_offers', count(*) from public.appointment_slot_offers
  union all select 'appointment_types', count(*) from public.appointment_types
  union all select 'appointments', count(*) from public.appointments
  union all select 'patients', count(*) from public.patients
  union all select 'practitioners', count(*) from public.practitioners
  union all select 'slot_offer_invitations', count(*) from public.slot_offer_invitations
  union all select 'waitlist', count(*) from public.waitlist
  union all select 'waitlist_availability', count(*) from public.waitlist_availability
  union all select 'waitlist_settings', count(*) from public.waitlist_settings
  union all select 'waitlist_trigger_logs', count(*) from public.waitlist_trigger_logs where trigger_type <> 'monitor'
$$;
create temp table t18_rows as select * from pg_temp.visible_rows();
grant select on t18_rows to anon, authenticated, service_role;
select is((select count(*)::int from t18_rows where n = 0), 0, 'every table has rows to hide');

-- ---------------------------------------------------------------------------------------------
-- anon
-- ---------------------------------------------------------------------------------------------
select tests.act_as_anon();
select throws_ok('select * from public.' || t.name, '42501', 'permission denied for table ' || t.name,
                 'anon cannot read ' || t.name)
from t18_tables t order by t.name;
select throws_ok(c.call, '42501', 'permission denied for function ' || c.name, 'anon cannot call ' || c.name)
from t18_calls c order by c.name;
select throws_ok('select waitlist_internal.settings()', '42501', 'permission denied for schema waitlist_internal',
  'anon cannot reach the internal helpers');
reset role;

-- ---------------------------------------------------------------------------------------------
-- authenticated, not a clinic admin
-- ---------------------------------------------------------------------------------------------
select tests.act_as_user('00000000-0000-0000-0000-0000000000b1', '{"role": "patient"}');
select results_eq(
  'select relation, n from pg_temp.visible_rows() order by relation',
  'select relation, 0::bigint from t18_rows order by relation',
  'a signed-in user who is not a clinic admin sees no row of any clinic or waitlist table'
);
select throws_ok(
  format($$insert into public.waitlist (patient_id, appointment_type_id) values (%L, %L)$$,
         (select id from public.patients where first_name = 's2' and last_name = 'T18'),
         (select id from public.appointment_types where name = 't18 consultation')),
  '42501', 'new row violates row-level security policy for table "waitlist"',
  'nor can they add to the waitlist'
);
select is(
  pg_temp.rows_changed(format($$update public.appointments set status = 'confirmed' where id = %L$$, :'a1')),
  0,
  'nor change an appointment'
);
select is(pg_temp.rows_changed('update public.waitlist_settings set wave_size = 99'), 0, 'nor the settings');
select throws_ok(c.call, '42501', 'permission denied for function ' || c.name,
                 'an authenticated user cannot call ' || c.name)
from t18_calls c where c.name in ('waitlist_respond', 'waitlist_monitor') order by c.name;
reset role;

-- ---------------------------------------------------------------------------------------------
-- A clinic admin
-- ---------------------------------------------------------------------------------------------
select tests.act_as_clinic_admin('00000000-0000-0000-0000-0000000000a1');
select results_eq(
  'select relation, n from pg_temp.visible_rows() order by relation',
  'select relation, n from t18_rows order by relation',
  'a clinic admin sees every row'
);
select lives_ok(
  format($$with w as (
             insert into public.waitlist (patient_id, appointment_type_id, consent_automated_notifications)
             values (%L, %L, true) returning id)
           insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
           select id, 1, '09:00', '12:00' from w$$,
         (select id from public.patients where first_name = 'Cora' and last_name = 'T18'),
         (select id from public.appointment_types where name = 't18 consultation')),
  'a clinic admin adds a waitlist entry and its window'
);
select is(pg_temp.rows_changed('update public.waitlist_settings set wave_size = 4'), 1,
  'a clinic admin edits the settings');
select throws_ok(
  $$update public.waitlist_settings set clinic_time_zone = 'Nowhere/Atlantis'$$,
  '22023', 'Unknown time zone "Nowhere/Atlantis": use an IANA name such as Europe/Paris',
  'but not to an unknown time zone'
);
select throws_ok(
  $$update public.slot_offer_invitations set status = 'withdrawn'$$,
  '42501', 'permission denied for table slot_offer_invitations',
  'a clinic admin cannot change invitations behind the flow''s back'
);
select throws_ok(
  $$delete from public.appointment_slot_offers$$,
  '42501', 'permission denied for table appointment_slot_offers',
  'nor delete offers'
);
select throws_ok(
  $$insert into public.waitlist_trigger_logs (trigger_type, status) values ('monitor', 'success')$$,
  '42501', 'permission denied for table waitlist_trigger_logs',
  'nor write the logs'
);
select throws_ok(c.call, '42501', 'permission denied for function ' || c.name, 'a clinic admin cannot call ' || c.name)
from t18_calls c order by c.name;
reset role;

-- ---------------------------------------------------------------------------------------------
-- service_role
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select lives_ok(c.call, 'service_role calls ' || c.name) from t18_calls c order by c.name;
select results_eq(
  'select relation, n > 0 from pg_temp.visible_rows() order by relation',
  'select relation, true from t18_rows order by relation',
  'service_role reads every table'
);
reset role;

select * from finish();
rollback;
