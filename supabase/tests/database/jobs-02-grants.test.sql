-- Least privilege: anon and authenticated can neither call a job function nor read a jobs
-- table; service_role calls every callable function and reads (never writes) the tables.
begin;
select plan(60);

select jobs.create_queue('t02', 'fn-t02');

create temp table t02_calls (name text, call text);
insert into t02_calls values
  ('job_enqueue', $$select public.job_enqueue('t02')$$),
  ('job_enqueue_many', $$select public.job_enqueue_many('t02', '[]')$$),
  ('job_claim', $$select public.job_claim('t02', 'w')$$),
  ('job_report', $$select public.job_report('w', '[]')$$),
  ('job_complete', $$select public.job_complete(1, 'w')$$),
  ('job_fail', $$select public.job_fail(1, 'w', 'error')$$),
  ('job_extend_lease', $$select public.job_extend_lease('w', '{1}')$$),
  ('job_retry', $$select public.job_retry(1)$$),
  ('job_cancel', $$select public.job_cancel(1)$$),
  ('job_wake', $$select public.job_wake('t02')$$);
create temp table t02_relations (name text);
insert into t02_relations values ('jobs.settings'), ('jobs.queues'), ('jobs.jobs'),
  ('jobs.job_events'), ('jobs.queue_depth'), ('jobs.queue_health'), ('jobs.recent_failures'),
  ('jobs.wakeup_config');
grant select on t02_calls, t02_relations to anon, authenticated, service_role;

-- The grants themselves: EXECUTE for the owner and service_role, nobody else (not PUBLIC).
select is(
  array(select distinct p.proname::text || ':' || coalesce(r.rolname, 'PUBLIC')
        from pg_proc p
        cross join lateral aclexplode(p.proacl) a
        left join pg_roles r on r.oid = a.grantee
        where p.pronamespace = 'public'::regnamespace and p.proname like 'job\_%'
          and coalesce(r.rolname, 'PUBLIC') not in ('postgres', 'service_role')
        order by 1),
  '{}'::text[],
  'only the owner and service_role may execute the job functions'
);
select is(
  tests.functions_api_roles_may_execute('jobs'),
  '{}'::text[],
  'no API role may execute an internal jobs helper'
);

select is(
  tests.api_roles_using_schema('tests'),
  '{}'::text[],
  'no API role may use the pgTAP helpers (schema tests)'
);

select tests.act_as_anon();
select throws_ok(c.call, '42501', 'permission denied for function ' || c.name,
                 'anon cannot call ' || c.name)
from t02_calls c order by c.name;
select throws_ok('select * from ' || r.name, '42501', 'permission denied for schema jobs',
                 'anon cannot read ' || r.name)
from t02_relations r order by r.name;
reset role;

select tests.act_as_user('00000000-0000-0000-0000-000000000001');
select throws_ok(c.call, '42501', 'permission denied for function ' || c.name,
                 'authenticated cannot call ' || c.name)
from t02_calls c order by c.name;
select throws_ok('select * from ' || r.name, '42501', 'permission denied for schema jobs',
                 'authenticated cannot read ' || r.name)
from t02_relations r order by r.name;
select throws_ok($$select jobs.enqueue('t02')$$, '42501', 'permission denied for schema jobs',
  'authenticated cannot reach the internal enqueue');
reset role;

select tests.act_as_service_role();
select lives_ok('select * from ' || r.name, 'service_role reads ' || r.name)
from t02_relations r order by r.name;
select isnt(
  (select id from public.job_enqueue('t02', '{"n": 1}', 'thing:1')), null,
  'service_role enqueues');
select is(
  (select count(*)::int from public.job_enqueue_many('t02', '[{"payload": {"n": 2}}, {"payload": {"n": 3}}]')),
  2, 'service_role enqueues in bulk');
select is((select count(*)::int from public.job_claim('t02', 'w', 3)), 3, 'service_role claims');
select is(
  (select array_agg(x order by x) from public.job_extend_lease('w', array(select id from jobs.jobs where queue = 't02')) x),
  array(select id from jobs.jobs where queue = 't02' order by id),
  'service_role extends leases');
select is(
  (select public.job_complete(min(id), 'w') from jobs.jobs where queue = 't02'),
  'succeeded'::jobs.job_state, 'service_role completes a job');
select is(
  (select public.job_fail(max(id), 'w', 'broken', true) from jobs.jobs where queue = 't02'),
  'dead'::jobs.job_state, 'service_role fails a job');
select is(
  (select r.state from jobs.jobs j, public.job_report('w', jsonb_build_array(jsonb_build_object('id', j.id, 'ok', true))) r
   where j.queue = 't02' and j.state = 'running'),
  'succeeded'::jobs.job_state, 'service_role reports a batch');
select is(
  (select (public.job_retry(max(id))).state from jobs.jobs where queue = 't02'),
  'waiting'::jobs.job_state, 'service_role retries a dead job');
select is(
  (select (public.job_cancel(max(id), 'no longer needed')).state from jobs.jobs where queue = 't02'),
  'cancelled'::jobs.job_state, 'service_role cancels a job');
select lives_ok($$select public.job_wake('t02')$$, 'service_role wakes a queue');
select throws_ok($$insert into jobs.jobs (queue, max_attempts) values ('t02', 1)$$,
  '42501', 'permission denied for table jobs', 'service_role cannot write jobs.jobs directly');
select throws_ok($$update jobs.settings set event_retention = '1 day'$$,
  '42501', 'permission denied for table settings', 'service_role cannot change the settings');
reset role;

select * from finish();
rollback;
