-- Job core: at most N running jobs per subject.
--
-- A queue whose jobs talk to many independent parties (webhook endpoints, one per subject) must
-- not let one slow party take every worker slot: a hanging endpoint with a thousand messages
-- would otherwise fill each claim with jobs that wait out their timeout while the others' jobs
-- queue behind them. With jobs.queues.subject_concurrency set, a claim skips the jobs of a
-- subject that already has that many running, and takes at most the difference from the others
-- (graphile-worker's named queues are the case N = 1). Jobs without a subject are not limited.

alter table jobs.queues
  add column subject_concurrency int check (subject_concurrency between 1 and 10000);
comment on column jobs.queues.subject_concurrency is
  'At most this many jobs of one subject run at once (claims skip the rest until one finishes or its lease expires). Null: no limit. Jobs without a subject are never limited.';

-- A limited claim counts running jobs by subject through jobs_running_lease_idx (running jobs of
-- a queue are few: at most the workers' slots), so the hot table gets no new index.

create or replace function public.job_claim(
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

  if v_queue.subject_concurrency is null then
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
    return;
  end if;

  -- Limited claims of one queue take turns (each is a few milliseconds), so two at once cannot
  -- both count the same room.
  perform pg_advisory_xact_lock(hashtext('jobs.job_claim'), hashtext(p_queue));

  -- Limited by subject: skip the subjects already at their limit, then take from a window of
  -- candidates (four claims' worth, so a subject that fills the window is cut to its share and
  -- the next claim moves past it) at most the room each subject has left.
  return query
  with busy as (
    select r.subject, count(*)::int as running
    from jobs.jobs r
    where r.queue = p_queue and r.state = 'running' and r.subject is not null
    group by r.subject
  ),
  candidates as (
    select c.id, c.subject, c.priority, c.run_at
    from jobs.jobs c
    where c.queue = p_queue and c.state in ('waiting', 'retrying') and c.run_at <= p_now
      and not exists (
        select from busy b
        where b.subject = c.subject and b.running >= v_queue.subject_concurrency
      )
    order by c.priority, c.run_at
    limit v_limit * 4
    for update skip locked
  ),
  ranked as (
    select c.id, c.priority, c.run_at, c.subject,
           row_number() over (partition by c.subject order by c.priority, c.run_at) as nth
    from candidates c
  ),
  picked as (
    select k.id
    from ranked k
    left join busy b on b.subject = k.subject
    where k.subject is null
       or k.nth + coalesce(b.running, 0) <= v_queue.subject_concurrency
    order by k.priority, k.run_at
    limit v_limit
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
  'Claims up to p_limit (default: the queue''s batch_size) claimable jobs of p_queue for p_worker, lower priority then earlier run_at first, with a lease of p_lease_seconds (default: the queue''s). When the queue has a subject_concurrency, no subject gets more running jobs than that. Returns them with attempts incremented. Takes back expired leases first. Concurrent claims never share a job (FOR UPDATE SKIP LOCKED).';
revoke all on function public.job_claim(text, text, int, int, timestamptz) from public, anon, authenticated;
grant execute on function public.job_claim(text, text, int, int, timestamptz) to service_role;
