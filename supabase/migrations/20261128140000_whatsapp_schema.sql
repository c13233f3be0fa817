-- WhatsApp provisioning, part 1 of 4: the schema (tables, indexes, row level security, policies,
-- table grants). Part 2 (whatsapp_api) holds the callable functions and the helpers in
-- whatsapp_internal; part 3 (whatsapp_jobs) the `evolution` queue, the triggers, the cron jobs
-- and Realtime; part 4 (whatsapp_journal) the journal of outgoing WhatsApp messages.
--
-- Every new user gets an Evolution API instance, its webhooks and a live QR code:
--
--   1. A profile is inserted (sign-up: the trigger on auth.users inserts it). In the same
--      transaction on_profile_created_create_evolution_instance records the request in
--      evolution_instance_creation_queue, generates the instance's credentials
--      (whatsapp_internal.instance_credentials) and enqueues a create_instance job on the
--      `evolution` queue, drained by the function process-evolution-queue.
--   2. The worker reads what to create (public.whatsapp_creation_start), creates the instance
--      with Evolution (its token and the webhook secret come from SQL, so a retry after a lost
--      answer presents the same token and recognises its own instance) and stores it
--      (public.whatsapp_creation_complete). The queue row follows its job: it is the operators'
--      view of the job, not a second queue.
--   3. evolution-webhook hands Evolution's events to public.whatsapp_webhook_receive (secret
--      compared in constant time, duplicates recognised by the body's hash): QR codes, connection
--      states, inbound messages, logout, removal.
--   4. refresh-qr-codes fetches a code for instances still connecting whose code is old
--      (public.whatsapp_qr_due, public.whatsapp_qr_store).
--   5. The app reads its own state through public.whatsapp_my_instance() (never the token).
--
-- Names operators already use (profiles, evolution_instance_creation_queue, evolution_instances,
-- the trigger, the cron jobs) are kept, so the queries of their runbooks run unchanged.

-- =============================================================================================
-- Prerequisites and the schema of internal helpers (not exposed by the API)
-- =============================================================================================

-- gen_random_bytes() for tokens and secrets (hosted Supabase has it in the extensions schema).
create extension if not exists pgcrypto with schema extensions;

create schema if not exists whatsapp_internal;
comment on schema whatsapp_internal is
  'Helpers and secrets of the WhatsApp provisioning flow: instance credentials, settings access, event handling, the job mirror. Not exposed by the API.';
revoke all on schema whatsapp_internal from public;
alter default privileges in schema whatsapp_internal revoke execute on functions from public;

-- =============================================================================================
-- Tables
-- =============================================================================================

create table public.whatsapp_settings (
  id boolean primary key default true check (id),
  qr_refresh_after interval not null default '45 seconds'
    check (qr_refresh_after >= interval '1 second'),
  qr_refresh_batch int not null default 50 check (qr_refresh_batch between 1 and 1000),
  webhook_events text[] not null default array[
    'QRCODE_UPDATED', 'CONNECTION_UPDATE', 'MESSAGES_UPSERT', 'SEND_MESSAGE', 'LOGOUT_INSTANCE',
    'REMOVE_INSTANCE'
  ] check (cardinality(webhook_events) >= 1),
  queue_retention interval not null default '30 days' check (queue_retention >= interval '0'),
  event_retention interval not null default '7 days' check (event_retention >= interval '0'),
  updated_at timestamptz not null default now()
);
alter table public.whatsapp_settings enable row level security;
comment on table public.whatsapp_settings is
  'The WhatsApp flow''s tunables, one row: edit it in the dashboard.';
comment on column public.whatsapp_settings.qr_refresh_after is
  'An instance still connecting whose QR code is older than this gets a new one from refresh-qr-codes (Evolution rotates codes every 45 seconds).';
comment on column public.whatsapp_settings.qr_refresh_batch is
  'At most this many instances per refresh-qr-codes run.';
comment on column public.whatsapp_settings.webhook_events is
  'The events every instance''s webhook subscribes to (Evolution''s upper-case names).';
comment on column public.whatsapp_settings.queue_retention is
  'Completed queue entries older than this (processed_at) are deleted by cleanup-evolution-queue.';
comment on column public.whatsapp_settings.event_retention is
  'Webhook events older than this (received_at) are deleted by cleanup-evolution-queue.';

insert into public.whatsapp_settings default values;

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  full_name text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
comment on table public.profiles is
  'The app''s users: one row per auth.users row (inserted at sign-up by on_auth_user_created). Inserting a profile provisions the user''s WhatsApp instance.';
comment on column public.profiles.full_name is 'From the sign-up''s user metadata (full_name).';

