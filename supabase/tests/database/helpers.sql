-- pgTAP helpers, shared by every file in supabase/tests/database. scripts/test.ts loads this
-- file (as postgres) before pg_prove; loading it again replaces it (idempotent). Everything lives
-- in the schema `tests`, which no API role may use: the helpers are called as postgres, before
-- a test switches role (`select tests.act_as_...()`) and after it switches back (`reset role`).
--
--   roles    tests.act_as(role, claims), tests.act_as_anon(), tests.act_as_user(user id),
--            tests.act_as_clinic_admin(user id), tests.act_as_service_role()
--            tests.api_roles_using_schema(schema), tests.functions_api_roles_may_execute(schema)
--   users    tests.create_auth_user(email, app_metadata) → the new auth.users id
--   time     tests.frozen_now(): one fixed instant, for functions that take p_now
--   settings tests.waitlist_settings(...) (every tunable a test depends on, reset to known values),
--            tests.quiet_hours_from_now(from, until), tests.remove_waitlist_settings() and
--            tests.restore_waitlist_settings()
--   clinic   tests.add_practitioner, tests.add_appointment_type, tests.add_patient,
--            tests.add_appointment, tests.add_waitlist_entry (with its availability),
--            tests.add_availability, tests.add_slot_offer, tests.add_invitation; lookups by name:
--            tests.practitioner, tests.appointment_type, tests.patient
--   flow     tests.cancel_appointment (the trigger's offer), tests.cancel_and_invite (cancel,
--            open wave 1, emails sent), tests.wave_invitations, tests.days_ahead_at
--   sessions tests.connect(name) (dblink), tests.wait_until_blocked(name)
--   whatsapp tests.sign_up(full name) (auth user → profile → request and job),
--            tests.evolution_entry(user), tests.evolution_job(user), tests.webhook_secret(user),
--            tests.instance_name(user), tests.whatsapp_created(user, now) (the worker's
--            creation), tests.whatsapp_webhook(user, event, data, now), tests.evolution_claim
--            and tests.evolution_report (drive the job core as a worker would)
--
-- Fixtures insert rows inside the caller's transaction: a file's final rollback takes them away
-- (waitlist-07 commits its fixtures through a second session and removes them itself).

-- Dropped and created again, so that a changed signature never leaves an old overload behind.
-- (The notice listing what the drop takes away is silenced.)
set local client_min_messages = warning;
drop schema if exists tests cascade;
reset client_min_messages;
create schema tests;
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

-- What the API roles may reach, for the tests of least privilege (each list should be empty).
create or replace function tests.api_roles_using_schema(p_schema text) returns text[]
language sql
stable
as $$
  select array(select r from unnest(array['anon', 'authenticated', 'service_role']) r
               where has_schema_privilege(r, p_schema, 'usage') order by 1)
$$;
comment on function tests.api_roles_using_schema(text) is
  'The API roles (anon, authenticated, service_role) that have usage on schema p_schema.';

create or replace function tests.functions_api_roles_may_execute(p_schema text) returns text[]
language sql
stable
as $$
  select array(select p.oid::regprocedure::text from pg_proc p
               where p.pronamespace = p_schema::regnamespace
                 and (has_function_privilege('anon', p.oid, 'execute')
                      or has_function_privilege('authenticated', p.oid, 'execute')
                      or has_function_privilege('service_role', p.oid, 'execute'))
               order by 1)
$$;
comment on function tests.functions_api_roles_may_execute(text) is
  'The functions of schema p_schema that anon, authenticated or service_role may execute.';

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
-- Waitlist settings
-- =============================================================================================

-- Every tunable a test depends on, set to known values (the migration's defaults differ: five
-- per wave, quiet hours 21:00–08:00). Name only what the test is about.
create or replace function tests.waitlist_settings(
  p_wave_size int default 2,
  p_time_zone text default 'Europe/Paris',
  p_quiet_hours_start time default null,
  p_quiet_hours_end time default null,
  p_wave_interval interval default '30 minutes',
  p_invitation_lifetime interval default '24 hours',
  p_offer_cutoff interval default '2 hours'
) returns void
language sql
as $$
  update public.waitlist_settings
  set wave_size = p_wave_size, clinic_time_zone = p_time_zone,
      quiet_hours_start = p_quiet_hours_start, quiet_hours_end = p_quiet_hours_end,
      wave_interval = p_wave_interval, invitation_lifetime = p_invitation_lifetime,
      offer_cutoff = p_offer_cutoff
