-- Operator actions: retry a dead (or cancelled) job, cancel a job, including one that is
-- running (its worker can then no longer report it); clear errors for what is not allowed.
begin;
select plan(21);

delete from vault.secrets where name in ('project_url', 'cron_secret');
select vault.create_secret('http://api.test', 'project_url');
select vault.create_secret('test-cron-secret', 'cron_secret');
select jobs.create_queue('t07', 'fn-t07', p_max_attempts => 3);

create temp table t07_jobs (name text primary key, id bigint);
insert into t07_jobs
select 'dead', id from public.job_enqueue('t07', '{"n": 1}', 'thing:1', 'key:1', p_priority => 1)
union all
select 'running', id from public.job_enqueue('t07', '{"n": 2}', p_priority => 2)
union all
select 'waiting', id from public.job_enqueue('t07', '{"n": 3}', p_priority => 3);
create function pg_temp.t07(p_name text) returns bigint
language sql as $$ select id from t07_jobs where name = p_name $$;

select is((select count(*)::int from public.job_claim('t07', 'worker-1', 2)), 2, 'two jobs claimed');
select is(public.job_fail(pg_temp.t07('dead'), 'worker-1', 'invalid address', true),
  'dead'::jobs.job_state, 'one job is dead');

-- Retry a dead job.
select set_config('jobs.woken_queues', '', true);
delete from net.http_request_queue where url like 'http://api.test/%';
create temp table t07_retried as
select * from public.job_retry(pg_temp.t07('dead'), now() + interval '1 minute');
select results_eq(
  $$select state::text, attempts, run_at, finished_at, last_error from t07_retried$$,
  $$values ('waiting', 0, now() + interval '1 minute', null::timestamptz, 'invalid address')$$,
  'a retried dead job waits again, runnable now, attempts reset'
);
select results_eq(
  $$select url, convert_from(body, 'UTF8')::jsonb from net.http_request_queue
    where url like 'http://api.test/%'$$,
  $$values ('http://api.test/functions/v1/fn-t07', '{"queue": "t07", "reason": "retry"}'::jsonb)$$,
  'retrying wakes the queue''s function'
);
select is(
  (select id from public.job_claim('t07', 'worker-2', 1, p_now => now() + interval '1 minute')),
  pg_temp.t07('dead'),
  'the retried job is claimed again'
);
select throws_ok(format('select public.job_retry(%s)', pg_temp.t07('waiting')), '55000',
  format('Job %s is waiting: only dead, cancelled or succeeded jobs can be retried', pg_temp.t07('waiting')),
  'an unfinished job cannot be retried');
select throws_ok('select public.job_retry(-1)', 'P0002', 'Job -1 does not exist',
  'retrying an unknown job is refused');

-- Cancel a waiting job.
create temp table t07_cancelled as
select * from public.job_cancel(pg_temp.t07('waiting'), 'customer left');
select results_eq(
  $$select state::text, last_error, finished_at from t07_cancelled$$,
  $$values ('cancelled', 'customer left', now())$$,
  'a cancelled job keeps the reason as its last error'
);
select is_empty($$select * from public.job_claim('t07', 'worker-3', 10)$$,
  'a cancelled job is never claimed');
select is(
  (select count(*)::int from jobs.job_events where job_id = pg_temp.t07('waiting') and to_state = 'cancelled'),
  1, 'the cancellation is audited once');
select is((public.job_cancel(pg_temp.t07('waiting'), 'again')).last_error, 'customer left',
  'cancelling twice changes nothing');
select is(
  (select count(*)::int from jobs.job_events where job_id = pg_temp.t07('waiting') and to_state = 'cancelled'),
  1, 'and writes no second event');

-- Cancel a running job: its worker can no longer report or extend it.
select is((public.job_cancel(pg_temp.t07('running'))).state, 'cancelled'::jobs.job_state,
  'a running job can be cancelled');
select results_eq(
  $$select last_error, lease_owner, lease_expires_at from jobs.jobs where id = pg_temp.t07('running')$$,
  $$values ('cancelled', null::text, null::timestamptz)$$,
  'its lease is released; the default reason is ''cancelled'''
);
select is(public.job_complete(pg_temp.t07('running'), 'worker-1'), null,
  'the worker cannot complete a cancelled job');
select is_empty(format($$select * from public.job_extend_lease('worker-1', '{%s}')$$, pg_temp.t07('running')),
  'the worker cannot extend its lease');
select is((select state::text from jobs.jobs where id = pg_temp.t07('running')), 'cancelled',
  'the job stays cancelled');

-- A cancelled job can be retried; a succeeded one cannot be cancelled.
select is((public.job_retry(pg_temp.t07('running'))).state, 'waiting'::jobs.job_state,
  'a cancelled job can be retried');
select is(public.job_complete(pg_temp.t07('dead'), 'worker-2'), 'succeeded'::jobs.job_state,
  'the retried job succeeds');
select throws_ok(format('select public.job_cancel(%s)', pg_temp.t07('dead')), '55000',
  format('Job %s already succeeded: it cannot be cancelled', pg_temp.t07('dead')),
  'a succeeded job cannot be cancelled');

-- Retrying must not break the dedupe rule.
select public.job_enqueue('t07', '{"n": 4}', 'thing:1', 'key:1');
select throws_ok(format('select public.job_retry(%s)', pg_temp.t07('dead')), '23505',
  format('Job %s cannot be retried: another unfinished job of queue "t07" holds its dedupe key "key:1"',
         pg_temp.t07('dead')),
  'a job cannot be retried while another unfinished job holds its dedupe key');

select * from finish();
rollback;
