-- The sign-up trigger and the queue mirror: inserting a user (and so a profile) records the
-- creation request, the credentials and a create_instance job in the same transaction (a
-- rollback leaves none of them); the queue entry follows its job through running, retrying,
-- succeeded, dead, cancelled, a lease taken back and an operator's retry; a profile inserted again
-- re-enqueues (or keeps the unfinished job); deleting the user takes everything away.
begin;
select plan(36);

/* The entry of a user as "status retry_count error_message processed?". */
create function pg_temp.entry(p_user uuid) returns text
language sql as $$
  select format('%s %s %s %s', q.status, q.retry_count, coalesce(q.error_message, '-'),
                case when q.processed_at is null then 'open' else 'processed' end)
  from public.evolution_instance_creation_queue q where q.user_id = p_user
$$;

/* What a sign-up left for a user: profile, entry, credentials and evolution jobs. */
create function pg_temp.trail(p_user uuid) returns text
language sql as $$
  select format('%s profile(s), %s entr(y/ies), %s credential(s), %s job(s)',
    (select count(*) from public.profiles p where p.id = p_user),
    (select count(*) from public.evolution_instance_creation_queue q where q.user_id = p_user),
    (select count(*) from whatsapp_internal.instance_credentials c where c.user_id = p_user),
    (select count(*) from jobs.jobs j where j.queue = 'evolution' and j.subject = 'user:' || p_user))
$$;

-- ---------------------------------------------------------------------------------------------
-- A sign-up, rolled back: nothing stays.
-- ---------------------------------------------------------------------------------------------
savepoint before_sign_up;
select tests.sign_up('Gone W2') as gone \gset
select is(pg_temp.trail(:'gone'), '1 profile(s), 1 entr(y/ies), 1 credential(s), 1 job(s)',
  'a sign-up records a profile, the request, the credentials and one job in its transaction');
rollback to savepoint before_sign_up;
select is(pg_temp.trail(:'gone'), '0 profile(s), 0 entr(y/ies), 0 credential(s), 0 job(s)',
  'rolled back, it leaves neither profile, request, credentials nor job');

-- ---------------------------------------------------------------------------------------------
-- A sign-up: what it records.
-- ---------------------------------------------------------------------------------------------
select tests.sign_up('Cleo W2') as cleo \gset
select is((select full_name from public.profiles where id = :'cleo'), 'Cleo W2',
  'the profile takes its full name from the sign-up''s metadata');
select is(pg_temp.entry(:'cleo'), 'pending 0 - open', 'the request is pending, never retried');
select results_eq(
  format($$select j.queue, j.subject, j.dedupe_key, j.state::text, j.payload, j.max_attempts
           from jobs.jobs j where j.id = (select job_id from public.evolution_instance_creation_queue
                                          where user_id = %L)$$, :'cleo'),
  format($$select 'evolution', 'user:%1$s', 'create_instance:%1$s', 'waiting',
                  jsonb_build_object('kind', 'create_instance', 'user_id', %1$L::uuid,
                                     'request_id', (tests.evolution_entry(%1$L)).request_id), 10$$, :'cleo'),
  'the entry stores its job: a create_instance job on the evolution queue, one per user, 10 attempts'
);
select results_eq(
  format($$select instance_name, length(instance_token), length(webhook_secret), instance_token <> webhook_secret
           from whatsapp_internal.instance_credentials where user_id = %L$$, :'cleo'),
  format($$values ('user_' || replace(%L, '-', ''), 64, 64, true)$$, :'cleo'),
  'the credentials: the derived instance name, a random token and a random webhook secret'
);
select tests.evolution_job(:'cleo') as cleo_job \gset
select (tests.evolution_job(:'cleo')).id as cleo_job_id \gset

-- ---------------------------------------------------------------------------------------------
-- The mirror follows the job.
-- ---------------------------------------------------------------------------------------------
select tests.evolution_claim(:'cleo', 'w-a', now() + interval '1 second');
select is(pg_temp.entry(:'cleo'), 'processing 0 - open', 'claimed: processing');
select is((tests.evolution_entry(:'cleo')).updated_at, now() + interval '1 second',
  'updated_at follows the job''s clock');
select is(tests.evolution_report(:'cleo', '{"ok": false, "error": "Evolution answered 500"}', 'w-a',
                                 now() + interval '2 seconds'), 'retrying', 'a failed attempt: retrying');
select is(pg_temp.entry(:'cleo'), 'pending 1 Evolution answered 500 open',
  'retrying: pending again, retry_count = attempts, the error shown');
update jobs.jobs set run_at = now() where id = :cleo_job_id;
select tests.evolution_claim(:'cleo', 'w-a', now() + interval '3 seconds');
select is(pg_temp.entry(:'cleo'), 'processing 1 Evolution answered 500 open', 'claimed again: processing');
select is(tests.evolution_report(:'cleo', '{"ok": true}', 'w-a', now() + interval '4 seconds'), 'succeeded',
  'the second attempt succeeds');
select is(pg_temp.entry(:'cleo'), 'completed 1 - processed', 'succeeded: completed, the error cleared');
select is((tests.evolution_entry(:'cleo')).processed_at, now() + interval '4 seconds',
  'processed_at: when the job finished');

