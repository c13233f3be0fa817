-- Claiming: priority then run_at order, the queue's batch size and lease, future jobs left
-- alone; an expired lease makes the job claimable again by the next claim (dead when no attempt
-- is left), and the worker that lost it can no longer report or extend it.
begin;
select plan(22);

select jobs.create_queue('t04', 'fn-t04', p_max_attempts => 2, p_lease_seconds => 30,
                         p_batch_size => 2);

create temp table t04_jobs (name text primary key, id bigint);
insert into t04_jobs
select 'a', id from public.job_enqueue('t04', '{"n": "a"}', p_run_at => now() - interval '10 minutes')
union all
select 'b', id from public.job_enqueue('t04', '{"n": "b"}', p_run_at => now() - interval '20 minutes')
union all
select 'c', id from public.job_enqueue('t04', '{"n": "c"}', p_priority => -1, p_run_at => now() - interval '1 minute')
union all
select 'd', id from public.job_enqueue('t04', '{"n": "d"}', p_run_at => now() + interval '1 hour')
union all
select 'e', id from public.job_enqueue('t04', '{"n": "e"}', p_priority => 5, p_run_at => now() - interval '30 minutes');

create function pg_temp.t04_names(p_ids bigint[]) returns text[]
language sql as $$
  select coalesce(array_agg(name order by name), '{}') from t04_jobs where id = any (p_ids)
$$;

create temp table t04_claim1 as select * from public.job_claim('t04', 'worker-1');
select is(pg_temp.t04_names(array(select id from t04_claim1)), array['b', 'c'],
  'a claim takes the queue''s batch size, lower priority first, then the oldest run_at');
select results_eq(
  $$select distinct state::text, attempts, lease_owner, lease_expires_at, started_at from t04_claim1$$,
  $$values ('running', 1, 'worker-1', now() + interval '30 seconds', now())$$,
  'claimed jobs run under the worker''s lease, attempts incremented'
);
select is(
  pg_temp.t04_names(array(select id from public.job_claim('t04', 'worker-2', 10))),
  array['a', 'e'],
  'a second claim takes what is left and runnable'
);
select is_empty($$select * from public.job_claim('t04', 'worker-3', 10)$$,
  'a job whose run_at is in the future is not claimed');
select is_empty($$select * from public.job_claim('t04', 'worker-3', 10, p_now => now() + interval '29 seconds')$$,
  'running jobs are not claimed before their lease expires');

-- 31 seconds later every lease has expired: the claim takes the jobs back by itself.
create temp table t04_claim2 as
select * from public.job_claim('t04', 'worker-3', 10, p_now => now() + interval '31 seconds');
select is(pg_temp.t04_names(array(select id from t04_claim2)), array['a', 'b', 'c', 'e'],
  'after the lease expired, the next claim takes the jobs again');
select results_eq(
  $$select distinct attempts, lease_owner, lease_expires_at from t04_claim2$$,
  $$values (2, 'worker-3', now() + interval '61 seconds')$$,
  'the expiry counted as an attempt'
);
select results_eq(
  $$select e.worker, e.error, e.attempt from jobs.job_events e
    join t04_jobs j on j.id = e.job_id
    where e.from_state = 'running' and e.to_state = 'retrying'
    order by j.name$$,
  $$values ('worker-2', 'lease expired', 1), ('worker-1', 'lease expired', 1),
           ('worker-1', 'lease expired', 1), ('worker-2', 'lease expired', 1)$$,
  'each expiry is audited with the worker that lost the lease'
);

-- The stale worker lost its jobs.
select is(public.job_complete((select id from t04_jobs where name = 'b'), 'worker-1',
                              p_now => now() + interval '32 seconds'),
  null, 'a stale worker cannot complete a job taken back');
select is(public.job_fail((select id from t04_jobs where name = 'c'), 'worker-1', 'late',
                          p_now => now() + interval '32 seconds'),
  null, 'a stale worker cannot fail a job taken back');
select is_empty(
  $$select * from public.job_report('worker-1',
      (select jsonb_agg(jsonb_build_object('id', id, 'ok', true)) from t04_jobs),
      now() + interval '32 seconds')$$,
  'a stale worker''s batch report changes nothing');
select is_empty(
  $$select * from public.job_extend_lease('worker-1', array(select id from t04_jobs))$$,
  'a stale worker cannot extend leases');
select is(
  (select count(*)::int from jobs.jobs j join t04_jobs t on t.id = j.id
   where j.state = 'running' and j.lease_owner = 'worker-3'),
  4, 'the jobs still run under the new owner');

-- Extending a lease.
select is(
  array(select x from public.job_extend_lease('worker-3',
          array(select id from t04_jobs where name in ('a', 'b', 'd')), 120,
          now() + interval '40 seconds') x order by x),
  array(select id from t04_jobs where name in ('a', 'b') order by id),
  'the owner extends its running jobs only'
);
select is(
  (select lease_expires_at from jobs.jobs where id = (select id from t04_jobs where name = 'a')),
  now() + interval '160 seconds',
  'the lease now ends p_lease_seconds after p_now'
);
select is(
  array(select x from public.job_extend_lease('worker-3',
          array(select id from t04_jobs where name = 'c'), p_now => now() + interval '40 seconds') x),
  array(select id from t04_jobs where name = 'c'),
  'without p_lease_seconds the queue''s lease applies'
);
select is(
  (select lease_expires_at from jobs.jobs where id = (select id from t04_jobs where name = 'c')),
  now() + interval '70 seconds',
  'the queue''s lease is 30 seconds'
);

-- An hour later: the leases expired again and no attempt is left.
select is(
  pg_temp.t04_names(array(select id from public.job_claim('t04', 'worker-4', 10, p_now => now() + interval '2 hours'))),
  array['d'],
  'jobs without attempts left are not claimed again'
);
select results_eq(
  $$select j.state::text, j.last_error, j.finished_at, j.lease_owner from jobs.jobs j
    join t04_jobs t on t.id = j.id where t.name <> 'd' order by t.name$$,
  $$values ('dead', 'lease expired', now() + interval '2 hours', null::text),
           ('dead', 'lease expired', now() + interval '2 hours', null::text),
           ('dead', 'lease expired', now() + interval '2 hours', null::text),
           ('dead', 'lease expired', now() + interval '2 hours', null::text)$$,
  'an expired lease on the last attempt makes the job dead'
);
select is(public.job_complete((select id from t04_jobs where name = 'a'), 'worker-3',
                              p_now => now() + interval '2 hours'),
  null, 'the former owner cannot complete a dead job');

select throws_ok($$select public.job_claim('nope', 'worker-1')$$, '22023',
  'Unknown queue "nope"', 'claiming from an unknown queue is refused');
select throws_ok($$select public.job_claim('t04', '')$$, '22023',
  'p_worker must name the worker', 'a claim must name its worker');

select * from finish();
rollback;
