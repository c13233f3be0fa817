-- The admins' management RPCs, as an admin: create (generated or given secret, stored in Vault,
-- never shown again except by webhook_endpoint_secret), validation (22023 naming the field),
-- update (null clears), get (P0002), enable / disable, rotate (the old secret signs 24 more
-- hours; an earlier previous one leaves Vault), test events, messages with attempts, replay (the
-- same webhook-id, refused while a job is unfinished), recover (failed messages since a time),
-- delete (messages, attempts and Vault secrets go), the outcomes view, the retention.
begin;
select plan(37);

select tests.frozen_now() as t0 \gset
select '00000000-0000-0000-0000-0000000000a1' as admin \gset

/* The Vault secret with id p_id, decrypted (null when gone). */
create function pg_temp.vault(p_id uuid) returns text
language sql stable as $$ select s.decrypted_secret from vault.decrypted_secrets s where s.id = p_id $$;

-- ---------------------------------------------------------------------------------------------
-- Create and validate.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_clinic_admin(:'admin');
select public.webhook_endpoint_create('https://hooks.example.test/m1', 'Automation', '{ticket.overdue}', 20) as created \gset
select (:'created'::jsonb ->> 'id') as e1 \gset
select ok((:'created'::jsonb ->> 'secret') ~ '^whsec_[A-Za-z0-9+/]{43}=$'
          and length(decode(substr(:'created'::jsonb ->> 'secret', 7), 'base64')) = 32,
  'create returns a generated secret: whsec_ + base64 of 32 bytes');
select is(:'created'::jsonb - 'secret' - 'id' - 'created_at' - 'updated_at',
  jsonb_build_object('url', 'https://hooks.example.test/m1', 'description', 'Automation', 'event_types', '["ticket.overdue"]'::jsonb,
                     'rate_limit_per_second', 20, 'enabled', true, 'disabled_at', null, 'disabled_reason', null,
                     'failing_since', null, 'previous_secret_expires_at', null, 'created_by', :'admin'),
  'and the endpoint: enabled, created by the admin, no secret id nor bucket state');
select is(public.webhook_endpoint_get(:'e1') - 'counts', :'created'::jsonb - 'secret', 'get shows it without the secret');
select is(public.webhook_endpoint_get(:'e1') -> 'counts', '{"pending": 0, "failed": 0, "delivered_24h": 0}'::jsonb,
  'with its message counts');
reset role;
select is(pg_temp.vault((select e.secret_id from public.webhook_endpoints e where e.id = :'e1')),
  :'created'::jsonb ->> 'secret', 'the secret is in Vault');
select tests.act_as_clinic_admin(:'admin');

select public.webhook_endpoint_create('https://hooks.example.test/m2', p_secret => 'whsec_' || encode(sha256('m2'), 'base64')) ->> 'id' as e2 \gset
select is(public.webhook_endpoint_secret(:'e2'),
  jsonb_build_object('secret', 'whsec_' || encode(sha256('m2'), 'base64'), 'previous_secret', null, 'previous_secret_expires_at', null),
  'a given secret is kept; webhook_endpoint_secret shows it');

create temp table m_invalid (call text, field text);
insert into m_invalid values
  ($$select public.webhook_endpoint_create('ftp://hooks.example.test')$$, 'url'),
  ($$select public.webhook_endpoint_create('https://hooks.example.test/' || repeat('x', 2048))$$, 'url'),
  ($$select public.webhook_endpoint_create('https://hooks.example.test', repeat('d', 501))$$, 'description'),
  ($$select public.webhook_endpoint_create('https://hooks.example.test', '', '{Ticket.Overdue}')$$, 'event_types'),
  ($$select public.webhook_endpoint_create('https://hooks.example.test', '', '{}')$$, 'event_types'),
  ($$select public.webhook_endpoint_create('https://hooks.example.test', '', null, 0)$$, 'rate_limit_per_second'),
  ($$select public.webhook_endpoint_create('https://hooks.example.test', '', null, null, 'whsec_c2hvcnQ=')$$, 'secret'),
  ($$select public.webhook_endpoint_create('https://hooks.example.test', '', null, null, 'not-a-secret')$$, 'secret');
grant select on m_invalid to authenticated;
create function pg_temp.invalid_answers() returns text[]
language plpgsql as $$
declare
  v_row record;
  v_out text[] := '{}';
begin
  for v_row in select * from m_invalid loop
    begin
      execute v_row.call;
      v_out := v_out || ('accepted: ' || v_row.call);
    exception when others then
      if sqlstate <> '22023' or position(v_row.field in sqlerrm) <> 1 then
        v_out := v_out || format('%s: %s %s', v_row.call, sqlstate, sqlerrm);
      end if;
    end;
  end loop;
  return v_out;
end
$$;
select is(pg_temp.invalid_answers(), '{}'::text[],
  'invalid url, description, event types, rate limit or secret: 22023, the message starting with the field');