$$;
comment on function tests.waitlist_settings(int, text, time, time, interval, interval, interval) is
  'Sets every waitlist tunable a test depends on: wave size 2, clinic in Europe/Paris, no quiet hours, 30 minutes between waves, invitations valid 24 hours, offers closing 2 hours before the slot, unless told otherwise.';

-- Quiet hours placed around the present moment, in the clinic's local time.
create or replace function tests.quiet_hours_from_now(p_from interval, p_until interval) returns void
language sql
as $$
  update public.waitlist_settings
  set quiet_hours_start = ((now() at time zone clinic_time_zone) + p_from)::time,
      quiet_hours_end = ((now() at time zone clinic_time_zone) + p_until)::time
$$;
comment on function tests.quiet_hours_from_now(interval, interval) is
  'Sets the quiet hours from now() + p_from to now() + p_until, as local times in the clinic''s time zone (a negative p_from: they have begun).';

-- Taking the settings row away makes the waitlist functions fail (a failure path); restoring
-- puts back the row as it was.
create or replace function tests.remove_waitlist_settings() returns void
language plpgsql
as $$
begin
  perform set_config('tests.saved_waitlist_settings',
                     (select to_jsonb(s)::text from public.waitlist_settings s), true);
  delete from public.waitlist_settings;
end
$$;
comment on function tests.remove_waitlist_settings() is
  'Deletes the waitlist settings row (so that what reads it fails), keeping a copy for tests.restore_waitlist_settings() until the transaction ends.';

create or replace function tests.restore_waitlist_settings() returns void
language plpgsql
as $$
declare
  v_saved text := current_setting('tests.saved_waitlist_settings', true);
begin
  if coalesce(v_saved, '') = '' then
    raise exception 'No waitlist settings to restore: call tests.remove_waitlist_settings() first';
  end if;
  insert into public.waitlist_settings
  select * from jsonb_populate_record(null::public.waitlist_settings, v_saved::jsonb);
  perform set_config('tests.saved_waitlist_settings', '', true);
end
$$;
comment on function tests.restore_waitlist_settings() is
  'Puts back the waitlist settings row removed by tests.remove_waitlist_settings().';

-- =============================================================================================
-- The clinic: practitioners, appointment types, patients, appointments
-- =============================================================================================

create or replace function tests.add_practitioner(p_name text, p_id uuid default null) returns uuid
language sql
as $$
  insert into public.practitioners (id, full_name) values (coalesce(p_id, gen_random_uuid()), p_name)
  returning id
$$;
comment on function tests.add_practitioner(text, uuid) is
  'Creates a practitioner (with id p_id when given); returns its id.';

create or replace function tests.add_appointment_type(
  p_name text,
  p_duration_minutes int default 30,
  p_name_en text default null,
  p_id uuid default null
) returns uuid
language sql
as $$
  insert into public.appointment_types (id, name, duration_minutes, name_en)
  values (coalesce(p_id, gen_random_uuid()), p_name, p_duration_minutes, p_name_en) returning id
$$;
comment on function tests.add_appointment_type(text, int, text, uuid) is
  'Creates an appointment type (30 minutes unless told); returns its id.';

create or replace function tests.add_patient(
  p_first_name text,
  p_last_name text default 'Test',
  p_email text default '',
  p_locale text default 'fr',
  p_id uuid default null
) returns uuid
language sql
as $$
  insert into public.patients (id, first_name, last_name, email, locale)
  values (coalesce(p_id, gen_random_uuid()), p_first_name, p_last_name,
          case when p_email = '' then lower(p_first_name) || '@example.com' else p_email end,
          p_locale)
  returning id
$$;
comment on function tests.add_patient(text, text, text, text, uuid) is
  'Creates a patient; the email defaults to <first name in lower case>@example.com (null: none). Returns its id.';

