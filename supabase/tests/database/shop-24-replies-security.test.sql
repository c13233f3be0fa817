-- Review replies, least privilege: the reply and link functions are executable by service_role
-- only (not anon, not authenticated, not PUBLIC); the helpers in shop_internal by none of the API
-- roles; every object of the replies migration carries a comment; an API role cannot call the
-- functions around their grants.
begin;
select plan(12);

select function_privs_are('public', 'shop_review_reply_start', array['bigint', 'timestamp with time zone'],
  'anon', '{}', 'anon may not start a reply');
select function_privs_are('public', 'shop_review_reply_start', array['bigint', 'timestamp with time zone'],
  'authenticated', '{}', 'authenticated may not start a reply');
select function_privs_are('public', 'shop_review_reply_start', array['bigint', 'timestamp with time zone'],
  'service_role', array['EXECUTE'], 'service_role starts replies');
select function_privs_are('public', 'shop_review_reply_record', array['bigint', 'integer', 'text', 'timestamp with time zone'],
  'authenticated', '{}', 'authenticated may not record a reply');
select function_privs_are('public', 'shop_review_reply_record', array['bigint', 'integer', 'text', 'timestamp with time zone'],
  'service_role', array['EXECUTE'], 'service_role records replies');
select function_privs_are('public', 'shop_review_link_use', array['text', 'integer', 'timestamp with time zone'],
  'anon', '{}', 'anon may not use a rating link directly (the public page does, as the service role)');
select function_privs_are('public', 'shop_review_link_use', array['text', 'integer', 'timestamp with time zone'],
  'service_role', array['EXECUTE'], 'service_role uses rating links');
select function_privs_are('public', 'shop_review_link_view', array['text', 'timestamp with time zone'],
  'anon', '{}', 'anon may not view a rating link directly');

select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.proname in ('shop_review_reply_start', 'shop_review_reply_record', 'shop_review_link_view',
                            'shop_review_link_use', 'open_reply_request', 'inbound_reply')
          and (has_function_privilege('public', p.oid, 'execute')
               or has_function_privilege('anon', p.oid, 'execute')
               or has_function_privilege('authenticated', p.oid, 'execute'))),
  '{}'::text[], 'none of the replies functions is executable by PUBLIC, anon or authenticated');
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'shop_internal'::regnamespace and p.proname in ('open_reply_request', 'inbound_reply')
          and has_function_privilege('service_role', p.oid, 'execute')),
  '{}'::text[], 'nor are its helpers by service_role');

select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.proname in ('shop_review_reply_start', 'shop_review_reply_record', 'shop_review_link_view',
                            'shop_review_link_use', 'open_reply_request', 'inbound_reply')
          and obj_description(p.oid, 'pg_proc') is null
        union all
        select t.tgname::text from pg_trigger t
        where t.tgname = 'shop_inbound_reply' and obj_description(t.oid, 'pg_trigger') is null),
  '{}'::text[], 'every function and the trigger carry a comment');

select tests.act_as('authenticated', '{"sub": "00000000-0000-0000-0000-0000000000b1", "app_metadata": {"role": "admin"}}');
select throws_ok($$select public.shop_review_link_use('x', 4)$$, '42501', null,
  'even a shop admin cannot call shop_review_link_use through the API');
reset role;

select * from finish();
rollback;
