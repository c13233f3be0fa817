-- Job core: the durable outbox every business flow runs on.
--
-- Domain triggers call `jobs.enqueue(...)` in their own transaction (a rollback leaves nothing,
-- a commit leaves a job that will run). After the commit, pg_net wakes the edge function that
-- drains the queue (one request per queue per transaction); pg_cron drains whatever no wake-up
-- reached. Workers claim batches with a lease (`public.job_claim`), act, and report the outcome
-- of the whole batch in one call (`public.job_report`). Every state change writes one row to
-- `jobs.job_events`, from a statement-level trigger, so no path can skip the audit.
--
-- States: waiting (runnable at run_at) → running (leased) → succeeded | retrying (failed, runs
-- again at run_at) | dead (permanent failure, attempts exhausted) | cancelled. An expired lease
-- counts as a failed attempt: the next claim on the queue takes it back.
--
-- Priority: a lower number runs first (as in graphile-worker and River); default 0.
--
-- Needs pg_cron and pg_net (hosted Supabase has both; the local platform provides pg_cron and a
-- stand-in `net` schema) and two Vault secrets for wake-ups: `project_url` and `cron_secret`.

-- =============================================================================================
-- Prerequisites
-- =============================================================================================

do $$
begin
  if to_regnamespace('cron') is null then
    if not exists (select from pg_available_extensions where name = 'pg_cron') then
      raise exception 'The job core needs pg_cron: enable it (Database > Extensions) or install postgresql-15-cron';
    end if;
    create extension if not exists pg_cron with schema pg_catalog;
  end if;
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    if not exists (select from pg_available_extensions where name = 'pg_net') then
      raise exception 'The job core needs pg_net (net.http_post): enable it (Database > Extensions) or apply the local stand-in';
    end if;
    -- Where Supabase installs it (the linter flags extensions in public); its functions live in
    -- the schema net wherever the extension is recorded.
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;

create schema if not exists jobs;
comment on schema jobs is
  'Job core: queues, jobs, their audit trail and the helpers behind the public job_* functions. Not exposed by the API.';

-- Functions created here later (by domain migrations too) are not executable by PUBLIC.
revoke all on schema jobs from public;
alter default privileges in schema jobs revoke execute on functions from public;

-- =============================================================================================
-- Types
-- =============================================================================================

create type jobs.job_state as enum ('waiting', 'running', 'succeeded', 'retrying', 'dead', 'cancelled');
comment on type jobs.job_state is
  'waiting: runnable from run_at. running: leased by a worker until lease_expires_at. succeeded: done. retrying: an attempt failed (or its lease expired), runs again from run_at. dead: permanent failure or attempts exhausted; retry with public.job_retry. cancelled: stopped by an operator.';

-- =============================================================================================
-- Tables
-- =============================================================================================

-- Single-row settings of the job core, edited by an operator (rule "settings are data").
create table jobs.settings (
  id boolean primary key default true check (id),
  finished_job_retention interval not null default '7 days'
    check (finished_job_retention >= interval '0'),
  dead_job_retention interval not null default '30 days'
    check (dead_job_retention >= interval '0'),
  event_retention interval not null default '30 days'
    check (event_retention >= interval '0'),
  updated_at timestamptz not null default now()
);
alter table jobs.settings enable row level security;
comment on table jobs.settings is
  'Job core settings, one row. jobs.prune() (cron job jobs-retention) deletes succeeded and cancelled jobs older than finished_job_retention, dead jobs older than dead_job_retention and audit events older than event_retention.';
insert into jobs.settings default values;

