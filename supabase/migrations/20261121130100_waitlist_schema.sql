-- Waitlist, part 1 of 3: the schema (tables, indexes, row level security, policies, table
-- grants). Part 2 (waitlist_api) holds the callable functions and the helpers in
-- waitlist_internal; part 3 (waitlist_jobs) the queue, the triggers and the cron jobs.
--
-- Waitlist auto-fill: a cancelled appointment becomes invitations, a click becomes a booking.
--
--   1. An admin sets appointments.status to 'cancelled'. The trigger
--      handle_appointment_cancellation opens a slot offer (appointment_slot_offers), logs it
--      (waitlist_trigger_logs) and enqueues the offer's first wave on the `waitlist` queue, in the
--      same transaction.
--   2. The `process-cancellation` function claims the wave: public.waitlist_open_wave() ranks the
--      candidates (public.get_eligible_waitlist_candidates), creates the invitations
--      (slot_offer_invitations) and schedules the next wave; the function emails them through
--      Resend and records the outcome (public.waitlist_record_invitation_emails).
--   3. A patient opens a link: `handle-invitation-response` shows the slot
--      (public.waitlist_invitation_view, read-only) and a confirmation POST calls
--      public.waitlist_respond(), which books the slot atomically (first come, first served) or
--      records the decline, and enqueues the confirmation email.
--   4. Waves continue (wave_size invitations, wave_interval apart, never in quiet hours unless the
--      offer would close first) until the slot is filled, candidates run out or the offer closes
--      at its cutoff. pg_cron's waitlist-expire closes what is due every minute;
--      monitor-waitlist-system (every 15 minutes) reports and repairs.
--
-- Link tokens: 32 random bytes (base64url), stored as their SHA-256. The plain token is kept in
-- slot_offer_invitations.pending_token only until its email is accepted by Resend (so a retried
-- send carries the same link and the same idempotency key), then erased.

-- =============================================================================================
-- Prerequisites and the schema of internal helpers (not exposed by the API)
-- =============================================================================================

-- gen_random_bytes() for link tokens (hosted Supabase has it in the extensions schema).
create extension if not exists pgcrypto with schema extensions;

create schema if not exists waitlist_internal;
comment on schema waitlist_internal is
  'Helpers of the waitlist flow: settings access, quiet hours, offer closing, JSON shapes. Not exposed by the API.';
revoke all on schema waitlist_internal from public;
alter default privileges in schema waitlist_internal revoke execute on functions from public;

-- =============================================================================================
-- Tables
-- =============================================================================================

create table public.waitlist_settings (
  id boolean primary key default true check (id),
  wave_size int not null default 5 check (wave_size between 1 and 100),
  wave_interval interval not null default '30 minutes' check (wave_interval >= interval '1 minute'),
  invitation_lifetime interval not null default '24 hours'
    check (invitation_lifetime >= interval '5 minutes'),
  offer_cutoff interval not null default '2 hours' check (offer_cutoff >= interval '0'),
  quiet_hours_start time default '21:00',
  quiet_hours_end time default '08:00',
  clinic_time_zone text not null default 'Europe/Paris',
  clinic_name text not null default 'Cabinet médical' check (length(trim(clinic_name)) > 0),
  sender text not null default 'Cabinet médical <rendez-vous@example.com>'
    check (sender ~ '^([^<>]*<[^@\s<>]+@[^@\s<>]+>|[^@\s<>]+@[^@\s<>]+)$'),
  public_base_url text check (public_base_url ~ '^https?://[^\s]+$'),
  updated_at timestamptz not null default now(),
  constraint waitlist_settings_quiet_hours_pair check (
    (quiet_hours_start is null) = (quiet_hours_end is null)
  )
);
alter table public.waitlist_settings enable row level security;
comment on table public.waitlist_settings is
  'The waitlist''s tunables, one row: edit it in the dashboard. Quiet hours are local times in clinic_time_zone (start after end = overnight; both null = none).';
comment on column public.waitlist_settings.wave_size is 'Invitations sent per wave.';
comment on column public.waitlist_settings.wave_interval is 'Time between two waves of an offer.';
comment on column public.waitlist_settings.invitation_lifetime is
  'How long an invitation stays valid (never beyond its offer''s cutoff).';
