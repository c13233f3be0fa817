-- The email provider's journal of requests to Resend (migration 20261128130000_email_journal):
-- only service_role calls its functions and nobody reads its table through the API; a request is
-- journalled once, found again by any of its emails' keys (exactly as sent), settled away, and
-- forgotten after Resend's 24-hour idempotency window.
-- (Times are given as literals: service_role may not call the helpers of schema tests.)
begin;
select plan(21);

-- ---------------------------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------------------------
select is(tests.api_roles_using_schema('providers_internal'), '{}'::text[],
  'no API role may use schema providers_internal');
select is(tests.functions_api_roles_may_execute('providers_internal'), '{}'::text[],
  'no API role may execute a function of providers_internal');
select ok(not has_table_privilege(r, 'providers_internal.email_requests', 'select,insert,update,delete'),
          format('%s has no privilege on the journal table', r))
from unnest(array['anon', 'authenticated', 'service_role']) r;
select is(
  array(select format('%s:%s', f, r)
        from unnest(array['public.email_journal_open(text, text, text[], text[], timestamptz)',
                          'public.email_journal_settle(text[])',
                          'public.email_journal_prune(timestamptz)']) f,
             unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, f, 'execute') order by 1),
  array['public.email_journal_open(text, text, text[], text[], timestamptz):service_role',
        'public.email_journal_prune(timestamptz):service_role',
        'public.email_journal_settle(text[]):service_role'],
  'only service_role may execute the email_journal_* functions');
select ok(obj_description('providers_internal.email_requests'::regclass, 'pg_class') is not null
          and obj_description('public.email_journal_open(text, text, text[], text[], timestamptz)'::regprocedure, 'pg_proc') is not null,
  'the table and the functions carry comments');

-- ---------------------------------------------------------------------------------------------
-- Journalled, then found by its emails' keys, as sent
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select is(
  public.email_journal_open('batch:p01-a', '[{"to":"a@example.test"},{"to":"b@example.test"}]',
                            array['invitation:p01-1', 'invitation:p01-2'], p_now => timestamptz '2026-12-07 09:00+00'),
  '{"recorded": true, "journalled": []}'::jsonb,
  'a request whose emails are in no journalled request is journalled');
select is(
  public.email_journal_open('batch:p01-b', '[{"to":"b@example.test"},{"to":"c@example.test"}]',
                            array['invitation:p01-2', 'invitation:p01-3'],
                            p_now => timestamptz '2026-12-07 09:00+00' + interval '1 minute'),
  jsonb_build_object('recorded', false, 'journalled', jsonb_build_array(jsonb_build_object(
    'request_key', 'batch:p01-a',
    'body', '[{"to":"a@example.test"},{"to":"b@example.test"}]',
    'email_keys', jsonb_build_array('invitation:p01-1', 'invitation:p01-2')))),
  'a request sharing an email with an unsettled one gets that one back, body as sent, instead');
select is(
  (public.email_journal_open('invitation:p01-1', '{"to":"a@example.test"}',
                             array['invitation:p01-1'], p_now => timestamptz '2026-12-07 09:00+00')
   -> 'journalled' -> 0 ->> 'request_key'),
  'batch:p01-a',
  'a single email of a journalled batch is found too');
select is(
  public.email_journal_open('invitation:p01-9', '{"to":"z@example.test"}',
                            array['invitation:p01-9'], p_now => timestamptz '2026-12-07 09:00+00'),
  '{"recorded": true, "journalled": []}'::jsonb,
  'a single email of its own is journalled under its own key');
reset role;
select is((select array_agg(request_key order by request_key) from providers_internal.email_requests
           where request_key like '%p01%'),
  array['batch:p01-a', 'invitation:p01-9'],
  'nothing was journalled for the requests sent back');
select is((select body from providers_internal.email_requests where request_key = 'batch:p01-a'),
  '[{"to":"a@example.test"},{"to":"b@example.test"}]',
  'the body is kept byte for byte');

-- ---------------------------------------------------------------------------------------------
-- Settled
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select is(
  public.email_journal_open('batch:p01-b', '[{"to":"b@example.test"},{"to":"c@example.test"}]',
                            array['invitation:p01-2', 'invitation:p01-3'],
                            p_settled_keys => array['batch:p01-a'],
                            p_now => timestamptz '2026-12-07 09:00+00' + interval '2 minutes'),
  '{"recorded": true, "journalled": []}'::jsonb,
  'once its request is settled (passed along with the next one), an email goes in a new request');
select is(public.email_journal_settle(array['batch:p01-b', 'batch:p01-unknown']), 1,
  'email_journal_settle settles the journalled requests it names');
reset role;
select is((select array_agg(request_key order by request_key) from providers_internal.email_requests
           where request_key like '%p01%'),
  array['invitation:p01-9'],
  'settled requests are gone from the journal');

-- ---------------------------------------------------------------------------------------------
-- Retention: Resend's 24-hour window
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select is(
  public.email_journal_open('batch:p01-c', '[{"to":"z@example.test"},{"to":"y@example.test"}]',
                            array['invitation:p01-9', 'invitation:p01-8'],
                            p_now => timestamptz '2026-12-07 09:00+00' + interval '24 hours 1 second'),
  '{"recorded": true, "journalled": []}'::jsonb,
  'a request journalled more than 24 hours ago is ignored (Resend forgot its key)');
select is(public.email_journal_prune(timestamptz '2026-12-07 09:00+00' + interval '23 hours'), 0,
  'nothing younger than 24 hours is pruned');
select is(public.email_journal_prune(timestamptz '2026-12-07 09:00+00' + interval '24 hours'), 1,
  'the retention deletes what is 24 hours old');
reset role;
select is((select count(*)::int from cron.job where jobname = 'email-journal-retention'
           and command = 'select public.email_journal_prune()'), 1,
  'the pg_cron job email-journal-retention runs the retention');

-- ---------------------------------------------------------------------------------------------
-- Refused input
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select throws_ok(
  $$select public.email_journal_open('batch:p01-x', 'not json', array['invitation:p01-x'])$$,
  '22P02', null, 'a body that is not JSON is refused');
reset role;

select * from finish();
rollback;