-- The queue registry: one row per queue, created by jobs.create_queue() in domain migrations.
create table jobs.queues (
  name text primary key check (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  function_name text check (function_name ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$'),
  max_attempts int not null default 5 check (max_attempts between 1 and 1000),
  lease_seconds int not null default 60 check (lease_seconds between 1 and 86400),
  backoff_base_seconds numeric not null default 10 check (backoff_base_seconds > 0),
  backoff_cap_seconds numeric not null default 3600 check (backoff_cap_seconds >= backoff_base_seconds),
  batch_size int not null default 20 check (batch_size between 1 and 10000),
  drain_schedule text default '* * * * *',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table jobs.queues enable row level security;
comment on table jobs.queues is
  'Queue registry. function_name is the edge function woken to drain the queue (/functions/v1/<function_name>; null: drained by a worker of its own, never woken); max_attempts, lease_seconds, backoff and batch_size are the per-queue defaults; drain_schedule is the pg_cron schedule of the safety-net job jobs-drain-<name> (null: none). Create and change rows with jobs.create_queue().';

-- The jobs. Hot table: only three partial indexes besides the primary key.
create table jobs.jobs (
  id bigint generated always as identity primary key,
  queue text not null references jobs.queues (name) on update cascade on delete restrict,
  subject text,
  payload jsonb not null default '{}',
  state jobs.job_state not null default 'waiting',
  priority int not null default 0,
  run_at timestamptz not null default now(),
  attempts int not null default 0 check (attempts >= 0),
  max_attempts int not null check (max_attempts >= 1),
  lease_expires_at timestamptz,
  lease_owner text,
  dedupe_key text,
  last_error text,
  result jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  constraint jobs_lease_iff_running check (
    (state = 'running') = (lease_expires_at is not null and lease_owner is not null)
  )
);
alter table jobs.jobs enable row level security;
comment on table jobs.jobs is
  'Durable jobs. Write through the job functions only (jobs.enqueue, public.job_claim, public.job_report, ...): they keep the lease columns, attempts and the audit consistent.';
comment on column jobs.jobs.subject is
  'What the job is about, e.g. ''appointment:42''. Copied into every audit event; the base of the idempotency keys sent to the outside world.';
comment on column jobs.jobs.priority is 'Lower runs first; default 0.';
comment on column jobs.jobs.run_at is
  'Earliest time the job may be claimed (waiting, retrying). For a retrying job: when the backoff ends.';
comment on column jobs.jobs.attempts is 'Attempts started so far (incremented by each claim).';
comment on column jobs.jobs.lease_expires_at is
  'Set while running: after this time the next claim on the queue takes the job back.';
comment on column jobs.jobs.lease_owner is 'Set while running: the worker holding the lease.';
comment on column jobs.jobs.dedupe_key is
  'At most one unfinished (waiting, running, retrying) job per key and queue; enqueueing a taken key returns the existing job.';
comment on column jobs.jobs.started_at is 'When the current (or last) attempt started.';
comment on column jobs.jobs.finished_at is 'When the job reached succeeded, dead or cancelled.';

-- Audit trail: one row per state change of a job, written by triggers on jobs.jobs. Kept after
-- the job is pruned (no foreign key), for event_retention.
create table jobs.job_events (
  id bigint generated always as identity primary key,
  job_id bigint not null,
  queue text not null,
  subject text,
  attempt int not null,
  from_state jobs.job_state,
  to_state jobs.job_state not null,
  error text,
  duration interval,
  worker text,
  created_at timestamptz not null default now()
);
alter table jobs.job_events enable row level security;
comment on table jobs.job_events is
  'Audit trail of jobs: one row per state change (from_state null: enqueued). duration is the wait time (from run_at or enqueue to the claim) when to_state is running, the run time (claim to outcome) when from_state is running. worker is the lease owner involved. created_at follows the clock of the call (p_now).';

-- =============================================================================================
-- Indexes
-- =============================================================================================

-- What a claim reads: claimable jobs of a queue in claim order.
create index jobs_claimable_idx on jobs.jobs (queue, priority, run_at)
  where state in ('waiting', 'retrying');
-- Running jobs by lease deadline: the expired-lease reclaim and the health view.
create index jobs_running_lease_idx on jobs.jobs (queue, lease_expires_at)
  where state = 'running';
-- At most one unfinished job per dedupe key and queue.
create unique index jobs_dedupe_key_idx on jobs.jobs (queue, dedupe_key)
  where dedupe_key is not null and state in ('waiting', 'running', 'retrying');

create index job_events_job_id_idx on jobs.job_events (job_id);
create index job_events_subject_idx on jobs.job_events (subject) where subject is not null;
-- Append-only and in time order: a BRIN index serves the "last hour" views and the retention.
create index job_events_created_at_idx on jobs.job_events using brin (created_at);

-- =============================================================================================
-- Triggers
-- =============================================================================================

-- Audit of enqueues: one set-based insert per statement (null → waiting).
create function jobs.record_insert_events()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into jobs.job_events (job_id, queue, subject, attempt, from_state, to_state, created_at)
  select n.id, n.queue, n.subject, n.attempts, null, n.state, n.created_at
  from new_jobs n;
  return null;
end
$$;
comment on function jobs.record_insert_events() is
  'Trigger (after insert, per statement): writes the enqueue event of every inserted job.';

-- Audit of transitions: one set-based insert per statement, from the transition tables.
create function jobs.record_update_events()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into jobs.job_events
    (job_id, queue, subject, attempt, from_state, to_state, error, duration, worker, created_at)
  select n.id, n.queue, n.subject, n.attempts, o.state, n.state,
         case when n.state in ('retrying', 'dead', 'cancelled') then n.last_error end,
         case
           when n.state = 'running' then n.started_at - greatest(o.run_at, o.created_at)
           when o.state = 'running' then n.updated_at - o.started_at
         end,
         coalesce(n.lease_owner, o.lease_owner),
         n.updated_at
  from new_jobs n
  join old_jobs o on o.id = n.id
  where n.state is distinct from o.state;
  return null;
end
$$;
comment on function jobs.record_update_events() is
  'Trigger (after update, per statement): writes one event per job whose state changed, with the attempt, the error, the worker and the wait or run time.';

create trigger jobs_audit_insert
  after insert on jobs.jobs
  referencing new table as new_jobs
  for each statement execute function jobs.record_insert_events();

create trigger jobs_audit_update
  after update on jobs.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function jobs.record_update_events();

-- =============================================================================================
-- Helper functions (schema jobs: not callable through the API)
-- =============================================================================================

-- Exponential backoff without jitter: base * 2^(attempt - 1), capped.
create function jobs.backoff_delay(p_attempt int, p_base_seconds numeric, p_cap_seconds numeric)
returns numeric
language sql
immutable
parallel safe
set search_path = ''
as $$
  select least(
    p_cap_seconds,
    p_base_seconds * power(2::numeric, least(greatest(p_attempt - 1, 0), 60))
  )
$$;
comment on function jobs.backoff_delay(int, numeric, numeric) is
  'Backoff before the next attempt after attempt p_attempt failed, in seconds, without jitter: least(cap, base * 2^(attempt - 1)). jobs.jittered() spreads it.';

-- "Equal jitter": half the delay is fixed, half random, so retries of a burst spread out.
create function jobs.jittered(p_delay_seconds numeric)
returns numeric
language sql
volatile
parallel safe
set search_path = ''
as $$
  select p_delay_seconds / 2 + (random()::numeric * p_delay_seconds / 2)
$$;
comment on function jobs.jittered(numeric) is
  'Equal jitter: delay/2 + random()*delay/2, i.e. a value in [delay/2, delay].';

-- Sends one wake-up to the queue's edge function through pg_net (sent after commit).
create function jobs.wake(p_queue text, p_reason text default 'manual')
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_function text;
  v_url text;
  v_secret text;
  v_missing text[];
begin
  select q.function_name into v_function from jobs.queues q where q.name = p_queue;
  if not found then
    raise exception using errcode = '22023', message = format('Unknown queue "%s"', p_queue);
  end if;
  if v_function is null then
    return null; -- drained by a worker of its own (benchmarks, in-process tests): nobody to wake
  end if;

  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = 'cron_secret')
    into v_url, v_secret
  from vault.decrypted_secrets s
  where s.name in ('project_url', 'cron_secret');

  if coalesce(v_url, '') = '' then v_missing := v_missing || 'project_url'::text; end if;
  if coalesce(v_secret, '') = '' then v_missing := v_missing || 'cron_secret'::text; end if;
  if v_missing is not null then
    raise warning '%', format(
      'Queue "%s" not woken: Vault %s missing (the job stands; store it with vault.create_secret())',
      p_queue,
      case when cardinality(v_missing) = 1 then format('secret "%s" is', v_missing[1])
           else 'secrets "project_url" and "cron_secret" are' end);
    return null;
  end if;

  begin
    return net.http_post(
      url := rtrim(v_url, '/') || '/functions/v1/' || v_function,
      body := jsonb_build_object('queue', p_queue, 'reason', p_reason),
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || v_secret
      )
    );
  exception when others then
    -- A lost wake-up costs latency, never a job: the cron drain catches up.
    raise warning 'Queue "%" not woken: %', p_queue, sqlerrm;
    return null;
  end;
end
$$;
comment on function jobs.wake(text, text) is
  'Queues one pg_net POST {"queue", "reason"} to <project_url>/functions/v1/<function_name> with Authorization: Bearer <cron_secret> (both from Vault); pg_net sends it after commit. Returns the request id, or null with a WARNING when a secret is missing or pg_net refused.';

-- At most one wake-up per queue per transaction: a transaction-local setting lists the queues
-- already woken. It is rolled back with a savepoint, exactly like the pg_net request.
create function jobs.wake_once(p_queue text, p_reason text)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_woken text := coalesce(current_setting('jobs.woken_queues', true), '');
begin
  if position(',' || p_queue || ',' in v_woken) > 0 then
    return null;
  end if;
  perform set_config('jobs.woken_queues', coalesce(nullif(v_woken, ''), ',') || p_queue || ',', true);
  return jobs.wake(p_queue, p_reason);
end
$$;
comment on function jobs.wake_once(text, text) is
  'Calls jobs.wake() unless this transaction already woke the queue (transaction-local setting jobs.woken_queues). Returns the request id or null.';

-- The one enqueue implementation: set-based, dedupe-aware, one wake-up.
create function jobs.enqueue_many(
  p_queue text,
  p_jobs jsonb,
  p_now timestamptz default now(),
  p_reason text default 'enqueue'
)
returns setof bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_queue jobs.queues;
  v_ids bigint[];
  v_keys text[];
  v_runnable boolean;
begin
  select * into v_queue from jobs.queues q where q.name = p_queue;
  if not found then
    raise exception using errcode = '22023', message = format('Unknown queue "%s"', p_queue);
  end if;
  if jsonb_typeof(p_jobs) is distinct from 'array'
     or exists (select from jsonb_array_elements(p_jobs) e where jsonb_typeof(e) <> 'object') then
    raise exception using errcode = '22023',
      message = 'p_jobs must be a JSON array of objects {payload, subject, dedupe_key, priority, run_at, max_attempts}';
  end if;

  -- Ids are taken up front so each input row maps to its job, inserted or not.
  with input as (
    select x.ord, nextval('jobs.jobs_id_seq') as id,
           coalesce(x.payload, '{}'::jsonb) as payload, x.subject, x.dedupe_key,
           coalesce(x.priority, 0) as priority, coalesce(x.run_at, p_now) as run_at,
           coalesce(x.max_attempts, v_queue.max_attempts) as max_attempts
    from rows from (
      jsonb_to_recordset(p_jobs)
        as (payload jsonb, subject text, dedupe_key text, priority int, run_at timestamptz,
            max_attempts int)
    ) with ordinality as x(payload, subject, dedupe_key, priority, run_at, max_attempts, ord)
  ),
  inserted as (
    insert into jobs.jobs
      (id, queue, subject, payload, priority, run_at, max_attempts, dedupe_key, created_at, updated_at)
    overriding system value
    select i.id, p_queue, i.subject, i.payload, i.priority, i.run_at, i.max_attempts,
           i.dedupe_key, p_now, p_now
    from input i
    order by i.ord
    on conflict (queue, dedupe_key)
      where dedupe_key is not null and state in ('waiting', 'running', 'retrying')
      do nothing
    returning id, run_at
  )
  select array_agg(ins.id order by i.ord), array_agg(i.dedupe_key order by i.ord),
         coalesce(bool_or(ins.run_at <= p_now), false)
    into v_ids, v_keys, v_runnable
  from input i
  left join inserted ins on ins.id = i.id;

  if v_ids is null then
    return;
  end if;

  -- Rows that met a taken dedupe key answer with the job holding it (a fresh snapshot sees
  -- jobs committed meanwhile, and the ones inserted above).
  if array_position(v_ids, null) is not null then
    select array_agg(
             coalesce(v_ids[k], (select j.id from jobs.jobs j
                                 where j.queue = p_queue and j.dedupe_key = v_keys[k]
                                   and j.state in ('waiting', 'running', 'retrying')))
             order by k)
      into v_ids
    from generate_subscripts(v_ids, 1) k;
    if array_position(v_ids, null) is not null then
      raise exception using errcode = '40001',
        message = 'A job holding one of these dedupe keys finished while enqueueing: retry';
    end if;
  end if;

  if v_runnable then
    perform jobs.wake_once(p_queue, p_reason);
  end if;
  return query select unnest(v_ids);
end
$$;
comment on function jobs.enqueue_many(text, jsonb, timestamptz, text) is
  'Enqueues p_jobs (array of {payload, subject, dedupe_key, priority, run_at, max_attempts}) in one statement; returns one job id per element, in order (the existing job''s id when its dedupe key is taken). Wakes the queue once when a new job is runnable now.';

-- The enqueue domain triggers call in their own transaction (outbox).
create function jobs.enqueue(
  p_queue text,
  p_payload jsonb default '{}',
  p_subject text default null,
  p_dedupe_key text default null,
  p_priority int default 0,
  p_run_at timestamptz default null,
  p_max_attempts int default null,
  p_now timestamptz default now()
)
returns jobs.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_job jobs.jobs;
begin
  v_id := jobs.enqueue_many(
    p_queue,
    jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
      'subject', p_subject, 'dedupe_key', p_dedupe_key, 'priority', p_priority,
      'run_at', p_run_at, 'max_attempts', p_max_attempts
    )) || jsonb_build_object('payload', coalesce(p_payload, '{}'::jsonb))),
    p_now
  );
  -- A statement of its own: its snapshot sees the row just inserted.
  select * into v_job from jobs.jobs j where j.id = v_id;
  return v_job;
