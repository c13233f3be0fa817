-- Concurrent claims never hand one job to two workers. Two more sessions (dblink) claim from
-- the same queue, each keeping its transaction open: the second gets the other jobs. The jobs
-- are committed through a third, autocommit session and removed at the end.
begin;
create extension if not exists dblink with schema extensions;
select plan(8);

select tests.connect('t05_setup'), tests.connect('t05_worker_a'), tests.connect('t05_worker_b');

create function pg_temp.t05_cleanup() returns void
language sql as $$
  select extensions.dblink_exec('t05_setup', $sql$
    delete from jobs.job_events where queue = 't05';
    delete from jobs.jobs where queue = 't05';
    delete from jobs.queues where name = 't05';
  $sql$);
$$;
select pg_temp.t05_cleanup();

-- Committed work, runnable an hour from now (so no wake-up is sent); the claims below use a
-- clock two hours ahead.
select extensions.dblink_exec('t05_setup', $sql$
  do $do$
  begin
    perform jobs.create_queue('t05', 'fn-t05', p_drain_schedule => null);
    perform public.job_enqueue_many('t05', (
      select jsonb_agg(jsonb_build_object('payload', jsonb_build_object('n', g),
                                          'run_at', now() + interval '1 hour'))
      from generate_series(1, 10) g));
  end
  $do$
$sql$);
select is(
  (select n from extensions.dblink('t05_setup', $sql$select count(*) from jobs.jobs where queue = 't05'$sql$) as t(n bigint)),
  10::bigint,
  'ten jobs are committed'
);

select extensions.dblink_exec('t05_worker_a', 'begin');
create temp table t05_a as
select id from extensions.dblink('t05_worker_a', $sql$
  select id from public.job_claim('t05', 'worker-a', 6, p_now => now() + interval '2 hours')
$sql$) as t(id bigint);

select extensions.dblink_exec('t05_worker_b', 'begin');
create temp table t05_b as
select id from extensions.dblink('t05_worker_b', $sql$
  select id from public.job_claim('t05', 'worker-b', 6, p_now => now() + interval '2 hours')
$sql$) as t(id bigint);

select is((select count(*)::int from t05_a), 6, 'the first worker claims six jobs');
select is((select count(*)::int from t05_b), 4,
  'the second worker, while the first transaction is still open, gets the four others');
select is_empty($$select id from t05_a intersect select id from t05_b$$,
  'no job is handed to both workers');
select is(
  (select n from extensions.dblink('t05_setup', $sql$select count(*) from jobs.jobs where queue = 't05'$sql$) as t(n bigint)),
  (select count(*) from (select id from t05_a union select id from t05_b) u),
  'together they claimed every job'
);
select is(
  (select count(*)::int from extensions.dblink('t05_worker_b', $sql$
     select id from public.job_claim('t05', 'worker-b', 6, p_now => now() + interval '2 hours')
   $sql$) as t(id bigint)),
  0,
  'a further claim finds nothing left'
);

-- The first worker commits, the second rolls back: its jobs are claimable again.
select extensions.dblink_exec('t05_worker_a', 'commit');
select extensions.dblink_exec('t05_worker_b', 'rollback');
select results_eq(
  $$select state, lease_owner, n from extensions.dblink('t05_setup', $sql$
      select state::text, lease_owner, count(*) from jobs.jobs where queue = 't05'
      group by 1, 2 order by 1$sql$) as t(state text, lease_owner text, n bigint)$$,
  $$values ('running', 'worker-a', 6::bigint), ('waiting', null, 4::bigint)$$,
  'committed claims hold their jobs; rolled back ones release them'
);
select is(
  array(select id from extensions.dblink('t05_worker_b', $sql$
          select id from public.job_claim('t05', 'worker-b', 6, p_now => now() + interval '2 hours')
        $sql$) as t(id bigint) order by id),
  array(select id from t05_b order by id),
  'the released jobs are claimed again, never the committed ones'
);

select pg_temp.t05_cleanup();
select extensions.dblink_disconnect('t05_worker_a');
select extensions.dblink_disconnect('t05_worker_b');
select extensions.dblink_disconnect('t05_setup');

select * from finish();
rollback;
