-- Which orders the review request selects, and when the daily run is due: every order picked up
-- at least review_delay (7 days) ago on the shop's calendar, with no review and no request yet
-- (a 9-day-old order is still selected: a missed day catches up); consent decides between a
-- queued request and a skipped one; each run is logged with its shop-local day; the daily run
-- is due from the local review hour, in Europe/Paris and America/New_York, on the days the
-- clocks change too, and once per local day.
begin;
select plan(22);

set local client_min_messages = error;
delete from public.review_requests;
delete from public.shop_automation_runs;
delete from public.reviews;
delete from public.orders;
update public.shop_settings set time_zone = 'Europe/Paris', review_delay = '7 days', review_hour = '10:00',
  quiet_start = '21:00', quiet_end = '08:00';

insert into public.customers (id, name, whatsapp_number, email, consent_messages) values
  ('00000000-0000-0000-0000-0000000052c1', 'Yes S2', '33600000521', null, true),
  ('00000000-0000-0000-0000-0000000052c2', 'No S2', null, 'no.s2@s2.example.test', false);
-- p_now: Monday 2026-12-07 09:00 UTC (10:00 in Paris).
insert into public.orders (id, customer_id, status, payment_status, picked_up_at) overriding system value values
  (52001, '00000000-0000-0000-0000-0000000052c1', 'picked_up', 'paid', timestamptz '2026-11-28 09:00+00'), -- 9 days
  (52002, '00000000-0000-0000-0000-0000000052c1', 'picked_up', 'paid', timestamptz '2026-11-30 09:00+00'), -- exactly 7 days
  (52003, '00000000-0000-0000-0000-0000000052c1', 'picked_up', 'paid', timestamptz '2026-11-30 09:01+00'), -- 1 minute short
  (52004, '00000000-0000-0000-0000-0000000052c1', 'picked_up', 'paid', timestamptz '2026-12-05 09:00+00'), -- 2 days
  (52005, '00000000-0000-0000-0000-0000000052c1', 'ready_pickup', 'paid', null),                          -- not picked up
  (52006, '00000000-0000-0000-0000-0000000052c1', 'picked_up', 'paid', timestamptz '2026-11-20 09:00+00'), -- reviewed
  (52007, '00000000-0000-0000-0000-0000000052c2', 'picked_up', 'paid', timestamptz '2026-11-25 09:00+00'), -- no consent
  (52008, '00000000-0000-0000-0000-0000000052c1', 'cancelled', 'failed', null);
insert into public.reviews (order_id, customer_id, rating, channel) values (52006, '00000000-0000-0000-0000-0000000052c1', 5, 'shop');
reset client_min_messages;

select is(
  array(select order_id from shop_internal.review_due_orders(tests.frozen_now())),
  array[52007, 52001, 52002]::bigint[],
  'due: picked up 7 days ago or more (9, 12 and exactly 7 days), oldest first; not 1 minute short, not recent, not reviewed, not picked up'
);
set local timezone = 'Asia/Tokyo';
select is(
  array(select order_id from shop_internal.review_due_orders(tests.frozen_now())),
  array[52007, 52001, 52002]::bigint[],
  'the same whatever the session''s time zone'
);
reset timezone;

set local client_min_messages = error;
select public.shop_request_reviews(tests.frozen_now(), 'schedule') as run \gset
reset client_min_messages;
select is(:'run'::jsonb - 'run_id',
  jsonb_build_object('success', true, 'sent', 2, 'failed', 0, 'skipped', 1, 'total', 3, 'timestamp', tests.frozen_now()),
  'the run answers {success, sent: 2 (queued), failed: 0, skipped: 1 (no consent), total: 3, timestamp}');
select results_eq(
  $$select order_id, status, reason, message_id is not null, requested_at from public.review_requests order by order_id$$,
  $$values (52001::bigint, 'queued', null::text, true, tests.frozen_now()),
           (52002, 'queued', null, true, tests.frozen_now()),
           (52007, 'skipped', 'no consent', false, tests.frozen_now())$$,
  'one request per due order: queued with its message, skipped without consent'
);
select results_eq(
  $$select m.order_id, m.kind, m.status, m.scheduled_for, j.queue, j.payload, j.dedupe_key, j.run_at
    from public.shop_messages m join jobs.jobs j on j.id = m.job_id
    where m.kind = 'review_request' order by m.order_id$$,
  $$select m.order_id, 'review_request', 'scheduled', tests.frozen_now(), 'shop',
           jsonb_build_object('kind', 'message', 'message_id', m.id), 'shop-message:' || m.id, tests.frozen_now()
    from public.shop_messages m where m.kind = 'review_request' and m.order_id in (52001, 52002) order by m.order_id$$,
  'each queued request has its review_request message and `shop` job, due now (10:00 in Paris is not quiet)'
);
select results_eq(
  $$select automation, trigger, shop_day, started_at, error, result = $$ || quote_literal(:'run') || $$::jsonb
    from public.shop_automation_runs where started_at = tests.frozen_now()$$,
  $$values ('request-reviews', 'schedule', date '2026-12-07', tests.frozen_now(), null::text, true)$$,
  'the run is logged with its shop-local day and its answer'
);

