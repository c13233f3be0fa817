-- The audit trail: one event per state change, with the attempt, the error, the worker and the
-- duration (wait time when the job starts running, run time when it finishes), on every path:
-- enqueue, claim, fail, complete, lease expiry, cancel, retry, even a direct UPDATE. A frozen
-- clock (p_now) makes every duration exact.
begin;
select plan(9);

select jobs.create_queue('t08', 'fn-t08', p_max_attempts => 2, p_lease_seconds => 60);
create function pg_temp.at(p_seconds int) returns timestamptz
language sql immutable as $$
  select '2030-01-01 00:00:00+00'::timestamptz + make_interval(secs => p_seconds)
$$;

-- Job 1: enqueued, waits, fails, retries, succeeds.
create temp table t08_one as
select id from public.job_enqueue('t08', '{"n": 1}', 'appointment:1', p_run_at => pg_temp.at(10),
                                  p_now => pg_temp.at(0));
select public.job_claim('t08', 'worker-1', 1, p_now => pg_temp.at(25));
select public.job_fail((select id from t08_one), 'worker-1', 'timeout', p_retry_after_seconds => 60,
                       p_now => pg_temp.at(27));
select public.job_claim('t08', 'worker-2', 1, p_now => pg_temp.at(90));
select public.job_extend_lease('worker-2', array(select id from t08_one), 120, pg_temp.at(92));
select public.job_complete((select id from t08_one), 'worker-2', '{"ok": 1}', pg_temp.at(95));

select results_eq(
  $$select queue, subject, attempt, from_state::text, to_state::text, error, duration, worker, created_at
    from jobs.job_events where job_id = (select id from t08_one) order by id$$,
  $$values
    ('t08', 'appointment:1', 0, null, 'waiting', null, null, null, pg_temp.at(0)),
    ('t08', 'appointment:1', 1, 'waiting', 'running', null, interval '15 seconds', 'worker-1', pg_temp.at(25)),
    ('t08', 'appointment:1', 1, 'running', 'retrying', 'timeout', interval '2 seconds', 'worker-1', pg_temp.at(27)),
    ('t08', 'appointment:1', 2, 'retrying', 'running', null, interval '3 seconds', 'worker-2', pg_temp.at(90)),
    ('t08', 'appointment:1', 2, 'running', 'succeeded', null, interval '5 seconds', 'worker-2', pg_temp.at(95))$$,
  'enqueue, claim, failure, second claim and success each write one event; extending a lease writes none'
);

-- Job 2: its workers die; the lease expires twice, the second time on the last attempt.
create temp table t08_two as
select id from public.job_enqueue('t08', '{"n": 2}', 'appointment:2', p_now => pg_temp.at(100));
select public.job_claim('t08', 'worker-1', 1, p_now => pg_temp.at(100));
select public.job_claim('t08', 'worker-2', 1, p_now => pg_temp.at(161));
select public.job_claim('t08', 'worker-3', 1, p_now => pg_temp.at(300));

select results_eq(
  $$select attempt, from_state::text, to_state::text, error, duration, worker, created_at
    from jobs.job_events where job_id = (select id from t08_two) order by id$$,
  $$values
    (0, null, 'waiting', null, null, null, pg_temp.at(100)),
    (1, 'waiting', 'running', null, interval '0', 'worker-1', pg_temp.at(100)),
    (1, 'running', 'retrying', 'lease expired', interval '61 seconds', 'worker-1', pg_temp.at(161)),
    (2, 'retrying', 'running', null, interval '1 second', 'worker-2', pg_temp.at(161)),
    (2, 'running', 'dead', 'lease expired', interval '139 seconds', 'worker-2', pg_temp.at(300))$$,
  'an expired lease is audited as a failed attempt of the worker that held it, then as dead'
);

-- Operator actions are audited too.
select public.job_retry((select id from t08_two), pg_temp.at(400));
select public.job_cancel((select id from t08_two), 'duplicate booking', pg_temp.at(410));
select results_eq(
  $$select attempt, from_state::text, to_state::text, error, duration, worker, created_at
    from jobs.job_events where job_id = (select id from t08_two) and created_at >= pg_temp.at(400)
    order by id$$,
  $$values
    (0, 'dead', 'waiting', null, null::interval, null, pg_temp.at(400)),
    (0, 'waiting', 'cancelled', 'duplicate booking', null, null, pg_temp.at(410))$$,
  'retry and cancel write their events'
);

-- A running job cancelled by an operator: the run time and the worker are recorded.
create temp table t08_three as
select id from public.job_enqueue('t08', '{"n": 3}', p_now => pg_temp.at(500));
select public.job_claim('t08', 'worker-4', 1, p_now => pg_temp.at(500));
select public.job_cancel((select id from t08_three), null, pg_temp.at(530));
select results_eq(
  $$select from_state::text, to_state::text, error, duration, worker
    from jobs.job_events where job_id = (select id from t08_three) order by id desc limit 1$$,
  $$values ('running', 'cancelled', 'cancelled', interval '30 seconds', 'worker-4')$$,
  'cancelling a running job records its run time and worker'
);

-- Batches: one event per job, from one statement.
create temp table t08_batch as
select id from public.job_enqueue_many('t08',
  '[{"subject": "b:1"}, {"subject": "b:2"}, {"subject": "b:3"}]', pg_temp.at(600)) id;
select is(
  (select count(*)::int from jobs.job_events e join t08_batch b on b.id = e.job_id
   where e.to_state = 'waiting'),
  3, 'a batch enqueue writes one event per job');
select is((select count(*)::int from public.job_claim('t08', 'worker-5', 10, p_now => pg_temp.at(610))),
  3, 'three jobs claimed at once');
select is(
  (select count(*)::int from jobs.job_events e join t08_batch b on b.id = e.job_id
   where e.to_state = 'running' and e.duration = interval '10 seconds' and e.worker = 'worker-5'),
  3, 'a batch claim writes one event per job');

-- No path skips the audit: a direct update by the owner is recorded; one that keeps the state
-- is not.
update jobs.jobs set priority = 7 where id in (select id from t08_batch);
select is(
  (select count(*)::int from jobs.job_events e join t08_batch b on b.id = e.job_id),
  6, 'an update that keeps the state writes no event');
update jobs.jobs set state = 'cancelled', lease_owner = null, lease_expires_at = null,
                     last_error = 'by hand', updated_at = pg_temp.at(700)
where id in (select id from t08_batch);
select is(
  (select count(*)::int from jobs.job_events e join t08_batch b on b.id = e.job_id
   where e.from_state = 'running' and e.to_state = 'cancelled' and e.error = 'by hand'
     and e.duration = interval '90 seconds' and e.worker = 'worker-5'),
  3, 'a direct state change is audited like any other');

select * from finish();
rollback;
