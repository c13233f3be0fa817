-- Publishing an event (webhooks_internal.publish): one message per enabled endpoint subscribed to
-- its type (event_types null = every type), never to a disabled one; only the named endpoint for a
-- test event, subscribed or not; the payload {type, timestamp, data} under 20 KB; an event never
-- twice to one endpoint; one job per message on the webhooks queue (subject endpoint:<id>,
-- dedupe key the message id, payload {message_id}), woken once; the queue's settings.
begin;
select plan(19);

select tests.frozen_now() as t0 \gset

/* An endpoint named p_name (https://hooks.example.test/<name>) with secret whsec_ + base64(sha256(name)). */
create function pg_temp.add_endpoint(p_name text, p_event_types text[] default null, p_enabled boolean default true)
returns uuid
language plpgsql as $$
declare
  v_id uuid := gen_random_uuid();
begin
  insert into public.webhook_endpoints (id, url, event_types, enabled, disabled_at, disabled_reason, secret_id)
  values (v_id, 'https://hooks.example.test/' || p_name, p_event_types, p_enabled,
          case when not p_enabled then now() end, case when not p_enabled then 'Disabled by a test' end,
          webhooks_internal.store_secret('whsec_' || encode(sha256(convert_to(p_name, 'UTF8')), 'base64'), v_id));
  return v_id;
end
$$;

select pg_temp.add_endpoint('all') as e_all \gset
select pg_temp.add_endpoint('overdue', '{ticket.overdue}') as e_overdue \gset
select pg_temp.add_endpoint('other', '{ticket.closed,machine.down}') as e_other \gset
select pg_temp.add_endpoint('off', '{ticket.overdue}', false) as e_off \gset

-- ---------------------------------------------------------------------------------------------
-- The queue.
-- ---------------------------------------------------------------------------------------------
select is(
  (select format('%s %s %s %s %s %s %s', q.function_name, q.max_attempts, q.lease_seconds, q.batch_size,
                 q.throttle_limit, q.subject_concurrency, q.drain_schedule)
   from jobs.queues q where q.name = 'webhooks'),
  'deliver-webhooks 8 60 100 24:00:00 10 * * * * *',
  'queue webhooks: deliver-webhooks, 8 attempts, 60 s leases, batches of 100, 24 h of throttling, 10 running jobs per endpoint, drained every minute'
);

-- ---------------------------------------------------------------------------------------------
-- Who gets the event.
-- ---------------------------------------------------------------------------------------------
select is(webhooks_internal.publish('ticket.overdue', '{"ticket": {"id": 12}}', 'evt_p1', 'ticket:12', null, :'t0'), 2,
  'ticket.overdue makes two messages');
select is(
  array(select m.endpoint_id from public.webhook_messages m where m.event_id = 'evt_p1' order by 1),
  array(select unnest(array[:'e_all'::uuid, :'e_overdue'::uuid]) order by 1),
  'for the endpoint of every type and the one subscribed to ticket.overdue; not the other types'' nor the disabled one'
);
select is(
  (select m.payload from public.webhook_messages m where m.event_id = 'evt_p1' and m.endpoint_id = :'e_all'),
  '{"type": "ticket.overdue", "timestamp": "2026-12-07T09:00:00.000Z", "data": {"ticket": {"id": 12}}}'::jsonb,
  'the payload is {type, timestamp (p_now, ISO 8601 UTC with milliseconds), data}'
);
select ok(
  (select bool_and(m.id ~ '^msg_[0-9a-f]{32}$' and m.status = 'pending' and m.attempts = 0 and m.subject = 'ticket:12'
                   and m.event_type = 'ticket.overdue' and m.created_at = :'t0')
   from public.webhook_messages m where m.event_id = 'evt_p1'),
  'each message: id msg_<32 hex> (the webhook-id), pending, no attempt yet, the subject and type, created at p_now'
);
select is(
  (select count(distinct m.id)::int from public.webhook_messages m where m.event_id = 'evt_p1'), 2,
  'the two messages have their own webhook-ids'
);

select is(webhooks_internal.publish('machine.down', '{}', 'evt_p2', null, null, :'t0'), 2,
  'machine.down goes to the endpoint of every type and to the one subscribed to it');
select is(webhooks_internal.publish('workshop.nothing', '{}', 'evt_p3', null, null, :'t0'), 1,
  'a type nobody subscribes to goes to the endpoint of every type only');

-- ---------------------------------------------------------------------------------------------
-- The jobs.
-- ---------------------------------------------------------------------------------------------
select is(
  (select count(*)::int from public.webhook_messages m
   join jobs.jobs j on j.id = m.job_id
   where j.queue = 'webhooks' and j.subject = 'endpoint:' || m.endpoint_id and j.dedupe_key = m.id
     and j.payload = jsonb_build_object('message_id', m.id) and j.state = 'waiting' and j.run_at = :'t0'
     and j.max_attempts = 8),
  5,
  'every message has its waiting job: subject endpoint:<id>, dedupe key and payload the message id, runnable at p_now, 8 attempts'
);
select is((select count(*)::int from jobs.jobs j where j.queue = 'webhooks'), 5, 'and only those jobs');
select is(current_setting('jobs.woken_queues', true), ',webhooks,', 'the queue was woken (once per transaction)');

-- ---------------------------------------------------------------------------------------------
-- Nothing twice; test events; refusals.
-- ---------------------------------------------------------------------------------------------
select is(webhooks_internal.publish('ticket.overdue', '{"ticket": {"id": 12}, "again": true}', 'evt_p1', 'ticket:12', null, :'t0'), 0,
  'publishing the same event again creates nothing');
select is(
  (select count(*)::int from public.webhook_messages m where m.event_id = 'evt_p1'
   and m.payload -> 'data' ? 'again'), 0,
  'and leaves the first messages as they were');
select is((select count(*)::int from jobs.jobs j where j.queue = 'webhooks'), 5, 'nor enqueues a job');

select is(webhooks_internal.publish('webhook.test', '{"message": "hi"}', 'evt_p4', null, :'e_other', :'t0'), 1,
  'an event for one endpoint (a test event) goes to it although it does not subscribe to the type');
select is(webhooks_internal.publish('webhook.test', '{"message": "hi"}', 'evt_p5', null, :'e_off', :'t0'), 0,
  'but never to a disabled endpoint');

select throws_ok(
  format($$select webhooks_internal.publish('ticket.overdue', jsonb_build_object('blob', repeat('x', 20480)), 'evt_big', null, null, %L)$$, :'t0'),
  '22023', null,
  'a payload of 20 KB or more is refused');
select throws_like(
  format($$select webhooks_internal.publish('Ticket Overdue', '{}', 'evt_bad', null, null, %L)$$, :'t0'),
  '%Event type "Ticket Overdue" of event evt_bad is invalid%',
  'an invalid event type is refused, naming it and the event');
select is((select count(*)::int from public.webhook_messages m where m.event_id in ('evt_big', 'evt_bad')), 0,
  'refused events leave no message');

select * from finish();
rollback;
