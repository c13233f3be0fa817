-- Job core: throttling never dead-letters.
--
-- A provider that answers "too many requests" (HTTP 429) asks us to wait; it says nothing about
-- the job. A worker reports such an outcome as {id, ok: false, throttled: true,
-- retry_after_seconds?, error}: the job goes back to retrying at now + retry_after_seconds (or
-- the backoff of its throttle count when absent) and the attempt the claim counted is given
-- back, so max_attempts only counts real failures. Throttling is bounded by time instead: from
-- the job's first throttled outcome (jobs.jobs.throttled_since), for the queue's throttle_limit
-- (default 24 hours, an invitation's lifetime). Past it, a throttled outcome counts as an
-- ordinary failed attempt (and can send the job to dead). Every throttled outcome is counted
-- (jobs.jobs.throttles) and shows in the audit like any retry, with an error starting
-- "Throttled".
--
-- Every earlier outcome shape keeps its meaning: {id, ok: true, result} and {id, ok: false,
-- error, permanent?, retry_after_seconds?}. A throttled outcome marked permanent is a permanent
-- failure.

-- =============================================================================================
-- Columns
-- =============================================================================================

alter table jobs.queues
  add column throttle_limit interval not null default '24 hours'
    check (throttle_limit >= interval '0');
comment on column jobs.queues.throttle_limit is
  'How long a job of this queue may be throttled (outcomes with throttled: true), from its first throttled outcome, without using up attempts. Past it, a throttled outcome counts as a failed attempt. 0: throttling always counts.';

alter table jobs.jobs
  add column throttles int not null default 0 check (throttles >= 0),
  add column throttled_since timestamptz;
comment on column jobs.jobs.throttles is
  'Throttled outcomes reported so far (the provider asked to wait): within the queue''s throttle_limit they do not count as attempts.';
comment on column jobs.jobs.throttled_since is
  'When the job was first throttled: the start of its throttle_limit. Null: never throttled.';

-- =============================================================================================
-- Report
-- =============================================================================================

-- The one report implementation behind job_report, job_complete and job_fail.
create or replace function jobs.report(p_worker text, p_outcomes jsonb, p_now timestamptz default now())
returns table (job_id bigint, state jobs.job_state)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  if coalesce(p_worker, '') = '' then
    raise exception using errcode = '22023', message = 'p_worker must name the worker';
  end if;
  if jsonb_typeof(p_outcomes) is distinct from 'array' or exists (
    select from jsonb_array_elements(p_outcomes) e
    where jsonb_typeof(e) <> 'object'
       or jsonb_typeof(e -> 'id') is distinct from 'number'
       or jsonb_typeof(e -> 'ok') is distinct from 'boolean'
  ) then
    raise exception using errcode = '22023',
      message = 'p_outcomes must be a JSON array of {"id": <job id>, "ok": true|false, ...} objects';
  end if;

  return query
  with o as (
    select x.id, x.ok, x.result, x.error, coalesce(x.permanent, false) as permanent,
           coalesce(x.throttled, false) and not x.ok as throttled, x.retry_after_seconds
    from jsonb_to_recordset(p_outcomes)
      as x(id bigint, ok boolean, result jsonb, error text, permanent boolean, throttled boolean,
           retry_after_seconds numeric)
  ),
  -- What each outcome does to its job: "paused" is a throttled outcome within the queue's
  -- throttle limit (the attempt is given back); "counted" is a failure that uses an attempt.
  d as (
    select o.*, j.id as job_id,
           o.throttled and not o.permanent
             and coalesce(j.throttled_since, p_now) + q.throttle_limit > p_now as paused,
           j.attempts, j.max_attempts, q.throttle_limit, q.backoff_base_seconds,
           q.backoff_cap_seconds
    from o
    join jobs.jobs j on j.id = o.id
    join jobs.queues q on q.name = j.queue
    -- lease_owner is set exactly while a job is running (constraint jobs_lease_iff_running):
    -- this reads "running under p_worker's lease" and keeps the planner on the primary key.
    where j.lease_owner = p_worker
  ),
  f as (
    select d.*, not d.ok and not d.paused
                and (d.permanent or d.attempts >= d.max_attempts) as final
    from d
  )
  update jobs.jobs j
  set state = case
                when f.ok then 'succeeded'
                when f.final then 'dead'
                else 'retrying'
              end::jobs.job_state,
      attempts = case when f.paused then greatest(j.attempts - 1, 0) else j.attempts end,
      throttles = j.throttles + case when f.throttled then 1 else 0 end,
      throttled_since = case when f.throttled then coalesce(j.throttled_since, p_now)
                             else j.throttled_since end,
      result = case when f.ok then f.result else j.result end,
      last_error = case
                     when f.ok then j.last_error
                     when f.paused then format('Throttled (%s since %s; the attempt is not counted): %s',
                                              j.throttles + 1,
                                              coalesce(j.throttled_since, p_now),
                                              coalesce(nullif(f.error, ''), 'no reason given'))
                     when f.throttled then format('Throttled past the queue''s limit of %s (counted as attempt %s of %s): %s',
                                                  f.throttle_limit, j.attempts, j.max_attempts,
                                                  coalesce(nullif(f.error, ''), 'no reason given'))
                     else coalesce(nullif(f.error, ''), 'unknown error')
                   end,
      run_at = case
                 when f.ok or f.final then j.run_at
                 else p_now + make_interval(secs => coalesce(
                   -- greatest() skips nulls: only clamp a retry-after that was given.
                   case when f.retry_after_seconds is not null
                        then greatest(f.retry_after_seconds, 0) end,
                   -- A throttled job backs off by its throttle count: its attempts stand still.
                   jobs.jittered(jobs.backoff_delay(
                     case when f.throttled then greatest(j.attempts, j.throttles + 1)
                          else j.attempts end,
                     f.backoff_base_seconds, f.backoff_cap_seconds))
                 )::double precision)
               end,
      finished_at = case when f.ok or f.final then p_now end,
      lease_expires_at = null,
      lease_owner = null,
      updated_at = p_now
  from f
  where j.id = f.job_id and j.lease_owner = p_worker
  returning j.id, j.state;
end
$$;
comment on function jobs.report(text, jsonb, timestamptz) is
  'Records the outcomes of jobs running under p_worker''s lease, in one statement: ok → succeeded (result stored); failure → retrying after exponential backoff with equal jitter (or retry_after_seconds when given), dead when permanent or attempts are exhausted; throttled (throttled: true) → retrying without using up the attempt, within the queue''s throttle_limit from the job''s first throttle, an ordinary failure past it. Other jobs are ignored and left out of the result.';

comment on function public.job_report(text, jsonb, timestamptz) is
  'Reports a batch of outcomes: [{"id": 1, "ok": true, "result": {...}}, {"id": 2, "ok": false, "error": "text", "permanent": false, "retry_after_seconds": 30}, {"id": 3, "ok": false, "throttled": true, "error": "429", "retry_after_seconds": 5}]. Failures retry with exponential backoff and jitter (retry_after_seconds overrides it) until max_attempts, then go dead; permanent ones go dead at once. Throttled ones retry without using up an attempt, for the queue''s throttle_limit from the first throttle; past it they count as failures. Returns the new state of each job updated; jobs not running under p_worker''s lease are ignored.';

-- =============================================================================================
-- Queue registry
-- =============================================================================================

-- create_queue takes the throttle limit: the old signature goes (a second one with a default
-- would make named calls ambiguous), every call that names its arguments keeps working.
drop function jobs.create_queue(text, text, int, int, numeric, numeric, int, text);

-- Registers (or updates) a queue and its safety-net drain; domain migrations call it.
create function jobs.create_queue(
  p_name text,
  p_function_name text,
  p_max_attempts int default 5,
  p_lease_seconds int default 60,
  p_backoff_base_seconds numeric default 10,
  p_backoff_cap_seconds numeric default 3600,
  p_batch_size int default 20,
  p_drain_schedule text default '* * * * *',
  p_throttle_limit interval default '24 hours'
)
returns jobs.queues
language plpgsql
set search_path = ''
as $$
declare
  v_queue jobs.queues;
  v_job_name text := 'jobs-drain-' || p_name;
begin
  insert into jobs.queues as q (name, function_name, max_attempts, lease_seconds,
                                backoff_base_seconds, backoff_cap_seconds, batch_size,
                                drain_schedule, throttle_limit)
  values (p_name, p_function_name, p_max_attempts, p_lease_seconds, p_backoff_base_seconds,
          p_backoff_cap_seconds, p_batch_size, p_drain_schedule, p_throttle_limit)
  on conflict (name) do update
    set function_name = excluded.function_name,
        max_attempts = excluded.max_attempts,
        lease_seconds = excluded.lease_seconds,
        backoff_base_seconds = excluded.backoff_base_seconds,
        backoff_cap_seconds = excluded.backoff_cap_seconds,
        batch_size = excluded.batch_size,
        drain_schedule = excluded.drain_schedule,
        throttle_limit = excluded.throttle_limit,
        updated_at = now()
  returning q.* into v_queue;

  if p_drain_schedule is not null then
    perform cron.schedule(v_job_name, p_drain_schedule, format('select jobs.drain(%L)', p_name));
  elsif exists (select from cron.job c where c.jobname = v_job_name and c.username = current_user) then
    perform cron.unschedule(v_job_name);
  end if;
  return v_queue;
end
$$;
comment on function jobs.create_queue(text, text, int, int, numeric, numeric, int, text, interval) is
  'Creates or updates a queue (p_throttle_limit: how long its jobs may be throttled without using up attempts) and schedules its pg_cron job jobs-drain-<name> (select jobs.drain(<name>)) on p_drain_schedule; a null schedule removes it. Called by the domain migrations, one per business domain.';
revoke all on function jobs.create_queue(text, text, int, int, numeric, numeric, int, text, interval)
  from public, anon, authenticated;
