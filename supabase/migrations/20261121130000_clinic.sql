-- Clinic: the tables the clinic's staff already edits in the dashboard — practitioners,
-- patients, appointment types and appointments. The waitlist flow (next migration) reacts to
-- changes of `appointments.status`.
--
-- Access: nobody but the service role and clinic admins (a JWT whose app_metadata.role is
-- 'admin', see public.is_clinic_admin()) sees or changes a row. Patients never log in here:
-- they act through the links they receive by email.

-- =============================================================================================
-- Prerequisites
-- =============================================================================================

-- Exclusion constraints mixing uuid equality and time ranges (no double booking).
create extension if not exists btree_gist with schema extensions;

-- =============================================================================================
-- Tables
-- =============================================================================================

create table public.practitioners (
  id uuid primary key default gen_random_uuid(),
  full_name text not null check (length(trim(full_name)) > 0),
  email text,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.practitioners enable row level security;
comment on table public.practitioners is
  'The clinic''s practitioners. full_name is shown to patients in emails and pages.';

create table public.patients (
  id uuid primary key default gen_random_uuid(),
  first_name text not null check (length(trim(first_name)) > 0),
  last_name text not null,
  email text check (email ~ '^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$'),
  phone text,
  locale text not null default 'fr' check (locale in ('fr', 'en')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.patients enable row level security;
comment on table public.patients is
  'Patients. email receives waitlist invitations (none without one); locale chooses the language of emails and pages: fr (default) or en.';

create table public.appointment_types (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  name_en text,
  duration_minutes int not null check (duration_minutes between 5 and 480),
  created_at timestamptz not null default now()
);
alter table public.appointment_types enable row level security;
comment on table public.appointment_types is
  'Kinds of appointment (consultation, follow-up...). name is French and shown by default; name_en is shown to English-speaking patients when set.';

create table public.appointments (
  id uuid primary key default gen_random_uuid(),
  patient_id uuid not null references public.patients (id) on delete restrict,
  practitioner_id uuid not null references public.practitioners (id) on delete restrict,
  appointment_type_id uuid not null references public.appointment_types (id) on delete restrict,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  status text not null default 'confirmed'
    check (status in ('scheduled', 'confirmed', 'cancelled', 'completed', 'no_show')),
  cancelled_at timestamptz,
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint appointments_ends_after_start check (ends_at > starts_at),
  -- A practitioner is never booked twice at once; cancelled appointments free their time.
  constraint appointments_no_double_booking exclude using gist (
    practitioner_id with =,
    tstzrange(starts_at, ends_at) with &&
  ) where (status <> 'cancelled')
);
alter table public.appointments enable row level security;
comment on table public.appointments is
  'Appointments. Setting status to ''cancelled'' opens a slot offer to the waitlist (trigger handle_appointment_cancellation); setting it back before the slot is filled withdraws the offer. A practitioner cannot have two overlapping appointments that are not cancelled.';
comment on column public.appointments.cancelled_at is
  'When status last became ''cancelled'' (set by a trigger).';

create index appointments_patient_time on public.appointments (patient_id, starts_at)
  where status <> 'cancelled';
create index appointments_practitioner_time on public.appointments (practitioner_id, starts_at);

-- =============================================================================================
-- Triggers
-- =============================================================================================

/* Keeps updated_at, and cancelled_at when the status becomes 'cancelled'. */
create function public.appointments_touch() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  if new.status = 'cancelled' and old.status is distinct from 'cancelled' then
    new.cancelled_at := now();
  end if;
  return new;
end
$$;
comment on function public.appointments_touch() is
  'Trigger: sets updated_at, and cancelled_at when an appointment becomes cancelled.';

create trigger appointments_touch
before update on public.appointments
for each row execute function public.appointments_touch();

-- =============================================================================================
-- Helper functions
-- =============================================================================================

/*
 * Is the caller a clinic admin? True for a JWT whose app_metadata.role is 'admin' (set by the
 * service role in auth.users.raw_app_meta_data: users cannot change app_metadata themselves).
 */
create function public.is_clinic_admin() returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin', false)
$$;
comment on function public.is_clinic_admin() is
  'True when the request''s JWT carries app_metadata.role = ''admin''. Used by the RLS policies of the clinic and waitlist tables.';

-- =============================================================================================
-- Policies
-- =============================================================================================

create policy "Clinic admins manage practitioners" on public.practitioners
  for all to authenticated using (public.is_clinic_admin()) with check (public.is_clinic_admin());
create policy "Clinic admins manage patients" on public.patients
  for all to authenticated using (public.is_clinic_admin()) with check (public.is_clinic_admin());
create policy "Clinic admins manage appointment types" on public.appointment_types
  for all to authenticated using (public.is_clinic_admin()) with check (public.is_clinic_admin());
create policy "Clinic admins manage appointments" on public.appointments
  for all to authenticated using (public.is_clinic_admin()) with check (public.is_clinic_admin());

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on public.practitioners, public.patients, public.appointment_types,
  public.appointments from anon, authenticated;
grant select, insert, update, delete on public.practitioners, public.patients,
  public.appointment_types, public.appointments to authenticated, service_role;

revoke all on function public.appointments_touch() from public, anon, authenticated;
revoke all on function public.is_clinic_admin() from public, anon;
grant execute on function public.is_clinic_admin() to authenticated, service_role;