-- Lookups by name, so that a test reads "Cora's appointment with Dr T15" rather than ids.
create or replace function tests.the_one(p_what text, p_ids uuid[]) returns uuid
language plpgsql
immutable
as $$
begin
  if cardinality(p_ids) is distinct from 1 then
    raise exception 'Test fixture: expected one %, found %', p_what, coalesce(cardinality(p_ids), 0);
  end if;
  return p_ids[1];
end
$$;
comment on function tests.the_one(text, uuid[]) is
  'The only id of p_ids; raises (naming p_what) when there are none or several. Used by the lookups by name.';

create or replace function tests.practitioner(p_name text) returns uuid
language sql
stable
as $$
  select tests.the_one(format('practitioner named "%s"', p_name),
                       array(select id from public.practitioners where full_name = p_name))
$$;
comment on function tests.practitioner(text) is 'The id of the one practitioner named p_name (raises otherwise).';

create or replace function tests.appointment_type(p_name text) returns uuid
language sql
stable
as $$
  select tests.the_one(format('appointment type named "%s"', p_name),
                       array(select id from public.appointment_types where name = p_name))
$$;
comment on function tests.appointment_type(text) is 'The id of the one appointment type named p_name (raises otherwise).';

create or replace function tests.patient(p_first_name text, p_last_name text) returns uuid
language sql
stable
as $$
  select tests.the_one(format('patient named "%s %s"', p_first_name, p_last_name),
                       array(select id from public.patients
                             where first_name = p_first_name and last_name = p_last_name))
$$;
comment on function tests.patient(text, text) is 'The id of the one patient named p_first_name p_last_name (raises otherwise).';

