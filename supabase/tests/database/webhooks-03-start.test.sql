-- What the worker is told to do (webhook_deliveries_start): send (URL, the body byte for byte the
-- same at every call, the secrets: current and previous during the 24-hour overlap of a rotation,
-- current only after it, the message's next attempt number); skip for a message gone, delivered
-- or failed, or whose endpoint is disabled (the message then fails, recoverably); wait when the
-- endpoint's token bucket is empty (wait_seconds until a token, nothing consumed), refilled with
-- time. Answers come in the order asked.
begin;
select plan(17);

select tests.frozen_now() as t0 \gset

create function pg_temp.add_endpoint(p_name text, p_rate int default null) returns uuid
language plpgsql as $$
declare
  v_id uuid := gen_random_uuid();
begin
  insert into public.webhook_endpoints (id, url, rate_limit_per_second, secret_id)
  values (v_id, 'https://hooks.example.test/' || p_name, p_rate,
          webhooks_internal.store_secret(pg_temp.secret_of(p_name), v_id));
  return v_id;
end
$$;
create function pg_temp.secret_of(p_name text) returns text
language sql immutable as $$ select 'whsec_' || encode(sha256(convert_to(p_name, 'UTF8')), 'base64') $$;
/* The message of event p_event for endpoint p_endpoint. */
create function pg_temp.msg(p_event text, p_endpoint uuid) returns text
language sql stable as $$
  select m.id from public.webhook_messages m where m.event_id = p_event and m.endpoint_id = p_endpoint
$$;
/* The answer for message p_id in a start answer. */
create function pg_temp.answer(p_answers jsonb, p_id text) returns jsonb
language sql immutable as $$ select a from jsonb_array_elements(p_answers) a where a ->> 'message_id' = p_id $$;

select pg_temp.add_endpoint('a') as e_a \gset
select pg_temp.add_endpoint('slow', 2) as e_slow \gset
select webhooks_internal.publish('ticket.overdue', jsonb_build_object('n', n), 'evt_s' || n, null, null, :'t0')
from generate_series(1, 3) n;
select pg_temp.msg('evt_s1', :'e_a') as m1, pg_temp.msg('evt_s2', :'e_a') as m2, pg_temp.msg('evt_s3', :'e_a') as m3,
       pg_temp.msg('evt_s1', :'e_slow') as s1, pg_temp.msg('evt_s2', :'e_slow') as s2,
       pg_temp.msg('evt_s3', :'e_slow') as s3 \gset

-- ---------------------------------------------------------------------------------------------
-- send.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select public.webhook_deliveries_start(array[:'m1', :'m2'], :'t0'::timestamptz + interval '1 second') as first \gset
reset role;
select is(
  pg_temp.answer(:'first', :'m1'),
  jsonb_build_object('message_id', :'m1', 'action', 'send', 'url', 'https://hooks.example.test/a',
                     'secrets', jsonb_build_array(pg_temp.secret_of('a')),
                     'body', (select m.payload::text from public.webhook_messages m where m.id = :'m1'),
                     'event_type', 'ticket.overdue', 'attempt', 1, 'wait_seconds', null, 'reason', null),
  'send: the URL, the current secret, the body (payload::text), the type, attempt 1'
);
select is(array(select a ->> 'message_id' from jsonb_array_elements(:'first'::jsonb) a), array[:'m1', :'m2'],
  'answers come in the order asked');
select is((pg_temp.answer(:'first', :'m1') ->> 'body')::jsonb ->> 'timestamp', '2026-12-07T09:00:00.000Z',
  'the body carries the event''s timestamp');
update public.webhook_messages set attempts = 3 where id = :'m1';
select tests.act_as_service_role();
select public.webhook_deliveries_start(array[:'m1'], :'t0'::timestamptz + interval '1 hour') as later \gset
reset role;
select is(pg_temp.answer(:'later', :'m1') ->> 'body', pg_temp.answer(:'first', :'m1') ->> 'body',
  'an hour later the body is byte for byte the same (signatures cover it)');
select is((pg_temp.answer(:'later', :'m1') ->> 'attempt')::int, 4, 'attempt is the message''s attempts + 1');

-- ---------------------------------------------------------------------------------------------
-- Secrets during and after a rotation's overlap.
-- ---------------------------------------------------------------------------------------------
update public.webhook_endpoints e
set previous_secret_id = e.secret_id, previous_secret_expires_at = :'t0'::timestamptz + interval '24 hours',
    secret_id = webhooks_internal.store_secret(pg_temp.secret_of('a-new'), e.id)
where e.id = :'e_a';
select tests.act_as_service_role();
select is(
  public.webhook_deliveries_start(array[:'m2'], :'t0'::timestamptz + interval '23 hours 59 minutes') -> 0 -> 'secrets',
  jsonb_build_array(pg_temp.secret_of('a-new'), pg_temp.secret_of('a')),
  'within 24 hours of a rotation: the new secret and the previous one'
);
select is(
  public.webhook_deliveries_start(array[:'m2'], :'t0'::timestamptz + interval '24 hours') -> 0 -> 'secrets',
  jsonb_build_array(pg_temp.secret_of('a-new')),
  'from the expiry on: the new secret only'
);
reset role;

-- ---------------------------------------------------------------------------------------------
-- skip.
-- ---------------------------------------------------------------------------------------------
update public.webhook_messages set status = 'delivered', delivered_at = :'t0' where id = :'m2';
select tests.act_as_service_role();
select public.webhook_deliveries_start(array[:'m2', 'msg_gone'], :'t0') as skips \gset
reset role;
select is(
  array[pg_temp.answer(:'skips', :'m2') ->> 'action', pg_temp.answer(:'skips', :'m2') ->> 'reason',
        pg_temp.answer(:'skips', 'msg_gone') ->> 'action', pg_temp.answer(:'skips', 'msg_gone') ->> 'reason'],
  array['skip', format('Message %s was delivered already', :'m2'),
        'skip', 'Message msg_gone no longer exists (its endpoint was deleted)'],
  'skip a delivered message and a message that is gone, saying why'
);
select is(pg_temp.answer(:'skips', :'m2') -> 'secrets', 'null'::jsonb, 'a skip carries no secret');

update public.webhook_endpoints set enabled = false, disabled_at = :'t0', disabled_reason = 'Answered 410 Gone'
where id = :'e_a';
select tests.act_as_service_role();
select public.webhook_deliveries_start(array[:'m3'], :'t0') -> 0 as disabled \gset
reset role;
select is(array[:'disabled'::jsonb ->> 'action', :'disabled'::jsonb ->> 'reason'],
  array['skip', 'endpoint disabled: Answered 410 Gone'],
  'skip a message whose endpoint is disabled');
select is(
  (select format('%s|%s|%s', m.status, m.failed_at = :'t0', m.failure_reason) from public.webhook_messages m where m.id = :'m3'),
  'failed|t|endpoint disabled: Answered 410 Gone',
  'the message failed, with the endpoint''s reason (recoverable)'
);

-- ---------------------------------------------------------------------------------------------
-- wait: the token bucket of an endpoint limited to 2 per second.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select public.webhook_deliveries_start(array[:'s1', :'s2', :'s3'], :'t0') as bucket \gset
reset role;
select is(array(select a ->> 'action' from jsonb_array_elements(:'bucket'::jsonb) a), array['send', 'send', 'wait'],
  'a full bucket of 2 sends two messages; the third waits');
select is(array[pg_temp.answer(:'bucket', :'s3') ->> 'wait_seconds', pg_temp.answer(:'bucket', :'s3') ->> 'reason'],
  array['0.5', format('Endpoint %s is at its rate limit of 2 per second', :'e_slow')],
  'for half a second (a token every 0.5 s), saying why');
select is((select array[e.rate_tokens, extract(epoch from e.rate_refilled_at - :'t0')] from public.webhook_endpoints e where e.id = :'e_slow'),
  array[0::numeric, 0::numeric], 'the bucket is empty at p_now');
select tests.act_as_service_role();
select is(public.webhook_deliveries_start(array[:'s3'], :'t0'::timestamptz + interval '0.2 seconds') -> 0 ->> 'wait_seconds',
  '0.3', '0.2 s later it holds 0.4 token: wait 0.3 s for a whole one');
select is(public.webhook_deliveries_start(array[:'s3'], :'t0'::timestamptz + interval '0.5 seconds') -> 0 ->> 'action',
  'send', 'once a token is there (waiting consumed none), it goes');
select is(
  (select jsonb_agg(a -> 'action') from jsonb_array_elements(
     public.webhook_deliveries_start(array[:'s1', :'s2', :'s3'], :'t0'::timestamptz + interval '1 hour')) a),
  '["send", "send", "wait"]'::jsonb,
  'an hour later the bucket holds 2 tokens, no more');
reset role;

select * from finish();
rollback;
