-- Least privilege for WhatsApp provisioning: row level security on every table, policies that
-- show users their own rows only, never the instance token (column privileges) nor the webhook
-- secret; only service_role calls the flow's functions, except whatsapp_my_instance (signed-in
-- users, their own state); internal helpers, triggers and the credentials are out of every API
-- role's reach; every function pins its search_path and carries a comment.
begin;
select plan(43);

-- ---------------------------------------------------------------------------------------------
-- Catalog: RLS, policies, grants, settings, comments.
-- ---------------------------------------------------------------------------------------------
create temp table w1_tables (name text primary key);
insert into w1_tables values ('public.profiles'), ('public.evolution_instance_creation_queue'),
  ('public.evolution_instances'), ('public.evolution_webhook_events'),
  ('public.whatsapp_inbound_messages'), ('public.whatsapp_settings'),
  ('whatsapp_internal.instance_credentials'), ('providers_internal.whatsapp_sends');

select is(
  array(select t.name from w1_tables t join pg_class c on c.oid = t.name::regclass
        where not c.relrowsecurity order by 1),
  '{}'::text[],
  'row level security is enabled on every table of the flow'
);
select is(
  array(select t.name from w1_tables t
        where obj_description(t.name::regclass, 'pg_class') is null order by 1),
  '{}'::text[],
  'every table of the flow carries a comment'
);
select is(
  array(select format('%s: "%s" %s to %s', tablename, policyname, cmd, array_to_string(roles, ', '))
        from pg_policies
        where schemaname = 'public' and tablename in ('profiles', 'evolution_instance_creation_queue',
          'evolution_instances', 'evolution_webhook_events', 'whatsapp_inbound_messages', 'whatsapp_settings')
        order by tablename, policyname),
  array['evolution_instance_creation_queue: "Users can view their own queue status" SELECT to authenticated',
        'evolution_instances: "Users see their own instance" SELECT to authenticated',
        'profiles: "Users see their own profile" SELECT to authenticated',
        'profiles: "Users update their own profile" UPDATE to authenticated',
        'whatsapp_inbound_messages: "Users see their own inbound messages" SELECT to authenticated'],
  'users read their own profile, queue entry, instance and inbound messages, and update their own profile; nothing else'
);
select is(
  array(select format('%s:%s', t.name, r) from w1_tables t, unnest(array['anon', 'authenticated']) r
        where has_table_privilege(r, t.name, 'insert,update,delete') order by 1),
  '{}'::text[],
  'anon and authenticated write no table of the flow'
);
select ok(has_column_privilege('authenticated', 'public.profiles', 'full_name', 'update')
          and not has_column_privilege('authenticated', 'public.profiles', 'id', 'update'),
  'authenticated may update a profile''s full name only (its own: RLS)');
select is(
  array(select t.name from w1_tables t where has_table_privilege('anon', t.name, 'select') order by 1),
  '{}'::text[],
  'anon reads no table of the flow'
);
select ok(not has_column_privilege('authenticated', 'public.evolution_instances', 'instance_token', 'select'),
  'authenticated may not read evolution_instances.instance_token');
select is(
  (select count(*)::int from information_schema.columns c
   where c.table_schema = 'public' and c.table_name = 'evolution_instances' and c.column_name <> 'instance_token'
     and not has_column_privilege('authenticated', 'public.evolution_instances', c.column_name, 'select')),
  0,
  'authenticated may read every other column of evolution_instances'
);
select ok(not has_table_privilege('authenticated', 'public.evolution_webhook_events', 'select')
          and not has_table_privilege('authenticated', 'public.whatsapp_settings', 'select'),
  'webhook events and settings are service role only');
select ok(has_table_privilege('service_role', 'public.evolution_instances', 'select,insert,update,delete'),
  'service_role reads and writes the instances (the token included)');
select ok(exists (select from pg_publication_tables t where t.pubname = 'supabase_realtime'
                  and t.schemaname = 'public' and t.tablename = 'evolution_instances'),
  'evolution_instances is in the supabase_realtime publication (the app subscribes to its own row)');
select is(tests.api_roles_using_schema('whatsapp_internal'), '{}'::text[],
  'no API role may use schema whatsapp_internal');
