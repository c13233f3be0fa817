-- The order messages: a new order schedules its confirmation and a payment reminder (with their
-- `shop` jobs); paid before the reminder, the reminder and its job are cancelled; ready for
-- pickup schedules the message and a pickup reminder, picked up cancels that reminder and
-- schedules the satisfaction message only with consent; a cancelled order cancels everything.
-- Then the worker's side: shop_message_start checks again at send time (skip, wait in quiet
-- hours, send with what the message needs), the review link token is the same across retries
-- and erased when the message is recorded.
begin;
select plan(17);

set local client_min_messages = error;
delete from public.orders;
update public.shop_settings set time_zone = 'Europe/Paris', quiet_start = '21:00', quiet_end = '08:00',
  payment_reminder_after = '24 hours', pickup_reminder_after = '48 hours', satisfaction_after = '24 hours',
  whatsapp_instance = null;
insert into public.customers (id, name, whatsapp_number, consent_messages) values
  ('00000000-0000-0000-0000-0000000055c1', 'Yes S5', '33600000551', true),
  ('00000000-0000-0000-0000-0000000055c2', 'No S5', '33600000552', false);
insert into public.products (id, name, price_cents, stock) overriding system value values (55001, 'Tasse S5', 1200, 100);
-- Created at 10:00 in Paris: the reminder falls at 10:00 the next day, outside quiet hours.
insert into public.orders (id, customer_id, created_at) overriding system value values
  (55001, '00000000-0000-0000-0000-0000000055c1', '2026-12-07 10:00+01'),
  (55002, '00000000-0000-0000-0000-0000000055c2', '2026-12-07 10:00+01'),
  (55003, '00000000-0000-0000-0000-0000000055c1', '2026-12-07 22:30+01');
insert into public.order_items (order_id, product_id, quantity) values (55001, 55001, 2);
reset client_min_messages;

select results_eq(
  $$select m.kind, m.status, m.scheduled_for, j.state::text, j.run_at, j.subject, j.dedupe_key, j.payload ->> 'kind'
    from public.shop_messages m join jobs.jobs j on j.id = m.job_id where m.order_id = 55001 order by m.kind$$,
  $$select 'order_confirmation', 'scheduled', m.scheduled_for, 'waiting', m.scheduled_for, 'order:55001', 'shop-message:' || m.id, 'message'
      from public.shop_messages m where m.order_id = 55001 and m.kind = 'order_confirmation'
    union all
    select 'payment_reminder', 'scheduled', '2026-12-08 10:00+01'::timestamptz, 'waiting', '2026-12-08 10:00+01'::timestamptz,
           'order:55001', 'shop-message:' || m.id, 'message'
      from public.shop_messages m where m.order_id = 55001 and m.kind = 'payment_reminder'$$,
  'a new order: confirmation now, payment reminder 24 hours after creation, each with its `shop` job'
);
select is((select scheduled_for from public.shop_messages where order_id = 55003 and kind = 'payment_reminder'),
  '2026-12-09 08:00+01'::timestamptz, 'a reminder due at 22:30 waits for the end of the quiet hours');

set local client_min_messages = error;
update public.orders set payment_status = 'paid', status = 'paid' where id = 55001;
reset client_min_messages;
select results_eq(
  $$select m.status, m.cancel_reason, j.state::text from public.shop_messages m join jobs.jobs j on j.id = m.job_id
    where m.order_id = 55001 and m.kind = 'payment_reminder'$$,
  $$values ('cancelled', 'payment paid', 'cancelled')$$,
  'paid before the reminder: the reminder is cancelled, and its job too'
);
select is((select status from public.shop_messages where order_id = 55001 and kind = 'order_confirmation'), 'scheduled',
  '... the confirmation is left alone');

set local client_min_messages = error;
update public.orders set status = 'ready_pickup', ready_at = '2026-12-08 11:00+01' where id = 55001;
reset client_min_messages;
select results_eq(
  $$select kind, status, scheduled_for from public.shop_messages where order_id = 55001 and kind in ('ready_pickup', 'pickup_reminder') order by kind$$,
  $$values ('pickup_reminder', 'scheduled', '2026-12-10 11:00+01'::timestamptz),
           ('ready_pickup', 'scheduled', shop_internal.quiet_until(now()))$$,
  'ready for pickup: the message now (outside quiet hours), a reminder 48 hours after ready_at'
);
set local client_min_messages = error;
update public.orders set status = 'picked_up', picked_up_at = '2026-12-09 12:00+01' where id = 55001;
reset client_min_messages;
select results_eq(
  $$select kind, status, cancel_reason, scheduled_for from public.shop_messages
    where order_id = 55001 and kind in ('pickup_reminder', 'satisfaction') order by kind$$,
  $$values ('pickup_reminder', 'cancelled', 'order picked_up', '2026-12-10 11:00+01'::timestamptz),
           ('satisfaction', 'scheduled', null, '2026-12-10 12:00+01'::timestamptz)$$,
  'picked up: the pickup reminder cancelled, the satisfaction message 24 hours later'
);
select is((select state::text from jobs.jobs j join public.shop_messages m on m.job_id = j.id
           where m.order_id = 55001 and m.kind = 'pickup_reminder'), 'cancelled', '... the reminder''s job cancelled');