-- ---------------------------------------------------------------------------------------------
-- Update, disable, enable.
-- ---------------------------------------------------------------------------------------------
select is(
  public.webhook_endpoint_update(:'e1', '{"url": "https://hooks.example.test/m1b", "event_types": null, "rate_limit_per_second": null, "description": null}')
    - 'created_at' - 'updated_at' - 'id' - 'created_by' - 'disabled_at' - 'disabled_reason' - 'failing_since' - 'previous_secret_expires_at' - 'enabled',
  '{"url": "https://hooks.example.test/m1b", "event_types": null, "rate_limit_per_second": null, "description": ""}'::jsonb,
  'update changes the url; JSON null clears event types (every type), the rate limit and the description');
select throws_like(format($$select public.webhook_endpoint_update(%L, '{"secret_id": null}')$$, :'e1'),
  'Unknown field(s) in the changes of webhook endpoint%: secret_id%', 'update refuses unknown fields');
select throws_ok(format($$select public.webhook_endpoint_update(%L, '{"url": null}')$$, :'e1'), '22023', 'url must be a string',
  'and a null url');
select throws_ok($$select public.webhook_endpoint_get('00000000-0000-0000-0000-00000000dead')$$, 'P0002',
  'Webhook endpoint 00000000-0000-0000-0000-00000000dead not found', 'an unknown endpoint: P0002');

select is(public.webhook_endpoint_disable(:'e2', 'Receiver under maintenance') ->> 'disabled_reason', 'Receiver under maintenance',
  'disable records the reason');
select is(public.webhook_endpoint_disable(:'e2') ->> 'disabled_reason', 'Receiver under maintenance',
  'disabling again keeps the first reason');
select throws_like(format('select public.webhook_endpoint_test(%L)', :'e2'), '%is disabled (Receiver under maintenance)%',
  'no test event to a disabled endpoint');
reset role;
update public.webhook_endpoints set failing_since = :'t0' where id = :'e2';
select tests.act_as_clinic_admin(:'admin');
select is(
  (select format('%s|%s|%s|%s', e ->> 'enabled', e ->> 'disabled_at', e ->> 'disabled_reason', e ->> 'failing_since')
   from public.webhook_endpoint_enable(:'e2') e),
  'true|||', 'enable clears disabled_at, the reason and failing_since');

-- ---------------------------------------------------------------------------------------------
-- Rotation.
-- ---------------------------------------------------------------------------------------------
reset role;
select e.secret_id as old_secret_id from public.webhook_endpoints e where e.id = :'e2' \gset
select tests.act_as_clinic_admin(:'admin');
select public.webhook_endpoint_rotate_secret(:'e2') as rotated \gset
select ok((:'rotated'::jsonb ->> 'secret') ~ '^whsec_' and (:'rotated'::jsonb ->> 'secret') <> 'whsec_' || encode(sha256('m2'), 'base64')
          and (:'rotated'::jsonb ->> 'previous_secret_expires_at')::timestamptz = now() + interval '24 hours',
  'rotate returns a new secret; the old one expires in 24 hours');
select is(public.webhook_endpoint_secret(:'e2') - 'previous_secret_expires_at',
  jsonb_build_object('secret', :'rotated'::jsonb ->> 'secret', 'previous_secret', 'whsec_' || encode(sha256('m2'), 'base64')),
  'webhook_endpoint_secret shows both');
select public.webhook_endpoint_rotate_secret(:'e2', 'whsec_' || encode(sha256('m2-third'), 'base64')) as rotated2 \gset
select is(public.webhook_endpoint_secret(:'e2') - 'previous_secret_expires_at',
  jsonb_build_object('secret', 'whsec_' || encode(sha256('m2-third'), 'base64'), 'previous_secret', :'rotated'::jsonb ->> 'secret'),
  'rotating again: the given secret is current, the second one previous');
reset role;
select is(pg_temp.vault(:'old_secret_id'), null, 'the first secret left Vault');
select tests.act_as_clinic_admin(:'admin');

-- ---------------------------------------------------------------------------------------------
-- Test events, messages, replay, recover.
-- ---------------------------------------------------------------------------------------------
select public.webhook_endpoint_test(:'e1') as test_msg \gset
select is(
  (select format('%s|%s|%s|%s', m ->> 'event_type', m ->> 'status', m -> 'payload' -> 'data' ->> 'message', m -> 'payload' -> 'data' ->> 'sent_by')
   from (select :'test_msg'::jsonb m) x),
  format('webhook.test|pending|Test event from the workshop|%s', :'admin'), 'a test event: a pending webhook.test message, sent by the admin');
select is((select count(*)::int from jsonb_array_elements(public.webhook_endpoint_messages(:'e1'))), 1,
  'the endpoint''s messages list it');
select throws_ok(format('select public.webhook_message_replay(%L)', :'test_msg'::jsonb ->> 'id'), '22023', null,
  'replay is refused while the message''s job is unfinished');
reset role;
select (:'test_msg'::jsonb ->> 'id') as tm, (:'test_msg'::jsonb ->> 'job_id')::bigint as tm_job \gset
select public.webhook_deliveries_record(jsonb_build_array(jsonb_build_object('message_id', :'tm', 'job_id', :'tm_job',
  'job_attempt', 8, 'attempt', 1, 'started_at', now(), 'duration_ms', 15000, 'status', null, 'error', 'timeout')));