set local client_min_messages = error;
select is(public.shop_request_reviews(tests.frozen_now(), 'manual') - 'run_id' - 'timestamp',
  '{"success": true, "sent": 0, "failed": 0, "skipped": 0, "total": 0}'::jsonb,
  'a second run finds nothing: no order is requested twice');
reset client_min_messages;
select is((select count(*)::int from public.review_requests), 3, '... still three requests');
update public.orders set picked_up_at = picked_up_at - interval '1 minute' where id = 52003;
set local client_min_messages = error;
select is((public.shop_request_reviews(tests.frozen_now(), 'manual', 10) ->> 'sent')::int, 1,
  'the order 1 minute short is caught by a later run');
select is((public.shop_request_reviews(tests.frozen_now(), 'schedule') ->> 'note'),
  'The scheduled run of 2026-12-07 already happened', 'a second scheduled run on the same local day does nothing');
reset client_min_messages;

-- ---------------------------------------------------------------------------------------------
-- Seven days on the shop's calendar, across the change to winter time (2026-10-25 in Paris).
-- ---------------------------------------------------------------------------------------------
set local client_min_messages = error;
insert into public.orders (id, customer_id, status, payment_status, picked_up_at) overriding system value values
  (52009, '00000000-0000-0000-0000-0000000052c1', 'picked_up', 'paid', timestamptz '2026-10-20 15:00+02');
reset client_min_messages;
select ok(not exists (select from shop_internal.review_due_orders(timestamptz '2026-10-27 14:59+01') where order_id = 52009),
  'picked up at 15:00 on 20 October: not due at 14:59 on the 27th (7 × 24 hours have passed, the clocks went back)');
select ok(exists (select from shop_internal.review_due_orders(timestamptz '2026-10-27 15:00+01') where order_id = 52009),
  '... due at 15:00 local');

-- ---------------------------------------------------------------------------------------------
-- When the daily run is due.
-- ---------------------------------------------------------------------------------------------
delete from public.shop_automation_runs;
select ok(not shop_internal.request_reviews_due(timestamptz '2026-03-29 07:59+00'), 'Paris, 29 March (clocks go forward): not due at 09:59 local');
select ok(shop_internal.request_reviews_due(timestamptz '2026-03-29 08:00+00'), '... due at 10:00 local (08:00 UTC)');
select ok(not shop_internal.request_reviews_due(timestamptz '2026-10-25 08:59+00'), 'Paris, 25 October (clocks go back): not due at 09:59 local');
select ok(shop_internal.request_reviews_due(timestamptz '2026-10-25 09:00+00'), '... due at 10:00 local (09:00 UTC)');
insert into public.shop_automation_runs (automation, trigger, shop_day, started_at, error)
values ('request-reviews', 'schedule', '2026-10-25', '2026-10-25 09:00+00', 'Review requests failed: test'),
       ('request-reviews', 'manual', '2026-10-25', '2026-10-25 09:05+00', null);
select ok(shop_internal.request_reviews_due(timestamptz '2026-10-25 09:15+00'),
  'a failed scheduled run and a manual run do not take the day: still due');
insert into public.shop_automation_runs (automation, trigger, shop_day, started_at)
values ('request-reviews', 'schedule', '2026-10-25', '2026-10-25 09:15+00');
select ok(not shop_internal.request_reviews_due(timestamptz '2026-10-25 22:59+00'), 'after a successful scheduled run: not due until the local day ends');
select ok(shop_internal.request_reviews_due(timestamptz '2026-10-26 09:00+00'), '... due again the next day at 10:00 local');

update public.shop_settings set time_zone = 'America/New_York';
select ok(not shop_internal.request_reviews_due(timestamptz '2026-12-07 14:59+00'), 'New York: not due at 09:59 local');
select ok(shop_internal.request_reviews_due(timestamptz '2026-12-07 15:00+00'), '... due at 10:00 local (15:00 UTC)');
set local client_min_messages = error;
select public.shop_request_reviews(timestamptz '2026-12-08 03:00+00', 'manual');
reset client_min_messages;
select is((select shop_day from public.shop_automation_runs where started_at = timestamptz '2026-12-08 03:00+00'), date '2026-12-07',
  'a run at 03:00 UTC on 8 December belongs to the New York day of 7 December');

select * from finish();
rollback;