set local client_min_messages = error;
update public.orders set payment_status = 'paid', status = 'picked_up' where id = 55002;
reset client_min_messages;
select ok(not exists (select from public.shop_messages where order_id = 55002 and kind = 'satisfaction'),
  'no consent: no satisfaction message');
set local client_min_messages = error;
select is(shop_internal.schedule_message(55002, 'review_request', now()), null, '... nor a review request');
select isnt(shop_internal.schedule_message(55002, 'review_thanks', now()), null, '... but an answer goes regardless');

update public.orders set status = 'cancelled' where id = 55003;
reset client_min_messages;
select is(
  array(select m.status || '/' || m.cancel_reason || '/' || j.state from public.shop_messages m join jobs.jobs j on j.id = m.job_id
        where m.order_id = 55003 order by m.kind),
  array['cancelled/order cancelled/cancelled', 'cancelled/order cancelled/cancelled'],
  'a cancelled order: every scheduled message and its job cancelled'
);

-- ---------------------------------------------------------------------------------------------
-- The worker's side
-- ---------------------------------------------------------------------------------------------
select id as confirmation from public.shop_messages where order_id = 55001 and kind = 'order_confirmation' \gset
select id as satisfaction from public.shop_messages where order_id = 55001 and kind = 'satisfaction' \gset
select id as reminder from public.shop_messages where order_id = 55001 and kind = 'payment_reminder' \gset

select is(public.shop_message_start(:'satisfaction', '2026-12-10 22:00+01') - 'message',
  '{"action": "wait", "reason": "quiet hours", "wait_seconds": 36000, "customer": null, "order": null, "shop": null, "review_link": null}'::jsonb,
  'a proactive message at 22:00: wait 10 hours (until 08:00)');
select is(public.shop_message_start(:'confirmation', '2026-12-10 22:00+01') -> 'order',
  '{"id": 55001, "status": "picked_up", "payment_status": "paid", "total_cents": 2400, "created_at": "2026-12-07T09:00:00+00:00",
    "ready_at": "2026-12-08T10:00:00+00:00", "picked_up_at": "2026-12-09T11:00:00+00:00",
    "items": [{"name": "Tasse S5", "quantity": 2, "unit_price_cents": 1200}]}'::jsonb,
  'an answer goes at any hour, with the order and its items');
select is(public.shop_message_start(:'reminder') ->> 'action', 'skip', 'a cancelled message is skipped');

-- A review request by email: the same link token for every attempt, erased when recorded.
set local client_min_messages = error;
update public.orders set picked_up_at = '2026-11-20 12:00+01' where id = 55001;
select public.shop_request_reviews('2026-12-10 12:00+01', 'manual');
reset client_min_messages;
select id as request from public.shop_messages where order_id = 55001 and kind = 'review_request' \gset
select public.shop_message_start(:'request', '2026-12-10 12:00+01') as first \gset
select public.shop_message_start(:'request', '2026-12-10 12:01+01') as second \gset
select ok((:'first'::jsonb -> 'review_link' ->> 'token') = (:'second'::jsonb -> 'review_link' ->> 'token')
          and length(:'first'::jsonb -> 'review_link' ->> 'token') = 43
          and (:'second'::jsonb -> 'message' ->> 'attempt')::int = 2,
  'a retry renders the same rating links (token kept until recorded); the attempt is counted');
select public.shop_message_record(:'request', 'sent', 'email', 'email-55001', null, 'no WhatsApp instance', '2026-12-10 12:02+01');
select results_eq(
  $$select status, channel, sent_at, link_pending_token, link_token_hash = sha256(convert_to($$ || quote_literal(:'first'::jsonb -> 'review_link' ->> 'token') || $$, 'UTF8'))
    from public.review_requests where order_id = 55001$$,
  $$values ('sent', 'email', '2026-12-10 12:02+01'::timestamptz, null::text, true)$$,
  'recorded: the request is sent by email, the plain token erased, its hash kept for the links'
);
select is(public.shop_message_start(:'request') ->> 'action', 'skip', 'a sent message is not sent again');

select * from finish();
rollback;
