-- Least privilege for the webhook delivery engine: row level security on its three tables (admins
-- read every row, other users and anon none), no direct writes by anon or authenticated; the
-- engine RPCs for service_role only; publish and the internal helpers out of every API role's
-- reach (except is_admin, which policies call as the signed-in user); every management RPC
-- refuses a non-admin with 42501 before anything else; views run with the caller's rights;
-- every function pins its search_path and carries a comment, every table and view a comment.
begin;
select plan(27);

-- ---------------------------------------------------------------------------------------------
-- Catalog: RLS, policies, grants, comments.
-- ---------------------------------------------------------------------------------------------
create temp table s1_tables (name text primary key);
insert into s1_tables values ('public.webhook_endpoints'), ('public.webhook_messages'), ('public.webhook_attempts');

select is(
  array(select t.name from s1_tables t join pg_class c on c.oid = t.name::regclass
        where not c.relrowsecurity order by 1),
  '{}'::text[],
  'row level security is enabled on every table of the engine'
);
select is(
  array(select t from unnest(array['public.webhook_endpoints', 'public.webhook_messages', 'public.webhook_attempts',
                                   'public.webhook_delivery_outcomes', 'public.webhook_endpoint_health']) t
        where obj_description(t::regclass, 'pg_class') is null order by 1),
  '{}'::text[],
  'every table and view of the engine carries a comment'
);
select is(
  array(select format('%s: "%s" %s to %s', tablename, policyname, cmd, array_to_string(roles, ', '))
        from pg_policies
        where schemaname = 'public' and tablename in ('webhook_endpoints', 'webhook_messages', 'webhook_attempts')
        order by tablename, policyname),
  array['webhook_attempts: "Admins read webhook attempts" SELECT to authenticated',
        'webhook_endpoints: "Admins read webhook endpoints" SELECT to authenticated',
        'webhook_messages: "Admins read webhook messages" SELECT to authenticated'],
  'one policy per table: authenticated admins read'
);
select is(
  array(select format('%s:%s', t.name, r) from s1_tables t, unnest(array['anon', 'authenticated']) r
        where has_table_privilege(r, t.name, 'insert,update,delete,truncate') order by 1),
  '{}'::text[],
  'anon and authenticated write no table of the engine'
);
select is(
  array(select t from unnest(array['public.webhook_endpoints', 'public.webhook_messages', 'public.webhook_attempts',
                                   'public.webhook_delivery_outcomes', 'public.webhook_endpoint_health']) t
        where has_table_privilege('anon', t, 'select') order by 1),
  '{}'::text[],
  'anon reads no table or view of the engine'
);
select ok(
  (select bool_and(coalesce('security_invoker=true' = any (c.reloptions), false)) from pg_class c
   where c.oid in ('public.webhook_delivery_outcomes'::regclass, 'public.webhook_endpoint_health'::regclass)),
  'both operator views run with the caller''s rights (security_invoker): RLS applies'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'webhooks_internal'::regnamespace
          and (has_function_privilege('anon', p.oid, 'execute')
               or has_function_privilege('authenticated', p.oid, 'execute')
               or has_function_privilege('service_role', p.oid, 'execute'))
        order by 1),
  array['webhooks_internal.is_admin()'],
  'of webhooks_internal, API roles may execute is_admin() only (publish included: not executable)'
);
select ok(not has_function_privilege('anon', 'webhooks_internal.is_admin()', 'execute')
          and not has_function_privilege('service_role', 'webhooks_internal.is_admin()', 'execute'),
  'is_admin() is for authenticated only (the policies)');

create temp table s1_functions as
select p.oid::regprocedure::text as fn from pg_proc p
where p.pronamespace = 'public'::regnamespace and p.proname like 'webhook\_%';
select is(
  array(select format('%s:%s', f.fn, r) from s1_functions f, unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, f.fn, 'execute') order by 1),
  array['webhook_deliveries_record(jsonb,timestamp with time zone):service_role',
        'webhook_deliveries_start(text[],timestamp with time zone):service_role',
        'webhook_endpoint_create(text,text,text[],integer,text):authenticated',
        'webhook_endpoint_delete(uuid):authenticated',
        'webhook_endpoint_disable(uuid,text):authenticated',
        'webhook_endpoint_enable(uuid):authenticated',
        'webhook_endpoint_get(uuid):authenticated',
        'webhook_endpoint_messages(uuid,text,integer,timestamp with time zone):authenticated',
        'webhook_endpoint_recover(uuid,timestamp with time zone):authenticated',
        'webhook_endpoint_rotate_secret(uuid,text):authenticated',
        'webhook_endpoint_secret(uuid):authenticated',
        'webhook_endpoint_test(uuid):authenticated',
        'webhook_endpoint_update(uuid,jsonb):authenticated',
        'webhook_endpoints_list():authenticated',
        'webhook_message_get(text):authenticated',
        'webhook_message_replay(text):authenticated'],
  'service_role alone runs the engine RPCs, authenticated the management RPCs, anon nothing'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where (p.pronamespace = 'webhooks_internal'::regnamespace or p.oid::regprocedure::text in (select fn from s1_functions))
          and not coalesce('search_path=""' = any (p.proconfig), false)
        order by 1),
  '{}'::text[],
  'every function of the engine pins an empty search_path'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where (p.pronamespace = 'webhooks_internal'::regnamespace or p.oid::regprocedure::text in (select fn from s1_functions))
          and obj_description(p.oid, 'pg_proc') is null
        order by 1),
  '{}'::text[],
  'every function of the engine carries a comment'
);
select ok((select bool_and(p.prosecdef) from pg_proc p where p.oid::regprocedure::text in (select fn from s1_functions)),
  'every callable function of the engine is security definer');

