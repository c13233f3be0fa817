-- At most N running jobs per subject (jobs.queues.subject_concurrency): a claim skips the
-- subjects at their limit and takes at most the room left from the others, so one slow subject
-- (a hanging webhook endpoint) never fills a claim; jobs without a subject are not limited, and
-- queues without a limit claim as before.
begin;
select plan(9);

select jobs.create_queue('t14', 'fn-t14', p_batch_size => 50);
update jobs.queues set subject_concurrency = 2 where name = 't14';

-- 30 jobs of the slow subject first in claim order, then 3 of each of two others, 2 without.
select public.job_enqueue('t14', '{}', 'slow', p_now => tests.frozen_now() - interval '1 minute')
from generate_series(1, 30);
select public.job_enqueue('t14', '{}', s, p_now => tests.frozen_now())
from unnest(array['a', 'a', 'a', 'b', 'b', 'b']) s;
select public.job_enqueue('t14', '{}', null, p_now => tests.frozen_now()) from generate_series(1, 2);

create temp table t14_first as
  select subject from public.job_claim('t14', 'w1', 10, p_now => tests.frozen_now());

select is((select count(*)::int from t14_first where subject = 'slow'), 2,
  'the slow subject gets 2 jobs though 30 of its jobs come first in claim order');
select is((select count(*)::int from t14_first where subject in ('a', 'b')), 4,
  'the other subjects get 2 each');
select is((select count(*)::int from t14_first where subject is null), 2,
  'jobs without a subject are not limited');

create temp table t14_second as
  select subject from public.job_claim('t14', 'w2', 10, p_now => tests.frozen_now());
select is((select count(*)::int from t14_second where subject = 'slow'), 0,
  'a second claim skips the slow subject while its 2 jobs run');
select is((select count(*)::int from t14_second where subject in ('a', 'b')), 0,
  'and the subjects at their limit');

-- One slow job finishes: one more of its subject may run.
select public.job_complete((select id from jobs.jobs where queue = 't14' and subject = 'slow'
                            and state = 'running' order by id limit 1), 'w1');
select is((select count(*)::int from public.job_claim('t14', 'w3', 10, p_now => tests.frozen_now())
           where subject = 'slow'), 1, 'a finished job makes room for exactly one more');

-- An expired lease no longer counts once taken back.
select is((select count(*)::int from public.job_claim('t14', 'w4', 10,
                                                      p_now => tests.frozen_now() + interval '2 minutes')
           where subject = 'slow'), 2,
  'after the leases expire, the subject gets its 2 slots again');

-- A queue without a limit claims in plain order.
select jobs.create_queue('t14b', 'fn-t14b', p_batch_size => 50);
select public.job_enqueue('t14b', '{}', 'slow', p_now => tests.frozen_now()) from generate_series(1, 5);
select is((select count(*)::int from public.job_claim('t14b', 'w5', 5, p_now => tests.frozen_now())),
  5, 'without subject_concurrency a claim takes every claimable job of one subject');

select throws_ok($$update jobs.queues set subject_concurrency = 0 where name = 't14'$$, '23514',
  null, 'subject_concurrency must be at least 1');

select * from finish();
rollback;
