-- Throttling never dead-letters: a throttled outcome ({ok: false, throttled: true}) puts the job
-- back to retrying without using up its attempt, at retry_after_seconds (or a backoff), for the
-- queue's throttle_limit from the first throttle; past it, throttling counts like any failure.
-- Every throttle shows in the audit and in the throttle counter; the older outcome shapes keep
-- their meaning.
begin;
select plan(18);

select jobs.create_queue('t13', 'fn-t13', p_max_attempts => 3, p_backoff_base_seconds => 10,
                         p_backoff_cap_seconds => 100, p_throttle_limit => '1 hour');
create temp table t13_job as
  select id from public.job_enqueue('t13', '{}', 'thing:13', p_now => tests.frozen_now());

-- Claims the job at its run_at and reports one outcome for it; returns the new state.
create function pg_temp.t13_round(p_outcome jsonb) returns text
language plpgsql as $$
declare
  v_job jobs.jobs;
  v_state text;
begin
  select * into v_job from jobs.jobs where id = (select id from t13_job);
  perform public.job_claim('t13', 'worker-13', 1, p_now => v_job.run_at);
  select r.state::text into v_state
  from public.job_report('worker-13', jsonb_build_array(p_outcome || jsonb_build_object('id', v_job.id)),
                         v_job.run_at) r;
  return v_state;
end
$$;

-- 20 throttled outcomes, 2 minutes apart (the provider's retry-after): within the hour.
create temp table t13_states as
  select i, pg_temp.t13_round(jsonb_build_object('ok', false, 'throttled', true,
                                                 'retry_after_seconds', 120,
                                                 'error', 'Resend answered 429')) as state
  from generate_series(1, 20) i;

select is((select count(*)::int from t13_states where state = 'retrying'), 20,
  'a job throttled 20 times with max_attempts 3 is retrying after each throttle');
select is((select state::text from jobs.jobs where id = (select id from t13_job)), 'retrying',
  'the job is still retrying, not dead');
select is((select attempts from jobs.jobs where id = (select id from t13_job)), 0,
  'no throttle used up an attempt (each claim''s attempt was given back)');
select is((select throttles from jobs.jobs where id = (select id from t13_job)), 20,
  'the throttle counter counts the 20 throttles');
select is((select throttled_since from jobs.jobs where id = (select id from t13_job)),
  tests.frozen_now(), 'throttled_since is the first throttle');
select is((select run_at from jobs.jobs where id = (select id from t13_job)),
  tests.frozen_now() + interval '40 minutes',
  'each throttle waits the provider''s retry-after (20 × 2 minutes)');
select matches((select last_error from jobs.jobs where id = (select id from t13_job)),
  '^Throttled \(20 since .*the attempt is not counted\): Resend answered 429$',
  'the last error says the job is throttled, how often, and the provider''s answer');

-- The audit: one running → retrying event per throttle, with the throttle's error.
select is(
  (select count(*)::int from jobs.job_events e
   where e.job_id = (select id from t13_job) and e.from_state = 'running'
     and e.to_state = 'retrying' and e.error like 'Throttled (%'),
  20, 'the audit has one retrying event per throttle, with its error');
select is(
  (select count(*)::int from jobs.job_events e
   where e.job_id = (select id from t13_job) and e.to_state = 'running'),
  20, 'and one claim event per attempt made');

-- Without retry_after_seconds, a throttle backs off by its throttle count (capped at 100 s).
select is(pg_temp.t13_round('{"ok": false, "throttled": true, "error": "429"}'), 'retrying',
  'a throttle without retry-after retries too');
select ok(
  (select j.run_at - e.created_at between interval '50 seconds' and interval '100 seconds'
   from jobs.jobs j
   join lateral (select max(created_at) as created_at from jobs.job_events
                 where job_id = j.id) e on true
   where j.id = (select id from t13_job)),
  'without retry-after it waits the backoff of its throttle count (the cap, jittered)');

-- Past the hour since the first throttle, a throttle counts as a failed attempt.
update jobs.jobs set run_at = tests.frozen_now() + interval '61 minutes'
where id = (select id from t13_job);
select is(pg_temp.t13_round('{"ok": false, "throttled": true, "error": "429"}'), 'retrying',
  'past the throttle limit, a throttle is a failed attempt (first of three)');
select is((select attempts from jobs.jobs where id = (select id from t13_job)), 1,
  'the attempt is counted');
select matches((select last_error from jobs.jobs where id = (select id from t13_job)),
  '^Throttled past the queue''s limit of 01:00:00 \(counted as attempt 1 of 3\): 429$',
  'the error says the throttle was counted');
select is(pg_temp.t13_round('{"ok": false, "throttled": true, "error": "429"}'), 'retrying',
  'second counted throttle');
select is(pg_temp.t13_round('{"ok": false, "throttled": true, "error": "429"}'), 'dead',
  'the third counted throttle exhausts the attempts: dead');

-- The older shapes: a throttled outcome marked permanent is permanent; success still succeeds.
create temp table t13_other as
  select id from public.job_enqueue('t13', '{}', 'thing:13b', p_now => tests.frozen_now());
select public.job_claim('t13', 'worker-13', 1, p_now => tests.frozen_now());
select is(
  (select r.state::text from public.job_report('worker-13', jsonb_build_array(jsonb_build_object(
     'id', (select id from t13_other), 'ok', false, 'throttled', true, 'permanent', true,
     'error', 'refused')), tests.frozen_now()) r),
  'dead', 'a throttled outcome marked permanent goes dead at once');

select jobs.create_queue('t13z', 'fn-t13z', p_max_attempts => 1, p_throttle_limit => '0');
create temp table t13_zero as
  select id from public.job_enqueue('t13z', '{}', 'thing:13z', p_now => tests.frozen_now());
select public.job_claim('t13z', 'worker-13', 1, p_now => tests.frozen_now());
select is(
  (select r.state::text from public.job_report('worker-13', jsonb_build_array(jsonb_build_object(
     'id', (select id from t13_zero), 'ok', false, 'throttled', true, 'error', '429')),
     tests.frozen_now()) r),
  'dead', 'with a throttle limit of 0, throttling always counts (the only attempt: dead)');

select * from finish();
rollback;