select public.job_cancel(:'tm_job', 'finished for the test');
select tests.act_as_clinic_admin(:'admin');
select is(
  (select format('%s|%s|%s', m ->> 'status', jsonb_array_length(m -> 'attempts'), m -> 'attempts' -> 0 ->> 'error')
   from public.webhook_message_get(:'tm') m),
  'failed|1|timeout', 'webhook_message_get shows the failed message with its attempt');
select public.webhook_message_replay(:'tm') as replayed \gset
select ok(:'replayed'::jsonb ->> 'id' = :'tm' and :'replayed'::jsonb ->> 'status' = 'pending'
          and (:'replayed'::jsonb ->> 'job_id')::bigint <> :'tm_job' and :'replayed'::jsonb ->> 'failure_reason' is null,
  'replay: the same webhook-id, pending again, with a new job');
reset role;
select is((select format('%s|%s', j.state, j.dedupe_key) from jobs.jobs j where j.id = (:'replayed'::jsonb ->> 'job_id')::bigint),
  format('waiting|%s', :'tm'), 'the new job waits, deduplicated by the message id');
select is((select m.attempts from public.webhook_messages m where m.id = :'tm'), 1, 'the message keeps its attempt count');

-- Recover: two failed messages, one before the cut.
select webhooks_internal.publish('ticket.overdue', '{}', 'evt_m' || n, null, :'e1', :'t0'::timestamptz + make_interval(hours => n))
from generate_series(1, 2) n;
select public.job_cancel(m.job_id, 'finished for the test') from public.webhook_messages m where m.event_id like 'evt_m%';
update public.webhook_messages set status = 'failed', failed_at = :'t0', failure_reason = 'endpoint disabled: x'
where event_id like 'evt_m%';
select tests.act_as_clinic_admin(:'admin');
select is(public.webhook_endpoint_recover(:'e1', :'t0'::timestamptz + interval '90 minutes'), '{"recovered": 1}'::jsonb,
  'recover replays the failed messages created since the given time');
select is(
  (select array_agg(format('%s:%s', m ->> 'event_id', m ->> 'status') order by m ->> 'event_id')
   from jsonb_array_elements(public.webhook_endpoint_messages(:'e1', null, 50, :'t0'::timestamptz + interval '1 day')) m
   where m ->> 'event_id' like 'evt_m%'),
  array['evt_m1:failed', 'evt_m2:pending'], 'the earlier one stays failed');
select is(jsonb_array_length(public.webhook_endpoint_messages(:'e1', 'failed')), 1, 'messages filter by status');
select throws_ok(format('select public.webhook_endpoint_messages(%L, %L)', :'e1', 'lost'), '22023', null,
  'an unknown status is refused');
select is((select e -> 'counts' from jsonb_array_elements(public.webhook_endpoints_list()) e where e ->> 'id' = :'e1'), '{"pending": 2, "failed": 1, "delivered_24h": 0}'::jsonb,
  'the list counts pending and failed messages');
reset role;

-- ---------------------------------------------------------------------------------------------
-- The outcomes view; retention; delete.
-- ---------------------------------------------------------------------------------------------
select is(
  (select array_agg(format('%s %s %s', o.status, o.messages, o.attempts) order by o.status)
   from public.webhook_delivery_outcomes o where o.endpoint_id = :'e1'),
  array['failed 1 0', 'pending 2 1'], 'webhook_delivery_outcomes: messages and attempts by status');

update public.webhook_messages set status = 'delivered', delivered_at = :'t0', failed_at = null, failure_reason = null
where event_id = 'evt_m1';
update public.webhook_endpoints set previous_secret_expires_at = :'t0' where id = :'e2';
select e.previous_secret_id as prev_id from public.webhook_endpoints e where e.id = :'e2' \gset
select is((select array[p.messages_deleted, p.secrets_deleted] from webhooks_internal.prune(:'t0'::timestamptz + interval '31 days') p),
  array[1::bigint, 1::bigint], 'retention deletes delivered messages older than 30 days and expired previous secrets');
select ok(pg_temp.vault(:'prev_id') is null
          and (select e.previous_secret_id is null from public.webhook_endpoints e where e.id = :'e2'),
  'the expired secret left Vault and the endpoint');

select e.secret_id as e1_secret from public.webhook_endpoints e where e.id = :'e1' \gset
select tests.act_as_clinic_admin(:'admin');
select is(public.webhook_endpoint_delete(:'e1'), jsonb_build_object('deleted', true, 'id', :'e1'), 'delete answers {deleted, id}');
reset role;
select is(
  array[(select count(*)::int from public.webhook_messages where endpoint_id = :'e1'),
        (select count(*)::int from public.webhook_attempts where endpoint_id = :'e1'),
        (select count(*)::int from vault.secrets where id = :'e1_secret')],
  array[0, 0, 0], 'its messages, attempts and Vault secret are gone');
select is(public.webhook_deliveries_start(array[:'tm']) -> 0 ->> 'action', 'skip',
  'its queued job is told to skip');

select * from finish();
rollback;
