-- Probes: the job core's end-to-end self-check.
--
-- An operator (or a test, or the benchmark) inserts a row into jobs.probes. A trigger enqueues
-- a `probe` job in the same transaction; after COMMIT the wake-up reaches the `job-probe`
-- function, which claims the job and records, through `public.job_probe_record`, when its
-- handler started. A probe left without `handled_at` means the chain is broken somewhere:
-- `jobs.queue_health` and `net._http_response` tell where.
--
--   select jobs.send_probe('after deploy');
--   select * from jobs.probes order by id desc limit 5;

-- ============================================================================================
-- Tables
-- ============================================================================================

create table jobs.probes (
  id bigint generated always as identity primary key,
  note text,
  created_at timestamptz not null default now(),
  job_id bigint,
  handler_started_at timestamptz,
  handled_at timestamptz
);
comment on table jobs.probes is
  'End-to-end checks of the job pipeline: insert a row, the `job-probe` function records when it ran.';
comment on column jobs.probes.handler_started_at is
  'When the handler began, by the function''s clock: latency from commit to work.';
alter table jobs.probes enable row level security;

-- ============================================================================================
-- Triggers
-- ============================================================================================

/* Enqueues the probe's job in the inserting transaction (the outbox rule). */
create function jobs.enqueue_probe() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.job_id := (
    jobs.enqueue(
      p_queue => 'probe',
      p_payload => jsonb_build_object('probe_id', new.id),
      p_subject => 'probe:' || new.id
    )
  ).id;
  return new;
end
$$;
comment on function jobs.enqueue_probe() is 'Trigger: enqueues a `probe` job for each new probe row.';

create trigger enqueue_probe
before insert on jobs.probes
for each row execute function jobs.enqueue_probe();

-- ============================================================================================
-- Helper functions
-- ============================================================================================

/* Operators' shortcut: sends one probe and returns its id. */
create function jobs.send_probe(p_note text default null) returns bigint
language sql
set search_path = ''
as $$
  insert into jobs.probes (note) values (p_note) returning id
$$;
comment on function jobs.send_probe(text) is
  'Sends a probe through the whole job pipeline; check jobs.probes.handled_at afterwards.';

-- ============================================================================================
-- Callable functions
-- ============================================================================================

/*
 * Called by the `job-probe` handler. Idempotent: a second run keeps the first start time.
 * Raises no_data_found (P0002) for an unknown probe, which the handler treats as permanent.
 */
create function public.job_probe_record(
  p_probe_id bigint,
  p_handler_started_at timestamptz,
  p_now timestamptz default now()
) returns jobs.probes
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_probe jobs.probes;
begin
  update jobs.probes
  set handler_started_at = coalesce(handler_started_at, p_handler_started_at),
      handled_at = coalesce(handled_at, p_now)
  where id = p_probe_id
  returning * into v_probe;
  if not found then
    raise no_data_found using message = format('Probe %s does not exist', p_probe_id);
  end if;
  return v_probe;
end
$$;
comment on function public.job_probe_record(bigint, timestamptz, timestamptz) is
  'Records that the probe handler ran (service role only).';

-- ============================================================================================
-- Queue and grants
-- ============================================================================================

select jobs.create_queue(p_name => 'probe', p_function_name => 'job-probe');

revoke all on function jobs.enqueue_probe() from public;
revoke all on function jobs.send_probe(text) from public;
revoke all on function public.job_probe_record(bigint, timestamptz, timestamptz)
  from public, anon, authenticated;
grant execute on function public.job_probe_record(bigint, timestamptz, timestamptz) to service_role;
grant select on jobs.probes to service_role;