create table public.evolution_instance_creation_queue (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references auth.users (id) on delete cascade,
  request_id uuid not null,
  status text not null default 'pending'
    check (status in ('pending', 'processing', 'completed', 'failed')),
  error_message text,
  retry_count integer not null default 0 check (retry_count >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  processed_at timestamptz,
  job_id bigint
);
alter table public.evolution_instance_creation_queue enable row level security;
comment on table public.evolution_instance_creation_queue is
  'One instance-creation request per user: the operators'' view of its job on the `evolution` queue (job_id), kept in step with it: pending (waiting, or retrying after a failure) → processing (a worker holds it) → completed | failed (dead, or cancelled). Setting status to pending runs the entry again (a fresh job).';
comment on column public.evolution_instance_creation_queue.request_id is
  'A new id per request (each profile insert, each new request).';
comment on column public.evolution_instance_creation_queue.retry_count is
  'Failed attempts of the current job (its attempts when retrying); a profile inserted again adds one.';
comment on column public.evolution_instance_creation_queue.processed_at is 'When the request completed or failed for good.';
comment on column public.evolution_instance_creation_queue.job_id is
  'The job core''s job (jobs.jobs.id) this entry mirrors; no foreign key (finished jobs are pruned).';

create table public.evolution_instances (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references auth.users (id) on delete cascade,
  instance_name text not null unique,
  instance_id text,
  webhook_url text,
  webhook_events text[],
  webhook_configured_at timestamptz,
  status text not null default 'created' check (status in ('created', 'logged_out', 'deleted')),
  instance_status text not null default 'connecting'
    check (instance_status in ('connecting', 'open', 'close', 'refused')),
  status_reason int,
  instance_token text,
  qr_code text,
  qr_code_text text,
  pairing_code text,
  qr_count int not null default 0 check (qr_count >= 0),
  last_qr_update timestamptz,
  phone_number text,
  profile_name text,
  connected_at timestamptz,
  last_event_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.evolution_instances enable row level security;
comment on table public.evolution_instances is
  'The users'' Evolution API instances (one per user). status: created | logged_out | deleted (the instance itself); instance_status: connecting | open | close | refused (its WhatsApp connection; refused = the QR limit was reached, visible until the user asks for a new code).';
comment on column public.evolution_instances.instance_id is 'Evolution''s id of the instance.';
comment on column public.evolution_instances.status_reason is
  'Evolution''s statusReason of the last connection update (428: QR limit reached).';
comment on column public.evolution_instances.instance_token is
  'The instance''s Evolution token: readable by the service role only (authenticated has every other column).';
comment on column public.evolution_instances.qr_code is 'The current QR code, a data URL (base64 PNG).';
comment on column public.evolution_instances.qr_code_text is 'The current QR code''s text.';
comment on column public.evolution_instances.qr_count is 'QR codes issued in the current connection attempt.';
comment on column public.evolution_instances.phone_number is 'Digits of the connected WhatsApp number.';
comment on column public.evolution_instances.last_event_at is
  'When Evolution sent the last QR or connection event applied (its date_time): an older one arriving later (events are posted concurrently and retried) is stored but not applied.';

create table public.evolution_webhook_events (
  id bigint generated always as identity primary key,
  instance_name text not null,
  event text not null,
  payload jsonb not null,
  payload_hash bytea not null unique check (length(payload_hash) = 32),
  received_at timestamptz not null default now(),
  handled_at timestamptz,
  outcome text,
  error text
);
alter table public.evolution_webhook_events enable row level security;
comment on table public.evolution_webhook_events is
  'Authenticated webhook calls from Evolution, as received (a duplicate body is stored once), with what handling them did. Service role only; deleted after whatsapp_settings.event_retention.';
comment on column public.evolution_webhook_events.event is
  'The event name, lower case with dots (qrcode.updated, connection.update, messages.upsert, send.message...).';
comment on column public.evolution_webhook_events.payload_hash is 'SHA-256 of the raw body: a retried delivery is a duplicate.';
comment on column public.evolution_webhook_events.outcome is
  'What handling did: handled | ignored, with details (e.g. "handled: open").';

create table public.whatsapp_inbound_messages (
  id bigint generated always as identity primary key,
  instance_name text not null,
  user_id uuid references auth.users (id) on delete cascade,
  message_id text not null,
  remote_jid text,
  from_number text,
  push_name text,
  message_type text,
  text text,
  sent_at timestamptz,
  received_at timestamptz not null default now(),
  constraint whatsapp_inbound_messages_once unique (instance_name, message_id)
);
alter table public.whatsapp_inbound_messages enable row level security;
comment on table public.whatsapp_inbound_messages is
  'Messages customers sent to a user''s WhatsApp (messages.upsert not from the instance itself), once per message id: what flows that wait for replies read.';
comment on column public.whatsapp_inbound_messages.from_number is 'Digits of the sender''s number.';

create table whatsapp_internal.instance_credentials (
  user_id uuid primary key references auth.users (id) on delete cascade,
  instance_name text not null unique,
  instance_token text not null check (instance_token <> ''),
  webhook_secret text not null check (webhook_secret <> ''),
  created_at timestamptz not null default now()
);
alter table whatsapp_internal.instance_credentials enable row level security;
comment on table whatsapp_internal.instance_credentials is
  'Each user''s instance name, Evolution token and webhook secret, generated by SQL when the request is recorded: kept across retries (a retry presents the same token, which is how our own instance is recognised), renewed when the user asks for a new instance after a delete.';

-- =============================================================================================
-- Indexes
-- =============================================================================================

create index idx_evolution_queue_status
  on public.evolution_instance_creation_queue (status, created_at);
comment on index public.idx_evolution_queue_status is 'Entries by status and age: the operators'' queries.';
create index evolution_queue_by_job on public.evolution_instance_creation_queue (job_id)
  where job_id is not null;
comment on index public.evolution_queue_by_job is 'The entry of a job: the mirror of job states.';
create index evolution_instances_qr_due on public.evolution_instances (last_qr_update nulls first)
  where status = 'created' and instance_status = 'connecting';
comment on index public.evolution_instances_qr_due is
  'Instances still connecting, oldest code first: what whatsapp_qr_due reads.';
create index evolution_webhook_events_by_instance
  on public.evolution_webhook_events (instance_name, event, received_at);
comment on index public.evolution_webhook_events_by_instance is
  'Events of an instance by kind and time: the send journal looks for send.message events.';
create index evolution_webhook_events_received on public.evolution_webhook_events (received_at);
comment on index public.evolution_webhook_events_received is 'Serves the retention (cleanup-evolution-queue).';
create index whatsapp_inbound_messages_by_user on public.whatsapp_inbound_messages (user_id, received_at);
comment on index public.whatsapp_inbound_messages_by_user is 'A user''s inbound messages by time (RLS, flows).';

-- =============================================================================================
-- Policies
-- =============================================================================================

create policy "Users see their own profile" on public.profiles
  for select to authenticated using ((select auth.uid()) = id);
create policy "Users update their own profile" on public.profiles
  for update to authenticated using ((select auth.uid()) = id) with check ((select auth.uid()) = id);
create policy "Users can view their own queue status" on public.evolution_instance_creation_queue
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users see their own instance" on public.evolution_instances
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users see their own inbound messages" on public.whatsapp_inbound_messages
  for select to authenticated using ((select auth.uid()) = user_id);
comment on policy "Users see their own profile" on public.profiles is 'A user reads their own profile.';
comment on policy "Users update their own profile" on public.profiles is 'A user changes their own profile.';
comment on policy "Users can view their own queue status" on public.evolution_instance_creation_queue is
  'A user reads their own creation request (the seeds'' policy).';
comment on policy "Users see their own instance" on public.evolution_instances is
  'A user reads their own instance (every column but instance_token: column privileges).';
comment on policy "Users see their own inbound messages" on public.whatsapp_inbound_messages is
  'A user reads the messages sent to their own instance.';

-- =============================================================================================
-- Table grants
-- =============================================================================================

revoke all on public.whatsapp_settings, public.profiles, public.evolution_instance_creation_queue,
  public.evolution_instances, public.evolution_webhook_events, public.whatsapp_inbound_messages
  from anon, authenticated;
grant select on public.profiles, public.evolution_instance_creation_queue,
  public.whatsapp_inbound_messages to authenticated;
grant update (full_name) on public.profiles to authenticated;
-- Every column but instance_token.
grant select (id, user_id, instance_name, instance_id, webhook_url, webhook_events,
  webhook_configured_at, status, instance_status, status_reason, qr_code, qr_code_text,
  pairing_code, qr_count, last_qr_update, phone_number, profile_name, connected_at, last_event_at,
  created_at, updated_at) on public.evolution_instances to authenticated;
grant select, insert, update, delete on public.whatsapp_settings, public.profiles,
  public.evolution_instance_creation_queue, public.evolution_instances,
  public.evolution_webhook_events, public.whatsapp_inbound_messages to service_role;

revoke all on whatsapp_internal.instance_credentials from public, anon, authenticated, service_role;
