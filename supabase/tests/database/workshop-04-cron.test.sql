-- The pg_cron job check-overdue: it exists on workshop_settings.check_schedule, follows a new
-- schedule (the same job, rescheduled in the same transaction), refuses an invalid one with a
-- clear error, and calls the edge function check-overdue (jobs.call_function, with the cron
-- secret) only when a ticket is overdue and an endpoint listens.
begin;
select plan(11);

delete from vault.secrets where name in ('project_url', 'cron_secret');
select vault.create_secret('http://api.test', 'project_url');
select vault.create_secret('test-cron-secret', 'cron_secret');
delete from net.http_request_queue where url like 'http://api.test/%';
delete from public.webhook_notifications;
delete from public.tickets;
delete from public.webhook_endpoints;
update public.workshop_settings set check_schedule = '*/5 * * * *', overdue_statuses = '{received,diagnostic}';

select jobid as job from cron.job where jobname = 'check-overdue' \gset
select results_eq(
  $$select schedule, command, username from cron.job where jobname = 'check-overdue'$$,
  $$values ('*/5 * * * *', 'select workshop_internal.request_check()', 'postgres')$$,
  'the cron job check-overdue runs every 5 minutes (the default check_schedule)'
);

-- ---------------------------------------------------------------------------------------------
-- The schedule follows the setting.
-- ---------------------------------------------------------------------------------------------
update public.workshop_settings set check_schedule = '*/2 * * * *';
select results_eq(
  $$select jobid, schedule from cron.job where jobname = 'check-overdue'$$,
  format($$values (%s::bigint, '*/2 * * * *')$$, :job),
  'a new check_schedule reschedules the same job'
);
update public.workshop_settings set repeat_interval = '12 hours';
select is((select schedule from cron.job where jobname = 'check-overdue'), '*/2 * * * *',
  'changing another setting leaves the job alone');
select throws_ok(
  $$update public.workshop_settings set check_schedule = 'now and then'$$,
  '22023', null,
  'an invalid schedule is refused'
);
select is((select schedule from cron.job where jobname = 'check-overdue'), '*/2 * * * *',
  '... and the job keeps its schedule');
select is((select count(*)::int from cron.job where jobname = 'check-overdue'), 1, 'there is one job check-overdue');

-- The error names the schedule and the job.
create function pg_temp.w4_error() returns text
language plpgsql as $$
begin
  update public.workshop_settings set check_schedule = 'now and then';
  return null;
exception when invalid_parameter_value then
  return sqlerrm;
end
$$;
select ok(pg_temp.w4_error() like 'Invalid workshop_settings.check_schedule "now and then" for the cron job check-overdue: %',
  'the error says which setting, which value and which job');

-- ---------------------------------------------------------------------------------------------
-- What the job runs: a call of check-overdue, only when there is something to announce.
-- ---------------------------------------------------------------------------------------------
insert into public.workshop_users (full_name, email) values ('Tom W4', 'tom.w4@w4.example.test');
insert into public.machines (name, machine_type, serial_number) values ('Four W4', 'Four', 'W4-001');
insert into public.tickets (title, machine_id, assigned_to, scheduled_date)
select 'W4 future', m.id, u.id, now() + interval '1 day'
from public.machines m, public.workshop_users u where m.serial_number = 'W4-001' and u.email = 'tom.w4@w4.example.test';
select set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"role": "admin"}}', true);
select public.webhook_endpoint_create('https://hooks.example.test/w4', 'W4', array['ticket.overdue']);
select set_config('request.jwt.claims', '', true);

select is(workshop_internal.request_check(), null, 'nothing overdue: the job calls nothing');
update public.tickets set scheduled_date = now() - interval '1 hour' where title = 'W4 future';
update public.webhook_endpoints set enabled = false, disabled_at = now(), disabled_reason = 'W4'
where url = 'https://hooks.example.test/w4';
select is(workshop_internal.request_check(), null, 'a ticket overdue but no endpoint listening: nothing either');
update public.webhook_endpoints set enabled = true, disabled_at = null, disabled_reason = null
where url = 'https://hooks.example.test/w4';
select isnt(workshop_internal.request_check(), null, 'a ticket overdue and an endpoint listening: a call');
select results_eq(
  $$select url, convert_from(body, 'UTF8')::jsonb, headers ->> 'Authorization' from net.http_request_queue
    where url like 'http://api.test/%'$$,
  $$values ('http://api.test/functions/v1/check-overdue', '{}'::jsonb, 'Bearer test-cron-secret')$$,
  '... a POST to the function check-overdue with the cron secret'
);

select * from finish();
rollback;
