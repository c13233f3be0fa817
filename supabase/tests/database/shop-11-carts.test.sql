-- Expired carts: a new cart expires shop_settings.cart_lifetime after its creation (an explicit
-- expires_at is kept); shop_clean_expired_carts_batch deletes only expired carts, oldest first,
-- at most the batch size (the setting by default), their items by cascade, and passes over a
-- cart another session holds locked instead of waiting; runs are logged by
-- shop_automation_run_record; the cron job clean-expired-carts calls the function hourly; only
-- the service role may call either function.
--
-- The carts expire in 2000, and the clean-ups run at a p_now of 2000: no other cart is ever that
-- old. The skip-locked scenario commits its carts through a second session (dblink) and removes
-- them after the final rollback.
begin;
select plan(25);

create extension if not exists dblink with schema extensions;

update public.shop_settings set cart_lifetime = '2 hours', cart_cleanup_batch = 5000, time_zone = 'Europe/Paris';
insert into public.products (name, price_cents, stock) values ('S11 tarte', 450, 100);

-- ---------------------------------------------------------------------------------------------
-- The expiry of a new cart
-- ---------------------------------------------------------------------------------------------
insert into public.carts default values returning id as default_cart \gset
select is((select expires_at - now() from public.carts where id = :'default_cart'), interval '2 hours',
  'a new cart expires cart_lifetime (here 2 hours) after now');
insert into public.carts (expires_at) values ('2030-01-01 00:00+00') returning id as explicit_cart \gset
select is((select expires_at from public.carts where id = :'explicit_cart'), timestamptz '2030-01-01 00:00+00',
  'an explicit expires_at is kept');

select tests.act_as_user(tests.create_auth_user('s11.admin@s11.example.test', '{"role": "admin"}'), '{"role": "admin"}');
insert into public.carts default values returning id as admin_cart \gset
reset role;
select is((select expires_at - now() from public.carts where id = :'admin_cart'), interval '2 hours',
  'an admin (authenticated) creating a cart in the dashboard gets the same default');

-- ---------------------------------------------------------------------------------------------
-- Which carts a batch deletes
-- ---------------------------------------------------------------------------------------------
create temp table s11_carts (label text primary key, id uuid) on commit drop;
with made as (
  insert into public.carts (expires_at)
  select timestamptz '2000-01-10 00:00+00' + n * interval '1 minute' from generate_series(1, 5) n
  returning id, expires_at
)
insert into s11_carts select 'expired-' || row_number() over (order by expires_at), id from made;
with made as (
  insert into public.carts (expires_at) values ('2000-01-15 12:00:01+00'), ('2000-02-01 00:00+00')
  returning id, expires_at
)
insert into s11_carts select 'fresh-' || row_number() over (order by expires_at), id from made;
insert into public.cart_items (cart_id, product_id, quantity)
select c.id, p.id, 2 from s11_carts c, public.products p where p.name = 'S11 tarte';

select is(public.shop_clean_expired_carts_batch(3, '2000-01-15 12:00+00'), 3, 'a batch of 3 deletes 3 expired carts');
select results_eq(
  $$select label from s11_carts c where not exists (select from public.carts k where k.id = c.id) order by label$$,
  $$values ('expired-1'), ('expired-2'), ('expired-3')$$,
  '... the three that expired first'
);
select is((select count(*)::int from public.cart_items i join s11_carts c on c.id = i.cart_id
           where c.label in ('expired-1', 'expired-2', 'expired-3')), 0,
  '... and their items went with them (cascade)');
select is(public.shop_clean_expired_carts_batch(3, '2000-01-15 12:00+00'), 2,
  'the next batch deletes the 2 expired carts left: a short batch');
select is(public.shop_clean_expired_carts_batch(3, '2000-01-15 12:00+00'), 0, 'then nothing is left to delete');
select results_eq(
  $$select label from s11_carts c where exists (select from public.carts k where k.id = c.id) order by label$$,
  $$values ('fresh-1'), ('fresh-2')$$,
  'carts not yet expired at p_now stay (one expires a second later)'
);
select is((select count(*)::int from public.cart_items i join s11_carts c on c.id = i.cart_id), 2,
  '... with their items');
select ok(exists (select from public.carts where id = :'default_cart'), 'today''s carts are far from the 2000 clean-up');

update public.carts set expires_at = '2000-01-01 00:00+00' where id in (select id from s11_carts where label like 'fresh-%');
update public.shop_settings set cart_cleanup_batch = 1;
select is(public.shop_clean_expired_carts_batch(null, '2000-01-15 12:00+00'), 1,
  'without a limit, a batch takes shop_settings.cart_cleanup_batch carts');
