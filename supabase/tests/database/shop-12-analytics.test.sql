-- Daily analytics per shop-local day (Europe/Paris): an order at 23:30 UTC in winter counts on
-- the next Paris day, and a daylight-saving day is 23 hours long; new customers (first order
-- that day, counted once) against returning ones (ordered before); revenue counts orders paid
-- that day and leaves out cancelled ones; reviews and their average; messages received on the
-- shop's instance only. Then the manual RPC (defaults, run log, grants), the hourly cron run
-- (yesterday, today and every missing day of the last 30), and the view of the last 30 days
-- read by admins through RLS.
--
-- The figures are for January and March 2031: no other row of the database is there. Runs are
-- read from this transaction's start (the real cron job may log a scheduled run meanwhile).
begin;
select plan(22);

update public.shop_settings set time_zone = 'Europe/Paris', whatsapp_instance = null;
delete from public.shop_daily_analytics;

-- The shop's WhatsApp instance, and another one.
insert into public.evolution_instances (user_id, instance_name)
values (tests.create_auth_user('s12.shop@s12.example.test'), 's12-shop'),
       (tests.create_auth_user('s12.other@s12.example.test'), 's12-other');
update public.shop_settings set whatsapp_instance = 's12-shop';

insert into public.products (name, price_cents, stock) values ('S12 pain', 1000, 1000);
insert into public.customers (name, email) values
  ('S12 Anne', 's12.anne@s12.example.test'),
  ('S12 Bruno', 's12.bruno@s12.example.test'),
  ('S12 Chloé', 's12.chloe@s12.example.test'),
  ('S12 Dora', 's12.dora@s12.example.test');

/* An order of p_quantity × 10.00 € by customer p_name, created (and paid, when p_paid_at) then. */
create function pg_temp.s12_order(p_name text, p_created_at timestamptz, p_quantity int, p_paid_at timestamptz default null)
returns bigint
language plpgsql as $$
declare
  v_id bigint;
begin
  insert into public.orders (customer_id, created_at, status, payment_status, paid_at)
  select c.id, p_created_at,
         case when p_paid_at is null then 'pending' else 'paid' end,
         case when p_paid_at is null then 'pending' else 'paid' end,
         p_paid_at
  from public.customers c where c.name = p_name
  returning id into v_id;
  insert into public.order_items (order_id, product_id, quantity)
  select v_id, p.id, p_quantity from public.products p where p.name = 'S12 pain';
  return v_id;
end
$$;

/* A review of an order, created then. */
create function pg_temp.s12_review(p_order_id bigint, p_rating int, p_created_at timestamptz) returns void
language sql as $$
  insert into public.reviews (order_id, customer_id, rating, channel, created_at)
  select o.id, o.customer_id, p_rating, 'shop', p_created_at from public.orders o where o.id = p_order_id;
$$;

-- Anne: first order on January 9, the next at 23:30 UTC on January 10 = 00:30 on the 11th in Paris.
select pg_temp.s12_order('S12 Anne', '2031-01-09 10:00+00', 1) as anne_1 \gset
select pg_temp.s12_order('S12 Anne', '2031-01-10 23:30+00', 1, '2031-01-10 23:40+00') as anne_2 \gset
-- Bruno: his first two orders on January 10 (new, counted once); one paid, one paid then cancelled.
select pg_temp.s12_order('S12 Bruno', '2031-01-10 12:00+00', 2, '2031-01-10 12:05+00') as bruno_1 \gset
select pg_temp.s12_order('S12 Bruno', '2031-01-10 15:00+00', 1, '2031-01-10 15:05+00') as bruno_2 \gset
update public.orders set status = 'cancelled' where id = :bruno_2;
-- Chloé: ordered on January 1, again at 22:30 UTC on January 10 = 23:30 in Paris (still the 10th).
select pg_temp.s12_order('S12 Chloé', '2031-01-01 09:00+00', 1) as chloe_1 \gset
select pg_temp.s12_order('S12 Chloé', '2031-01-10 22:30+00', 1, '2031-01-10 22:45+00') as chloe_2 \gset
-- Reviews: 4 and 5 on the 10th; a 3 at 23:10 UTC on the 10th = the 11th in Paris.
select pg_temp.s12_review(:bruno_1, 4, '2031-01-10 13:00+00');
select pg_temp.s12_review(:chloe_2, 5, '2031-01-10 22:50+00');
select pg_temp.s12_review(:chloe_1, 3, '2031-01-10 23:10+00');
-- Messages: two on the shop's instance (the 10th, and 23:30 UTC = the 11th), one elsewhere.
insert into public.whatsapp_inbound_messages (instance_name, message_id, from_number, text, received_at) values
  ('s12-shop', 's12-m1', '33600000001', 'Bonjour', '2031-01-10 10:00+00'),
  ('s12-shop', 's12-m2', '33600000001', 'Merci', '2031-01-10 23:30+00'),
  ('s12-other', 's12-m3', '33600000002', 'Pas pour la boutique', '2031-01-10 11:00+00');