end
$$;
comment on function jobs.enqueue(text, jsonb, text, text, int, timestamptz, int, timestamptz) is
  'Enqueues one job and returns it (the existing unfinished job when p_dedupe_key is taken in the queue). run_at defaults to p_now, max_attempts to the queue''s. Call it from domain triggers: the job commits or rolls back with the change that caused it. Wakes the queue after commit, once per transaction.';

-- Takes back the expired leases of a queue: a cheap probe of the running-lease index first.
create function jobs.reclaim_expired(p_queue text, p_now timestamptz default now())
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count int;
begin
  if not exists (
    select from jobs.jobs j
    where j.queue = p_queue and j.state = 'running' and j.lease_expires_at <= p_now
  ) then
    return 0;
  end if;
  update jobs.jobs j
  set state = case when j.attempts >= j.max_attempts then 'dead' else 'retrying' end::jobs.job_state,
      run_at = case when j.attempts >= j.max_attempts then j.run_at else j.lease_expires_at end,
      finished_at = case when j.attempts >= j.max_attempts then p_now end,
      last_error = 'lease expired',
      lease_expires_at = null,
      lease_owner = null,
      updated_at = p_now
  where j.id in (
    select e.id from jobs.jobs e
    where e.queue = p_queue and e.state = 'running' and e.lease_expires_at <= p_now
    for update skip locked
  );
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function jobs.reclaim_expired(text, timestamptz) is
  'Jobs of p_queue whose lease expired at p_now: retrying (claimable at once) with attempts left, dead otherwise; error ''lease expired''. Called by every claim, so a dead worker''s jobs come back without anyone''s help. Returns the number of jobs taken back.';

