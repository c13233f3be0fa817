-- Failures: exponential backoff with equal jitter and a cap, a provider's retry-after
-- overriding it, permanent failures straight to dead, the dead letter after max attempts, and
-- the batch report (mixed outcomes, jobs of others ignored, malformed input refused).
begin;
select plan(19);

select jobs.create_queue('t06', 'fn-t06', p_max_attempts => 6, p_backoff_base_seconds => 10,
                         p_backoff_cap_seconds => 100);

select results_eq(
  $$select a, jobs.backoff_delay(a, 10, 100) from unnest(array[0, 1, 2, 3, 4, 5, 50]) a$$,
  $$values (0, 10::numeric), (1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (50, 100)$$,
  'the un-jittered delay doubles per attempt from the base, up to the cap'
);
select results_eq(
  $$select min(d) >= 50, max(d) <= 100, count(distinct d) > 900
    from (select jobs.jittered(100) as d from generate_series(1, 1000)) s$$,
  $$values (true, true, true)$$,
  'equal jitter spreads a delay over [delay/2, delay]'
);

-- One job fails five times in a row: each retry waits longer, within the jitter bounds.
create temp table t06_job as select id from public.job_enqueue('t06', '{"n": 1}', 'thing:1');
create temp table t06_delays (attempt int, state text, delay numeric);
do $$
declare
  v_id bigint := (select id from t06_job);
  v_at timestamptz;
begin
  for i in 1..5 loop
    select run_at into v_at from jobs.jobs where id = v_id;
    perform public.job_claim('t06', 'worker-1', 1, p_now => v_at);
    perform public.job_fail(v_id, 'worker-1', 'boom ' || i, p_now => v_at);
    insert into t06_delays
    select attempts, state::text, extract(epoch from run_at - v_at) from jobs.jobs where id = v_id;
  end loop;
end
$$;
select results_eq(
  $$select d.attempt, d.state, d.delay between b.lo and b.hi
    from t06_delays d
    join (values (1, 5, 10), (2, 10, 20), (3, 20, 40), (4, 40, 80), (5, 50, 100)) b(attempt, lo, hi)
      using (attempt)
    order by d.attempt$$,
  $$values (1, 'retrying', true), (2, 'retrying', true), (3, 'retrying', true),
           (4, 'retrying', true), (5, 'retrying', true)$$,
  'retries back off 10, 20, 40, 80 then the 100 s cap, each jittered to [delay/2, delay]'
);
select is((select last_error from jobs.jobs where id = (select id from t06_job)), 'boom 5',
  'the last error is kept');

-- The sixth attempt is the last one: the job goes to the dead letter.
select is(
  (select public.job_fail(c.id, 'worker-1', 'boom 6', p_now => c.run_at)
   from (select j.id, j.run_at from jobs.jobs j, public.job_claim('t06', 'worker-1', 1,
                                                                   p_now => j.run_at) c
         where j.id = (select id from t06_job) and c.id = j.id) c),
  'dead'::jobs.job_state,
  'failing the last attempt makes the job dead'
);
select results_eq(
  $$select attempts, last_error, finished_at is not null, lease_owner from jobs.jobs
    where id = (select id from t06_job)$$,
  $$values (6, 'boom 6', true, null::text)$$,
  'the dead job keeps its attempts and last error'
);
select is(public.job_fail((select id from t06_job), 'worker-1', 'again'), null,
  'a dead job cannot fail again');

-- A provider's retry-after overrides the backoff.
create temp table t06_ra as select id from public.job_enqueue('t06', '{"n": 2}');
select is((select count(*)::int from public.job_claim('t06', 'worker-2', 1)), 1, 'claimed');
select is(public.job_fail((select id from t06_ra), 'worker-2', '429 Too Many Requests',
                          p_retry_after_seconds => 7.5),
  'retrying'::jobs.job_state, 'a retryable failure with retry-after retries');
select is((select run_at from jobs.jobs where id = (select id from t06_ra)),
  now() + interval '7.5 seconds', 'at exactly retry-after seconds, no backoff, no jitter');

-- A permanent failure goes straight to dead, attempts left or not.
create temp table t06_perm as select id from public.job_enqueue('t06', '{"n": 3}', p_priority => -1);
select is((select id from public.job_claim('t06', 'worker-3', 1)), (select id from t06_perm),
  'claimed');
select is(public.job_fail((select id from t06_perm), 'worker-3', '422 Invalid recipient', true),
  'dead'::jobs.job_state, 'a permanent failure makes the job dead at once');
select results_eq(
  $$select attempts, max_attempts, last_error from jobs.jobs where id = (select id from t06_perm)$$,
  $$values (1, 6, '422 Invalid recipient')$$,
  'after one attempt of six'
);

-- The batch report: mixed outcomes in one call; others' jobs are left out.
create temp table t06_batch as
select row_number() over (order by id) as n, id
from public.job_enqueue_many('t06', '[{"priority": -9}, {"priority": -9}, {"priority": -9}, {"priority": -9}]') id;
select is((select count(*)::int from public.job_claim('t06', 'worker-4', 3)), 3, 'three claimed');
select is(
  (select count(*)::int from public.job_claim('t06', 'worker-5', 1)), 1, 'one claimed by another worker');
select results_eq(
  $$select r.job_id, r.state::text from public.job_report('worker-4', jsonb_build_array(
      jsonb_build_object('id', (select id from t06_batch where n = 1), 'ok', true, 'result', '{"sent": 1}'::jsonb),
      jsonb_build_object('id', (select id from t06_batch where n = 2), 'ok', false, 'error', '503', 'retry_after_seconds', 60),
      jsonb_build_object('id', (select id from t06_batch where n = 3), 'ok', false, 'permanent', true),
      jsonb_build_object('id', (select id from t06_batch where n = 4), 'ok', true)
    )) r order by r.job_id$$,
  $$select id, s from t06_batch join (values (1, 'succeeded'), (2, 'retrying'), (3, 'dead')) v(n, s)
    using (n) order by id$$,
  'one report records success, retry and dead letter, ignoring the job of another worker'
);
select results_eq(
  $$select b.n, j.state::text, j.result, j.last_error, j.run_at - now()
    from t06_batch b join jobs.jobs j using (id) order by b.n$$,
  $$values (1::bigint, 'succeeded', '{"sent": 1}'::jsonb, null::text, interval '0'),
           (2, 'retrying', null, '503', interval '60 seconds'),
           (3, 'dead', null, 'unknown error', interval '0'),
           (4, 'running', null, null, interval '0')$$,
  'results, errors and retry times are stored per job'
);

select throws_ok($$select public.job_report('worker-4', '{"id": 1, "ok": true}')$$, '22023',
  'p_outcomes must be a JSON array of {"id": <job id>, "ok": true|false, ...} objects',
  'outcomes must be an array');
select throws_ok($$select public.job_report('worker-4', '[{"id": 1, "ok": true}, {"id": 2}]')$$,
  '22023', 'p_outcomes must be a JSON array of {"id": <job id>, "ok": true|false, ...} objects',
  'every outcome needs an id and ok');

select * from finish();
rollback;
