-- The maintenance workshop, part 3 of 3: what runs by itself. The pg_cron job check-overdue
-- (the seed's external cron service, every 5 minutes) calls the edge function check-overdue
-- through pg_net with the cron secret, which calls workshop_check_overdue; its schedule is
-- workshop_settings.check_schedule, and changing that column reschedules the job.

-- =============================================================================================
-- Helper functions
-- =============================================================================================

/*
 * What the cron job runs: a call of the function check-overdue, only when a ticket is due and
 * an endpoint listens (otherwise the run would record nothing: no HTTP call for nothing).
 */
create function workshop_internal.request_check(p_now timestamptz default now()) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
begin
  if workshop_internal.subscriber_count() = 0
     or not exists (select from workshop_internal.due_tickets(p_now, 1)) then
    return null;
  end if;
  return jobs.call_function('check-overdue', '{}', 'Cron job "check-overdue" did not call its function');
end
$$;
comment on function workshop_internal.request_check(timestamptz) is
  'Run by the pg_cron job check-overdue: when a ticket is overdue (workshop_internal.due_tickets) and an enabled endpoint subscribes to ticket.overdue, queues a pg_net POST {} to <project_url>/functions/v1/check-overdue with the cron secret (jobs.call_function). Returns the request id, or null.';
revoke all on function workshop_internal.request_check(timestamptz) from public, anon, authenticated, service_role;

/* Schedules (or reschedules) the cron job check-overdue. */
create function workshop_internal.schedule_check(p_schedule text) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
begin
  return cron.schedule('check-overdue', p_schedule, 'select workshop_internal.request_check()');
exception when others then
  raise exception using errcode = '22023',
    message = format('Invalid workshop_settings.check_schedule "%s" for the cron job check-overdue: %s', p_schedule, sqlerrm);
end
$$;
comment on function workshop_internal.schedule_check(text) is
  'Schedules the pg_cron job check-overdue on p_schedule (replacing its schedule when it exists); raises 22023 naming the schedule when pg_cron refuses it.';
revoke all on function workshop_internal.schedule_check(text) from public, anon, authenticated, service_role;

-- =============================================================================================
-- Triggers
-- =============================================================================================

/* A new check_schedule reschedules the cron job, in the same transaction. */
create function workshop_internal.settings_changed() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  new.updated_at := now();
  if tg_op = 'INSERT' or new.check_schedule is distinct from old.check_schedule then
    perform workshop_internal.schedule_check(new.check_schedule);
  end if;
  return new;
end
$$;
comment on function workshop_internal.settings_changed() is
  'Trigger on workshop_settings: sets updated_at, and reschedules the cron job check-overdue when check_schedule is new (an invalid schedule refuses the change, 22023).';
revoke all on function workshop_internal.settings_changed() from public, anon, authenticated, service_role;

create trigger workshop_settings_changed
before insert or update on public.workshop_settings
for each row execute function workshop_internal.settings_changed();
comment on trigger workshop_settings_changed on public.workshop_settings is
  'Keeps updated_at and the schedule of the cron job check-overdue.';

-- =============================================================================================
-- Cron jobs
-- =============================================================================================

select workshop_internal.schedule_check((workshop_internal.settings()).check_schedule);
