-- WhatsApp provisioning, part 3 of 4: what runs by itself. The `evolution` queue (drained by
-- process-evolution-queue), the triggers (sign-up → profile → request and job; the queue entry
-- kept in step with its job; an operator's reset runs the entry again), the pg_cron jobs
-- (process-evolution-queue, refresh-qr-codes, cleanup-evolution-queue) and Realtime for
-- evolution_instances.

-- =============================================================================================
-- Queue
-- =============================================================================================

-- No drain job of the job core's own: the cron job process-evolution-queue (the name operators
-- know) is the safety net.
select jobs.create_queue(
  p_name => 'evolution',
  p_function_name => 'process-evolution-queue',
  p_max_attempts => 10,
  p_lease_seconds => 60,
  p_backoff_base_seconds => 5,
  p_backoff_cap_seconds => 600,
  p_batch_size => 20,
  p_drain_schedule => null
);

-- =============================================================================================
-- Triggers
-- =============================================================================================

-- Sign-up: the new auth user gets a profile (which provisions the instance).
create function public.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, full_name, created_at, updated_at)
  values (new.id, nullif(new.raw_user_meta_data ->> 'full_name', ''), now(), now())
  on conflict (id) do nothing;
  return null;
end
$$;
comment on function public.handle_new_user() is
  'Trigger on auth.users (on_auth_user_created): inserts the user''s profile, full_name from raw_user_meta_data.';
revoke all on function public.handle_new_user() from public, anon, authenticated, service_role;

create trigger on_auth_user_created
after insert on auth.users
for each row execute function public.handle_new_user();
comment on trigger on_auth_user_created on auth.users is 'A sign-up inserts the user''s profile.';

-- A new profile records the creation request and enqueues its job, in the same transaction.
create function public.handle_profile_evolution_instance() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_previous text := whatsapp_internal.begin_sync();
  v_entry public.evolution_instance_creation_queue;
  v_job bigint;
begin
  insert into public.evolution_instance_creation_queue as q
    (user_id, request_id, status, created_at, updated_at)
  values (new.id, gen_random_uuid(), 'pending', now(), now())
  on conflict (user_id) do update
    set request_id = excluded.request_id, status = 'pending', updated_at = now(),
        retry_count = q.retry_count + 1, error_message = null, processed_at = null
  returning q.* into v_entry;
  perform whatsapp_internal.ensure_credentials(new.id);
  v_job := whatsapp_internal.enqueue_creation(new.id, v_entry.request_id, now());
  update public.evolution_instance_creation_queue q set job_id = v_job where q.id = v_entry.id;
  perform whatsapp_internal.end_sync(v_previous);
  return null;
end
$$;
comment on function public.handle_profile_evolution_instance() is
  'Trigger on profiles (on_profile_created_create_evolution_instance): records the request in evolution_instance_creation_queue (pending, new request_id; a profile inserted again adds one to retry_count), creates the user''s credentials when missing and enqueues the create_instance job (an unfinished one is kept), whose id the entry stores.';
revoke all on function public.handle_profile_evolution_instance() from public, anon, authenticated, service_role;

create trigger on_profile_created_create_evolution_instance
after insert on public.profiles
for each row execute function public.handle_profile_evolution_instance();
comment on trigger on_profile_created_create_evolution_instance on public.profiles is
  'A new profile records its instance-creation request and enqueues the job.';

-- The queue entry follows its job: the operators' view of the job core.
create function whatsapp_internal.mirror_job() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_previous text;
begin
  if whatsapp_internal.syncing() then
    return null; -- the flow itself is replacing this job (whatsapp_internal.fresh_job)
  end if;
  v_previous := whatsapp_internal.begin_sync();
  update public.evolution_instance_creation_queue q
  set status = case new.state
                 when 'running' then 'processing'
                 when 'waiting' then 'pending'
                 when 'retrying' then 'pending'
                 when 'succeeded' then 'completed'
                 else 'failed'
               end,
      retry_count = case when new.state in ('retrying', 'dead') then new.attempts else q.retry_count end,
      error_message = case when new.state in ('retrying', 'dead', 'cancelled') then new.last_error
                           when new.state = 'succeeded' then null
                           else q.error_message end,
      processed_at = case when new.state in ('succeeded', 'dead', 'cancelled')
                          then coalesce(new.finished_at, new.updated_at) end,
      updated_at = new.updated_at
  where q.job_id = new.id;
  perform whatsapp_internal.end_sync(v_previous);
  return null;
end
$$;
comment on function whatsapp_internal.mirror_job() is
  'Trigger on jobs.jobs (evolution queue, state changes): keeps the entry whose job_id is the job in step: running → processing, waiting and retrying → pending (retry_count = attempts, error_message = last error), succeeded → completed, dead → failed (error_message = last error), cancelled → failed unless the flow superseded the job.';
