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

-- Claimable jobs by subject: a limited claim walks the subjects through it. Running jobs by
-- subject are counted through jobs_running_lease_idx (they are few: at most the workers' slots).
create index jobs_claimable_subject_idx on jobs.jobs (queue, subject, priority, run_at)
  where state in ('waiting', 'retrying');

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

  -- Limited by subject: walk the subjects that have claimable jobs (a skip scan of
  -- jobs_claimable_subject_idx, one probe per subject), give each at most the room it has left,
  -- then keep the earliest in claim order. The cost follows the number of subjects, not the
  -- backlog: a subject with thousands of waiting jobs at its limit costs one probe.
  return query
  with recursive subjects(subject) as (
    (select j.subject from jobs.jobs j
     where j.queue = p_queue and j.state in ('waiting', 'retrying') and j.subject is not null
     order by j.subject limit 1)
    union all
    select (select j.subject from jobs.jobs j
            where j.queue = p_queue and j.state in ('waiting', 'retrying')
              and j.subject > s.subject
            order by j.subject limit 1)
    from subjects s
    where s.subject is not null
  ),
  busy as (
    select r.subject, count(*)::int as running
    from jobs.jobs r
    where r.queue = p_queue and r.state = 'running' and r.subject is not null
    group by r.subject
  ),
  room as (
    select s.subject, v_queue.subject_concurrency - coalesce(b.running, 0) as room
    from subjects s
    left join busy b on b.subject = s.subject
    where s.subject is not null and coalesce(b.running, 0) < v_queue.subject_concurrency
  ),
  candidates as (
    select c.id, c.priority, c.run_at
    from room r
    cross join lateral (
      select c.id, c.priority, c.run_at
      from jobs.jobs c
      where c.queue = p_queue and c.subject = r.subject and c.state in ('waiting', 'retrying')
        and c.run_at <= p_now
      order by c.priority, c.run_at
      limit least(r.room, v_limit)
      for update skip locked
    ) c
    union all
    select n.id, n.priority, n.run_at
    from (
      select c.id, c.priority, c.run_at
      from jobs.jobs c
      where c.queue = p_queue and c.subject is null and c.state in ('waiting', 'retrying')
        and c.run_at <= p_now
      order by c.priority, c.run_at
      limit v_limit
      for update skip locked
    ) n
  ),
  picked as (
    select k.id from candidates k order by k.priority, k.run_at limit v_limit
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
