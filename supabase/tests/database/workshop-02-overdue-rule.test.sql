-- The overdue rule and the repeat interval (workshop_check_overdue, at a frozen p_now): each
-- condition on its own (date past or not, each status, unassigned), the statuses and the
-- interval taken from workshop_settings, nothing recorded without a subscriber, one message
-- per subscribed and enabled endpoint, the payload's shape and size, the 24-hour rule (a
-- second run within the window notifies nothing, after it again), the exclusion constraint
-- refusing a direct second insert (23P01), the limit, and the two operators' views.
begin;
select plan(44);

-- Only this file's tickets and endpoints (the deletions are rolled back with the rest). The
-- webhooks queue counts as woken already: the messages' jobs call nothing.
set local jobs.woken_queues = ',webhooks,';
delete from public.webhook_notifications;
delete from public.tickets;
delete from public.webhook_endpoints;

create function pg_temp.w2_user(p_name text, p_role text default 'technician') returns uuid
language sql as $$
  insert into public.workshop_users (full_name, email, role)
  values (p_name, lower(replace(p_name, ' ', '.')) || '@w2.example.test', p_role) returning id
$$;
create function pg_temp.w2_ticket(
  p_title text, p_status text, p_assigned_to uuid, p_scheduled timestamptz, p_description text default 'Check it'
) returns bigint
language sql as $$
  insert into public.tickets (title, description, status, priority, machine_id, assigned_to, scheduled_date, created_at)
  values (p_title, p_description, p_status, 'high',
          (select id from public.machines where serial_number = 'W2-001'), p_assigned_to, p_scheduled,
          tests.frozen_now() - interval '10 days')
  returning id
$$;
/* An endpoint created as an admin would (webhook_endpoint_create); returns its id. */
create function pg_temp.w2_endpoint(p_name text, p_event_types text[]) returns uuid
language plpgsql as $$
declare
  v_endpoint jsonb;
begin
  perform set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"role": "admin"}}', true);
  v_endpoint := public.webhook_endpoint_create('https://hooks.example.test/' || p_name, p_name, p_event_types);
  perform set_config('request.jwt.claims', '', true);
  return (v_endpoint ->> 'id')::uuid;
end
$$;
/* workshop_check_overdue at frozen_now() + p_after. */
create function pg_temp.w2_check(p_after interval default '0', p_limit int default 1000) returns jsonb
language sql as $$ select public.workshop_check_overdue(tests.frozen_now() + p_after, p_limit) $$;
create function pg_temp.w2_notified(p_ticket bigint) returns int
language sql as $$ select count(*)::int from public.webhook_notifications where ticket_id = p_ticket $$;

update public.workshop_settings set overdue_statuses = '{received,diagnostic}', repeat_interval = '24 hours';
select pg_temp.w2_user('Tom W2') as tom \gset
insert into public.machines (name, machine_type, model, serial_number, location)
values ('Four W2', 'Four', 'F-9', 'W2-001', 'Hall A');

-- ---------------------------------------------------------------------------------------------
-- Each condition of the rule.
-- ---------------------------------------------------------------------------------------------
select pg_temp.w2_ticket('Past received', 'received', :'tom', tests.frozen_now() - interval '1 hour') as past_received,
       pg_temp.w2_ticket('Past diagnostic', 'diagnostic', :'tom', tests.frozen_now() - interval '2 days') as past_diagnostic,
       pg_temp.w2_ticket('Future received', 'received', :'tom', tests.frozen_now() + interval '30 days') as future,
       pg_temp.w2_ticket('Due this instant', 'received', :'tom', tests.frozen_now()) as due_now,
       pg_temp.w2_ticket('Not scheduled', 'received', :'tom', null) as unscheduled,
       pg_temp.w2_ticket('Unassigned', 'received', null, tests.frozen_now() - interval '1 day') as unassigned,
       pg_temp.w2_ticket('In progress', 'in_progress', :'tom', tests.frozen_now() - interval '1 day') as in_progress,
       pg_temp.w2_ticket('Waiting parts', 'waiting_parts', :'tom', tests.frozen_now() - interval '12 hours') as waiting_parts,
       pg_temp.w2_ticket('Completed', 'completed', :'tom', tests.frozen_now() - interval '1 day') as completed,
       pg_temp.w2_ticket('Archived', 'archived', :'tom', tests.frozen_now() - interval '1 day') as archived
\gset