select is(tests.functions_api_roles_may_execute('whatsapp_internal'), '{}'::text[],
  'no API role may execute a function of whatsapp_internal');

create temp table w1_functions as
select p.oid::regprocedure::text as fn from pg_proc p
where p.pronamespace = 'public'::regnamespace
  and (p.proname like 'whatsapp\_%' or p.proname in ('handle_new_user', 'handle_profile_evolution_instance'));
select is(
  array(select format('%s:%s', f.fn, r) from w1_functions f,
          unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, f.fn, 'execute') order by 1),
  array['whatsapp_connection_store(text,text,integer,timestamp with time zone):service_role',
        'whatsapp_creation_complete(uuid,jsonb,timestamp with time zone):service_role',
        'whatsapp_creation_start(uuid):service_role',
        'whatsapp_instance_access(uuid):service_role',
        'whatsapp_instance_removed(uuid,text,timestamp with time zone):service_role',
        'whatsapp_journal_prune(timestamp with time zone):service_role',
        'whatsapp_my_instance():authenticated',
        'whatsapp_qr_due(integer,timestamp with time zone):service_role',
        'whatsapp_qr_store(text,jsonb,timestamp with time zone):service_role',
        'whatsapp_request_instance(uuid,timestamp with time zone):service_role',
        'whatsapp_send_open(text,text,text,text,timestamp with time zone):service_role',
        'whatsapp_send_settle(text,text,text,text,timestamp with time zone):service_role',
        'whatsapp_webhook_configured(text,text,text[],timestamp with time zone):service_role',
        'whatsapp_webhook_receive(text,text,text,jsonb,bytea,timestamp with time zone):service_role'],
  'service_role alone executes the flow''s functions, authenticated only whatsapp_my_instance, anon none; nobody the trigger functions'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where (p.pronamespace = 'whatsapp_internal'::regnamespace
               or p.oid::regprocedure::text in (select fn from w1_functions))
          and not coalesce('search_path=""' = any (p.proconfig), false)
        order by 1),
  '{}'::text[],
  'every function of the flow pins an empty search_path'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where (p.pronamespace = 'whatsapp_internal'::regnamespace
               or p.oid::regprocedure::text in (select fn from w1_functions))
          and obj_description(p.oid, 'pg_proc') is null
        order by 1),
  '{}'::text[],
  'every function of the flow carries a comment'
);
select ok(
  (select bool_and(p.prosecdef) from pg_proc p
   where p.oid::regprocedure::text in (select fn from w1_functions)),
  'the callable and trigger functions of public are security definer'
);

-- ---------------------------------------------------------------------------------------------
-- Two users, each with an instance and an inbound message.
-- ---------------------------------------------------------------------------------------------
select tests.sign_up('Ana W1') as ana \gset
select tests.sign_up('Ben W1') as ben \gset
select tests.instance_name(:'ana') as ana_instance, tests.instance_name(:'ben') as ben_instance \gset
select tests.whatsapp_created(:'ana');
select tests.whatsapp_created(:'ben');
select tests.whatsapp_webhook(u, 'messages.upsert', jsonb_build_object(
  'key', jsonb_build_object('id', 'MSG-' || u, 'remoteJid', '33600000001@s.whatsapp.net', 'fromMe', false),
  'pushName', 'Customer', 'message', jsonb_build_object('conversation', 'Hello'),
  'messageType', 'conversation', 'messageTimestamp', 1796000000))
from unnest(array[:'ana'::uuid, :'ben'::uuid]) u;

select tests.act_as_user(:'ana');
select is((select array_agg(user_id) from public.evolution_instances), array[:'ana'::uuid],
  'Ana sees her own instance only');
select is((select array_agg(user_id) from public.evolution_instance_creation_queue), array[:'ana'::uuid],
  'Ana sees her own queue entry only');
select is((select array_agg(id) from public.profiles), array[:'ana'::uuid],
  'Ana sees her own profile only');
select is((select array_agg(user_id) from public.whatsapp_inbound_messages), array[:'ana'::uuid],
  'Ana sees the messages sent to her own instance only');
