-- The queries operators already run, from the two seed documents, work unchanged (unqualified
-- names, as in the dashboard's SQL editor) and return the rows they are run for: recent queue
-- entries and instances, statistics by status, pending and failed entries, the 7-day success
-- rate, instances with their webhooks, the trigger and cron checks, the cron history and the
-- instances still connecting. Each query text below is run as written, inside `create temp table
-- ... as` (the one-off setup statements of the seeds, which create tables and cron jobs, are not
-- queries; `SELECT * FROM logs ...` is left out: this project has no table `logs`, edge function
-- logs are in the dashboard). Their two repair statements run the entry again (a fresh job).
begin;
select plan(37);

/* A signed-up user whose request was claimed by a worker and reported (p_outcome; null: still running). */
create function pg_temp.user_in(p_name text, p_outcome jsonb) returns uuid
language plpgsql as $$
declare
  v_user uuid := tests.sign_up(p_name);
begin
  if p_outcome is not null then
    perform tests.evolution_claim(v_user, 'w6');
    if p_outcome ->> 'ok' = 'true' then
      perform tests.whatsapp_created(v_user);
    end if;
    perform tests.evolution_report(v_user, p_outcome, 'w6');
  end if;
  return v_user;
end
$$;

-- Completed (an instance, connecting), completed and connected, failed for good, pending,
-- processing for 15 minutes (a stuck worker in the seeds' words), processing now.
select pg_temp.user_in('Done W6', '{"ok": true}') as done \gset
select pg_temp.user_in('Open W6', '{"ok": true}') as open \gset
select tests.whatsapp_webhook(:'open', 'connection.update', '{"state": "open", "wuid": "33611111111@s.whatsapp.net"}');
select pg_temp.user_in('Failed W6', '{"ok": false, "error": "Evolution answered 401: invalid apikey", "permanent": true}') as failed \gset
select pg_temp.user_in('Pending W6', null) as pending \gset
select tests.sign_up('Stuck W6') as stuck \gset
select tests.evolution_claim(:'stuck', 'w6-gone');
update evolution_instance_creation_queue set updated_at = now() - interval '15 minutes' where user_id = :'stuck';
select tests.sign_up('Busy W6') as busy \gset
select tests.evolution_claim(:'busy', 'w6-busy');
-- One run of the cron job, as pg_cron records it.
insert into cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
select jobid, 4242, 'postgres', 'postgres', command, 'succeeded', '1 row', now() - interval '1 minute',
       now() - interval '1 minute' + interval '15 milliseconds'
from cron.job where jobname = 'process-evolution-queue';

-- ---------------------------------------------------------------------------------------------
-- The queries, as operators write them.
-- ---------------------------------------------------------------------------------------------
create temp table recent_entries as
SELECT * FROM evolution_instance_creation_queue
ORDER BY created_at DESC
LIMIT 5;

create temp table instances_with_profiles as
SELECT
  ei.instance_name,
  ei.webhook_url,
  ei.status,
  ei.created_at,
  p.full_name
FROM evolution_instances ei
JOIN profiles p ON ei.user_id = p.id
ORDER BY ei.created_at DESC
LIMIT 5;

create temp table statistics as
SELECT
  status,
  COUNT(*) as count,
  AVG(retry_count) as avg_retries
FROM evolution_instance_creation_queue
GROUP BY status;

create temp table pending_entries as
SELECT * FROM evolution_instance_creation_queue
WHERE status = 'pending'
ORDER BY created_at;

create temp table failed_entries as
SELECT
  user_id,
  error_message,
  retry_count,
  created_at
FROM evolution_instance_creation_queue
WHERE status = 'failed'
ORDER BY created_at DESC;

create temp table webhooks as
SELECT
  instance_name,
  status,
  webhook_url,
  instance_token IS NOT NULL as has_token,
  created_at
FROM evolution_instances
ORDER BY created_at DESC;

create temp table trigger_check as
SELECT
  tgname as trigger_name,
  tgenabled as is_enabled,
  tgrelid::regclass as table_name
FROM pg_trigger
WHERE tgname = 'on_profile_created_create_evolution_instance';

create temp table counts as
SELECT COUNT(*), status
FROM evolution_instance_creation_queue
GROUP BY status;

create temp table all_cron_jobs as
SELECT * FROM cron.job;

create temp table cron_history as
SELECT * FROM cron.job_run_details
WHERE jobid IN (
  SELECT jobid FROM cron.job
  WHERE jobname = 'process-evolution-queue'
)
ORDER BY start_time DESC
LIMIT 10;

create temp table report as
SELECT
  DATE(created_at) as date,
  COUNT(*) as total_requests,
  COUNT(*) FILTER (WHERE status = 'completed') as completed,
  COUNT(*) FILTER (WHERE status = 'failed') as failed,
  ROUND(
    100.0 * COUNT(*) FILTER (WHERE status = 'completed') / COUNT(*),
    2
  ) as success_rate
FROM evolution_instance_creation_queue
WHERE created_at >= NOW() - INTERVAL '7 days'
GROUP BY DATE(created_at)
ORDER BY date DESC;

create temp table cron_check as
SELECT
  jobname,
  schedule,
  active,
  CASE WHEN active THEN '✓ Actif' ELSE '✗ Inactif' END AS status
FROM cron.job
WHERE jobname IN ('refresh-qr-codes', 'process-evolution-queue')
ORDER BY jobname;

create temp table queue_count as
SELECT COUNT(*) FROM evolution_instance_creation_queue;

create temp table trigger_enabled as
SELECT tgname, tgenabled
FROM pg_trigger
WHERE tgname = 'on_profile_created_create_evolution_instance';

create temp table cron_active as
SELECT jobname, schedule, active
FROM cron.job
WHERE jobname IN ('refresh-qr-codes', 'process-evolution-queue');

create temp table connecting as
SELECT instance_name, instance_status, last_qr_update
FROM evolution_instances
WHERE instance_status = 'connecting';

create temp table connecting_age as
SELECT
  instance_name,
  last_qr_update,
  NOW() - last_qr_update AS age
FROM evolution_instances
WHERE instance_status = 'connecting'
ORDER BY last_qr_update DESC;

create temp table recent_instances as
SELECT * FROM evolution_instances
ORDER BY created_at DESC
LIMIT 5;

create temp table cron_runs as
SELECT
  job.jobname,
  details.start_time,
  details.end_time,
  details.status,
  (details.end_time - details.start_time) AS duration
FROM cron.job_run_details details
JOIN cron.job job ON details.jobid = job.jobid
WHERE job.jobname IN ('refresh-qr-codes', 'process-evolution-queue')
ORDER BY details.start_time DESC
LIMIT 10;

-- ---------------------------------------------------------------------------------------------
-- What they return.
-- ---------------------------------------------------------------------------------------------
select is((select count(*)::int from recent_entries where user_id in (:'done', :'open', :'failed', :'pending', :'stuck', :'busy')), 5,
  'recent entries: the five newest requests');
select is((select array_agg(full_name order by full_name) from instances_with_profiles),
  array['Done W6', 'Open W6'], 'instances with profiles: the two created instances, with their owners'' names');
select ok((select bool_and(webhook_url like '%/functions/v1/evolution-webhook' and status = 'created') from instances_with_profiles),
  'each with its webhook url and status created');
select is((select array_agg(format('%s:%s', status, count) order by status) from statistics),
  array['completed:2', 'failed:1', 'pending:1', 'processing:2'], 'statistics: requests by status');
select is((select avg_retries from statistics where status = 'failed'), 1.0::numeric,
  'statistics: the failed request used one attempt');
select is((select array_agg(user_id) from pending_entries), array[:'pending'::uuid], 'pending entries: the waiting request');
select results_eq('select user_id, error_message, retry_count from failed_entries',
  format($$values (%L::uuid, 'Evolution answered 401: invalid apikey', 1)$$, :'failed'),
  'failed entries: the user, the error and the attempts');
select is((select array_agg(format('%s %s', has_token, instance_name = 'user_' || replace(:'done', '-', ''))
                            order by instance_name = 'user_' || replace(:'done', '-', '') desc) from webhooks),
  array['t t', 't f'], 'webhooks: each instance with its token present (not shown)');
select is((select format('%s %s %s', trigger_name, is_enabled, table_name) from trigger_check),
  'on_profile_created_create_evolution_instance O profiles',
  'trigger check: the trigger exists on profiles, enabled');
select is((select array_agg(format('%s:%s', status, count) order by status) from counts),
  array['completed:2', 'failed:1', 'pending:1', 'processing:2'], 'counts by status');
select is((select array_agg(jobname::text collate "default" order by jobname) from all_cron_jobs
           where jobname in ('process-evolution-queue', 'refresh-qr-codes', 'cleanup-evolution-queue')),
  array['cleanup-evolution-queue', 'process-evolution-queue', 'refresh-qr-codes'], 'cron.job: the three cron jobs of the flow');
select results_eq($$select schedule, command from all_cron_jobs where jobname = 'cleanup-evolution-queue'$$,
  $$values ('0 2 * * *', 'select whatsapp_internal.cleanup()')$$, 'cleanup-evolution-queue runs daily at 02:00');
select is((select count(*)::int from all_cron_jobs where jobname = 'jobs-drain-evolution'), 0,
  'no second drain job: process-evolution-queue is the safety net');
select ok((select count(*) >= 1 and bool_and(command = 'select jobs.drain(''evolution'')') from cron_history),
  'cron history: the runs of process-evolution-queue');
select is((select status from cron_history where job_pid = 4242), 'succeeded', 'with their status');
select results_eq('select date, total_requests, completed, failed from report where date = current_date',
  'values (current_date, 6::bigint, 2::bigint, 1::bigint)', 'the 7-day report: today''s requests');
select is((select success_rate from report where date = current_date), 33.33, 'and the success rate');
select is((select array_agg(format('%s | %s | %s | %s', jobname, schedule, active, status) order by jobname) from cron_check),
  array['process-evolution-queue | * * * * * | t | ✓ Actif', 'refresh-qr-codes | * * * * * | t | ✓ Actif'],
  'cron check: both jobs active, every minute');
select ok((select count > 0 from queue_count), 'the queue table exists and has requests');
select is((select tgenabled::text from trigger_enabled), 'O', 'the trigger is enabled');
select is((select count(*)::int from cron_active where active), 2, 'cron jobs active');
select results_eq('select instance_name, instance_status from connecting',
  format($$values ('user_' || replace(%L, '-', ''), 'connecting')$$, :'done'),
  'instances still connecting: the one not scanned yet');
select ok((select age >= interval '0' and last_qr_update is not null from connecting_age), 'with the age of its code');
select is((select count(*)::int from recent_instances), 2, 'recent instances');
select is((select phone_number from recent_instances where instance_status = 'open'), '33611111111',
  'the connected one with its number');
select ok((select count(*) >= 1 from cron_runs where jobname = 'process-evolution-queue' and duration = interval '15 milliseconds'),
  'cron runs with their duration');

-- ---------------------------------------------------------------------------------------------
-- The repairs, as operators write them: the entry runs again, as a fresh job.
-- ---------------------------------------------------------------------------------------------
select (tests.evolution_job(:'stuck')).id as stuck_job \gset
select (tests.evolution_job(:'busy')).id as busy_job \gset
UPDATE evolution_instance_creation_queue
SET
  status = 'pending',
  updated_at = NOW()
WHERE status = 'processing'
AND updated_at < NOW() - INTERVAL '10 minutes';

select is((tests.evolution_entry(:'stuck')).status, 'pending', 'stuck in processing for 15 minutes: pending again');
select is((select state::text from jobs.jobs where id = :stuck_job), 'cancelled', 'its old job is cancelled (superseded)');
select is((select format('%s %s', j.state, j.id <> :stuck_job) from jobs.jobs j where j.id = (tests.evolution_job(:'stuck')).id),
  'waiting t', 'and a fresh job waits in its place');
select is(public.job_report('w6-gone', jsonb_build_array(jsonb_build_object('id', :stuck_job, 'ok', true))),
  null, 'the lost worker can no longer report the old job');
select is((tests.evolution_job(:'busy')).id, :busy_job::bigint, 'an entry processing for a moment is left alone');
select is((tests.evolution_entry(:'busy')).status, 'processing', 'still processing');

select format($$UPDATE evolution_instance_creation_queue
SET
  status = 'pending',
  retry_count = 0,
  error_message = NULL,
  updated_at = NOW()
WHERE user_id = '%s';$$, :'failed') as reset_user \gset
:reset_user
select is(format('%s %s %s', (tests.evolution_entry(:'failed')).status, (tests.evolution_entry(:'failed')).retry_count,
                 coalesce((tests.evolution_entry(:'failed')).error_message, '-')), 'pending 0 -',
  'one user''s retries reset: pending, no retry, no error');
select is((tests.evolution_job(:'failed')).state::text, 'waiting', 'with a fresh job, waiting');
select tests.evolution_claim(:'failed', 'w6');
select tests.whatsapp_created(:'failed');
select tests.evolution_report(:'failed', '{"ok": true}', 'w6');
select is((tests.evolution_entry(:'failed')).status, 'completed', 'which runs, and the entry completes');
select is((select count(*)::int from public.evolution_instances where user_id = :'failed'), 1, 'with its instance');

-- ---------------------------------------------------------------------------------------------
-- cleanup-evolution-queue, 31 days later: completed entries and old webhook events go.
-- ---------------------------------------------------------------------------------------------
select results_eq($$select * from whatsapp_internal.cleanup(now() + interval '31 days')$$,
  $$values (3::bigint, 1::bigint)$$, 'the cleanup deletes the three completed entries and the week-old event');
select is((select array_agg(distinct status order by status) from evolution_instance_creation_queue),
  array['pending', 'processing'], 'and keeps every entry not completed');

select * from finish();
rollback;
