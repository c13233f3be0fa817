-- What the database refuses: a second review request, review or message of a kind for one order
-- (unique violations), a second successful scheduled run of request-reviews on one local day, a
-- stock shortage (23514, naming the product and what is left), an unknown time zone, an
-- unreachable customer, a cancelled order coming back; and what it keeps: totals from the items,
-- stock given back once on cancellation, the orders' timestamps.
begin;
select plan(17);

set local client_min_messages = error;
delete from public.orders;
insert into public.customers (id, name, whatsapp_number, consent_messages) values
  ('00000000-0000-0000-0000-0000000054c1', 'Ann S4', '33600000541', true);
insert into public.products (id, name, price_cents, stock) overriding system value values
  (54001, 'Tasse S4', 1200, 3), (54002, 'Bol S4', 500, 10);
insert into public.orders (id, customer_id, status, payment_status, picked_up_at) overriding system value
values (54001, '00000000-0000-0000-0000-0000000054c1', 'picked_up', 'paid', '2026-11-20 10:00+00');
insert into public.order_items (order_id, product_id, quantity) values (54001, 54001, 2), (54001, 54002, 3);
reset client_min_messages;

select is((select total_cents from public.orders where id = 54001), 3900, 'the total follows the items (2 × 1200 + 3 × 500)');
select is((select unit_price_cents from public.order_items where order_id = 54001 and product_id = 54001), 1200,
  'an item''s price defaults to the product''s');
select is((select array_agg(stock order by id) from public.products where id in (54001, 54002)), array[1, 7],
  'the items took their quantities from the stock');
select throws_ok($$insert into public.order_items (order_id, product_id, quantity) values (54001, 54001, 2)$$,
  '23514', 'Product 54001 (Tasse S4) has only 1 in stock', 'a shortage is refused, naming the product and what is left');

insert into public.review_requests (order_id, customer_id, requested_at) values (54001, '00000000-0000-0000-0000-0000000054c1', now());
select throws_ok($$insert into public.review_requests (order_id, customer_id, requested_at)
                   values (54001, '00000000-0000-0000-0000-0000000054c1', now())$$,
  '23505', null, 'a second review request for an order is impossible');
insert into public.reviews (order_id, customer_id, rating, channel) values (54001, '00000000-0000-0000-0000-0000000054c1', 4, 'whatsapp');
select throws_ok($$insert into public.reviews (order_id, customer_id, rating, channel)
                   values (54001, '00000000-0000-0000-0000-0000000054c1', 5, 'email')$$,
  '23505', null, 'a second review for an order is impossible');
select throws_ok($$insert into public.reviews (order_id, customer_id, rating, channel)
                   values (54001, '00000000-0000-0000-0000-0000000054c1', 6, 'email')$$,
  '23514', null, 'a rating is 1 to 5');

set local client_min_messages = error;
select isnt(shop_internal.schedule_message(54001, 'review_thanks', now()), null, 'a thank-you is scheduled');
select is(shop_internal.schedule_message(54001, 'review_thanks', now()), null, '... not twice: the second call schedules nothing');
reset client_min_messages;
select throws_ok($$insert into public.shop_messages (order_id, customer_id, kind, scheduled_for)
                   values (54001, '00000000-0000-0000-0000-0000000054c1', 'review_thanks', now())$$,
  '23505', null, 'a second message of a kind for an order is impossible');

insert into public.shop_automation_runs (automation, trigger, shop_day, started_at) values ('request-reviews', 'schedule', '2026-12-07', now());
select throws_ok($$insert into public.shop_automation_runs (automation, trigger, shop_day, started_at)
                   values ('request-reviews', 'schedule', '2026-12-07', now())$$,
  '23505', null, 'a second successful scheduled run of request-reviews on one local day is impossible');

select throws_ok($$update public.shop_settings set time_zone = 'Europe/Pariss'$$, '22023',
  'Unknown shop time zone "Europe/Pariss": use an IANA name such as Europe/Paris', 'an unknown time zone is refused');
select throws_ok($$insert into public.customers (name) values ('Nobody S4')$$, '23514', null,
  'a customer without a number or an email is refused');
select throws_ok($$insert into public.customers (name, whatsapp_number) values ('Plus S4', '+33600000542')$$, '23514', null,
  'a number is digits only (E.164 without "+")');

-- Cancellation gives the stock back once; a cancelled order stays cancelled.
set local client_min_messages = error;
insert into public.orders (id, customer_id) overriding system value values (54002, '00000000-0000-0000-0000-0000000054c1');
insert into public.order_items (order_id, product_id, quantity) values (54002, 54002, 4);
update public.orders set status = 'cancelled' where id = 54002;
update public.orders set payment_status = 'failed' where id = 54002;
reset client_min_messages;
select is((select stock from public.products where id = 54002), 7, 'a cancelled order gives its stock back, once');
select throws_ok($$update public.orders set status = 'pending' where id = 54002$$, '55000',
  'Order 54002 is cancelled: its status cannot become pending', 'a cancelled order stays cancelled');
select ok((select cancelled_at is not null and paid_at is null and picked_up_at is null from public.orders where id = 54002)
          and (select picked_up_at = '2026-11-20 10:00+00' and paid_at is not null from public.orders where id = 54001),
  'the timestamps: cancelled_at set by the change, picked_up_at kept as given, paid_at set on insert as paid');

select * from finish();
rollback;