-- The one way operator actions take a job: locked for the rest of the transaction, or an error.
create function jobs.lock_job(p_job_id bigint)
returns jobs.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job jobs.jobs;
begin
  select * into v_job from jobs.jobs j where j.id = p_job_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('Job %s does not exist', p_job_id);
  end if;
  return v_job;
end
$$;
comment on function jobs.lock_job(bigint) is
  'Locks job p_job_id (FOR UPDATE) and returns it; raises P0002 when it does not exist. Used by job_retry and job_cancel.';

-- The one report implementation behind job_report, job_complete and job_fail.
create function jobs.report(p_worker text, p_outcomes jsonb, p_now timestamptz default now())
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
           x.retry_after_seconds
    from jsonb_to_recordset(p_outcomes)
      as x(id bigint, ok boolean, result jsonb, error text, permanent boolean,
           retry_after_seconds numeric)
  )
  update jobs.jobs j
  set state = case
                when o.ok then 'succeeded'
                when o.permanent or j.attempts >= j.max_attempts then 'dead'
                else 'retrying'
              end::jobs.job_state,
      result = case when o.ok then o.result else j.result end,
      last_error = case when o.ok then j.last_error else coalesce(nullif(o.error, ''), 'unknown error') end,
      run_at = case
                 when o.ok or o.permanent or j.attempts >= j.max_attempts then j.run_at
                 else p_now + make_interval(secs => coalesce(
                   -- greatest() skips nulls: only clamp a retry-after that was given.
                   case when o.retry_after_seconds is not null
                        then greatest(o.retry_after_seconds, 0) end,
                   (select jobs.jittered(jobs.backoff_delay(j.attempts, q.backoff_base_seconds,
                                                             q.backoff_cap_seconds))
                    from jobs.queues q where q.name = j.queue)
                 )::double precision)
               end,
      finished_at = case when o.ok or o.permanent or j.attempts >= j.max_attempts then p_now end,
      lease_expires_at = null,
      lease_owner = null,
      updated_at = p_now
  from o
  -- lease_owner is set exactly while a job is running (constraint jobs_lease_iff_running), so
  -- this reads "running under p_worker's lease". Not naming the state keeps the planner off the
  -- partial running-lease index: before the first ANALYZE it would drive the join from there and
  -- rescan the outcomes once per job (quadratic in the batch); the primary key is the only path.
  where j.id = o.id and j.lease_owner = p_worker
  returning j.id, j.state;
