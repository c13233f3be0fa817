-- Enqueueing: defaults from the queue, the dedupe key (at most one unfinished job per key and
-- queue; a taken key returns the existing job), the batch form and its errors.
begin;
select plan(20);

select jobs.create_queue('t03', 'fn-t03', p_max_attempts => 4);
select jobs.create_queue('t03_other', 'fn-t03');

create temp table t03_first as
select * from public.job_enqueue('t03', '{"order": 1}', 'order:1', 'order:1');

select results_eq(
  $$select queue, subject, payload, state::text, priority, run_at, attempts, max_attempts,
           dedupe_key, lease_expires_at, lease_owner from t03_first$$,
  $$values ('t03', 'order:1', '{"order": 1}'::jsonb, 'waiting', 0, now(), 0, 4, 'order:1',
            null::timestamptz, null::text)$$,
  'a new job waits, runnable now, with the queue''s max_attempts'
);

select is(
  (select id from public.job_enqueue('t03', '{"order": 99}', 'order:1', 'order:1')),
  (select id from t03_first),
  'enqueueing a taken dedupe key returns the existing job'
);
select is(
  (select payload from jobs.jobs where id = (select id from t03_first)),
  '{"order": 1}'::jsonb,
  'the existing job keeps its payload'
);
select is(
  (select count(*)::int from jobs.jobs where dedupe_key = 'order:1' and queue = 't03'),
  1,
  'only one job holds the key'
);
select isnt(
  (select id from public.job_enqueue('t03_other', '{}', null, 'order:1')),
  (select id from t03_first),
  'the same key in another queue is another job'
);

-- While running, the key stays taken.
select is((select count(*)::int from public.job_claim('t03', 'worker-1', 10)), 1, 'the job is claimed');
select is(
  (select id from public.job_enqueue('t03', '{}', null, 'order:1')),
  (select id from t03_first),
  'a running job still holds its key'
);
select is(public.job_complete((select id from t03_first), 'worker-1', '{"sent": true}'),
  'succeeded'::jobs.job_state, 'the job succeeds');

create temp table t03_second as select * from public.job_enqueue('t03', '{"order": 2}', 'order:1', 'order:1');
select isnt((select id from t03_second), (select id from t03_first),
  'after the job finished, the key enqueues a new job');
select is((select state::text from t03_second), 'waiting', 'the new job waits');

-- Batch form: one id per element, in order, existing ids on dedupe conflicts (also inside
-- the batch).
create temp table t03_batch as
select row_number() over () as n, id
from public.job_enqueue_many('t03', jsonb_build_array(
  jsonb_build_object('dedupe_key', 'order:1', 'payload', jsonb_build_object('n', 1)),
  jsonb_build_object('payload', jsonb_build_object('n', 2), 'subject', 'thing:2',
                     'priority', -5, 'run_at', now() + interval '1 hour', 'max_attempts', 9),
  jsonb_build_object('dedupe_key', 'batch:b', 'payload', jsonb_build_object('n', 3)),
  jsonb_build_object('dedupe_key', 'batch:b', 'payload', jsonb_build_object('n', 4))
)) as id;

select is((select count(*)::int from t03_batch), 4, 'the batch answers one id per element');
select is((select id from t03_batch where n = 1), (select id from t03_second),
  'a taken key in a batch answers the existing job');
select is((select id from t03_batch where n = 4), (select id from t03_batch where n = 3),
  'a key repeated inside the batch answers the job of its first occurrence');
select results_eq(
  $$select j.payload, j.subject, j.priority, j.run_at, j.max_attempts, j.state::text
    from jobs.jobs j where j.id = (select id from t03_batch where n = 2)$$,
  $$values ('{"n": 2}'::jsonb, 'thing:2', -5, now() + interval '1 hour', 9, 'waiting')$$,
  'a batch element sets payload, subject, priority, run_at and max_attempts'
);
select is(
  (select payload from jobs.jobs where id = (select id from t03_batch where n = 3)),
  '{"n": 3}'::jsonb,
  'the first occurrence of a key wins'
);
select is_empty($$select * from public.job_enqueue_many('t03', '[]')$$,
  'an empty batch enqueues nothing');

select throws_ok($$select public.job_enqueue('nope')$$, '22023', 'Unknown queue "nope"',
  'enqueueing into an unknown queue is refused');
select throws_ok($$select public.job_enqueue_many('t03', '{"payload": {}}')$$, '22023',
  'p_jobs must be a JSON array of objects {payload, subject, dedupe_key, priority, run_at, max_attempts}',
  'a batch must be an array of objects');
select throws_ok($$select public.job_enqueue_many('t03', '[1, 2]')$$, '22023',
  'p_jobs must be a JSON array of objects {payload, subject, dedupe_key, priority, run_at, max_attempts}',
  'batch elements must be objects');
select throws_ok($$select public.job_enqueue('t03', p_max_attempts => 0)$$, '23514',
  'new row for relation "jobs" violates check constraint "jobs_max_attempts_check"',
  'a job needs at least one attempt');

select * from finish();
rollback;
