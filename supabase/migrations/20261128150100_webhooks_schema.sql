-- Webhook delivery engine, part 1 of 3: the schema (who is an admin, the tables, indexes, row
-- level security, policies, table grants, the trigger that deletes an endpoint's Vault
-- secrets). Part 2 (webhooks_api) holds the engine's functions (publish, the two delivery
-- RPCs of the deliver-webhooks worker) and the admins' management RPCs; part 3 (webhooks_jobs)
-- the `webhooks` queue, the operators' views and the retention.
--
-- The engine is generic (a provider layer, like Svix or Hookdeck): any flow publishes an event
-- with webhooks_internal.publish; each enabled endpoint subscribed to its type gets one message
-- (the webhook-id, the same for every retry and replay), and each message one job on the
-- `webhooks` queue. The worker asks SQL what to send (webhook_deliveries_start: URL, secrets,
-- body, or skip / wait for the rate limit), signs and POSTs it (Standard Webhooks), and hands
-- back what happened (webhook_deliveries_record): SQL keeps every attempt and decides the
-- retry schedule, the failures and when an endpoint gets disabled.
--
-- Endpoint secrets (whsec_ + base64 of 32 random bytes) live in Vault: the endpoint row holds
-- their ids only; deleting an endpoint deletes them.

-- =============================================================================================
-- Prerequisites and the schema of internal helpers
-- =============================================================================================

-- gen_random_bytes() for secrets (hosted Supabase has it in the extensions schema).
create extension if not exists pgcrypto with schema extensions;

create schema if not exists webhooks_internal;
comment on schema webhooks_internal is
  'Helpers of the webhook delivery engine: who is an admin, publish, validation, secrets, the retry schedule. Not exposed by the API; authenticated may use it only to call is_admin() (RLS policies).';
revoke all on schema webhooks_internal from public;
alter default privileges in schema webhooks_internal revoke execute on functions from public;
-- Policies (here and in the workshop) call webhooks_internal.is_admin() as the signed-in user.
grant usage on schema webhooks_internal to authenticated;

-- =============================================================================================
-- Who is an admin
-- =============================================================================================

create function webhooks_internal.is_admin() returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin', false)
$$;
comment on function webhooks_internal.is_admin() is
  'True when the request''s JWT says app_metadata.role = admin (the workshop''s admins manage webhook endpoints and read the delivery tables). False without a JWT.';
revoke all on function webhooks_internal.is_admin() from public, anon, authenticated, service_role;
grant execute on function webhooks_internal.is_admin() to authenticated;

create function webhooks_internal.require_admin() returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not webhooks_internal.is_admin() then
    raise exception using errcode = '42501',
      message = 'Only admins manage webhook endpoints (app_metadata.role = ''admin'')';
  end if;
end
$$;
comment on function webhooks_internal.require_admin() is
  'Raises 42501 "Only admins manage webhook endpoints" unless webhooks_internal.is_admin(): the first statement of every management RPC.';
revoke all on function webhooks_internal.require_admin() from public, anon, authenticated, service_role;

-- The one spelling of an event type: lower-case words separated by dots (ticket.overdue).
create function webhooks_internal.is_event_type(p_event_type text) returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce(p_event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$', false)
$$;
comment on function webhooks_internal.is_event_type(text) is
  'True when p_event_type is lower-case words separated by dots (ticket.overdue); false for null. webhook_endpoints.event_types (through are_event_types), publish and the management RPCs all check with it.';
revoke all on function webhooks_internal.is_event_type(text) from public, anon, authenticated;

-- Whether every entry of a list is an event type (none null).
create function webhooks_internal.are_event_types(p_event_types text[]) returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce(bool_and(webhooks_internal.is_event_type(t)), true) from unnest(p_event_types) t
$$;
comment on function webhooks_internal.are_event_types(text[]) is
  'True when every entry of p_event_types is an event type (webhooks_internal.is_event_type), none null.';
revoke all on function webhooks_internal.are_event_types(text[]) from public, anon, authenticated;

-- =============================================================================================
-- Tables
-- =============================================================================================

create table public.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  url text not null check (url ~ '^https?://' and char_length(url) <= 2048),
  description text not null default '' check (char_length(description) <= 500),
  event_types text[] check (
    event_types is null or (
      array_ndims(event_types) = 1
      and cardinality(event_types) between 1 and 50
      and webhooks_internal.are_event_types(event_types)
    )
  ),
  rate_limit_per_second int check (rate_limit_per_second between 1 and 10000),
  enabled boolean not null default true,
  disabled_at timestamptz,
  disabled_reason text,
  secret_id uuid not null,
  previous_secret_id uuid,
  previous_secret_expires_at timestamptz,
  failing_since timestamptz,
  rate_tokens numeric,
  rate_refilled_at timestamptz,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint webhook_endpoints_disabled_iff check (
    (enabled and disabled_at is null and disabled_reason is null)
    or (not enabled and disabled_at is not null and disabled_reason is not null)
  ),
  constraint webhook_endpoints_previous_secret_pair check (
    (previous_secret_id is null) = (previous_secret_expires_at is null)
  )
);
alter table public.webhook_endpoints enable row level security;
comment on table public.webhook_endpoints is
  'Where webhooks go: one row per receiving URL, with the event types it subscribes to, its rate limit, whether it is enabled, and the Vault ids of its signing secrets. Admins read it (RLS); writes go through the webhook_endpoint_* RPCs and the delivery engine.';