end
$$;
comment on function jobs.report(text, jsonb, timestamptz) is
  'Records the outcomes of jobs running under p_worker''s lease, in one statement: ok → succeeded (result stored); failure → retrying after exponential backoff with equal jitter (or retry_after_seconds when given), dead when permanent or attempts are exhausted. Other jobs are ignored and left out of the result.';

-- Safety-net drain, run by the pg_cron job jobs-drain-<queue>.
create function jobs.drain(p_queue text, p_now timestamptz default now())
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (
       select from jobs.jobs j
       where j.queue = p_queue and j.state in ('waiting', 'retrying') and j.run_at <= p_now
     )
     or exists (
       select from jobs.jobs j
       where j.queue = p_queue and j.state = 'running' and j.lease_expires_at <= p_now
     ) then
    return jobs.wake(p_queue, 'cron');
  end if;
  return null;
end
$$;
comment on function jobs.drain(text, timestamptz) is
  'Called by the pg_cron job jobs-drain-<queue>: wakes the queue''s function (reason ''cron'') only when a job is claimable or a lease expired (two index probes). Returns the pg_net request id or null.';

-- Retention, run daily by the pg_cron job jobs-retention.
create function jobs.prune(p_now timestamptz default now())
returns table (jobs_deleted bigint, events_deleted bigint)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings jobs.settings;
  v_jobs bigint;
  v_events bigint;
begin
  select * into v_settings from jobs.settings where id;
  delete from jobs.jobs j
  where (j.state in ('succeeded', 'cancelled')
         and j.finished_at < p_now - v_settings.finished_job_retention)
     or (j.state = 'dead' and j.finished_at < p_now - v_settings.dead_job_retention);
  get diagnostics v_jobs = row_count;
  delete from jobs.job_events e where e.created_at < p_now - v_settings.event_retention;
  get diagnostics v_events = row_count;
  return query select v_jobs, v_events;
end
$$;
comment on function jobs.prune(timestamptz) is
  'Deletes finished jobs and audit events past the retention periods of jobs.settings. Run daily by the pg_cron job jobs-retention.';

-- Registers (or updates) a queue and its safety-net drain; domain migrations call it.
create function jobs.create_queue(
  p_name text,
  p_function_name text,
  p_max_attempts int default 5,
  p_lease_seconds int default 60,
  p_backoff_base_seconds numeric default 10,
  p_backoff_cap_seconds numeric default 3600,
  p_batch_size int default 20,
  p_drain_schedule text default '* * * * *'
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
                                drain_schedule)
  values (p_name, p_function_name, p_max_attempts, p_lease_seconds, p_backoff_base_seconds,
          p_backoff_cap_seconds, p_batch_size, p_drain_schedule)
  on conflict (name) do update
    set function_name = excluded.function_name,
        max_attempts = excluded.max_attempts,
        lease_seconds = excluded.lease_seconds,
        backoff_base_seconds = excluded.backoff_base_seconds,
        backoff_cap_seconds = excluded.backoff_cap_seconds,
        batch_size = excluded.batch_size,
        drain_schedule = excluded.drain_schedule,
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
comment on function jobs.create_queue(text, text, int, int, numeric, numeric, int, text) is
  'Creates or updates a queue and schedules its pg_cron job jobs-drain-<name> (select jobs.drain(<name>)) on p_drain_schedule; a null schedule removes it. Called by the domain migrations, one per business domain.';

-- =============================================================================================
-- Views for operators
-- =============================================================================================

create view jobs.queue_depth as
select q.name as queue, s.state, coalesce(c.jobs, 0) as jobs
from jobs.queues q
cross join unnest(enum_range(null::jobs.job_state)) as s(state)
left join (
  select j.queue, j.state, count(*) as jobs from jobs.jobs j group by j.queue, j.state
) c on c.queue = q.name and c.state = s.state;
comment on view jobs.queue_depth is
  'Number of jobs per queue and state, zeros included.';

create view jobs.wakeup_config as
select f.project_url_set, f.cron_secret_set, f.project_url_set and f.cron_secret_set as configured,
       f.project_url