comment on column public.waitlist_settings.offer_cutoff is
  'An offer closes this long before the slot starts; a cancellation inside it opens nothing.';
comment on column public.waitlist_settings.clinic_time_zone is
  'IANA zone of the clinic: availability windows, quiet hours, dates in emails and pages.';
comment on column public.waitlist_settings.sender is 'From address of the emails (Resend: a verified domain).';
comment on column public.waitlist_settings.public_base_url is
  'Base URL of the links in emails, up to and excluding /handle-invitation-response (null: <SUPABASE_URL>/functions/v1).';

insert into public.waitlist_settings default values;

create table public.waitlist (
  id uuid primary key default gen_random_uuid(),
  patient_id uuid not null references public.patients (id) on delete cascade,
  practitioner_id uuid references public.practitioners (id) on delete cascade,
  appointment_type_id uuid not null references public.appointment_types (id) on delete cascade,
  earliest_date date not null default current_date,
  latest_date date,
  priority smallint not null default 0 check (priority between 0 and 10),
  status text not null default 'active'
    check (status in ('active', 'paused', 'fulfilled', 'cancelled')),
  consent_automated_notifications boolean not null default false,
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  fulfilled_at timestamptz,
  fulfilled_appointment_id uuid references public.appointments (id) on delete set null,
  constraint waitlist_date_range check (latest_date is null or latest_date >= earliest_date)
);
alter table public.waitlist enable row level security;
comment on table public.waitlist is
  'Patients waiting for an earlier slot. Invited when active, consenting, with an email, matching the slot (type, practitioner or any, dates, an availability window). Ranked by priority (higher first), then by waiting time (created_at).';
comment on column public.waitlist.practitioner_id is 'The practitioner wanted; null: any.';
comment on column public.waitlist.priority is 'From 0 (default) to 10: higher is invited first.';
comment on column public.waitlist.consent_automated_notifications is
  'The patient agreed to automated emails; without it, never invited.';

create table public.waitlist_availability (
  id bigint generated always as identity primary key,
  waitlist_id uuid not null references public.waitlist (id) on delete cascade,
  weekday smallint not null check (weekday between 1 and 7),
  start_time time not null check (start_time < time '24:00'),
  end_time time not null,
  constraint waitlist_availability_not_empty check (end_time <> start_time)
);
alter table public.waitlist_availability enable row level security;
comment on table public.waitlist_availability is
  'When a waitlist entry can come: weekday (ISO: 1 = Monday ... 7 = Sunday) and local times in the clinic''s zone. end_time before start_time: the window runs past midnight into the next day; 24:00 ends at midnight. An entry without windows is never invited.';

create table public.appointment_slot_offers (
  id uuid primary key default gen_random_uuid(),
  appointment_id uuid not null references public.appointments (id) on delete cascade,
  cancelled_patient_id uuid not null references public.patients (id) on delete cascade,
  practitioner_id uuid not null references public.practitioners (id) on delete cascade,
  appointment_type_id uuid not null references public.appointment_types (id) on delete cascade,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  closes_at timestamptz not null,
  status text not null default 'open' check (status in ('open', 'filled', 'expired', 'withdrawn')),
  invitation_count int not null default 0 check (invitation_count >= 0),
  waves_sent int not null default 0 check (waves_sent >= 0),
  next_wave_at timestamptz,
  last_wave_at timestamptz,
  filled_at timestamptz,
  filled_appointment_id uuid unique references public.appointments (id) on delete set null,
  filled_invitation_id uuid,
  closed_at timestamptz,
  closed_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint slot_offers_closed_when_not_open check ((status = 'open') = (closed_at is null)),
  constraint slot_offers_filled_has_booking check (
    (status = 'filled') = (filled_at is not null)
  )
);
alter table public.appointment_slot_offers enable row level security;
comment on table public.appointment_slot_offers is
  'A cancelled appointment''s time, offered to the waitlist. open → filled (a patient booked it) | expired (cutoff reached or candidates exhausted) | withdrawn (the appointment was restored). At most one open offer per appointment.';
