-- pgTAP helpers, shared by every file in supabase/tests/database. scripts/test.ts loads this
-- file (as postgres) before pg_prove; loading it again replaces it (idempotent). Everything lives
-- in the schema `tests`, which no API role may use: the helpers are called as postgres, before
-- a test switches role (`select tests.act_as_...()`) and after it switches back (`reset role`).
--
--   roles    tests.act_as(role, claims), tests.act_as_anon(), tests.act_as_user(user id),
--            tests.act_as_clinic_admin(user id), tests.act_as_service_role()
--   users    tests.create_auth_user(email, app_metadata) → the new auth.users id
--   time     tests.frozen_now(): one fixed instant, for functions that take p_now
--   clinic   tests.add_practitioner, tests.add_appointment_type, tests.add_patient,
--            tests.add_appointment, tests.add_waitlist_entry (with availability windows),
--            tests.add_slot_offer, tests.waitlist_settings(...), tests.days_ahead_at,
--            tests.cancel_and_invite (cancel, open wave 1, emails sent), tests.wave_invitations
--
-- Fixtures insert rows inside the test's transaction: the file's final rollback takes them away.

create schema if not exists tests;
comment on schema tests is
  'pgTAP helpers (supabase/tests/database/helpers.sql): acting as an API role, auth users, a frozen clock, clinic fixtures. Loaded by scripts/test.ts; not usable by API roles.';
revoke all on schema tests from public, anon, authenticated, service_role;

-- =============================================================================================
-- Acting as an API role
-- =============================================================================================

-- Switches to an API role with the request's JWT claims, as PostgREST does, for the rest of
-- the transaction. `reset role` ends it.
create or replace function tests.act_as(p_role text, p_claims jsonb default '{}') returns void
language sql
as $$
  select set_config('request.jwt.claims', (jsonb_build_object('role', p_role) || coalesce(p_claims, '{}'))::text, true);
  select set_config('role', p_role, true);
$$;
comment on function tests.act_as(text, jsonb) is
  'Switches to API role p_role with the JWT claims {role: p_role} || p_claims for the rest of the transaction, as PostgREST does. `reset role` ends it.';

-- Anonymous visitor (the anon key).
create or replace function tests.act_as_anon() returns void
language sql
as $$ select tests.act_as('anon') $$;
comment on function tests.act_as_anon() is 'Acts as anon (a request with the anon key).';

-- A signed-in user who is not a clinic admin.
create or replace function tests.act_as_user(
  p_user_id uuid default '00000000-0000-0000-0000-0000000000b1',
  p_app_metadata jsonb default '{}'
) returns void
language sql
as $$
  select tests.act_as('authenticated', jsonb_build_object('sub', p_user_id, 'app_metadata', p_app_metadata))
$$;
comment on function tests.act_as_user(uuid, jsonb) is
  'Acts as an authenticated user (JWT sub p_user_id, app_metadata p_app_metadata; no admin role by default).';

-- A clinic admin: app_metadata.role is 'admin' (public.is_clinic_admin()).
create or replace function tests.act_as_clinic_admin(
  p_user_id uuid default '00000000-0000-0000-0000-0000000000a1'
) returns void
language sql
as $$ select tests.act_as_user(p_user_id, '{"role": "admin"}') $$;
comment on function tests.act_as_clinic_admin(uuid) is
  'Acts as a clinic admin: authenticated, app_metadata.role = admin.';

-- The service role (edge functions, cron).
create or replace function tests.act_as_service_role() returns void
language sql
as $$ select tests.act_as('service_role') $$;
comment on function tests.act_as_service_role() is 'Acts as service_role (the service key).';

-- =============================================================================================
-- Auth users
-- =============================================================================================

create or replace function tests.create_auth_user(
  p_email text default null,
  p_app_metadata jsonb default '{}'
) returns uuid
language sql
as $$
  insert into auth.users (email, raw_app_meta_data, email_confirmed_at)
  values (coalesce(p_email, 'user-' || gen_random_uuid() || '@tests.example.test'),
          coalesce(p_app_metadata, '{}'), now())
  returning id