-- A lease that expires: taken back by the next claim (retrying), then running again.
select tests.sign_up('Lea W2') as lea \gset
select tests.evolution_claim(:'lea', 'w-dead', now());
select is(pg_temp.entry(:'lea'), 'processing 0 - open', 'Lea''s request is processing');
select tests.evolution_claim(:'lea', 'w-b', now() + interval '61 seconds');
select is(pg_temp.entry(:'lea'), 'processing 1 lease expired open',
  'a lease taken back counts as a failed attempt, then the entry is processing again');
select is(tests.evolution_report(:'lea', '{"ok": false, "error": "Evolution answered 401", "permanent": true}',
                                 'w-b', now() + interval '62 seconds'), 'dead', 'a permanent failure: dead');
select is(pg_temp.entry(:'lea'), 'failed 2 Evolution answered 401 processed',
  'dead: failed, with the error and the attempts');

-- An operator retries the dead job with the job core: pending again.
select public.job_retry((tests.evolution_job(:'lea')).id, now() + interval '70 seconds');
select is(pg_temp.entry(:'lea'), 'pending 2 Evolution answered 401 open',
  'job_retry puts the entry back to pending');
select is((tests.evolution_job(:'lea')).state::text, 'waiting', 'with the same job, waiting');

-- An operator cancels a job: the entry fails, saying why.
select tests.sign_up('Max W2') as max \gset
select public.job_cancel((tests.evolution_job(:'max')).id, 'Cancelled by an operator: test account');
select is(pg_temp.entry(:'max'), 'failed 0 Cancelled by an operator: test account processed',
  'a cancelled job: the entry failed with the reason');

-- Jobs of other queues and other columns leave the entries alone.
select is((select count(*)::int from pg_trigger t where t.tgname = 'whatsapp_mirror_evolution_job'
           and pg_get_triggerdef(t.oid) like '%WHEN (((new.queue = ''evolution''::text)%'), 1,
  'the mirror fires for the evolution queue only');
update jobs.jobs set priority = 5 where id = (tests.evolution_job(:'lea')).id;
select is(pg_temp.entry(:'lea'), 'pending 2 Evolution answered 401 open', 'a change that is not a state change leaves the entry');

-- ---------------------------------------------------------------------------------------------
-- A profile inserted again.
-- ---------------------------------------------------------------------------------------------
select (tests.evolution_entry(:'cleo')).request_id as cleo_request \gset
select instance_token as cleo_token from whatsapp_internal.instance_credentials where user_id = :'cleo' \gset
delete from public.profiles where id = :'cleo';
select is(pg_temp.entry(:'cleo'), 'completed 1 - processed', 'deleting the profile leaves the request');
insert into public.profiles (id, full_name) values (:'cleo', 'Cleo again');
select is(pg_temp.entry(:'cleo'), 'pending 2 - open',
  'a profile inserted again makes the request pending, retry_count + 1 (as the seeds'' trigger did)');
select isnt((tests.evolution_entry(:'cleo')).request_id, :'cleo_request'::uuid, 'with a new request id');
select isnt((tests.evolution_job(:'cleo')).id, :cleo_job_id::bigint, 'and a new job');
select is((tests.evolution_job(:'cleo')).state::text, 'waiting', 'which is waiting');
select is((tests.evolution_job(:'cleo')).payload ->> 'request_id', (tests.evolution_entry(:'cleo')).request_id::text,
  'the job carries the new request id');
select is((select instance_token from whatsapp_internal.instance_credentials where user_id = :'cleo'), :'cleo_token',
  'the credentials are kept (a retry presents the same token)');
select (tests.evolution_job(:'cleo')).id as cleo_job2 \gset
delete from public.profiles where id = :'cleo';
insert into public.profiles (id, full_name) values (:'cleo', 'Cleo once more');
select is((tests.evolution_job(:'cleo')).id, :cleo_job2::bigint, 'while its job is unfinished, that job is kept');
select is((select count(*)::int from jobs.jobs where queue = 'evolution' and subject = 'user:' || :'cleo'
           and state in ('waiting', 'running', 'retrying')), 1, 'one unfinished job per user, always');

-- ---------------------------------------------------------------------------------------------
-- The user is deleted.
-- ---------------------------------------------------------------------------------------------
delete from auth.users where id = :'max';
select is(pg_temp.trail(:'max'), '0 profile(s), 0 entr(y/ies), 0 credential(s), 1 job(s)',
  'deleting the user takes its profile, request and credentials away (its finished job stays, pruned later)');
select tests.act_as_service_role();
select is(public.whatsapp_creation_start(:'max'), jsonb_build_object('action', 'gone', 'user_id', :'max'::uuid),
  'a job of a deleted user finds it gone');
reset role;
delete from auth.users where id = :'lea';
select is((tests.evolution_job(:'lea')).id, null::bigint, 'the entry went with the user');
select is((select state::text from jobs.jobs where subject = 'user:' || :'lea'), 'waiting',
  'its unfinished job stays, and will find the user gone');

select * from finish();
rollback;