update public.shop_settings set cart_cleanup_batch = 5000;

select throws_ok($$select public.shop_clean_expired_carts_batch(0)$$, '22023',
  'Invalid cart clean-up batch size 0: give 1 to 100000', 'a batch size of 0 is refused');
select throws_ok($$select public.shop_clean_expired_carts_batch(100001)$$, '22023',
  'Invalid cart clean-up batch size 100001: give 1 to 100000', 'so is one over 100000');

-- ---------------------------------------------------------------------------------------------
-- Skip locked: a cart locked by another session is passed over, without waiting
-- ---------------------------------------------------------------------------------------------
select tests.connect('s11_setup');
select tests.connect('s11_locker');
select extensions.dblink_exec('s11_setup', $$
  insert into public.carts (id, expires_at) values
    ('00000000-0000-4000-8000-000000001101', '2000-01-05 00:00+00'),
    ('00000000-0000-4000-8000-000000001102', '2000-01-05 00:01+00'),
    ('00000000-0000-4000-8000-000000001103', '2000-01-05 00:02+00')$$);
select extensions.dblink_exec('s11_locker', $$begin; update public.carts set expires_at = expires_at where id = '00000000-0000-4000-8000-000000001101'$$);
set local lock_timeout = '2s';
select is(public.shop_clean_expired_carts_batch(10, '2000-01-06 00:00+00'), 3,
  'a batch skips the locked cart and deletes the others at once (the 2 committed ones and the one left from above)');
select ok(exists (select from public.carts where id = '00000000-0000-4000-8000-000000001101'),
  '... the locked cart is still there, for the next run');
reset lock_timeout;
select extensions.dblink_exec('s11_locker', 'rollback');
select is(public.shop_clean_expired_carts_batch(10, '2000-01-06 00:00+00'), 1, 'once released, the next batch takes it');

-- ---------------------------------------------------------------------------------------------
-- Run logging
-- ---------------------------------------------------------------------------------------------
select isnt(
  public.shop_automation_run_record('clean-expired-carts', 'schedule', '2026-12-06 23:30+00',
    '{"success": true, "deletedCount": 3}', null, '2026-12-06 23:30:02+00'),
  null, 'a run is logged and its id returned');
select results_eq(
  $$select trigger, shop_day, finished_at, result ->> 'deletedCount', error from public.shop_automation_runs
    where automation = 'clean-expired-carts' and started_at = '2026-12-06 23:30+00'$$,
  $$values ('schedule'::text, date '2026-12-07', timestamptz '2026-12-06 23:30:02+00', '3', null::text)$$,
  'the run row: trigger, the shop-local day (23:30 UTC is the next day in Paris), finished_at = p_now, the answer'
);
select public.shop_automation_run_record('clean-expired-carts', 'manual', '2026-12-07 09:00+00',
  '{"success": false, "deletedCount": 0}', 'Connection lost', '2026-12-07 09:00:01+00');
select is((select error from public.shop_automation_runs where started_at = '2026-12-07 09:00+00'), 'Connection lost',
  'a failed run keeps its error');
select throws_ok(
  $$select public.shop_automation_run_record('clean-everything', 'manual', now(), '{}')$$,
  '23514', null, 'an unknown automation is refused');

-- ---------------------------------------------------------------------------------------------
-- The cron job and the grants
-- ---------------------------------------------------------------------------------------------
select results_eq(
  $$select schedule, command from cron.job where jobname = 'clean-expired-carts'$$,
  $$values ('0 * * * *', 'select jobs.call_function(''clean-expired-carts'', ''{"trigger":"schedule"}'', ''Cron job "clean-expired-carts" did not call its function'')')$$,
  'the cron job clean-expired-carts calls the function every hour, as a scheduled run'
);
select is(
  array(select r from unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, 'public.shop_clean_expired_carts_batch(int, timestamptz)', 'execute')
        order by 1),
  array['service_role'], 'only the service role may run a clean-up batch');
select is(
  array(select r from unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, 'public.shop_automation_run_record(text, text, timestamptz, jsonb, text, timestamptz)', 'execute')
        order by 1),
  array['service_role'], 'only the service role may log a run');
select tests.act_as_user(tests.create_auth_user(), '{"role": "admin"}');
select throws_ok($$select public.shop_clean_expired_carts_batch(10)$$, '42501', null,
  'even an admin cannot call the clean-up through the API');
reset role;

select * from finish();
rollback;

-- The committed carts of the skip-locked scenario (the dblink sessions end with this one).
delete from public.carts where id in ('00000000-0000-4000-8000-000000001101',
  '00000000-0000-4000-8000-000000001102', '00000000-0000-4000-8000-000000001103');