comment on column public.webhook_endpoints.url is 'The URL messages are POSTed to (http or https, at most 2048 characters).';
comment on column public.webhook_endpoints.event_types is
  'The event types sent to this endpoint (e.g. {ticket.overdue}); null: every event type. 1 to 50 names like a.b_c.';
comment on column public.webhook_endpoints.rate_limit_per_second is
  'At most this many deliveries per second to this endpoint (a token bucket: rate_tokens, rate_refilled_at); null: unlimited.';
comment on column public.webhook_endpoints.enabled is
  'Disabled endpoints get no new messages and their pending ones fail (recoverable with webhook_endpoint_recover once enabled again).';
comment on column public.webhook_endpoints.disabled_at is 'When the endpoint was disabled; null while enabled.';
comment on column public.webhook_endpoints.disabled_reason is
  'Why: an admin''s reason, "Answered 410 Gone at <ts> to <message id>", or "Every attempt failed for 5 days (since <ts>); last: <status or error>". Null while enabled.';
comment on column public.webhook_endpoints.secret_id is
  'The Vault secret (vault.secrets id) holding the current signing secret, whsec_ + base64 of the key.';
comment on column public.webhook_endpoints.previous_secret_id is
  'After a rotation: the Vault secret of the former secret, which keeps signing alongside the current one until previous_secret_expires_at.';
comment on column public.webhook_endpoints.previous_secret_expires_at is
  'When the previous secret stops signing (24 hours after the rotation).';
comment on column public.webhook_endpoints.failing_since is
  'When the first failed attempt since the last successful one started; null when the last attempt succeeded. Five days of nothing but failures disables the endpoint.';
comment on column public.webhook_endpoints.rate_tokens is
  'Token bucket of the rate limit: tokens left at rate_refilled_at (refilled at rate_limit_per_second per second, at most rate_limit_per_second). Null: full.';
comment on column public.webhook_endpoints.rate_refilled_at is 'When rate_tokens was last computed.';
comment on column public.webhook_endpoints.created_by is 'The auth user (JWT sub) of the admin who created the endpoint.';

create table public.webhook_messages (
  id text primary key default ('msg_' || replace(gen_random_uuid()::text, '-', '')),
  event_id text not null check (char_length(event_id) between 1 and 200),
  endpoint_id uuid not null references public.webhook_endpoints (id) on delete cascade,
  event_type text not null,
  payload jsonb not null check (octet_length(payload::text) < 20480),
  subject text,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0 check (attempts >= 0),
  last_attempt_at timestamptz,
  last_response_status int,
  delivered_at timestamptz,
  failed_at timestamptz,
  failure_reason text,
  job_id bigint,
  created_at timestamptz not null default now(),
  constraint webhook_messages_once unique (event_id, endpoint_id)
);
alter table public.webhook_messages enable row level security;
comment on table public.webhook_messages is
  'One message per (event, endpoint): what one endpoint is sent about one event, with its delivery state. Its id is the webhook-id header, identical for every retry and replay (receivers deduplicate by it). Admins read it (RLS).';
comment on column public.webhook_messages.id is 'The webhook-id: msg_ + 32 random hex digits.';
comment on column public.webhook_messages.event_id is
  'The event''s id, shared by the messages of one event: an event is never sent twice to one endpoint (unique with endpoint_id).';
comment on column public.webhook_messages.payload is
  'The whole body sent, {type, timestamp, data}: payload::text is the body, byte for byte the same at every attempt. Under 20 KB.';
comment on column public.webhook_messages.subject is 'What the event is about, e.g. ticket:12.';
comment on column public.webhook_messages.status is
  'pending (being delivered, or retrying) → delivered | failed (after 8 attempts, endpoint gone or disabled, 410). A replay sets it back to pending.';
comment on column public.webhook_messages.attempts is 'HTTP attempts made so far, across replays.';
comment on column public.webhook_messages.last_response_status is 'The HTTP status of the last attempt; null when it got no answer (timeout, network error).';
comment on column public.webhook_messages.failure_reason is 'Why the message failed (set when status is failed).';
comment on column public.webhook_messages.job_id is
  'The job (jobs.jobs.id, queue webhooks) of the current delivery series; no foreign key (finished jobs are pruned).';

