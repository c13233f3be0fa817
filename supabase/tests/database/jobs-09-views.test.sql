-- The operator views: depth per queue and state, queue health (oldest ready job, failures and
-- dead jobs of the last hour, wait and run time percentiles, drain and wake-up configuration),
-- recent failures and the wake-up configuration.
begin;
select plan(9);

delete from vault.secrets where name in ('project_url', 'cron_secret');
select vault.create_secret('http://api.test', 'project_url');
select vault.create_secret('test-cron-secret', 'cron_secret');
select jobs.create_queue('t09', 'fn-t09');
select jobs.create_queue('t09_idle', 'fn-t09', p_drain_schedule => null);

create function pg_temp.ago(p_minutes numeric) returns timestamptz
language sql stable as $$ select now() - make_interval(secs => p_minutes * 60) $$;
create temp table t09_jobs (name text primary key, id bigint);

-- Two hours ago (outside the hour): j7 fails and will retry; priority 10 keeps it out of the
-- later claims.
insert into t09_jobs select 'j7', id
from public.job_enqueue('t09', '{}', 'thing:7', p_priority => 10, p_now => pg_temp.ago(120));
select public.job_claim('t09', 'w', 1, p_now => pg_temp.ago(120));
select public.job_fail((select id from t09_jobs where name = 'j7'), 'w', 'timeout',
                       p_retry_after_seconds => 1, p_now => pg_temp.ago(120));
-- Within the hour: j5 waits 1 min, runs 1 min, dies; j6 waits 4 min, runs 3 min, succeeds;
-- j4 waits 2 min and is still running, its lease long expired.
insert into t09_jobs select 'j5', id
from public.job_enqueue('t09', '{}', 'thing:5', p_priority => 0, p_now => pg_temp.ago(30));
insert into t09_jobs select 'j6', id
from public.job_enqueue('t09', '{}', 'thing:6', p_priority => 1, p_now => pg_temp.ago(30));
select public.job_claim('t09', 'w', 1, p_now => pg_temp.ago(29));
select public.job_fail((select id from t09_jobs where name = 'j5'), 'w', 'invalid phone', true,
                       p_now => pg_temp.ago(28));
select public.job_claim('t09', 'w', 1, p_now => pg_temp.ago(26));
select public.job_complete((select id from t09_jobs where name = 'j6'), 'w', p_now => pg_temp.ago(23));
insert into t09_jobs select 'j4', id
from public.job_enqueue('t09', '{}', 'thing:4', p_priority => 2, p_now => pg_temp.ago(20));
select public.job_claim('t09', 'w', 1, p_now => pg_temp.ago(18));
-- Never claimed: two ready jobs and one for later.
insert into t09_jobs select 'j1', id
from public.job_enqueue('t09', '{}', 'thing:1', p_priority => 5, p_now => pg_temp.ago(10));
insert into t09_jobs select 'j2', id
from public.job_enqueue('t09', '{}', 'thing:2', p_priority => 5, p_now => pg_temp.ago(4));
insert into t09_jobs select 'j3', id
from public.job_enqueue('t09', '{}', 'thing:3', p_run_at => now() + interval '1 hour');

select results_eq(
  $$select state::text as name, jobs from jobs.queue_depth where queue = 't09' order by state$$,
  $$values ('waiting', 3::bigint), ('running', 1), ('succeeded', 1), ('retrying', 1), ('dead', 1),
           ('cancelled', 0)$$,
  'queue_depth counts the jobs of each state, zeros included'
);
select is(
  (select sum(jobs)::int from jobs.queue_depth where queue = 't09_idle'), 0,
  'an idle queue shows zeros');

select results_eq(
  $$select ready, oldest_ready_age, scheduled, running, expired_leases, dead
    from jobs.queue_health where queue = 't09'$$,
  $$values (3::bigint, interval '1 hour 59 minutes 59 seconds', 1::bigint, 1::bigint, 1::bigint, 1::bigint)$$,
  'queue_health shows ready jobs and the oldest one''s age, scheduled, running, expired and dead jobs'
);
select results_eq(
  $$select failures_last_hour, dead_last_hour, wait_p50, wait_p95, run_p50, run_p95
    from jobs.queue_health where queue = 't09'$$,
  $$values (1::bigint, 1::bigint, interval '2 minutes', interval '3 minutes 48 seconds',
            interval '2 minutes', interval '2 minutes 54 seconds')$$,
  'queue_health sums up the last hour: failures, dead jobs, p50/p95 wait and run times'
);
select results_eq(
  $$select function_name, drain_scheduled, wakeups_configured from jobs.queue_health
    where queue in ('t09', 't09_idle') order by queue$$,
  $$values ('fn-t09', true, true), ('fn-t09', false, true)$$,
  'queue_health shows whether the drain is scheduled and wake-ups are configured'
);
select results_eq(
  $$select ready, oldest_ready_age, failures_last_hour, wait_p50 from jobs.queue_health
    where queue = 't09_idle'$$,
  $$values (0::bigint, null::interval, 0::bigint, null::interval)$$,
  'an idle queue is healthy and empty'
);

select results_eq(
  $$select f.job_id, f.subject, f.attempt, f.outcome::text, f.error, f.worker, f.run_time,
           f.current_state::text, f.next_attempt_at, f.failed_at
    from jobs.recent_failures f where f.queue = 't09'$$,
  $$select j.id, v.subject, 1, v.outcome, v.error, 'w', v.run_time, v.current_state, v.next_at, v.failed_at
    from (values
      ('j5', 'thing:5', 'dead', 'invalid phone', interval '1 minute', 'dead', null::timestamptz, pg_temp.ago(28)),
      ('j7', 'thing:7', 'retrying', 'timeout', interval '0', 'retrying', pg_temp.ago(120) + interval '1 second', pg_temp.ago(120))
    ) v(name, subject, outcome, error, run_time, current_state, next_at, failed_at)
    join t09_jobs j using (name)
    order by v.failed_at desc$$,
  'recent_failures lists failed attempts, newest first, with what happens next'
);

select results_eq(
  $$select project_url_set, cron_secret_set, configured, project_url from jobs.wakeup_config$$,
  $$values (true, true, true, 'http://api.test')$$,
  'wakeup_config shows both secrets are set, never the secret itself'
);
delete from vault.secrets where name = 'cron_secret';
select results_eq(
  $$select w.project_url_set, w.cron_secret_set, w.configured, h.wakeups_configured
    from jobs.wakeup_config w, jobs.queue_health h where h.queue = 't09'$$,
  $$values (true, false, false, false)$$,
  'without the cron secret, wake-ups show as not configured'
);

select * from finish();
rollback;