select is(
  array(select ticket_id from workshop_internal.due_tickets(tests.frozen_now())),
  array[:past_diagnostic, :past_received]::bigint[],
  'overdue: scheduled in the past, received or diagnostic, assigned; most overdue first (not future, not due this instant, not unscheduled, unassigned, in progress, waiting for parts, completed or archived)'
);
select is(
  (select overdue_by from workshop_internal.due_tickets(tests.frozen_now()) where ticket_id = :past_diagnostic),
  interval '2 days',
  'overdue_by is p_now - scheduled_date'
);
-- (Due this instant, it would be overdue a moment later: out of the way.)
update public.tickets set status = 'archived' where id = :due_now;

-- ---------------------------------------------------------------------------------------------
-- No subscriber: nothing is recorded.
-- ---------------------------------------------------------------------------------------------
select pg_temp.w2_endpoint('other-events', array['ticket.closed']) as other_endpoint \gset
select is(
  pg_temp.w2_check() - 'checked_at',
  '{"overdue": 2, "notified": 0, "messages": 0, "subscribers": 0, "reason": "No enabled webhook endpoint subscribes to ticket.overdue: nothing recorded"}'::jsonb,
  'without an enabled endpoint subscribed to ticket.overdue the check says so'
);
select is((select count(*)::int from public.webhook_notifications), 0, '... and records no notification');
select is((select count(*)::int from public.webhook_messages), 0, '... and no message');

-- ---------------------------------------------------------------------------------------------
-- Two subscribers (one by type, one to everything); one disabled, one for another type.
-- ---------------------------------------------------------------------------------------------
select pg_temp.w2_endpoint('by-type', array['ticket.overdue']) as by_type,
       pg_temp.w2_endpoint('everything', null) as everything,
       pg_temp.w2_endpoint('disabled', array['ticket.overdue']) as disabled
\gset
select set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"role": "admin"}}', true);
select public.webhook_endpoint_disable(:'disabled');
select set_config('request.jwt.claims', '', true);

select is(
  pg_temp.w2_check(),
  '{"overdue": 2, "notified": 2, "messages": 4, "subscribers": 2, "checked_at": "2026-12-07T09:00:00.000Z"}'::jsonb,
  'the check notifies the two overdue tickets, one message per subscribed endpoint'
);
select results_eq(
  format($$select ticket_id, notified_at, next_allowed_at, overdue_by, endpoint_count,
                  event_id = 'evt_' || replace(id::text, '-', '')
           from public.webhook_notifications order by ticket_id$$),
  format($$values (%s::bigint, %L::timestamptz, %L::timestamptz, interval '1 hour', 2, true),
                  (%s::bigint, %L::timestamptz, %L::timestamptz, interval '2 days', 2, true)$$,
         :past_received, tests.frozen_now(), tests.frozen_now() + interval '24 hours',
         :past_diagnostic, tests.frozen_now(), tests.frozen_now() + interval '24 hours'),
  'one notification per overdue ticket: notified now, next allowed in 24 hours, how late, two endpoints, its event id'
);
select results_eq(
  $$select m.endpoint_id, m.event_type, m.subject from public.webhook_messages m
    join public.webhook_notifications n on n.event_id = m.event_id
    order by n.ticket_id, m.endpoint_id$$,
  format($$select e, 'ticket.overdue', s from (values (%L::uuid), (%L::uuid)) ep(e),
                  (values ('ticket:%s', 1), ('ticket:%s', 2)) t(s, o) order by o, e$$,
         :'by_type', :'everything', :past_received, :past_diagnostic),
  'each notification''s event has one ticket.overdue message per subscribed, enabled endpoint (not the disabled one, not the other type), subject ticket:<id>'
);
select is(
  (select count(*)::int from jobs.jobs j join public.webhook_messages m on j.dedupe_key = m.id
   where j.queue = 'webhooks' and j.subject = 'endpoint:' || m.endpoint_id),
  4,
  'each message has its delivery job on the webhooks queue'
);