from (
  select
    coalesce(bool_or(s.name = 'project_url' and coalesce(s.decrypted_secret, '') <> ''), false)
      as project_url_set,
    coalesce(bool_or(s.name = 'cron_secret' and coalesce(s.decrypted_secret, '') <> ''), false)
      as cron_secret_set,
    (max(s.decrypted_secret) filter (where s.name = 'project_url')) collate "default"
      as project_url
  from vault.decrypted_secrets s
  where s.name in ('project_url', 'cron_secret')
) f;
comment on view jobs.wakeup_config is
  'Whether wake-ups and cron drains can reach the edge functions: the Vault secrets project_url and cron_secret are set (the secret itself is never shown).';

create view jobs.queue_health as
select
  q.name as queue,
  q.function_name,
  ready.jobs as ready,
  ready.oldest_age as oldest_ready_age,
  scheduled.jobs as scheduled,
  running.jobs as running,
  running.expired as expired_leases,
  dead.jobs as dead,
  recent.failures as failures_last_hour,
  recent.dead as dead_last_hour,
  recent.wait_p50,
  recent.wait_p95,
  recent.run_p50,
  recent.run_p95,
  exists (
    select from cron.job c where c.jobname = 'jobs-drain-' || q.name and c.active
  ) as drain_scheduled,
  (select w.configured from jobs.wakeup_config w) as wakeups_configured
from jobs.queues q
cross join lateral (
  select count(*) as jobs, now() - min(j.run_at) as oldest_age
  from jobs.jobs j
  where j.queue = q.name and j.state in ('waiting', 'retrying') and j.run_at <= now()
) ready
cross join lateral (
  select count(*) as jobs
  from jobs.jobs j
  where j.queue = q.name and j.state in ('waiting', 'retrying') and j.run_at > now()
) scheduled
cross join lateral (
  select count(*) as jobs, count(*) filter (where j.lease_expires_at <= now()) as expired
  from jobs.jobs j
  where j.queue = q.name and j.state = 'running'
) running
cross join lateral (
  select count(*) as jobs from jobs.jobs j where j.queue = q.name and j.state = 'dead'
) dead
cross join lateral (
  select
    count(*) filter (where e.from_state = 'running' and e.to_state in ('retrying', 'dead'))
      as failures,
    count(*) filter (where e.to_state = 'dead') as dead,
    percentile_cont(0.5) within group (order by e.duration)
      filter (where e.to_state = 'running') as wait_p50,
    percentile_cont(0.95) within group (order by e.duration)
      filter (where e.to_state = 'running') as wait_p95,
    percentile_cont(0.5) within group (order by e.duration)
      filter (where e.from_state = 'running') as run_p50,
    percentile_cont(0.95) within group (order by e.duration)
      filter (where e.from_state = 'running') as run_p95
  from jobs.job_events e
  where e.queue = q.name and e.created_at > now() - interval '1 hour'
) recent;
comment on view jobs.queue_health is
  'One row per queue: ready jobs (claimable now) and the age of the oldest, scheduled (future run_at), running, expired leases, dead; over the last hour: failed attempts, jobs gone dead, p50/p95 wait time (ready → claimed) and run time (claimed → outcome); whether the drain cron job is active and whether wake-ups are configured (Vault secrets).';

create view jobs.recent_failures as
select e.created_at as failed_at, e.job_id, e.queue, e.subject, e.attempt,
       e.to_state as outcome, e.error, e.worker, e.duration as run_time,
       j.state as current_state,
       case when j.state = 'retrying' then j.run_at end as next_attempt_at,
       j.max_attempts, j.payload
from jobs.job_events e
left join jobs.jobs j on j.id = e.job_id
where e.to_state in ('retrying', 'dead')
  and e.from_state = 'running'
  and e.created_at > now() - interval '24 hours'
order by e.created_at desc, e.id desc;
comment on view jobs.recent_failures is
  'Failed attempts of the last 24 hours, newest first: the error, the attempt, whether the job will retry (next_attempt_at) or went dead, and the job''s current state and payload.';

-- =============================================================================================
-- Policies
-- =============================================================================================

-- Every table in jobs has row level security enabled and no policy: anon and authenticated
-- (who have no privilege on the schema either) see nothing. service_role reads the tables;
-- all writes go through the security definer functions below.

-- =============================================================================================
-- Callable functions (public: supabase-js .rpc(); service_role only)
-- =============================================================================================

create function public.job_enqueue(
  p_queue text,
  p_payload jsonb default '{}',
  p_subject text default null,
  p_dedupe_key text default null,
  p_priority int default 0,
  p_run_at timestamptz default null,
  p_max_attempts int default null,
  p_now timestamptz default now()
)
returns jobs.jobs
language sql
security definer
set search_path = ''
as $$
  select * from jobs.enqueue(p_queue, p_payload, p_subject, p_dedupe_key, p_priority, p_run_at,
                             p_max_attempts, p_now)
$$;
comment on function public.job_enqueue(text, jsonb, text, text, int, timestamptz, int, timestamptz) is
  'Enqueues a job and returns it; with p_dedupe_key taken by an unfinished job of the queue, returns that job. Lower p_priority runs first. Wakes the queue''s function after commit (once per transaction).';
revoke all on function public.job_enqueue(text, jsonb, text, text, int, timestamptz, int, timestamptz)
  from public, anon, authenticated;