-- ---------------------------------------------------------------------------------------------
-- Rows: an endpoint with a message and an attempt.
-- ---------------------------------------------------------------------------------------------
insert into public.webhook_endpoints (id, url, secret_id)
values ('00000000-0000-0000-0000-00000000e101', 'https://hooks.example.test/s1',
        webhooks_internal.store_secret(webhooks_internal.new_secret(), '00000000-0000-0000-0000-00000000e101'));
select webhooks_internal.publish('ticket.overdue', '{"ticket": 1}', 'evt_s1', 'ticket:1',
                                 null, tests.frozen_now());
insert into public.webhook_attempts (message_id, endpoint_id, attempt, started_at, outcome)
select m.id, m.endpoint_id, 1, tests.frozen_now(), 'retry' from public.webhook_messages m where m.event_id = 'evt_s1';

select tests.act_as_user('00000000-0000-0000-0000-0000000000b1', '{"role": "technician"}');
select is(
  array[(select count(*)::int from public.webhook_endpoints), (select count(*)::int from public.webhook_messages),
        (select count(*)::int from public.webhook_attempts), (select count(*)::int from public.webhook_delivery_outcomes),
        (select count(*)::int from public.webhook_endpoint_health)],
  array[0, 0, 0, 0, 0],
  'a signed-in user who is not an admin sees no endpoint, message, attempt, nor anything in the views'
);
select ok(not webhooks_internal.is_admin(), 'is_admin() is false for a technician');
select throws_ok('select public.webhook_deliveries_start(array[''msg_x''])', '42501', null,
  'a user cannot call the worker''s RPCs');
select throws_ok('select webhooks_internal.publish(''a.b'', ''{}'', ''evt'')', '42501', null,
  'a user cannot publish');
reset role;

-- Every management RPC refuses a non-admin with 42501 and the contract's message.
create temp table s1_calls (call text primary key);
insert into s1_calls values
  ('select public.webhook_endpoints_list()'),
  ('select public.webhook_endpoint_get(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_create(''https://hooks.example.test/new'')'),
  ('select public.webhook_endpoint_update(''00000000-0000-0000-0000-00000000e101'', ''{"description": "x"}'')'),
  ('select public.webhook_endpoint_enable(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_disable(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_delete(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_secret(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_rotate_secret(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_test(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_messages(''00000000-0000-0000-0000-00000000e101'')'),
  ('select public.webhook_endpoint_recover(''00000000-0000-0000-0000-00000000e101'', now())'),
  ('select public.webhook_message_get(''msg_x'')'),
  ('select public.webhook_message_replay(''msg_x'')');
grant select on s1_calls to authenticated, service_role;
create function pg_temp.refusals() returns text[]
language plpgsql as $$
declare
  v_call text;
  v_out text[] := '{}';
begin
  for v_call in select c.call from s1_calls c order by 1 loop
    begin
      execute v_call;
      v_out := v_out || ('accepted: ' || v_call);
    exception when others then
      if sqlstate <> '42501' or sqlerrm <> 'Only admins manage webhook endpoints (app_metadata.role = ''admin'')' then
        v_out := v_out || format('%s: %s %s', v_call, sqlstate, sqlerrm);
      end if;
    end;
  end loop;
  return v_out;
end
$$;
select tests.act_as_user('00000000-0000-0000-0000-0000000000b1', '{"role": "technician"}');
select is(pg_temp.refusals(), '{}'::text[],
  'a technician gets 42501 "Only admins manage webhook endpoints (app_metadata.role = ''admin'')" from every management RPC');
reset role;
select tests.act_as('authenticated', '{}');
select is(pg_temp.refusals(), '{}'::text[], 'so does a request without claims');
reset role;
select tests.act_as_service_role();
select throws_ok('select public.webhook_endpoints_list()', '42501', 'permission denied for function webhook_endpoints_list',
  'service_role may not even call them (admins act through their own JWT)');
reset role;
select is((select count(*)::int from public.webhook_endpoints), 1, 'none of the refused calls changed anything');

select tests.act_as_anon();
select throws_ok('select public.webhook_endpoints_list()', '42501', null, 'anon cannot call a management RPC');
select throws_ok('select * from public.webhook_endpoints', '42501', null, 'anon cannot read the endpoints');
reset role;

-- An admin reads every row, through the tables and the views.
select tests.act_as_clinic_admin();
select ok(webhooks_internal.is_admin(), 'is_admin() is true for app_metadata.role = admin');
select is(
  array[(select count(*)::int from public.webhook_endpoints), (select count(*)::int from public.webhook_messages),
        (select count(*)::int from public.webhook_attempts), (select count(*)::int from public.webhook_delivery_outcomes)],
  array[1, 1, 1, 1],
  'an admin reads the endpoint, its message, its attempt and the outcomes view'
);
select is(jsonb_array_length(public.webhook_endpoints_list()), 1, 'an admin lists the endpoints');
select throws_ok($$update public.webhook_endpoints set url = 'https://evil.example.test'$$, '42501', null,
  'not even an admin writes the table directly');
reset role;

select tests.act_as_service_role();
select is((select count(*)::int from public.webhook_endpoints where url = 'https://hooks.example.test/s1'), 1,
  'service_role reads the endpoints (the worker, tests)');
reset role;

select * from finish();
rollback;