-- ---------------------------------------------------------------------------------------------
-- The payload.
-- ---------------------------------------------------------------------------------------------
select m.payload as payload from public.webhook_messages m
join public.webhook_notifications n on n.event_id = m.event_id
where n.ticket_id = :past_diagnostic and m.endpoint_id = :'by_type' \gset
select is(
  array(select jsonb_object_keys(:'payload'::jsonb) order by 1),
  array['data', 'timestamp', 'type'],
  'the body is {type, timestamp, data}'
);
select is(:'payload'::jsonb ->> 'type', 'ticket.overdue', 'its type is ticket.overdue');
select is(:'payload'::jsonb ->> 'timestamp', '2026-12-07T09:00:00.000Z', 'its timestamp is the check''s time');
select is(
  array(select jsonb_object_keys(:'payload'::jsonb -> 'data') order by 1),
  array['assignee', 'machine', 'notified_at', 'overdue_by_seconds', 'ticket'],
  'its data holds the ticket, the machine, the assignee, how late and when notified'
);
select is(
  :'payload'::jsonb -> 'data' -> 'ticket',
  jsonb_build_object('id', :past_diagnostic, 'title', 'Past diagnostic', 'description', 'Check it',
                     'status', 'diagnostic', 'priority', 'high',
                     'scheduled_date', '2026-12-05T09:00:00.000Z', 'created_at', '2026-11-27T09:00:00.000Z'),
  'data.ticket: id, title, description, status, priority, scheduled_date and created_at (ISO 8601 UTC)'
);
select is(
  (:'payload'::jsonb -> 'data' -> 'machine') - 'id',
  '{"name": "Four W2", "machine_type": "Four", "location": "Hall A"}'::jsonb,
  'data.machine: name, machine_type, location'
);
select is(
  :'payload'::jsonb -> 'data' -> 'assignee',
  jsonb_build_object('id', :'tom', 'full_name', 'Tom W2', 'email', 'tom.w2@w2.example.test', 'role', 'technician'),
  'data.assignee: id, full_name, email, role'
);
select is((:'payload'::jsonb -> 'data' ->> 'overdue_by_seconds')::bigint, 172800::bigint,
  'data.overdue_by_seconds: two days');
select is(:'payload'::jsonb -> 'data' ->> 'notified_at', '2026-12-07T09:00:00.000Z', 'data.notified_at');

-- The longest texts the tables allow, in the costliest characters for JSON.
select pg_temp.w2_ticket(repeat('"', 200), 'received', :'tom', tests.frozen_now() - interval '3 days',
                         repeat(e'\u0001€', 10000)) as huge \gset
update public.machines set name = repeat('"', 200), location = repeat(e'\u0002', 200) where serial_number = 'W2-001';
select is((pg_temp.w2_check('2 hours') ->> 'notified')::int, 1, 'a ticket with the longest texts is notified (two hours later)');
select ok(
  (select bool_and(octet_length(m.payload::text) < 20480) and count(*) = 2
   from public.webhook_messages m join public.webhook_notifications n on n.event_id = m.event_id
   where n.ticket_id = :huge),
  '... its body stays under 20 KB'
);
select ok(
  (select length(m.payload -> 'data' -> 'ticket' ->> 'description') <= 4000
          and m.payload -> 'data' -> 'ticket' ->> 'description' like e'\u0001€%…'
   from public.webhook_messages m join public.webhook_notifications n on n.event_id = m.event_id
   where n.ticket_id = :huge limit 1),
  '... its description cut to 4000 characters at most, ending with …'
);

-- ---------------------------------------------------------------------------------------------
-- The 24-hour rule.
-- ---------------------------------------------------------------------------------------------
select is(pg_temp.w2_check('2 hours 1 minute') - 'checked_at',
  '{"overdue": 0, "notified": 0, "messages": 0, "subscribers": 2, "reason": "No ticket is overdue"}'::jsonb,
  'a run within the windows (two hours and a minute later) notifies nothing');
select is((pg_temp.w2_check('23 hours 59 minutes') ->> 'notified')::int, 0,
  'nor a run 23 h 59 min later');
select is((pg_temp.w2_check('24 hours') ->> 'notified')::int, 2,
  'a run 24 hours later notifies the first two tickets again');
select is(array[pg_temp.w2_notified(:past_received), pg_temp.w2_notified(:past_diagnostic), pg_temp.w2_notified(:huge)],
  array[2, 2, 1], '... each of them has two notifications now; the third one''s window is still open');
select is((pg_temp.w2_check('24 hours 30 minutes') ->> 'notified')::int, 0,
  'and a run within the new window notifies nothing');
select is((pg_temp.w2_check('26 hours') ->> 'notified')::int, 1, 'the third ticket is notified when its own window ends');

-- The window is the constraint's: a second notification overlapping it is refused.
select throws_ok(
  format($$insert into public.webhook_notifications (ticket_id, notified_at, next_allowed_at, overdue_by, endpoint_count)
           values (%s, %L, %L, '1 day', 0)$$,
         :past_received, tests.frozen_now() + interval '30 hours', tests.frozen_now() + interval '54 hours'),
  '23P01', null,
  'a direct insert overlapping a ticket''s window fails with 23P01 (exclusion constraint)'
);
select lives_ok(
  format($$insert into public.webhook_notifications (ticket_id, notified_at, next_allowed_at, overdue_by, endpoint_count)
           values (%s, %L, %L, '1 day', 0)$$,
         :past_received, tests.frozen_now() + interval '48 hours', tests.frozen_now() + interval '72 hours'),
  'one starting when the window ends is accepted'
);
select lives_ok(
  format($$insert into public.webhook_notifications (ticket_id, notified_at, next_allowed_at, overdue_by, endpoint_count)
           values (%s, %L, %L, '1 day', 0)$$,
         :future, tests.frozen_now() + interval '30 hours', tests.frozen_now() + interval '54 hours'),
  'and so is one of another ticket at the same time'
);
delete from public.webhook_notifications where notified_at >= tests.frozen_now() + interval '30 hours';

