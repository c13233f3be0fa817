-- Least privilege in the shop: row level security on every table, comments on every table, view
-- and function, pinned search paths, the workers' RPCs for the service role only and the
-- helpers for nobody; then the policies at work: anon reads the active products and nothing
-- else, a signed-in user who is not an admin sees no customer, an admin sees them.
begin;
select plan(17);

create temp table s1_tables (name text primary key);
insert into s1_tables values ('public.customers'), ('public.products'), ('public.orders'), ('public.order_items'),
  ('public.reviews'), ('public.review_requests'), ('public.shop_settings'), ('public.shop_messages'),
  ('public.shop_alerts'), ('public.shop_review_replies'), ('public.shop_automation_runs'), ('public.carts'),
  ('public.cart_items'), ('public.shop_daily_analytics');
create temp table s1_rpcs (name regprocedure primary key);
insert into s1_rpcs values ('public.shop_message_start(uuid, timestamptz)'),
  ('public.shop_message_record(uuid, text, text, text, text, text, timestamptz)'),
  ('public.shop_request_reviews(timestamptz, text, int)');

select is(
  array(select t.name from s1_tables t join pg_class c on c.oid = t.name::regclass where not c.relrowsecurity order by 1),
  '{}'::text[],
  'row level security is enabled on every table of the shop'
);
select is(
  array(select t.name from s1_tables t where obj_description(t.name::regclass, 'pg_class') is null
        union all
        select v from unnest(array['public.shop_message_story', 'public.shop_review_request_status']) v
        where obj_description(v::regclass, 'pg_class') is null
        order by 1),
  '{}'::text[],
  'every table and view of the shop carries a comment'
);
select is(
  array(select t.name from s1_tables t
        where has_table_privilege('anon', t.name, 'select,insert,update,delete') and t.name <> 'public.products'
        union all
        select 'public.products' where has_table_privilege('anon', 'public.products', 'insert,update,delete')
        union all
        select v from unnest(array['public.shop_message_story', 'public.shop_review_request_status']) v
        where has_table_privilege('anon', v, 'select')
        order by 1),
  '{}'::text[],
  'anon has no privilege on the shop''s tables and views but reading products'
);
select is(
  array(select t.name from s1_tables t
        where t.name in ('public.shop_messages', 'public.review_requests', 'public.shop_alerts',
                         'public.shop_review_replies', 'public.shop_automation_runs', 'public.shop_daily_analytics')
          and has_table_privilege('authenticated', t.name, 'insert,update,delete')
        order by 1),
  '{}'::text[],
  'authenticated never writes the automations'' tables (admins read them)'
);
select is(
  array(select r.name::text || ' ' || a from s1_rpcs r, unnest(array['anon', 'authenticated', 'service_role']) a
        where has_function_privilege(a, r.name, 'execute') order by 1),
  array['shop_message_record(uuid,text,text,text,text,text,timestamp with time zone) service_role',
        'shop_message_start(uuid,timestamp with time zone) service_role',
        'shop_request_reviews(timestamp with time zone,text,integer) service_role'],
  'the workers'' RPCs are executable by service_role only'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'shop_internal'::regnamespace
          and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute'))
        order by 1),
  '{}'::text[],
  'anon and authenticated execute none of the shop''s helpers'
);
select ok(not has_schema_privilege('anon', 'shop_internal', 'usage')
          and not has_schema_privilege('authenticated', 'shop_internal', 'usage'),
          'anon and authenticated may not use schema shop_internal');
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where (p.pronamespace = 'shop_internal'::regnamespace or p.oid in (select name from s1_rpcs))
          and (not coalesce('search_path=""' = any (p.proconfig), false) or obj_description(p.oid, 'pg_proc') is null)
        order by 1),
  '{}'::text[],
  'every function of the shop pins an empty search_path and carries a comment'
);

-- ---------------------------------------------------------------------------------------------
-- The policies at work
-- ---------------------------------------------------------------------------------------------
set local client_min_messages = error;
delete from public.shop_messages;
insert into public.customers (id, name, email) values ('00000000-0000-0000-0000-0000000051c1', 'Chloé S1', 'chloe.s1@s1.example.test');
insert into public.products (name, price_cents, stock, active) values ('Tasse S1', 1200, 10, true), ('Bol S1 retiré', 800, 10, false);
insert into public.orders (customer_id) values ('00000000-0000-0000-0000-0000000051c1');
reset client_min_messages;

select tests.act_as_anon();
select is(array(select name from public.products where name like '% S1%' order by name), array['Tasse S1'],
  'anon sees the active products only');
select throws_ok('select * from public.customers', '42501', null, 'anon may not read customers');
select throws_ok($$select public.shop_request_reviews()$$, '42501', null, 'anon may not run the review requests');
select throws_ok($$select public.shop_message_start(gen_random_uuid())$$, '42501', null, '... nor start a message');
reset role;

select tests.act_as_user('00000000-0000-0000-0000-0000000051b1');
select is((select count(*)::int from public.customers), 0, 'a signed-in user who is not an admin sees no customer');
select is((select count(*)::int from public.orders), 0, '... and no order');
select throws_ok($$select public.shop_message_record(gen_random_uuid(), 'sent', 'email')$$, '42501', null,
  '... and may not record a message');
reset role;

select tests.act_as_user('00000000-0000-0000-0000-0000000051a1', '{"role": "admin"}');
select is(array(select name from public.customers where name like '% S1'), array['Chloé S1'], 'an admin sees the customers');
select is((select count(*)::int from public.shop_messages m join public.orders o on o.id = m.order_id
           where o.customer_id = '00000000-0000-0000-0000-0000000051c1'), 2,
  '... and the message log (confirmation and payment reminder of the order)');
reset role;

select * from finish();
rollback;