create table public.webhook_attempts (
  id bigint generated always as identity primary key,
  message_id text not null references public.webhook_messages (id) on delete cascade,
  endpoint_id uuid not null,
  attempt int not null check (attempt >= 1),
  job_id bigint,
  started_at timestamptz not null,
  duration_ms int check (duration_ms >= 0),
  response_status int,
  response_excerpt text check (char_length(response_excerpt) <= 1024),
  error text,
  outcome text not null
    check (outcome in ('delivered', 'retry', 'throttled', 'failed', 'endpoint_disabled')),
  next_attempt_at timestamptz,
  constraint webhook_attempts_once unique (message_id, attempt)
);
alter table public.webhook_attempts enable row level security;
comment on table public.webhook_attempts is
  'Every HTTP attempt of every message: when, how long, the answer (status, first KB of the body) or the error, and what SQL decided. Recorded by webhook_deliveries_record, once per (message, attempt). Admins read it (RLS).';
comment on column public.webhook_attempts.endpoint_id is 'The message''s endpoint (no foreign key: attempts go with their message).';
comment on column public.webhook_attempts.attempt is 'The message''s attempt number (1 for its first HTTP attempt, counted across replays).';
comment on column public.webhook_attempts.job_id is 'The job that made the attempt.';
comment on column public.webhook_attempts.started_at is 'When the request started (the webhook-timestamp sent).';
comment on column public.webhook_attempts.response_excerpt is 'The first 1024 characters of the response body.';
comment on column public.webhook_attempts.error is 'Why no answer came: timeout, connection refused...';
comment on column public.webhook_attempts.outcome is
  'delivered (2xx) | retry (a failure; another attempt at next_attempt_at) | throttled (429: retried, the job''s attempt is given back) | failed (the message failed) | endpoint_disabled (this attempt disabled the endpoint: 410, or 5 days of failures; the message failed).';
comment on column public.webhook_attempts.next_attempt_at is 'When the next attempt is due (retry, throttled).';

-- =============================================================================================
-- Indexes
-- =============================================================================================

create index webhook_messages_by_endpoint on public.webhook_messages (endpoint_id, created_at desc);
comment on index public.webhook_messages_by_endpoint is 'An endpoint''s messages, newest first (webhook_endpoint_messages).';
create index webhook_messages_by_endpoint_status
  on public.webhook_messages (endpoint_id, status, created_at);
comment on index public.webhook_messages_by_endpoint_status is
  'An endpoint''s messages by status and age: recover (failed since), the counts of the endpoint list, the views.';
create index webhook_messages_created on public.webhook_messages using brin (created_at);
comment on index public.webhook_messages_created is 'Messages by age (inserted in time order): the retention.';
create index webhook_attempts_by_endpoint on public.webhook_attempts (endpoint_id, started_at desc);
comment on index public.webhook_attempts_by_endpoint is 'An endpoint''s attempts, newest first: the health view.';

-- =============================================================================================
-- Policies
-- =============================================================================================

create policy "Admins read webhook endpoints" on public.webhook_endpoints
  for select to authenticated using ((select webhooks_internal.is_admin()));
create policy "Admins read webhook messages" on public.webhook_messages
  for select to authenticated using ((select webhooks_internal.is_admin()));
create policy "Admins read webhook attempts" on public.webhook_attempts
  for select to authenticated using ((select webhooks_internal.is_admin()));
comment on policy "Admins read webhook endpoints" on public.webhook_endpoints is
  'Admins (app_metadata.role = admin) read every endpoint (secret ids only: the secrets stay in Vault).';
comment on policy "Admins read webhook messages" on public.webhook_messages is 'Admins read every message.';
comment on policy "Admins read webhook attempts" on public.webhook_attempts is 'Admins read every attempt.';

-- =============================================================================================
-- Table grants
-- =============================================================================================

revoke all on public.webhook_endpoints, public.webhook_messages, public.webhook_attempts
  from anon, authenticated;
grant select on public.webhook_endpoints, public.webhook_messages, public.webhook_attempts
  to authenticated;
grant select, insert, update, delete on public.webhook_endpoints, public.webhook_messages,
  public.webhook_attempts to service_role;

-- =============================================================================================
-- Vault secrets go with their endpoint
-- =============================================================================================

create function webhooks_internal.delete_endpoint_secrets() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from vault.secrets s
  where s.id in (select o.secret_id from old_endpoints o
                 union all
                 select o.previous_secret_id from old_endpoints o where o.previous_secret_id is not null);
  return null;
end
$$;
comment on function webhooks_internal.delete_endpoint_secrets() is
  'Trigger on webhook_endpoints (after delete, per statement): deletes the deleted endpoints'' Vault secrets (current and previous).';
revoke all on function webhooks_internal.delete_endpoint_secrets() from public, anon, authenticated, service_role;

create trigger webhook_endpoints_delete_secrets
after delete on public.webhook_endpoints
referencing old table as old_endpoints
for each statement execute function webhooks_internal.delete_endpoint_secrets();
comment on trigger webhook_endpoints_delete_secrets on public.webhook_endpoints is
  'An endpoint deleted (by webhook_endpoint_delete or directly) takes its Vault secrets with it.';