-- ---------------------------------------------------------------------------------------------
-- The settings: interval and statuses.
-- ---------------------------------------------------------------------------------------------
update public.workshop_settings set repeat_interval = '1 hour';
select is((pg_temp.w2_check('47 hours') ->> 'notified')::int, 0,
  'a shorter repeat interval does not shorten the windows already recorded');
select is((pg_temp.w2_check('48 hours') ->> 'notified')::int, 2, 'when they end, the tickets are notified again');
select is(
  (select next_allowed_at from public.webhook_notifications
   where ticket_id = :past_received order by notified_at desc limit 1),
  tests.frozen_now() + interval '49 hours',
  '... with the new interval: next allowed an hour later'
);
select is((pg_temp.w2_check('48 hours 59 minutes') ->> 'notified')::int, 0, 'not within that hour');
select is((pg_temp.w2_check('49 hours') ->> 'notified')::int, 2, 'again after it');

update public.workshop_settings set overdue_statuses = '{in_progress,waiting_parts}';
select is(
  array(select ticket_id from workshop_internal.due_tickets(tests.frozen_now() + interval '49 hours') order by 1),
  array[:in_progress, :waiting_parts]::bigint[],
  'the statuses that count come from workshop_settings.overdue_statuses'
);
select throws_ok($$update public.workshop_settings set overdue_statuses = '{completed}'$$, '23514', null,
  'a closed status cannot count as overdue');
select throws_ok($$update public.workshop_settings set overdue_statuses = '{}'$$, '23514', null,
  'nor can no status at all');
select throws_ok($$update public.workshop_settings set repeat_interval = '30 seconds'$$, '23514', null,
  'the repeat interval is at least a minute');

-- ---------------------------------------------------------------------------------------------
-- The limit, and bad input.
-- ---------------------------------------------------------------------------------------------
select is(pg_temp.w2_check('49 hours', 1) ->> 'notified', '1', 'p_limit caps the tickets notified by one run');
select is(
  (select array_agg(ticket_id) from public.webhook_notifications where notified_at = tests.frozen_now() + interval '49 hours'
     and ticket_id in (:in_progress, :waiting_parts)),
  array[:in_progress]::bigint[],
  '... the most overdue first'
);
select throws_ok($$select public.workshop_check_overdue(now(), 0)$$, '22023',
  'workshop_check_overdue: p_limit must be between 1 and 10000 (got 0)', 'a limit out of range is refused');

-- ---------------------------------------------------------------------------------------------
-- The views.
-- ---------------------------------------------------------------------------------------------
update public.workshop_settings set overdue_statuses = '{received,diagnostic}';
select pg_temp.w2_ticket('Late today', 'received', :'tom', now() - interval '90 minutes') as late_today,
       pg_temp.w2_ticket('Later today', 'received', :'tom', now() + interval '90 minutes') as later_today
\gset
select results_eq(
  format($$select id, title, overdue_by, machine_type, assignee_name from public.overdue_tickets
           where id in (%s, %s)$$, :late_today, :later_today),
  format($$values (%s::bigint, 'Late today', interval '90 minutes', 'Four', 'Tom W2')$$, :late_today),
  'overdue_tickets lists what the rule selects now, with its machine and assignee'
);
select results_eq(
  format($$select endpoint_url, status, attempts from public.ticket_notification_story
           where ticket_id = %s order by notified_at, endpoint_url$$, :past_diagnostic),
  $$values ('https://hooks.example.test/by-type', 'pending', 0), ('https://hooks.example.test/everything', 'pending', 0),
           ('https://hooks.example.test/by-type', 'pending', 0), ('https://hooks.example.test/everything', 'pending', 0),
           ('https://hooks.example.test/by-type', 'pending', 0), ('https://hooks.example.test/everything', 'pending', 0),
           ('https://hooks.example.test/by-type', 'pending', 0), ('https://hooks.example.test/everything', 'pending', 0)$$,
  'ticket_notification_story: each notification of the ticket, once per endpoint, with its delivery status'
);

select * from finish();
rollback;