-- ---------------------------------------------------------------------------------------------
-- Per shop-local day
-- ---------------------------------------------------------------------------------------------
select is(shop_internal.compute_daily_analytics('2031-01-09', '2031-01-12'), 4, 'four days computed');
select results_eq(
  $$select day, orders_created, new_customers, returning_customers from public.shop_daily_analytics
    where day between '2031-01-09' and '2031-01-12' order by day$$,
  $$values (date '2031-01-09', 1, 1, 0), (date '2031-01-10', 3, 1, 1), (date '2031-01-11', 1, 0, 1), (date '2031-01-12', 0, 0, 0)$$,
  'orders by Paris day (23:30 UTC counts on the next day, 22:30 UTC on the same); Bruno new once for his two first-day orders, Chloé and Anne returning'
);
select is((select revenue_cents from public.shop_daily_analytics where day = '2031-01-10'), 3000::bigint,
  'revenue of the 10th: Bruno''s paid order and Chloé''s (paid at 23:45 in Paris), not Bruno''s cancelled one');
select is((select revenue_cents from public.shop_daily_analytics where day = '2031-01-11'), 1000::bigint,
  'Anne''s order paid at 23:40 UTC counts on the 11th');
select results_eq(
  $$select day, reviews, average_rating from public.shop_daily_analytics
    where day between '2031-01-10' and '2031-01-12' order by day$$,
  $$values (date '2031-01-10', 2, 4.50::numeric(3,2)), (date '2031-01-11', 1, 3.00::numeric(3,2)), (date '2031-01-12', 0, null::numeric(3,2))$$,
  'reviews per Paris day and their average (null without reviews)'
);
select results_eq(
  $$select day, messages_received from public.shop_daily_analytics
    where day between '2031-01-10' and '2031-01-11' order by day$$,
  $$values (date '2031-01-10', 1), (date '2031-01-11', 1)$$,
  'messages received on the shop''s instance only, by Paris day'
);

-- Computing again replaces the figures (a late payment moves the revenue).
update public.orders set status = 'cancelled' where id = :chloe_2;
select is(shop_internal.compute_daily_analytics('2031-01-10', '2031-01-10'), 1, 'a day computed again');
select is((select revenue_cents from public.shop_daily_analytics where day = '2031-01-10'), 2000::bigint,
  '... its row is updated (Chloé''s order cancelled since)');