comment on column public.appointment_slot_offers.closes_at is 'starts_at minus the cutoff.';
comment on column public.appointment_slot_offers.invitation_count is 'Invitations created so far.';
comment on column public.appointment_slot_offers.next_wave_at is
  'When the next wave is due (null: none planned).';

create unique index slot_offers_one_open_per_appointment on public.appointment_slot_offers (appointment_id)
  where status = 'open';
comment on index public.slot_offers_one_open_per_appointment is 'At most one open offer per appointment.';
create index slot_offers_open on public.appointment_slot_offers (closes_at) where status = 'open';
comment on index public.slot_offers_open is 'Open offers by cutoff: what waitlist_expire_due closes.';
create index slot_offers_created on public.appointment_slot_offers (created_at desc);
comment on index public.slot_offers_created is 'Offers newest first: the operators queries.';

create table public.slot_offer_invitations (
  id uuid primary key default gen_random_uuid(),
  slot_offer_id uuid not null references public.appointment_slot_offers (id) on delete cascade,
  waitlist_id uuid not null references public.waitlist (id) on delete cascade,
  patient_id uuid not null references public.patients (id) on delete cascade,
  wave int not null check (wave >= 1),
  rank int not null check (rank >= 1),
  email text not null,
  locale text not null check (locale in ('fr', 'en')),
  token_hash bytea not null unique check (length(token_hash) = 32),
  pending_token text,
  status text not null default 'pending'
    check (status in ('pending', 'sent', 'accepted', 'declined', 'expired', 'withdrawn', 'failed')),
  expires_at timestamptz not null,
  sent_at timestamptz,
  email_id text,
  send_attempts int not null default 0,
  last_error text,
  responded_at timestamptz,
  confirmation_email_id text,
  confirmation_sent_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint invitations_one_per_patient unique (slot_offer_id, patient_id),
  constraint invitations_plain_token_only_while_pending check (
    pending_token is null or status = 'pending'
  ),
  constraint invitations_answered_has_time check (
    (status in ('accepted', 'declined')) = (responded_at is not null)
  )
);
alter table public.slot_offer_invitations enable row level security;
comment on table public.slot_offer_invitations is
  'One invitation of one patient to one slot offer. pending (email not yet accepted by Resend) → sent → accepted | declined | expired | withdrawn (slot taken or appointment restored); failed: Resend refused the email for good (last_error says why).';
comment on column public.slot_offer_invitations.token_hash is 'SHA-256 of the link token.';
comment on column public.slot_offer_invitations.pending_token is
  'The plain link token, kept only until the email is accepted (a retried send reuses it), then erased.';
comment on column public.slot_offer_invitations.email_id is 'Resend''s id of the invitation email.';
comment on column public.slot_offer_invitations.confirmation_email_id is
  'Resend''s id of the booking confirmation (accepted invitations).';

create index invitations_open_by_expiry on public.slot_offer_invitations (expires_at)
  where status in ('pending', 'sent');
comment on index public.invitations_open_by_expiry is 'Open invitations by expiry: what waitlist_expire_due expires.';
create index invitations_by_sent_at on public.slot_offer_invitations (sent_at desc);
comment on index public.invitations_by_sent_at is 'Invitations by sending time: the monitors last-24-hours figures.';
create index invitations_by_waitlist on public.slot_offer_invitations (waitlist_id);
comment on index public.invitations_by_waitlist is 'Invitations of a waitlist entry (foreign key; entry deletion).';

create table public.waitlist_trigger_logs (
  id bigint generated always as identity primary key,
  slot_offer_id uuid references public.appointment_slot_offers (id) on delete set null,
  appointment_id uuid,
  invitation_id uuid,
  trigger_type text not null check (trigger_type in (
    'cancellation', 'restore', 'wave', 'invitation_email', 'response', 'booking_email',
    'offer_closed', 'monitor'
  )),
  status text not null check (status in ('success', 'error', 'skipped')),
  message text,
  error_message text,
  retry_count int not null default 0 check (retry_count >= 0),
  details jsonb not null default '{}',
  created_at timestamptz not null default now()
);
alter table public.waitlist_trigger_logs enable row level security;
comment on table public.waitlist_trigger_logs is
  'One row per step of the waitlist flow: cancellation (offer opened or skipped, and why), restore, wave, invitation_email, response, booking_email, offer_closed, monitor. status: success | error | skipped; retry_count: earlier attempts of the same step.';