select throws_ok('select instance_token from public.evolution_instances', '42501', null,
  'Ana cannot read the instance token, not even her own');
select throws_ok('select * from public.evolution_webhook_events', '42501', null,
  'Ana cannot read webhook events');
select throws_ok('select * from whatsapp_internal.instance_credentials', '42501', null,
  'Ana cannot reach the credentials');
update public.profiles set full_name = 'Ana renamed' where id in (:'ana', :'ben');
select throws_ok(format('select public.whatsapp_creation_start(%L)', :'ana'), '42501', null,
  'Ana cannot call the worker''s functions');
select is((public.whatsapp_my_instance() ->> 'user_id')::uuid, :'ana'::uuid,
  'whatsapp_my_instance answers for Ana');
select is(public.whatsapp_my_instance() -> 'instance' ->> 'instance_name', :'ana_instance',
  'whatsapp_my_instance shows Ana''s instance');
select is(public.whatsapp_my_instance() -> 'instance' ->> 'qr_code', 'data:image/png;base64,QR1',
  'whatsapp_my_instance shows her QR code');
select is(public.whatsapp_my_instance() -> 'queue' ->> 'status', 'pending',
  'whatsapp_my_instance shows her queue entry');
reset role;
select is(
  (select array_agg(format('%s:%s', full_name, id = :'ana') order by full_name) from public.profiles
   where id in (:'ana', :'ben')),
  array['Ana renamed:t', 'Ben W1:f'],
  'Ana renamed herself; her update did not reach Ben'
);
create temp table w1_secrets as
select c.instance_token, c.webhook_secret from whatsapp_internal.instance_credentials c where c.user_id = :'ana';
grant select on w1_secrets to authenticated;
select tests.act_as_user(:'ana');
select ok(
  (select position(s.instance_token in public.whatsapp_my_instance()::text) = 0
          and position(s.webhook_secret in public.whatsapp_my_instance()::text) = 0 from w1_secrets s),
  'whatsapp_my_instance never shows the token or the webhook secret'
);
reset role;

select tests.act_as_user(:'ben');
select is((select array_agg(user_id) from public.evolution_instances), array[:'ben'::uuid],
  'Ben sees his own instance only');
select is((public.whatsapp_my_instance() -> 'instance' ->> 'instance_name'), :'ben_instance',
  'whatsapp_my_instance shows Ben his instance, not Ana''s');
reset role;

select tests.act_as_user(gen_random_uuid());
select is(public.whatsapp_my_instance(),
  jsonb_build_object('user_id', current_setting('request.jwt.claims')::jsonb ->> 'sub', 'queue', null, 'instance', null),
  'a user without a request sees neither queue entry nor instance');
select is((select count(*)::int from public.evolution_instances), 0, 'and no instance row');
reset role;

select tests.act_as('authenticated', '{}');
select throws_ok('select public.whatsapp_my_instance()', '42501', 'whatsapp_my_instance needs a signed-in user',
  'whatsapp_my_instance refuses a request without a user');
reset role;

select tests.act_as_anon();
select throws_ok('select public.whatsapp_my_instance()', '42501', null, 'anon cannot call whatsapp_my_instance');
select throws_ok('select * from public.evolution_instances', '42501', null, 'anon cannot read the instances');
select throws_ok('select * from public.evolution_instance_creation_queue', '42501', null,
  'anon cannot read the queue');
select throws_ok(format('select public.whatsapp_webhook_receive(%L, %L, %L, %L::jsonb)',
                        :'ana_instance', 'x', 'qrcode.updated', '{}'), '42501', null,
  'anon cannot call whatsapp_webhook_receive');
reset role;

select tests.act_as_service_role();
select is((select count(*)::int from public.evolution_instances where user_id in (:'ana', :'ben')
           and instance_token is not null), 2,
  'service_role reads the tokens');
select is((public.whatsapp_instance_access(:'ana') ->> 'instance_name'), :'ana_instance',
  'service_role gets what the settings endpoint needs');
select throws_ok('select * from whatsapp_internal.instance_credentials', '42501', null,
  'service_role cannot read the credentials table directly either');
reset role;

select * from finish();
rollback;