-- The clinic most waitlist files start from, its names marked with p_tag (a file's own).
create or replace function tests.add_clinic(p_tag text) returns void
language sql
as $$
  select tests.add_practitioner('Dr ' || p_tag), tests.add_practitioner('Dr ' || p_tag || ' bis'),
         tests.add_appointment_type(lower(p_tag) || ' consultation', p_name_en => lower(p_tag) || ' visit'),
         tests.add_appointment_type(lower(p_tag) || ' rare'),
         tests.add_patient('Cora', p_tag);
$$;
comment on function tests.add_clinic(text) is
  'Creates the usual clinic of a test tagged p_tag (say T15): practitioners "Dr T15" and "Dr T15 bis", appointment types "t15 consultation" (in English "t15 visit") and "t15 rare" (30 minutes), and Cora T15, the patient whose appointments get cancelled.';

create or replace function tests.add_appointment(
  p_patient_id uuid,
  p_practitioner_id uuid,
  p_appointment_type_id uuid,
  p_starts_at timestamptz,
  p_minutes int default 30,
  p_status text default 'confirmed',
  p_id uuid default null
) returns uuid
language sql
as $$
  insert into public.appointments (id, patient_id, practitioner_id, appointment_type_id, starts_at,
                                   ends_at, status)
  values (coalesce(p_id, gen_random_uuid()), p_patient_id, p_practitioner_id, p_appointment_type_id,
          p_starts_at, p_starts_at + make_interval(mins => p_minutes), p_status)
  returning id
$$;
comment on function tests.add_appointment(uuid, uuid, uuid, timestamptz, int, text, uuid) is
  'Creates an appointment of p_minutes from p_starts_at (confirmed unless told; inserted cancelled, it opens no offer); returns its id.';

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

-- =============================================================================================
-- The waitlist: entries, availability, offers, invitations
-- =============================================================================================

create or replace function tests.add_availability(
  p_waitlist_id uuid,
  p_weekday int,
  p_start time,
  p_end time
) returns void
language sql
as $$
  insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
  values (p_waitlist_id, p_weekday, p_start, p_end)
$$;
comment on function tests.add_availability(uuid, int, time, time) is
  'Adds an availability window to a waitlist entry (ISO weekday, local start and end; start after end: overnight).';

-- p_availability: 'all week' (every day 00:00–24:00), 'around the clock' (also 12:00–11:59 every
-- day, so that a slot crossing midnight fits too) or 'none' (add windows with add_availability).
create or replace function tests.add_waitlist_entry(
  p_patient_id uuid,
  p_appointment_type_id uuid,
  p_practitioner_id uuid default null,
  p_priority int default 0,
  p_consent boolean default true,
  p_earliest_date date default '2000-01-01',
  p_latest_date date default null,
  p_created_at timestamptz default now(),
  p_availability text default 'all week',
  p_status text default 'active',
  p_notes text default null
) returns uuid
language plpgsql
as $$
declare
  v_id uuid;
begin
  if p_availability not in ('all week', 'around the clock', 'none') then
    raise exception 'Unknown availability "%": use all week, around the clock or none', p_availability;
  end if;
  insert into public.waitlist (patient_id, practitioner_id, appointment_type_id, priority,
                               consent_automated_notifications, earliest_date, latest_date,
                               created_at, status, notes)
  values (p_patient_id, p_practitioner_id, p_appointment_type_id, p_priority, p_consent,
          p_earliest_date, p_latest_date, p_created_at, p_status, p_notes)
  returning id into v_id;
  if p_availability <> 'none' then
    perform tests.add_availability(v_id, d, time '00:00', time '24:00') from generate_series(1, 7) d;
  end if;
  if p_availability = 'around the clock' then
    perform tests.add_availability(v_id, d, time '12:00', time '11:59') from generate_series(1, 7) d;
  end if;
  return v_id;
end
$$;
comment on function tests.add_waitlist_entry(uuid, uuid, uuid, int, boolean, date, date, timestamptz, text, text, text) is
  'Puts a patient on the waitlist (active, consenting, any practitioner, any date by default) with the availability p_availability (all week, around the clock or none). Returns the entry id.';

create or replace function tests.add_slot_offer(
  p_appointment_id uuid,
  p_closes_before interval default '2 hours',
  p_id uuid default null
) returns uuid
language sql
as $$
  insert into public.appointment_slot_offers (id, appointment_id, cancelled_patient_id,
    practitioner_id, appointment_type_id, starts_at, ends_at, closes_at)
  select coalesce(p_id, gen_random_uuid()), a.id, a.patient_id, a.practitioner_id,
         a.appointment_type_id, a.starts_at, a.ends_at, a.starts_at - p_closes_before
  from public.appointments a
  where a.id = p_appointment_id
  returning id
$$;
comment on function tests.add_slot_offer(uuid, interval, uuid) is
  'Opens a slot offer for an appointment directly (no trigger, no job), closing p_closes_before its start. Returns its id.';

-- An invitation made by hand (not by a wave): the link is p_token, its hash is stored.
create or replace function tests.add_invitation(
  p_slot_offer_id uuid,
  p_waitlist_id uuid,
  p_token text,
  p_expires_at timestamptz,
  p_status text default 'pending',
  p_wave int default 1,
  p_rank int default 1
) returns uuid
language sql
as $$
  insert into public.slot_offer_invitations (slot_offer_id, waitlist_id, patient_id, wave, rank,
    email, locale, token_hash, status, sent_at, expires_at)
  select p_slot_offer_id, w.id, w.patient_id, p_wave, p_rank, p.email, p.locale,
         sha256(convert_to(p_token, 'UTF8')), p_status,
         case when p_status <> 'pending' then now() end, p_expires_at
  from public.waitlist w join public.patients p on p.id = w.patient_id
  where w.id = p_waitlist_id
  returning id
$$;
comment on function tests.add_invitation(uuid, uuid, text, timestamptz, text, int, int) is
  'Invites a waitlist entry''s patient to an offer directly (no wave), with the link token p_token (its hash is stored), the patient''s email and locale; sent now unless pending. Returns its id.';

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

-- =============================================================================================
-- The flow
-- =============================================================================================

-- Cancels an appointment as the dashboard does; the trigger opens its offer (or logs why not).
create or replace function tests.cancel_appointment(p_appointment_id uuid) returns uuid
language sql
as $$
  update public.appointments set status = 'cancelled' where id = p_appointment_id;
  select o.id from public.appointment_slot_offers o where o.appointment_id = p_appointment_id;
$$;
comment on function tests.cancel_appointment(uuid) is
  'Cancels an appointment (the trigger opens its offer); returns the id of the offer opened, null when none was.';

-- Cancels an appointment (the trigger opens its offer), opens wave 1 and records every email of
-- the wave as accepted by Resend (email id em_<token>): the invitations are sent.
create or replace function tests.cancel_and_invite(p_appointment_id uuid) returns jsonb
language plpgsql
as $$
declare
  v_offer uuid := tests.cancel_appointment(p_appointment_id);
  v_wave jsonb;
begin
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

-- =============================================================================================
-- Concurrency: more sessions through dblink
-- =============================================================================================

-- (plpgsql: dblink is created by the files that use it, inside their own transaction.)
create or replace function tests.connect(p_name text) returns text
language plpgsql
as $$
begin
  return extensions.dblink_connect(p_name, format(
    'host=127.0.0.1 port=%s dbname=%s user=postgres password=postgres application_name=%s',
    current_setting('port'), current_database(), p_name));
end
$$;
comment on function tests.connect(text) is
  'Opens dblink connection p_name: another session as postgres on this database, its application_name p_name (autocommit until it runs begin). Needs the dblink extension in schema extensions.';

create or replace function tests.wait_until_blocked(p_name text, p_timeout interval default '5 seconds')
returns boolean
language plpgsql
as $$
declare
  v_pid int;
  v_deadline timestamptz := clock_timestamp() + p_timeout;
begin
  select pid into v_pid from pg_stat_activity where application_name = p_name;
  if v_pid is null then
    raise exception 'No session named % (open it with tests.connect)', p_name;
  end if;
  loop
    if cardinality(pg_blocking_pids(v_pid)) > 0 then
      return true;
    end if;
    exit when clock_timestamp() >= v_deadline;
    perform pg_sleep(0.01);
  end loop;
  return false;
end
$$;
comment on function tests.wait_until_blocked(text, interval) is
  'Answers whether session p_name (see tests.connect) is waiting for another transaction''s lock, polling until p_timeout.';

-- =============================================================================================
-- WhatsApp provisioning
-- =============================================================================================

-- A sign-up: an auth user with a full name; the triggers insert the profile, the queue entry,
-- the credentials and the create_instance job.
create or replace function tests.sign_up(p_full_name text default 'Test User', p_email text default null)
returns uuid
language sql
as $$
  insert into auth.users (email, raw_user_meta_data, email_confirmed_at)
  values (coalesce(p_email, 'user-' || gen_random_uuid() || '@tests.example.test'),
          jsonb_build_object('full_name', p_full_name), now())
  returning id
$$;
comment on function tests.sign_up(text, text) is
  'Signs a user up (auth.users row with raw_user_meta_data.full_name): the triggers insert the profile, the creation request and its job. Returns the user id.';

create or replace function tests.evolution_entry(p_user_id uuid)
returns public.evolution_instance_creation_queue
language sql
stable
as $$ select * from public.evolution_instance_creation_queue q where q.user_id = p_user_id $$;
comment on function tests.evolution_entry(uuid) is 'The user''s evolution_instance_creation_queue row.';

create or replace function tests.evolution_job(p_user_id uuid) returns jobs.jobs
language sql
stable
as $$
  select j.* from jobs.jobs j
  where j.id = (select q.job_id from public.evolution_instance_creation_queue q where q.user_id = p_user_id)
$$;
comment on function tests.evolution_job(uuid) is 'The job the user''s queue entry mirrors (job_id).';

create or replace function tests.webhook_secret(p_user_id uuid) returns text
language sql
stable
as $$ select c.webhook_secret from whatsapp_internal.instance_credentials c where c.user_id = p_user_id $$;
comment on function tests.webhook_secret(uuid) is 'The user''s webhook secret (whatsapp_internal.instance_credentials).';

create or replace function tests.instance_name(p_user_id uuid) returns text
language sql
immutable
as $$ select 'user_' || replace(p_user_id::text, '-', '') $$;
comment on function tests.instance_name(uuid) is 'The instance name of a user, as the contract derives it.';

-- What the worker stores after creating the instance with Evolution (first QR code 1).
create or replace function tests.whatsapp_created(
  p_user_id uuid,
  p_now timestamptz default now(),
  p_qr boolean default true
) returns jsonb
language sql
as $$
  select public.whatsapp_creation_complete(p_user_id, jsonb_build_object(
    'instance_name', tests.instance_name(p_user_id),
    'instance_id', 'evo-' || left(p_user_id::text, 8),
    'instance_token', (select c.instance_token from whatsapp_internal.instance_credentials c
                       where c.user_id = p_user_id),
    'webhook_url', 'http://127.0.0.1:54321/functions/v1/evolution-webhook',
    'webhook_events', jsonb_build_array('QRCODE_UPDATED', 'CONNECTION_UPDATE'),
    'instance_status', 'connecting',
    'qr', case when p_qr then jsonb_build_object('base64', 'data:image/png;base64,QR1', 'code', 'code-1',
                                                 'pairingCode', 'PAIR0001', 'count', 1) end), p_now)
$$;
comment on function tests.whatsapp_created(uuid, timestamptz, boolean) is
  'Stores the user''s instance as the worker does after creating it (public.whatsapp_creation_complete): connecting, with QR code 1 (data URL ...QR1, code-1) unless p_qr is false. Returns the JSON row.';

-- An Evolution webhook call for the user's instance, with the right secret; the body is
-- {event, instance, data, date_time} (its hash: of that text).
create or replace function tests.whatsapp_webhook(
  p_user_id uuid,
  p_event text,
  p_data jsonb,
  p_now timestamptz default now()
) returns jsonb
language sql
as $$
  select public.whatsapp_webhook_receive(
    tests.instance_name(p_user_id), tests.webhook_secret(p_user_id), p_event,
    jsonb_build_object('event', p_event, 'instance', tests.instance_name(p_user_id), 'data', p_data,
                       'date_time', p_now),
    sha256(convert_to(jsonb_build_object('event', p_event, 'instance', tests.instance_name(p_user_id),
                                         'data', p_data, 'date_time', p_now)::text, 'UTF8')),
    p_now)
$$;
comment on function tests.whatsapp_webhook(uuid, text, jsonb, timestamptz) is
  'Calls public.whatsapp_webhook_receive for the user''s instance with its secret and the body {event, instance, data, date_time: p_now}. Returns its answer.';

-- Claims the job of one user as a worker of the evolution queue would (other users' jobs wait).
create or replace function tests.evolution_claim(
  p_user_id uuid,
  p_worker text default 'test-worker',
  p_now timestamptz default now()
) returns jobs.jobs
language plpgsql
as $$
declare
  v_job jobs.jobs;
begin
  update jobs.jobs j set priority = -1000
  where j.id = (select q.job_id from public.evolution_instance_creation_queue q where q.user_id = p_user_id);
  select * into v_job from public.job_claim('evolution', p_worker, 1, null, p_now);
  update jobs.jobs j set priority = 0 where j.id = v_job.id;
  if v_job.subject is distinct from 'user:' || p_user_id then
    raise exception 'Claimed % instead of the job of user %', v_job.subject, p_user_id;
  end if;
  return v_job;
end
$$;
comment on function tests.evolution_claim(uuid, text, timestamptz) is
  'Claims the user''s evolution job (public.job_claim, limit 1, at p_now) for p_worker; raises when another job came.';

create or replace function tests.evolution_report(
  p_user_id uuid,
  p_outcome jsonb,
  p_worker text default 'test-worker',
  p_now timestamptz default now()
) returns text
language sql
as $$
  select r.state::text
  from public.job_report(p_worker,
         jsonb_build_array(jsonb_build_object('id', (tests.evolution_job(p_user_id)).id) || p_outcome),
         p_now) r
$$;
comment on function tests.evolution_report(uuid, jsonb, text, timestamptz) is
  'Reports the outcome p_outcome ({ok, error, permanent, ...}) of the user''s running evolution job as p_worker; returns the job''s new state (null when not this worker''s).';

-- Only postgres runs the helpers (API roles have no usage on the schema either).
revoke all on all functions in schema tests from public, anon, authenticated, service_role;