$$;
comment on function tests.create_auth_user(text, jsonb) is
  'Creates an auth.users row (a random email when none is given) and returns its id; act as it with tests.act_as_user(id, app_metadata).';

-- =============================================================================================
-- Time
-- =============================================================================================

create or replace function tests.frozen_now() returns timestamptz
language sql
immutable
as $$ select timestamptz '2026-12-07 09:00:00+00' $$;
comment on function tests.frozen_now() is
  'A fixed instant (Monday 2026-12-07 09:00 UTC, 10:00 in Paris) for the p_now of the functions under test, so results do not depend on when the tests run.';

-- =============================================================================================
-- The clinic
-- =============================================================================================

-- The waitlist settings of a test: quiet hours off and the clinic in Paris unless told.
create or replace function tests.waitlist_settings(
  p_wave_size int default 2,
  p_time_zone text default 'Europe/Paris',
  p_quiet_hours_start time default null,
  p_quiet_hours_end time default null
) returns void
language sql
as $$
  update public.waitlist_settings
  set wave_size = p_wave_size, clinic_time_zone = p_time_zone,
      quiet_hours_start = p_quiet_hours_start, quiet_hours_end = p_quiet_hours_end
$$;
comment on function tests.waitlist_settings(int, text, time, time) is
  'Sets the waitlist settings a test depends on (wave size, clinic time zone, quiet hours; none by default).';

create or replace function tests.add_practitioner(p_name text) returns uuid
language sql
as $$ insert into public.practitioners (full_name) values (p_name) returning id $$;
comment on function tests.add_practitioner(text) is 'Creates a practitioner; returns its id.';

create or replace function tests.add_appointment_type(
  p_name text,
  p_duration_minutes int default 30,
  p_name_en text default null
) returns uuid
language sql
as $$
  insert into public.appointment_types (name, duration_minutes, name_en)
  values (p_name, p_duration_minutes, p_name_en) returning id
$$;
comment on function tests.add_appointment_type(text, int, text) is
  'Creates an appointment type; returns its id.';

create or replace function tests.add_patient(
  p_first_name text,
  p_last_name text default 'Test',
  p_email text default '',
  p_locale text default 'fr'
) returns uuid
language sql
as $$
  insert into public.patients (first_name, last_name, email, locale)
  values (p_first_name, p_last_name,
          case when p_email = '' then lower(p_first_name || '.' || replace(p_last_name, ' ', '-'))
                                      || '@patients.example.test'
               else p_email end,
          p_locale)
  returning id
$$;
comment on function tests.add_patient(text, text, text, text) is
  'Creates a patient; the email defaults to first.last@patients.example.test (null: none). Returns its id.';

create or replace function tests.add_appointment(
  p_patient_id uuid,
  p_practitioner_id uuid,
  p_appointment_type_id uuid,
  p_starts_at timestamptz,
  p_minutes int default 30,
  p_status text default 'confirmed'
) returns uuid
language sql
as $$
  insert into public.appointments (patient_id, practitioner_id, appointment_type_id, starts_at,
                                   ends_at, status)
  values (p_patient_id, p_practitioner_id, p_appointment_type_id, p_starts_at,
          p_starts_at + make_interval(mins => p_minutes), p_status)
  returning id
$$;
comment on function tests.add_appointment(uuid, uuid, uuid, timestamptz, int, text) is
  'Creates an appointment of p_minutes from p_starts_at (confirmed unless told); returns its id.';

create or replace function tests.add_waitlist_entry(
  p_patient_id uuid,
  p_appointment_type_id uuid,
  p_practitioner_id uuid default null,
  p_priority int default 0,
  p_consent boolean default true,
  p_earliest_date date default '2000-01-01',
  p_latest_date date default null,
  p_created_at timestamptz default now(),
  p_all_week boolean default true
) returns uuid
language plpgsql
as $$
declare
  v_id uuid;
