-- The queue registry and the scheduled jobs: create_queue() upserts a queue and its pg_cron
-- drain job jobs-drain-<queue>; the daily jobs-retention job prunes what the settings say.
begin;
select plan(18);

create temp table t11_queue as select * from jobs.create_queue('t11', 'fn-t11');
select results_eq(
  $$select name, function_name, max_attempts, lease_seconds, backoff_base_seconds,
           backoff_cap_seconds, batch_size, drain_schedule from t11_queue$$,
  $$values ('t11', 'fn-t11', 5, 60, 10::numeric, 3600::numeric, 20, '* * * * *')$$,
  'a queue gets the documented defaults'
);
select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'jobs-drain-t11'$$,
  $$values ('* * * * *'::text, 'select jobs.drain(''t11'')'::text, true)$$,
  'creating a queue schedules its drain job'
);

select jobs.create_queue('t11', 'fn-t11-v2', p_max_attempts => 8, p_batch_size => 50,
                         p_drain_schedule => '*/5 * * * *');
select results_eq(
  $$select function_name, max_attempts, batch_size, drain_schedule from jobs.queues where name = 't11'$$,
  $$values ('fn-t11-v2', 8, 50, '*/5 * * * *')$$,
  'creating it again updates the queue'
);
select results_eq(
  $$select count(*)::int, min(schedule) from cron.job where jobname = 'jobs-drain-t11'$$,
  $$values (1, '*/5 * * * *'::text)$$,
  'and reschedules its one drain job'
);

select jobs.create_queue('t11', 'fn-t11-v2', p_drain_schedule => null);
select is_empty($$select * from cron.job where jobname = 'jobs-drain-t11'$$,
  'a queue without a drain schedule has no drain job');
select lives_ok($$select jobs.create_queue('t11', 'fn-t11-v2', p_drain_schedule => null)$$,
  'removing a drain job that is gone is fine');

select throws_ok($$select jobs.create_queue('t11_bad', 'fn', p_drain_schedule => 'every now and then')$$,
  '22023', 'invalid schedule: every now and then',
  'an invalid schedule is refused');
select is_empty($$select * from jobs.queues where name = 't11_bad'$$,
  'and creates no queue');
select throws_ok($$select jobs.create_queue('t11_bad', 'fn', p_batch_size => 0)$$, '23514',
  'new row for relation "queues" violates check constraint "queues_batch_size_check"',
  'queue settings are checked');

-- Retention.
select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'jobs-retention'$$,
  $$values ('17 3 * * *'::text, 'select jobs.prune()'::text, true)$$,
  'the retention job runs daily'
);
select results_eq(
  $$select finished_job_retention, dead_job_retention, event_retention from jobs.settings$$,
  $$values (interval '7 days', interval '30 days', interval '30 days')$$,
  'retention defaults: finished jobs 7 days, dead jobs and audit 30 days'
);

create temp table t11_jobs (name text primary key, id bigint);
insert into t11_jobs
select 'succeeded', id from public.job_enqueue('t11', p_priority => 1)
union all select 'dead', id from public.job_enqueue('t11', p_priority => 2)
union all select 'cancelled', id from public.job_enqueue('t11', p_priority => 3)
union all select 'waiting', id from public.job_enqueue('t11', p_run_at => now() + interval '1 year');
select public.job_claim('t11', 'worker-1', 2);
select public.job_complete((select id from t11_jobs where name = 'succeeded'), 'worker-1');
select public.job_fail((select id from t11_jobs where name = 'dead'), 'worker-1', 'gone', true);
select public.job_cancel((select id from t11_jobs where name = 'cancelled'));

create function pg_temp.t11_left() returns text[]
language sql as $$
  select coalesce(array_agg(t.name order by t.name), '{}')
  from t11_jobs t join jobs.jobs j using (id)
$$;

select jobs.prune(now() + interval '6 days');
select is(pg_temp.t11_left(), array['cancelled', 'dead', 'succeeded', 'waiting'],
  'nothing is pruned before its retention period');
select jobs.prune(now() + interval '8 days');
select is(pg_temp.t11_left(), array['dead', 'waiting'],
  'succeeded and cancelled jobs go after 7 days');
select is(
  (select count(*)::int from jobs.job_events where job_id = (select id from t11_jobs where name = 'succeeded')),
  3, 'their audit events stay');
select jobs.prune(now() + interval '31 days');
select is(pg_temp.t11_left(), array['waiting'], 'dead jobs go after 30 days; unfinished ones stay');
select is(
  (select count(*)::int from jobs.job_events e join t11_jobs t on t.id = e.job_id), 0,
  'audit events go after 30 days');

update jobs.settings set finished_job_retention = '1 hour';
create temp table t11_late as select id from public.job_enqueue('t11', p_priority => -1);
select public.job_claim('t11', 'worker-2', 1);
select public.job_complete((select id from t11_late), 'worker-2');
select cmp_ok((select jobs_deleted from jobs.prune(now() + interval '2 hours')), '>=', 1::bigint,
  'prune reports what it deleted');
select is_empty($$select * from jobs.jobs where id = (select id from t11_late)$$,
  'the retention periods are read from jobs.settings');

select * from finish();
rollback;