-- Daylight saving: on 2031-03-30 Paris goes from UTC+1 to UTC+2 at 01:00 UTC.
select pg_temp.s12_order('S12 Dora', '2031-03-29 23:30+00', 1) as dora_1 \gset
select pg_temp.s12_order('S12 Dora', '2031-03-30 21:30+00', 1) as dora_2 \gset
select pg_temp.s12_order('S12 Dora', '2031-03-30 22:30+00', 1) as dora_3 \gset
select shop_internal.compute_daily_analytics('2031-03-29', '2031-03-31');
select results_eq(
  $$select day, orders_created from public.shop_daily_analytics where day between '2031-03-29' and '2031-03-31' order by day$$,
  $$values (date '2031-03-29', 0), (date '2031-03-30', 2), (date '2031-03-31', 1)$$,
  'on the 23-hour day, 23:30 UTC the day before (00:30 CET) and 21:30 UTC (23:30 CEST) count, 22:30 UTC (00:30 CEST) is the next day'
);

select throws_ok($$select shop_internal.compute_daily_analytics('2031-01-12', '2031-01-10')$$, '22023',
  'Invalid analytics period 2031-01-12 to 2031-01-10: give two dates, the first not after the second',
  'a period that ends before it starts is refused');
select throws_ok($$select shop_internal.compute_daily_analytics('2020-01-01', '2031-01-10')$$, '22023', null,
  'so is a period of more than a year');

-- ---------------------------------------------------------------------------------------------
-- The manual RPC and the cron run
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select results_eq(
  $$select (r ->> 'success')::boolean, (r ->> 'days')::int, (r ->> 'from')::date, (r ->> 'to')::date
    from public.shop_compute_analytics() r$$,
  $$select true, 2, (now() at time zone 'Europe/Paris')::date - 1, (now() at time zone 'Europe/Paris')::date$$,
  'shop_compute_analytics() computes yesterday and today (Paris)'
);
reset role;
select results_eq(
  $$select trigger, result ->> 'days' from public.shop_automation_runs
    where automation = 'daily-analytics' and trigger = 'manual' and started_at >= now()$$,
  $$values ('manual'::text, '2')$$,
  '... and logs a manual daily-analytics run'
);

select is((shop_internal.run_daily_analytics('schedule', now()) ->> 'days')::int, 30,
  'the first cron run fills the whole of the last 30 days (yesterday and today again, and 28 missing days)');
select is((shop_internal.run_daily_analytics('schedule', now()) ->> 'days')::int, 2,
  'the next run computes only yesterday and today');
select is((select count(*)::int from public.shop_automation_runs
           where automation = 'daily-analytics' and trigger = 'schedule' and started_at = now()), 2,
  'each cron run is logged as a scheduled run');
select results_eq(
  $$select schedule, command from cron.job where jobname = 'shop-daily-analytics'$$,
  $$values ('10 * * * *', 'select shop_internal.run_daily_analytics()')$$,
  'the cron job shop-daily-analytics runs at ten past every hour'
);

-- ---------------------------------------------------------------------------------------------
-- The view and who reads what
-- ---------------------------------------------------------------------------------------------
select shop_internal.compute_daily_analytics((now() at time zone 'Europe/Paris')::date - 40, (now() at time zone 'Europe/Paris')::date - 40);
select results_eq(
  $$select count(*)::int, min(day), max(day) from public.shop_analytics_last_30_days$$,
  $$select 30, (now() at time zone 'Europe/Paris')::date - 29, (now() at time zone 'Europe/Paris')::date$$,
  'the view holds the last 30 Paris days, today included (not 40 days ago, not 2031)'
);

select tests.act_as_user(tests.create_auth_user('s12.admin@s12.example.test', '{"role": "admin"}'), '{"role": "admin"}');
select is((select count(*)::int from public.shop_analytics_last_30_days), 30, 'an admin reads the view');
reset role;
select tests.act_as_user(tests.create_auth_user('s12.user@s12.example.test'));
select is((select count(*)::int from public.shop_analytics_last_30_days), 0, 'a signed-in user who is not an admin sees nothing (RLS)');
select throws_ok($$select public.shop_compute_analytics()$$, '42501', null, '... nor computes anything');
reset role;
select tests.act_as_anon();
select throws_ok($$select * from public.shop_analytics_last_30_days$$, '42501', null, 'anon may not read the view');
reset role;

select * from finish();
rollback;