begin
  insert into public.waitlist (patient_id, practitioner_id, appointment_type_id, priority,
                               consent_automated_notifications, earliest_date, latest_date,
                               created_at)
  values (p_patient_id, p_practitioner_id, p_appointment_type_id, p_priority, p_consent,
          p_earliest_date, p_latest_date, p_created_at)
  returning id into v_id;
  if p_all_week then
    insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
    select v_id, d, time '00:00', time '24:00' from generate_series(1, 7) d;
  end if;
  return v_id;
end
$$;
comment on function tests.add_waitlist_entry(uuid, uuid, uuid, int, boolean, date, date, timestamptz, boolean) is
  'Puts a patient on the waitlist (consenting, any practitioner, any date by default) and, with p_all_week, available every day at any hour. Returns the entry id.';

create or replace function tests.add_slot_offer(
  p_appointment_id uuid,
  p_closes_before interval default '2 hours'
) returns uuid
language sql
as $$
  insert into public.appointment_slot_offers (appointment_id, cancelled_patient_id,
    practitioner_id, appointment_type_id, starts_at, ends_at, closes_at)
  select a.id, a.patient_id, a.practitioner_id, a.appointment_type_id, a.starts_at, a.ends_at,
         a.starts_at - p_closes_before
  from public.appointments a
  where a.id = p_appointment_id
  returning id
$$;
comment on function tests.add_slot_offer(uuid, interval) is
  'Opens a slot offer for an appointment directly (no trigger, no job), closing p_closes_before its start. Returns its id.';

-- A local date and time p_days from today in the clinic's zone (a slot "three days ahead at 10").
create or replace function tests.days_ahead_at(
  p_days int,
  p_time time default '10:00',
  p_zone text default 'Europe/Paris'
) returns timestamptz
language sql
stable
as $$ select (((now() at time zone p_zone)::date + p_days) + p_time) at time zone p_zone $$;
comment on function tests.days_ahead_at(int, time, text) is
  'p_days from today at local time p_time in zone p_zone (default 10:00 in Paris), as a timestamptz.';

-- The invitations a wave returned (waitlist_open_wave's JSON), in their order.
create or replace function tests.wave_invitations(p_wave jsonb)
returns table (invitation_id uuid, patient_first_name text, email text, locale text, token text,
               expires_at timestamptz, send_attempts int)
language sql
immutable
as $$
  select * from jsonb_to_recordset(p_wave -> 'invitations')
    as (invitation_id uuid, patient_first_name text, email text, locale text, token text,
        expires_at timestamptz, send_attempts int)
$$;
comment on function tests.wave_invitations(jsonb) is
  'The invitations of a wave as returned by waitlist_open_wave, in rank order, with their plain tokens.';

-- Cancels an appointment (the trigger opens its offer), opens wave 1 and records every email of
-- the wave as accepted by Resend (email id em_<token>): the invitations are sent.
create or replace function tests.cancel_and_invite(p_appointment_id uuid) returns jsonb
language plpgsql
as $$
declare
  v_offer uuid;
  v_wave jsonb;
begin
  update public.appointments set status = 'cancelled' where id = p_appointment_id;
  select o.id into v_offer from public.appointment_slot_offers o
  where o.appointment_id = p_appointment_id and o.status = 'open';
  if v_offer is null then
    raise exception 'Cancelling appointment % opened no offer', p_appointment_id;
  end if;
  v_wave := public.waitlist_open_wave(v_offer, 1);
  perform public.waitlist_record_invitation_emails(
    (select jsonb_agg(jsonb_build_object('invitation_id', i.invitation_id, 'email_id', 'em_' || i.token))
     from tests.wave_invitations(v_wave) i));
  return v_wave;
end
$$;
comment on function tests.cancel_and_invite(uuid) is
  'Cancels an appointment, opens wave 1 of its offer and records the wave''s emails as sent (email id em_<token>). Returns the wave JSON (slot_offer_id, invitations with tokens).';

-- Only postgres runs the helpers (API roles have no usage on the schema either).
revoke all on all functions in schema tests from public, anon, authenticated, service_role;