grant execute on function public.job_enqueue(text, jsonb, text, text, int, timestamptz, int, timestamptz)
  to service_role;

create function public.job_enqueue_many(p_queue text, p_jobs jsonb, p_now timestamptz default now())
returns setof bigint
language sql
security definer
set search_path = ''
as $$
  select jobs.enqueue_many(p_queue, p_jobs, p_now)
$$;
comment on function public.job_enqueue_many(text, jsonb, timestamptz) is
  'Enqueues many jobs in one statement: p_jobs is an array of {payload, subject, dedupe_key, priority, run_at, max_attempts}. Returns one job id per element, in order (the existing job''s id on a dedupe conflict). One wake-up.';
revoke all on function public.job_enqueue_many(text, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.job_enqueue_many(text, jsonb, timestamptz) to service_role;

create function public.job_claim(
  p_queue text,
  p_worker text,
  p_limit int default null,
  p_lease_seconds int default null,
  p_now timestamptz default now()
)
returns setof jobs.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_queue jobs.queues;
  v_limit int;
  v_lease interval;
begin
  select * into v_queue from jobs.queues q where q.name = p_queue;
  if not found then
    raise exception using errcode = '22023', message = format('Unknown queue "%s"', p_queue);
  end if;
  if coalesce(p_worker, '') = '' then
    raise exception using errcode = '22023', message = 'p_worker must name the worker';
  end if;
  v_limit := coalesce(p_limit, v_queue.batch_size);
  if v_limit < 1 then
    raise exception using errcode = '22023', message = 'p_limit must be at least 1';
  end if;
  v_lease := make_interval(secs => coalesce(p_lease_seconds, v_queue.lease_seconds));
  if v_lease <= interval '0' then
    raise exception using errcode = '22023', message = 'p_lease_seconds must be positive';
  end if;

  perform jobs.reclaim_expired(p_queue, p_now);

  return query
  with picked as (
    select c.id
    from jobs.jobs c
    where c.queue = p_queue and c.state in ('waiting', 'retrying') and c.run_at <= p_now
    order by c.priority, c.run_at
    limit v_limit
    for update skip locked
  )
  update jobs.jobs j
  set state = 'running',
      attempts = j.attempts + 1,
      lease_owner = p_worker,
      lease_expires_at = p_now + v_lease,
      started_at = p_now,
      updated_at = p_now
  from picked
  where j.id = picked.id
  returning j.*;
end
$$;
comment on function public.job_claim(text, text, int, int, timestamptz) is
  'Claims up to p_limit (default: the queue''s batch_size) claimable jobs of p_queue for p_worker, lower priority then earlier run_at first, with a lease of p_lease_seconds (default: the queue''s). Returns them with attempts incremented. Takes back expired leases first. Concurrent claims never share a job (FOR UPDATE SKIP LOCKED).';
revoke all on function public.job_claim(text, text, int, int, timestamptz) from public, anon, authenticated;
grant execute on function public.job_claim(text, text, int, int, timestamptz) to service_role;

create function public.job_report(p_worker text, p_outcomes jsonb, p_now timestamptz default now())
returns table (job_id bigint, state jobs.job_state)
language sql
security definer
set search_path = ''
as $$
  select r.job_id, r.state from jobs.report(p_worker, p_outcomes, p_now) r
$$;
comment on function public.job_report(text, jsonb, timestamptz) is
  'Reports a batch of outcomes: [{"id": 1, "ok": true, "result": {...}}, {"id": 2, "ok": false, "error": "text", "permanent": false, "retry_after_seconds": 30}]. Failures retry with exponential backoff and jitter (retry_after_seconds overrides it) until max_attempts, then go dead; permanent ones go dead at once. Returns the new state of each job updated; jobs not running under p_worker''s lease are ignored.';
revoke all on function public.job_report(text, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.job_report(text, jsonb, timestamptz) to service_role;

create function public.job_complete(
  p_job_id bigint,
  p_worker text,
  p_result jsonb default null,
  p_now timestamptz default now()
)
returns jobs.job_state
language sql
security definer
set search_path = ''
as $$
  select r.state
  from jobs.report(
    p_worker,
    jsonb_build_array(jsonb_build_object('id', p_job_id, 'ok', true, 'result', p_result)),
    p_now
  ) r
$$;
comment on function public.job_complete(bigint, text, jsonb, timestamptz) is
  'Marks one job succeeded (same logic as job_report). Returns ''succeeded'', or null when the job is not running under p_worker''s lease (cancelled, taken back, finished).';
revoke all on function public.job_complete(bigint, text, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.job_complete(bigint, text, jsonb, timestamptz) to service_role;

create function public.job_fail(
  p_job_id bigint,
  p_worker text,
  p_error text,
  p_permanent boolean default false,
  p_retry_after_seconds numeric default null,
  p_now timestamptz default now()
)
returns jobs.job_state
language sql
security definer
set search_path = ''
as $$
  select r.state
  from jobs.report(
    p_worker,
    jsonb_build_array(jsonb_build_object(
      'id', p_job_id, 'ok', false, 'error', p_error, 'permanent', coalesce(p_permanent, false),
      'retry_after_seconds', p_retry_after_seconds
    )),
    p_now
  ) r
$$;
comment on function public.job_fail(bigint, text, text, boolean, numeric, timestamptz) is
  'Records one failed attempt (same logic as job_report): retrying after backoff (or p_retry_after_seconds), dead when p_permanent or attempts are exhausted. Returns the new state, or null when the job is not running under p_worker''s lease.';
revoke all on function public.job_fail(bigint, text, text, boolean, numeric, timestamptz)
  from public, anon, authenticated;
grant execute on function public.job_fail(bigint, text, text, boolean, numeric, timestamptz)
  to service_role;

create function public.job_extend_lease(
  p_worker text,
  p_job_ids bigint[],
  p_lease_seconds int default null,
  p_now timestamptz default now()
)
returns setof bigint
language sql
security definer
set search_path = ''
as $$
  update jobs.jobs j
  set lease_expires_at = p_now + make_interval(secs => coalesce(
        p_lease_seconds,
        (select q.lease_seconds from jobs.queues q where q.name = j.queue)
      )),
      updated_at = p_now
  where j.id = any (p_job_ids) and j.state = 'running' and j.lease_owner = p_worker
    and coalesce(p_lease_seconds, 1) > 0
  returning j.id
$$;
comment on function public.job_extend_lease(text, bigint[], int, timestamptz) is
  'Extends the leases of jobs running under p_worker to p_now + p_lease_seconds (default: the queue''s lease_seconds). Returns the ids extended; a missing id means the job is no longer this worker''s.';
revoke all on function public.job_extend_lease(text, bigint[], int, timestamptz) from public, anon, authenticated;
grant execute on function public.job_extend_lease(text, bigint[], int, timestamptz) to service_role;

create function public.job_retry(p_job_id bigint, p_now timestamptz default now())
returns jobs.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job jobs.jobs;
begin
  v_job := jobs.lock_job(p_job_id);
  if v_job.state not in ('dead', 'cancelled', 'succeeded') then
    raise exception using errcode = '55000',
      message = format('Job %s is %s: only dead, cancelled or succeeded jobs can be retried',
                       p_job_id, v_job.state);
  end if;
  begin
    update jobs.jobs j
    set state = 'waiting', attempts = 0, run_at = p_now, finished_at = null, result = null,
        updated_at = p_now
    where j.id = p_job_id
    returning j.* into v_job;
  exception when unique_violation then
    raise exception using errcode = '23505',
      message = format('Job %s cannot be retried: another unfinished job of queue "%s" holds its dedupe key "%s"',
                       p_job_id, v_job.queue, v_job.dedupe_key);
  end;
  perform jobs.wake_once(v_job.queue, 'retry');
  return v_job;
end
$$;
comment on function public.job_retry(bigint, timestamptz) is
  'Operator action: puts a dead, cancelled or succeeded job back to waiting, runnable at p_now with its attempts reset, and wakes its queue. Fails for unfinished jobs, and when another unfinished job holds its dedupe key.';
revoke all on function public.job_retry(bigint, timestamptz) from public, anon, authenticated;
grant execute on function public.job_retry(bigint, timestamptz) to service_role;

create function public.job_cancel(
  p_job_id bigint,
  p_reason text default null,
  p_now timestamptz default now()
)
returns jobs.jobs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job jobs.jobs;
begin
  v_job := jobs.lock_job(p_job_id);
  if v_job.state = 'cancelled' then
    return v_job;
  end if;
  if v_job.state = 'succeeded' then
    raise exception using errcode = '55000',
      message = format('Job %s already succeeded: it cannot be cancelled', p_job_id);
  end if;
  update jobs.jobs j
  set state = 'cancelled', last_error = coalesce(nullif(p_reason, ''), 'cancelled'),
      lease_expires_at = null, lease_owner = null, finished_at = p_now, updated_at = p_now
  where j.id = p_job_id
  returning j.* into v_job;
  return v_job;
end
$$;
comment on function public.job_cancel(bigint, text, timestamptz) is
  'Operator action: cancels a waiting, retrying, running or dead job (p_reason is kept as its last_error). A worker still running it can no longer report it. Cancelling a cancelled job returns it unchanged; a succeeded job cannot be cancelled.';
revoke all on function public.job_cancel(bigint, text, timestamptz) from public, anon, authenticated;
grant execute on function public.job_cancel(bigint, text, timestamptz) to service_role;

create function public.job_wake(p_queue text, p_reason text default 'manual')
returns bigint
language sql
security definer
set search_path = ''
as $$
  select jobs.wake(p_queue, p_reason)
$$;
comment on function public.job_wake(text, text) is
  'Wakes the edge function of p_queue now (one pg_net request, sent after commit). Returns the request id, or null when the Vault secrets are missing.';
revoke all on function public.job_wake(text, text) from public, anon, authenticated;
grant execute on function public.job_wake(text, text) to service_role;

-- =============================================================================================
-- Grants and scheduled jobs
-- =============================================================================================

-- Helpers stay internal: only the owner runs them (through the functions above, pg_cron and
-- domain triggers, which are security definer).
revoke all on all functions in schema jobs from public, anon, authenticated;

grant usage on schema jobs to service_role;
revoke all on all tables in schema jobs from public, anon, authenticated;
grant select on jobs.settings, jobs.queues, jobs.jobs, jobs.job_events, jobs.queue_depth,
  jobs.queue_health, jobs.recent_failures, jobs.wakeup_config to service_role;

select cron.schedule('jobs-retention', '17 3 * * *', 'select jobs.prune()');
