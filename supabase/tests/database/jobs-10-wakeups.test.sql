-- Wake-ups: after a transaction that enqueued runnable work, one pg_net request per queue
-- (not per job) to <project_url>/functions/v1/<function> with the cron secret; none for future
-- work, none left by a rolled back savepoint, none (and a job that still stands) without the
-- Vault secrets; drain() wakes only when there is work; job_wake() always does.
begin;
select plan(22);

delete from vault.secrets where name in ('project_url', 'cron_secret');
select vault.create_secret('http://api.test/', 'project_url');
select vault.create_secret('test-cron-secret', 'cron_secret');
select set_config('jobs.woken_queues', '', true);
select jobs.create_queue(q, 'fn-' || q)
from unnest(array['t10a', 't10b', 't10c', 't10d', 't10e', 't10f', 't10g']) q;

create function pg_temp.requests(p_queue text) returns int
language sql as $$
  select count(*)::int from net.http_request_queue
  where url = 'http://api.test/functions/v1/fn-' || p_queue
$$;

select public.job_enqueue('t10a', '{"n": 1}');
select public.job_enqueue('t10a', '{"n": 2}');
select public.job_enqueue('t10a', '{"n": 3}');
select is(pg_temp.requests('t10a'), 1, 'three enqueues in one transaction send one wake-up');
select results_eq(
  $$select method::text, url, headers, convert_from(body, 'UTF8')::jsonb, timeout_milliseconds
    from net.http_request_queue where url like 'http://api.test/%'$$,
  $$values ('POST', 'http://api.test/functions/v1/fn-t10a',
            '{"Content-Type": "application/json", "Authorization": "Bearer test-cron-secret"}'::jsonb,
            '{"queue": "t10a", "reason": "enqueue"}'::jsonb, 5000)$$,
  'the wake-up posts {queue, reason} to the queue''s function with the cron secret'
);

select public.job_enqueue('t10b');
select is(pg_temp.requests('t10b'), 1, 'a second queue gets its own wake-up');
select is((select count(*)::int from net.http_request_queue where url like 'http://api.test/%'), 2,
  'two queues, two wake-ups');

select public.job_enqueue_many('t10c', '[{}, {}, {}]');
select public.job_enqueue_many('t10c', '[{}]');
select is(pg_temp.requests('t10c'), 1, 'batch enqueues wake their queue once');

-- Future work needs no wake-up now (the cron drain finds it when due).
select public.job_enqueue('t10d', p_run_at => now() + interval '10 minutes');
select public.job_enqueue_many('t10d', jsonb_build_array(jsonb_build_object('run_at', now() + interval '1 hour')));
select is(pg_temp.requests('t10d'), 0, 'no wake-up for jobs that are not due');
select public.job_enqueue('t10d');
select is(pg_temp.requests('t10d'), 1, 'the first due job wakes the queue');

-- A rolled back savepoint takes its wake-up with it.
savepoint before_t10e;
select public.job_enqueue('t10e');
select is(pg_temp.requests('t10e'), 1, 'inside the savepoint, the queue is woken');
rollback to savepoint before_t10e;
select is(pg_temp.requests('t10e'), 0, 'after rolling the savepoint back, no wake-up is left');
select is((select count(*)::int from jobs.jobs where queue = 't10e'), 0, 'nor any job');
select public.job_enqueue('t10e');
select is(pg_temp.requests('t10e'), 1, 'a later enqueue wakes the queue again');

-- Without the Vault secrets there is no wake-up, but the job stands. (The WARNING that names
-- the missing secret is expected here: hidden to keep the output clean.)
set local client_min_messages = error;
delete from vault.secrets where name = 'cron_secret';
create temp table t10_orphan as select * from public.job_enqueue('t10f', '{"n": 1}');
select is((select state::text from jobs.jobs where id = (select id from t10_orphan)), 'waiting',
  'without the cron secret the job is still enqueued');
select is(pg_temp.requests('t10f'), 0, 'but no wake-up is sent');
select is(public.job_wake('t10f'), null, 'a wake-up without the cron secret answers null');
select vault.create_secret('test-cron-secret', 'cron_secret');
reset client_min_messages;

-- Manual wake-ups are never folded.
select isnt(public.job_wake('t10a'), null, 'job_wake answers the pg_net request id');
select public.job_wake('t10a', 'operator');
select results_eq(
  $$select convert_from(body, 'UTF8')::jsonb from net.http_request_queue
    where url = 'http://api.test/functions/v1/fn-t10a' order by id$$,
  $$values ('{"queue": "t10a", "reason": "enqueue"}'::jsonb),
           ('{"queue": "t10a", "reason": "manual"}'::jsonb),
           ('{"queue": "t10a", "reason": "operator"}'::jsonb)$$,
  'each job_wake call sends one wake-up with its reason'
);
select throws_ok($$select public.job_wake('nope')$$, '22023', 'Unknown queue "nope"',
  'waking an unknown queue is refused');

-- The cron drain wakes only when there is work.
select is(jobs.drain('t10g'), null, 'drain does not wake an empty queue');
select public.job_enqueue('t10g', p_run_at => now() + interval '5 minutes');
select is(jobs.drain('t10g'), null, 'nor a queue whose jobs are not due');
select isnt(jobs.drain('t10g', now() + interval '5 minutes'), null, 'it wakes a queue with due work');
select public.job_claim('t10g', 'worker-1', p_now => now() + interval '5 minutes');
select results_eq(
  $$select jobs.drain('t10g', now() + interval '5 minutes'),
           jobs.drain('t10g', now() + interval '7 minutes') is not null$$,
  $$values (null::bigint, true)$$,
  'a running job needs no drain until its lease expires'
);
select is(
  (select array_agg(convert_from(body, 'UTF8')::jsonb ->> 'reason' order by id) from net.http_request_queue
   where url = 'http://api.test/functions/v1/fn-t10g'),
  array['cron', 'cron'],
  'drain wake-ups give the reason cron'
);

select * from finish();
rollback;
