-- Waitlist, part 3 of 3: what runs by itself. The `waitlist` queue (drained by
-- process-cancellation), the triggers (settings check; appointment cancelled or restored) and
-- the pg_cron jobs (waitlist-expire every minute, monitor-waitlist-system every 15 minutes).

-- =============================================================================================
-- Queue
-- =============================================================================================

select jobs.create_queue(
  p_name => 'waitlist',
  p_function_name => 'process-cancellation',
  p_max_attempts => 8,
  p_lease_seconds => 60,
  p_batch_size => 100
);

-- =============================================================================================
-- Triggers
-- =============================================================================================

-- Refuses an unknown time zone in the settings: every local-time rule depends on it.
create function waitlist_internal.check_settings() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select from pg_catalog.pg_timezone_names z where z.name = new.clinic_time_zone) then
    raise exception using errcode = '22023',
      message = format('Unknown time zone "%s": use an IANA name such as Europe/Paris', new.clinic_time_zone);
  end if;
  new.updated_at := now();
  return new;
end
$$;
comment on function waitlist_internal.check_settings() is
  'Trigger: refuses an unknown clinic_time_zone and keeps updated_at.';
revoke all on function waitlist_internal.check_settings() from public, anon, authenticated;

create trigger check_settings
before insert or update on public.waitlist_settings
for each row execute function waitlist_internal.check_settings();
comment on trigger check_settings on public.waitlist_settings is
  'Refuses an unknown clinic_time_zone; keeps updated_at.';

-- A status change into 'cancelled' opens a slot offer (or logs why not); a change out of it
-- withdraws the open offer. Never blocks the admin's UPDATE: an unexpected error is logged as
-- an error row, and monitor-waitlist-system opens the offer later.
create function waitlist_internal.handle_appointment_cancellation() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_offer_id uuid;
begin
  if new.status = 'cancelled' and old.status is distinct from 'cancelled' then
    begin
      perform waitlist_internal.open_offer(new, now());
    exception when others then
      perform waitlist_internal.log(
        'cancellation', 'error', 'Opening the slot offer failed; monitor-waitlist-system will retry',
        p_appointment_id => new.id, p_error_message => sqlerrm,
        p_details => jsonb_build_object('sqlstate', sqlstate));
    end;
  elsif old.status = 'cancelled' and new.status <> 'cancelled' then
    for v_offer_id in
      select o.id from public.appointment_slot_offers o
      where o.appointment_id = new.id and o.status = 'open'
    loop
      perform waitlist_internal.close_offer(v_offer_id, 'withdrawn', 'the cancelled appointment was restored');
      perform waitlist_internal.log(
        'restore', 'success', 'Appointment restored before the slot was filled',
        p_slot_offer_id => v_offer_id, p_appointment_id => new.id);
    end loop;
  end if;
  return null;
end
$$;
comment on function waitlist_internal.handle_appointment_cancellation() is
  'Trigger on appointments.status: cancelled → opens a slot offer and enqueues its first wave (or logs why not); restored → withdraws the open offer.';
revoke all on function waitlist_internal.handle_appointment_cancellation() from public, anon, authenticated;

create trigger handle_appointment_cancellation
after update of status on public.appointments
for each row
when (old.status is distinct from new.status)
execute function waitlist_internal.handle_appointment_cancellation();
comment on trigger handle_appointment_cancellation on public.appointments is
  'A cancellation opens a slot offer; a restore withdraws it.';

-- =============================================================================================
-- Cron jobs
-- =============================================================================================

-- The pg_cron job monitor-waitlist-system calls the function of that name through pg_net.
create function waitlist_internal.request_monitor() returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
begin
  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = 'cron_secret')
    into v_url, v_secret
  from vault.decrypted_secrets s
  where s.name in ('project_url', 'cron_secret');
  if coalesce(v_url, '') = '' or coalesce(v_secret, '') = '' then
    raise warning 'monitor-waitlist-system not called: Vault secrets project_url and cron_secret are needed';
    return null;
  end if;
  return net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/monitor-waitlist-system',
    body := jsonb_build_object('reason', 'cron'),
    headers := jsonb_build_object('Content-Type', 'application/json',
                                  'Authorization', 'Bearer ' || v_secret));
end
$$;
comment on function waitlist_internal.request_monitor() is
  'Queues a pg_net POST to <project_url>/functions/v1/monitor-waitlist-system with the cron secret (both from Vault).';
revoke all on function waitlist_internal.request_monitor() from public, anon, authenticated;

select cron.schedule('waitlist-expire', '* * * * *', 'select public.waitlist_expire_due()');
select cron.schedule('monitor-waitlist-system', '*/15 * * * *',
                     'select waitlist_internal.request_monitor()');
