-- The job core's schema: tables, views, the job states, the few indexes the hot table carries,
-- the statement-level audit triggers, row level security, comments and function settings.
begin;
select plan(16);

select tables_are('jobs', array['settings', 'queues', 'jobs', 'job_events', 'probes'],
  'jobs holds the settings, the queue registry, the jobs, their audit trail and the probes');
select views_are('jobs', array['queue_depth', 'queue_health', 'recent_failures', 'wakeup_config'],
  'jobs holds the operator views');
select enum_has_labels('jobs', 'job_state',
  array['waiting', 'running', 'succeeded', 'retrying', 'dead', 'cancelled'],
  'a job is waiting, running, succeeded, retrying, dead or cancelled');

select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'jobs'::regnamespace and c.relkind in ('r', 'p')
          and not c.relrowsecurity
        order by 1),
  '{}'::text[],
  'row level security is enabled on every table in jobs'
);
select is((select count(*)::int from pg_policies where schemaname = 'jobs'), 0,
  'no policy opens a jobs table to anyone');

select indexes_are('jobs', 'jobs',
  array['jobs_pkey', 'jobs_claimable_idx', 'jobs_running_lease_idx', 'jobs_dedupe_key_idx',
        'jobs_claimable_subject_idx'],
  'jobs.jobs carries only its primary key and four partial indexes');
select is(pg_get_indexdef('jobs.jobs_claimable_idx'::regclass),
  'CREATE INDEX jobs_claimable_idx ON jobs.jobs USING btree (queue, priority, run_at) WHERE (state = ANY (ARRAY[''waiting''::jobs.job_state, ''retrying''::jobs.job_state]))',
  'the claim index covers claimable jobs only, in claim order');
select is(pg_get_indexdef('jobs.jobs_running_lease_idx'::regclass),
  'CREATE INDEX jobs_running_lease_idx ON jobs.jobs USING btree (queue, lease_expires_at) WHERE (state = ''running''::jobs.job_state)',
  'the lease index covers running jobs only');
select is(pg_get_indexdef('jobs.jobs_dedupe_key_idx'::regclass),
  'CREATE UNIQUE INDEX jobs_dedupe_key_idx ON jobs.jobs USING btree (queue, dedupe_key) WHERE ((dedupe_key IS NOT NULL) AND (state = ANY (ARRAY[''waiting''::jobs.job_state, ''running''::jobs.job_state, ''retrying''::jobs.job_state])))',
  'a dedupe key is unique among the unfinished jobs of a queue');

-- (Domain migrations may add triggers of their own, with functions outside schema jobs.)
select is(
  array(select t.tgname::text from pg_trigger t join pg_proc p on p.oid = t.tgfoid
        where t.tgrelid = 'jobs.jobs'::regclass and not t.tgisinternal
          and p.pronamespace = 'jobs'::regnamespace
        order by 1),
  array['jobs_audit_insert', 'jobs_audit_update'],
  'jobs.jobs has exactly the two audit triggers of the job core');
select is(
  array(select format('%s: statement=%s old=%s new=%s', t.tgname, (t.tgtype & 1) = 0,
                      coalesce(t.tgoldtable::text, '-'), t.tgnewtable)
        from pg_trigger t join pg_proc p on p.oid = t.tgfoid
        where t.tgrelid = 'jobs.jobs'::regclass and not t.tgisinternal
          and p.pronamespace = 'jobs'::regnamespace
        order by t.tgname),
  array['jobs_audit_insert: statement=t old=- new=new_jobs',
        'jobs_audit_update: statement=t old=old_jobs new=new_jobs'],
  'the audit triggers are statement-level and read transition tables'
);

select is(
  array(
    select c.oid::regclass::text from pg_class c
    where c.relnamespace = 'jobs'::regnamespace and c.relkind in ('r', 'v')
      and obj_description(c.oid, 'pg_class') is null
    union all
    select p.oid::regprocedure::text from pg_proc p
    where (p.pronamespace = 'jobs'::regnamespace
           or (p.pronamespace = 'public'::regnamespace and p.proname like 'job\_%'))
      and obj_description(p.oid, 'pg_proc') is null
    order by 1
  ),
  '{}'::text[],
  'every table, view and function of the job core has a comment'
);

select is(
  array(select p.proname::text from pg_proc p
        where p.pronamespace = 'public'::regnamespace and p.proname like 'job\_%'
          and not (p.prosecdef and p.proconfig @> array['search_path=""'])
        order by 1),
  '{}'::text[],
  'every callable job function is security definer with an empty search_path'
);
select is(
  array(select p.proname::text from pg_proc p
        where p.pronamespace = 'public'::regnamespace and p.proname like 'job\_%'
        order by 1),
  array['job_cancel', 'job_claim', 'job_complete', 'job_enqueue', 'job_enqueue_many',
        'job_extend_lease', 'job_fail', 'job_probe_record', 'job_report', 'job_retry',
        'job_wake'],
  'the API exposes exactly the job_* functions'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'jobs'::regnamespace and p.prosecdef
          and not (p.proconfig @> array['search_path=""'])),
  '{}'::text[],
  'every security definer helper pins an empty search_path'
);

select throws_ok(
  $$select jobs.create_queue('Bad Name', 'some-function')$$,
  '23514',
  'new row for relation "queues" violates check constraint "queues_name_check"',
  'a queue name must be a safe lower-case identifier'
);

select * from finish();
rollback;