-- =============================================================================================
-- Indexes
-- =============================================================================================

create index waitlist_trigger_logs_created on public.waitlist_trigger_logs (created_at desc);
comment on index public.waitlist_trigger_logs_created is 'Log rows newest first.';
create index waitlist_trigger_logs_offer on public.waitlist_trigger_logs (slot_offer_id);
comment on index public.waitlist_trigger_logs_offer is 'Log rows of an offer (foreign key; an offers trail).';
create index waitlist_trigger_logs_errors on public.waitlist_trigger_logs (created_at desc)
  where status = 'error';
comment on index public.waitlist_trigger_logs_errors is 'Error rows newest first: the monitors recent errors.';

-- The ranking query walks this index in order and stops at the wave size; the included columns
-- let it turn away entries of another practitioner or outside their dates without reading the
-- table.
create index waitlist_candidates on public.waitlist
  (appointment_type_id, priority desc, created_at, id)
  include (practitioner_id, patient_id, earliest_date, latest_date)
  where status = 'active' and consent_automated_notifications;
comment on index public.waitlist_candidates is 'The ranking of get_eligible_waitlist_candidates: walked in rank order, with the columns that turn entries away included.';
create index waitlist_by_patient on public.waitlist (patient_id);
comment on index public.waitlist_by_patient is 'Waitlist entries of a patient (foreign key; patient deletion).';
create index waitlist_availability_by_entry on public.waitlist_availability (waitlist_id);
comment on index public.waitlist_availability_by_entry is 'Availability windows of an entry.';

-- =============================================================================================
-- Policies
-- =============================================================================================

create policy "Clinic admins manage waitlist settings" on public.waitlist_settings
  for all to authenticated using (public.is_clinic_admin()) with check (public.is_clinic_admin());
create policy "Clinic admins manage the waitlist" on public.waitlist
  for all to authenticated using (public.is_clinic_admin()) with check (public.is_clinic_admin());
create policy "Clinic admins manage availability windows" on public.waitlist_availability
  for all to authenticated using (public.is_clinic_admin()) with check (public.is_clinic_admin());
create policy "Clinic admins read slot offers" on public.appointment_slot_offers
  for select to authenticated using (public.is_clinic_admin());
create policy "Clinic admins read invitations" on public.slot_offer_invitations
  for select to authenticated using (public.is_clinic_admin());
create policy "Clinic admins read waitlist logs" on public.waitlist_trigger_logs
  for select to authenticated using (public.is_clinic_admin());
comment on policy "Clinic admins manage waitlist settings" on public.waitlist_settings is
  'Clinic admins (is_clinic_admin()) read and change the settings.';
comment on policy "Clinic admins manage the waitlist" on public.waitlist is
  'Clinic admins read and change waitlist entries.';
comment on policy "Clinic admins manage availability windows" on public.waitlist_availability is
  'Clinic admins read and change availability windows.';
comment on policy "Clinic admins read slot offers" on public.appointment_slot_offers is
  'Clinic admins read offers; only the flow''s functions write them.';
comment on policy "Clinic admins read invitations" on public.slot_offer_invitations is
  'Clinic admins read invitations; only the flow''s functions write them.';
comment on policy "Clinic admins read waitlist logs" on public.waitlist_trigger_logs is
  'Clinic admins read the flow''s log.';

-- =============================================================================================
-- Table grants
-- =============================================================================================

revoke all on public.waitlist_settings, public.waitlist, public.waitlist_availability,
  public.appointment_slot_offers, public.slot_offer_invitations, public.waitlist_trigger_logs
  from anon, authenticated;
grant select, insert, update, delete on public.waitlist, public.waitlist_availability
  to authenticated, service_role;
grant select, update on public.waitlist_settings to authenticated, service_role;
grant select on public.appointment_slot_offers, public.slot_offer_invitations,
  public.waitlist_trigger_logs to authenticated;
grant select, insert, update, delete on public.appointment_slot_offers,
  public.slot_offer_invitations, public.waitlist_trigger_logs to service_role;