revoke all on function whatsapp_internal.mirror_job() from public, anon, authenticated;

create trigger whatsapp_mirror_evolution_job
after update of state on jobs.jobs
for each row
when (new.queue = 'evolution' and old.state is distinct from new.state)
execute function whatsapp_internal.mirror_job();
comment on trigger whatsapp_mirror_evolution_job on jobs.jobs is
  'Keeps evolution_instance_creation_queue in step with the evolution queue''s jobs.';

-- An operator sets an entry back to pending (the runbooks' repairs): it runs again, as a fresh
-- job; the unfinished one, if any, is cancelled as superseded.
create function whatsapp_internal.rerun_on_pending() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if whatsapp_internal.syncing() then
    return new;
  end if;
  new.job_id := whatsapp_internal.fresh_job(new.user_id, new.request_id, now());
  new.processed_at := null;
  return new;
end
$$;
comment on function whatsapp_internal.rerun_on_pending() is
  'Trigger on evolution_instance_creation_queue: an UPDATE setting status to pending (not made by the flow itself) cancels the entry''s unfinished job and enqueues a fresh one, whose id the entry stores.';
revoke all on function whatsapp_internal.rerun_on_pending() from public, anon, authenticated;

create trigger rerun_on_pending
before update of status on public.evolution_instance_creation_queue
for each row
when (new.status = 'pending')
execute function whatsapp_internal.rerun_on_pending();
comment on trigger rerun_on_pending on public.evolution_instance_creation_queue is
  'Setting an entry to pending runs it again (a fresh job).';

-- =============================================================================================
-- Cron jobs
-- =============================================================================================

-- The pg_cron job refresh-qr-codes calls the function of that name through pg_net, only when an
-- instance is due.
create function whatsapp_internal.request_qr_refresh(p_now timestamptz default now()) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
begin
  if not exists (select from public.whatsapp_qr_due(1, p_now)) then
    return null;
  end if;
  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = 'cron_secret')
    into v_url, v_secret
  from vault.decrypted_secrets s
  where s.name in ('project_url', 'cron_secret');
  if coalesce(v_url, '') = '' or coalesce(v_secret, '') = '' then
    raise warning 'refresh-qr-codes not called: Vault secrets project_url and cron_secret are needed';
    return null;
  end if;
  return net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/refresh-qr-codes',
    body := jsonb_build_object('reason', 'cron'),
    headers := jsonb_build_object('Content-Type', 'application/json',
                                  'Authorization', 'Bearer ' || v_secret));
end
$$;
comment on function whatsapp_internal.request_qr_refresh(timestamptz) is
  'When an instance''s QR code is due (public.whatsapp_qr_due), queues a pg_net POST to <project_url>/functions/v1/refresh-qr-codes with the cron secret (both from Vault). Returns the request id, or null.';
revoke all on function whatsapp_internal.request_qr_refresh(timestamptz) from public, anon, authenticated;

-- Retention: completed entries and old webhook events.
create function whatsapp_internal.cleanup(p_now timestamptz default now())
returns table (entries_deleted bigint, events_deleted bigint)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.whatsapp_settings := whatsapp_internal.settings();
  v_entries bigint;
  v_events bigint;
begin
  delete from public.evolution_instance_creation_queue q
  where q.status = 'completed' and q.processed_at < p_now - v_settings.queue_retention;
  get diagnostics v_entries = row_count;
  delete from public.evolution_webhook_events e
  where e.received_at < p_now - v_settings.event_retention;
  get diagnostics v_events = row_count;
  return query select v_entries, v_events;
end
$$;
comment on function whatsapp_internal.cleanup(timestamptz) is
  'Deletes completed queue entries processed more than whatsapp_settings.queue_retention ago and webhook events received more than event_retention ago. Run daily at 02:00 by the pg_cron job cleanup-evolution-queue.';
revoke all on function whatsapp_internal.cleanup(timestamptz) from public, anon, authenticated;

select cron.schedule('process-evolution-queue', '* * * * *', $$select jobs.drain('evolution')$$);
select cron.schedule('refresh-qr-codes', '* * * * *', $$select whatsapp_internal.request_qr_refresh()$$);
select cron.schedule('cleanup-evolution-queue', '0 2 * * *', $$select whatsapp_internal.cleanup()$$);

-- =============================================================================================
-- Realtime
-- =============================================================================================

-- The app subscribes to its own instance row (RLS and column privileges apply: never the token).
do $$
begin
  if exists (select from pg_publication p where p.pubname = 'supabase_realtime' and not p.puballtables)
     and not exists (select from pg_publication_tables t
                     where t.pubname = 'supabase_realtime' and t.schemaname = 'public'
                       and t.tablename = 'evolution_instances') then
    alter publication supabase_realtime add table public.evolution_instances;
  end if;
end
$$;
