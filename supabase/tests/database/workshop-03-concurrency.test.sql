-- Two checks at once never notify a ticket twice. Two more sessions (dblink) run
-- workshop_check_overdue at the same frozen instant: the second one's inserts wait for the
-- first transaction's notifications (exclusion constraint), then skip them when it commits, or
-- take over when it rolls back. The fixtures (three overdue tickets, one endpoint) are committed
-- through a third, autocommit session and removed at the end. The checking sessions mark the
-- webhooks queue as already woken in their transaction, so their delivery jobs wake nothing
-- before they are removed.
begin;
create extension if not exists dblink with schema extensions;
select plan(9);

select tests.connect('w3_setup'), tests.connect('w3_a'), tests.connect('w3_b');

/* The JSON answered by a query sent with dblink_send_query. */
create function pg_temp.w3_answer(p_name text) returns jsonb
language plpgsql as $$
declare
  v_answer jsonb;
begin
  select answer into v_answer from extensions.dblink_get_result(p_name) as t(answer jsonb);
  -- The empty result that frees the connection for the next query.
  perform * from extensions.dblink_get_result(p_name) as t(answer jsonb);
  return v_answer;
end
$$;

/* Runs in the setup session: the notifications of this file's tickets, their messages to its endpoint. */
create function pg_temp.w3_counts() returns table (notifications int, messages int, tickets_notified int)
language sql as $$
  select * from extensions.dblink('w3_setup', $sql$
    select count(*)::int, (select count(*)::int from public.webhook_messages m
                           join public.webhook_endpoints e on e.id = m.endpoint_id
                           where e.url = 'https://hooks.example.test/w3' and m.event_id in (select n2.event_id from public.webhook_notifications n2
                                                join public.tickets t2 on t2.id = n2.ticket_id
                                                where t2.title like 'W3 %')),
           count(distinct n.ticket_id)::int
    from public.webhook_notifications n join public.tickets t on t.id = n.ticket_id
    where t.title like 'W3 %'$sql$) as t(notifications int, messages int, tickets_notified int)
$$;

create function pg_temp.w3_cleanup() returns void
language sql as $$
  select extensions.dblink_exec('w3_setup', $sql$
    delete from jobs.job_events where job_id in (
      select j.id from jobs.jobs j join public.webhook_endpoints e on j.subject = 'endpoint:' || e.id
      where e.url = 'https://hooks.example.test/w3');
    delete from jobs.jobs where subject in (
      select 'endpoint:' || e.id from public.webhook_endpoints e where e.url = 'https://hooks.example.test/w3');
    delete from public.webhook_endpoints where url = 'https://hooks.example.test/w3';
    delete from public.tickets where title like 'W3 %';
    delete from public.machines where serial_number = 'W3-001';
    delete from public.workshop_users where email = 'tom.w3@w3.example.test';
  $sql$);
$$;
select pg_temp.w3_cleanup();

-- Three tickets overdue at frozen_now(), one endpoint subscribed to ticket.overdue.
select extensions.dblink_exec('w3_setup', format($sql$
  do $do$
  begin
    insert into public.workshop_users (full_name, email) values ('Tom W3', 'tom.w3@w3.example.test');
    insert into public.machines (name, machine_type, serial_number) values ('Four W3', 'Four', 'W3-001');
    insert into public.tickets (title, machine_id, assigned_to, scheduled_date)
    select 'W3 ' || n, m.id, u.id, %L::timestamptz - n * interval '1 hour'
    from generate_series(1, 3) n, public.machines m, public.workshop_users u
    where m.serial_number = 'W3-001' and u.email = 'tom.w3@w3.example.test';
    perform set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"role": "admin"}}', true);
    perform public.webhook_endpoint_create('https://hooks.example.test/w3', 'W3', array['ticket.overdue']);
  end
  $do$
$sql$, tests.frozen_now()));

create function pg_temp.w3_check_sql() returns text
language sql as $$
  select format('select public.workshop_check_overdue(%L)', tests.frozen_now())
$$;
create function pg_temp.w3_begin(p_name text) returns text
language sql as $f$
  select extensions.dblink_exec(p_name, $$begin; set local jobs.woken_queues = ',webhooks,'$$)
$f$;

-- ---------------------------------------------------------------------------------------------
-- Two checks at once: the second waits, then finds every ticket notified.
-- ---------------------------------------------------------------------------------------------
select pg_temp.w3_begin('w3_a'), pg_temp.w3_begin('w3_b');
select ok(
  (select (answer ->> 'notified')::int >= 3 from extensions.dblink('w3_a', pg_temp.w3_check_sql()) as t(answer jsonb)),
  'the first check notifies the three tickets (not yet committed)'
);
select extensions.dblink_send_query('w3_b', pg_temp.w3_check_sql());
select ok(tests.wait_until_blocked('w3_b'), 'the second check waits for the first one''s notifications');
select extensions.dblink_exec('w3_a', 'commit');
select is((pg_temp.w3_answer('w3_b') ->> 'notified')::int, 0, 'then it notifies nothing');
select extensions.dblink_exec('w3_b', 'commit');
select results_eq('select * from pg_temp.w3_counts()', 'values (3, 3, 3)',
  'exactly one notification per ticket, one message each');

-- ---------------------------------------------------------------------------------------------
-- The first check rolls back: the waiting one notifies instead.
-- ---------------------------------------------------------------------------------------------
select extensions.dblink_exec('w3_setup', $sql$
  delete from public.webhook_notifications where ticket_id in (select id from public.tickets where title like 'W3 %')
$sql$);
select pg_temp.w3_begin('w3_a'), pg_temp.w3_begin('w3_b');
select ok(
  (select (answer ->> 'notified')::int >= 3 from extensions.dblink('w3_a', pg_temp.w3_check_sql()) as t(answer jsonb)),
  'a first check notifies the tickets again (not yet committed)'
);
select extensions.dblink_send_query('w3_b', pg_temp.w3_check_sql());
select ok(tests.wait_until_blocked('w3_b'), 'a second one waits for it');
select extensions.dblink_exec('w3_a', 'rollback');
select ok((pg_temp.w3_answer('w3_b') ->> 'notified')::int >= 3, 'the first rolls back: the second notifies them');
select extensions.dblink_exec('w3_b', 'commit');
select results_eq(
  $$select notifications, tickets_notified from pg_temp.w3_counts()$$,
  'values (3, 3)',
  'still exactly one notification per ticket'
);

select pg_temp.w3_cleanup();
select is(
  (select n from extensions.dblink('w3_setup', $sql$
     select count(*)::int from public.tickets where title like 'W3 %'$sql$) as t(n int)),
  0,
  'the committed fixtures are removed'
);
select extensions.dblink_disconnect('w3_a');
select extensions.dblink_disconnect('w3_b');
select extensions.dblink_disconnect('w3_setup');

select * from finish();
rollback;
