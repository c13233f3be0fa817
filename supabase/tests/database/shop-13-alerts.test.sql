-- Admin alerts: a review of 2 or less alerts (3 does not); a product's stock crossing under its
-- threshold alerts once per crossing (subject product:<id>:<order id>, or :manual by hand);
-- jobs gone dead open one pending digest (a second dead job adds none; after a digest went, the
-- next one waits alert_digest_interval), and a failure there never fails the job core. Each
-- alert has its `shop` job (payload kind alert, dedupe shop-alert:<id>, run_at = not_before).
-- shop_alert_start answers send / wait / skip (no admin: stored failed) and fills a digest's
-- details; shop_alert_record sets sent / partial / failed once. Service role only.
begin;
select plan(38);

update public.shop_settings set admin_emails = '{}', admin_whatsapp_numbers = '{}', admin_language = 'en',
  shop_name = 'S13 Shop', alert_digest_interval = '1 hour', whatsapp_instance = null;
delete from public.shop_alerts;

insert into public.customers (name, email) values ('S13 Eve', 's13.eve@s13.example.test');
insert into public.products (name, price_cents, stock, low_stock_threshold) values
  ('S13 gâteau', 500, 100, 5), ('S13 café', 300, 10, 5);

/* An order by Eve of p_quantity of product p_product. */
create function pg_temp.s13_order(p_product text, p_quantity int) returns bigint
language plpgsql as $$
declare
  v_id bigint;
begin
  insert into public.orders (customer_id) select c.id from public.customers c where c.name = 'S13 Eve'
  returning id into v_id;
  insert into public.order_items (order_id, product_id, quantity)
  select v_id, p.id, p_quantity from public.products p where p.name = p_product;
  return v_id;
end
$$;

/* A review of p_rating for a new order. */
create function pg_temp.s13_review(p_rating int, p_comment text default null) returns bigint
language plpgsql as $$
declare
  v_order_id bigint := pg_temp.s13_order('S13 gâteau', 1);
  v_id bigint;
begin
  insert into public.reviews (order_id, customer_id, rating, comment, channel)
  select o.id, o.customer_id, p_rating, p_comment, 'whatsapp' from public.orders o where o.id = v_order_id
  returning id into v_id;
  return v_id;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Low reviews
-- ---------------------------------------------------------------------------------------------
select pg_temp.s13_review(3) as review_3 \gset
select pg_temp.s13_review(2, 'Trop sec') as review_2 \gset
select pg_temp.s13_review(1) as review_1 \gset
select results_eq(
  $$select subject from public.shop_alerts where kind = 'low_review' order by id$$,
  format($$values ('review:%s'), ('review:%s')$$, :review_2, :review_1),
  'ratings 2 and 1 alert, 3 does not'
);
select id as alert_2, job_id as alert_2_job from public.shop_alerts where subject = 'review:' || :review_2 \gset
select results_eq(
  $$select details -> 'review' ->> 'rating', details -> 'review' ->> 'comment', details -> 'customer' ->> 'name',
           (details -> 'order' ->> 'id')::bigint = (select order_id from public.reviews where id = $$ || :review_2 || $$)
    from public.shop_alerts where id = $$ || :alert_2,
  $$values ('2', 'Trop sec', 'S13 Eve', true)$$,
  'the alert carries the review, the order and the customer''s name'
);
select results_eq(
  format($$select queue, subject, payload, dedupe_key, run_at = (select not_before from public.shop_alerts where id = %s)
           from jobs.jobs where id = %s$$, :alert_2, :alert_2_job),
  format($$values ('shop', 'alert', '{"kind": "alert", "alert_id": %s}'::jsonb, 'shop-alert:%s', true)$$, :alert_2, :alert_2),
  'its job: queue shop, subject alert, payload {kind: alert, alert_id}, dedupe shop-alert:<id>, run_at = not_before'
);
select is((select status from public.shop_alerts where id = :alert_2), 'pending', 'a new alert is pending');

-- ---------------------------------------------------------------------------------------------
-- Low stock
-- ---------------------------------------------------------------------------------------------
select pg_temp.s13_order('S13 café', 3) as order_a \gset
select is((select count(*)::int from public.shop_alerts where kind = 'low_stock'), 0, '10 → 7 stays at or above 5: no alert');
select pg_temp.s13_order('S13 café', 3) as order_b \gset
select results_eq(
  $$select subject, (details ->> 'stock')::int, (details ->> 'threshold')::int, details -> 'product' ->> 'name'
    from public.shop_alerts where kind = 'low_stock'$$,
  format($$values ('product:%s:%s', 4, 5, 'S13 café')$$, (select id from public.products where name = 'S13 café'), :order_b),
  '7 → 4 crosses under 5: one alert naming the product and the order that crossed'
);
select pg_temp.s13_order('S13 café', 1);
select is((select count(*)::int from public.shop_alerts where kind = 'low_stock'), 1, '4 → 3, already under: no second alert');
select ok((select job_id is not null from public.shop_alerts where kind = 'low_stock'), 'the stock alert has its job');
update public.products set stock = 20 where name = 'S13 café';
update public.products set stock = 2 where name = 'S13 café';
select is(
  (select count(*)::int from public.shop_alerts where kind = 'low_stock'
   and subject = format('product:%s:manual', (select id from public.products where name = 'S13 café'))), 1,
  'restocked then lowered by hand: a new crossing, subject ...:manual');
update public.products set name = 'S13 café serré' where name = 'S13 café';
select is((select count(*)::int from public.shop_alerts where kind = 'low_stock'), 2, 'a change that is not about stock alerts nothing');

-- ---------------------------------------------------------------------------------------------
-- Dead jobs: one digest
-- ---------------------------------------------------------------------------------------------
select from jobs.create_queue('s13', null, p_max_attempts => 3, p_drain_schedule => null);
select count(*) from (select jobs.enqueue('s13', '{}', 's13:' || n) from generate_series(1, 5) n) e;
select count(*) from public.job_claim('s13', 's13-worker', 2);
select is(
  (select count(*)::int from public.job_report('s13-worker',
     (select jsonb_agg(jsonb_build_object('id', id, 'ok', false, 'error', 'S13 broken', 'permanent', true))
      from jobs.jobs where queue = 's13' and state = 'running')) where state = 'dead'),
  2, 'two jobs go dead in one report');
select results_eq(
  $$select kind, subject, status, not_before = now() from public.shop_alerts where kind = 'dead_jobs'$$,
  $$values ('dead_jobs', 'digest', 'pending', true)$$,
  'one pending digest, due at once (no digest went before)'
);
select id as digest_1, job_id as digest_1_job from public.shop_alerts where kind = 'dead_jobs' \gset
select is((select dedupe_key from jobs.jobs where id = :digest_1_job), 'shop-alert:' || :digest_1, 'the digest has its job');

select count(*) from public.job_claim('s13', 's13-worker', 1);
select public.job_report('s13-worker',
  (select jsonb_agg(jsonb_build_object('id', id, 'ok', false, 'error', 'S13 broken again', 'permanent', true))
   from jobs.jobs where queue = 's13' and state = 'running'));
select is((select count(*)::int from public.shop_alerts where kind = 'dead_jobs'), 1,
  'a third dead job while the digest is pending adds no digest');

-- ---------------------------------------------------------------------------------------------
-- shop_alert_start and shop_alert_record
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select results_eq(
  format($$select r ->> 'action', r ->> 'reason' from public.shop_alert_start(%s) r$$, :alert_2),
  $$values ('skip', 'no admin to alert')$$,
  'no admin email or number: skip'
);
reset role;
select results_eq(
  format($$select status, deliveries -> 0 ->> 'error' from public.shop_alerts where id = %s$$, :alert_2),
  $$values ('failed', 'no admin to alert')$$,
  '... and the alert is stored failed, "no admin to alert"'
);

update public.shop_settings set admin_emails = '{admin@s13.example.test}', admin_whatsapp_numbers = '{33611111111,33622222222}';
select id as alert_1 from public.shop_alerts where subject = 'review:' || :review_1 \gset
select tests.act_as_service_role();
select results_eq(
  format($$select r ->> 'action', r -> 'alert' ->> 'kind', r -> 'alert' -> 'details' -> 'review' ->> 'rating',
                  r -> 'recipients', r ->> 'language', r -> 'shop' ->> 'name', r -> 'shop' -> 'whatsapp_instance'
           from public.shop_alert_start(%s) r$$, :alert_1),
  $$values ('send', 'low_review', '1', '{"emails": ["admin@s13.example.test"], "whatsapp_numbers": ["33611111111", "33622222222"]}'::jsonb,
            'en', 'S13 Shop', 'null'::jsonb)$$,
  'with admins: send, the alert, the recipients, the admin language and the shop (no open instance: null)'
);
select results_eq(
  format($$select r ->> 'status', r -> 'deliveries' -> 1 ->> 'error' from public.shop_alert_record(%s,
    '[{"channel": "email", "to": "admin@s13.example.test", "status": "sent", "provider_id": "e1", "error": null},
      {"channel": "whatsapp", "to": "33611111111", "status": "failed", "provider_id": null, "error": "Not on WhatsApp"},
      {"channel": "whatsapp", "to": "33622222222", "status": "sent", "provider_id": "w2", "error": null}]') r$$, :alert_1),
  $$values ('partial', 'Not on WhatsApp')$$,
  'some deliveries sent, one failed: partial, the deliveries kept'
);
select is(
  (public.shop_alert_record(:alert_1, '[]') ->> 'status'), 'partial',
  'recording again (a retried job) changes nothing');
select results_eq(
  format($$select r ->> 'action', r ->> 'reason' from public.shop_alert_start(%s) r$$, :alert_1),
  $$values ('skip', 'alert already partial')$$,
  'starting an alert already recorded: skip'
);
select id as stock_alert from public.shop_alerts where kind = 'low_stock' order by id limit 1 \gset
select is(
  public.shop_alert_record(:stock_alert, '[{"channel": "email", "to": "admin@s13.example.test", "status": "sent"}]') ->> 'status',
  'sent', 'every delivery sent: sent');
select id as manual_alert from public.shop_alerts where kind = 'low_stock' order by id desc limit 1 \gset
select throws_ok(format($$select public.shop_alert_record(%s, '{"status": "sent"}')$$, :manual_alert), '22023', null,
  'deliveries that are not an array are refused');
select throws_ok($$select public.shop_alert_start(-1)$$, 'P0002', 'Shop alert -1 not found', 'an unknown alert: P0002');

-- The digest: its details are the jobs gone dead since (here: the hour before it was opened).
select results_eq(
  format($$select r ->> 'action', (r -> 'alert' -> 'details' ->> 'total')::int >= 3,
                  r -> 'alert' -> 'details' -> 'queues' @> '[{"queue": "s13", "count": 3}]',
                  (select count(*)::int from jsonb_array_elements(r -> 'alert' -> 'details' -> 'jobs') j
                   where j ->> 'queue' = 's13' and j ->> 'last_error' like 'S13 broken%%'),
                  (r -> 'alert' -> 'details' ->> 'until')::timestamptz = now()
           from public.shop_alert_start(%s) r$$, :digest_1),
  $$values ('send', true, true, 3, true)$$,
  'the digest goes with its details filled: total, per queue, the jobs with their errors, until = now'
);
select public.shop_alert_record(:digest_1, '[{"channel": "email", "to": "admin@s13.example.test", "status": "sent"}]',
  now() - interval '10 minutes');
reset role;

-- ---------------------------------------------------------------------------------------------
-- The next digest waits for the interval
-- ---------------------------------------------------------------------------------------------
select count(*) from public.job_claim('s13', 's13-worker', 1);
-- (reported a minute later: the previous digest covered the jobs dead until now)
select public.job_report('s13-worker',
  (select jsonb_agg(jsonb_build_object('id', id, 'ok', false, 'error', 'S13 broken late', 'permanent', true))
   from jobs.jobs where queue = 's13' and state = 'running'), now() + interval '1 minute');
select results_eq(
  $$select count(*)::int, min(not_before) from public.shop_alerts where kind = 'dead_jobs' and status = 'pending'$$,
  $$values (1, now() + interval '50 minutes')$$,
  'a job dead 10 minutes after a digest went: a new digest, due an hour after the previous one'
);
select id as digest_2, job_id as digest_2_job from public.shop_alerts where kind = 'dead_jobs' and status = 'pending' \gset
select is((select run_at from jobs.jobs where id = :digest_2_job), now() + interval '50 minutes',
  '... its job runs then');
select tests.act_as_service_role();
select results_eq(
  format($$select r ->> 'action', (r ->> 'wait_seconds')::int from public.shop_alert_start(%s) r$$, :digest_2),
  $$values ('wait', 3000)$$,
  'started early, the digest says to wait (50 minutes)'
);
select results_eq(
  format($$select (r -> 'alert' -> 'details' ->> 'since')::timestamptz, (r -> 'alert' -> 'details' ->> 'total')::int
           from public.shop_alert_start(%s, now() + interval '50 minutes') r$$, :digest_2),
  $$values (now(), 1)$$,
  'when due, it covers the jobs dead since the previous digest''s until: the one late job'
);
reset role;

-- A pending digest whose job ended without sending it (cancelled here) gets a job again at the
-- next dead job, an interval after the old one ended: it does not hold back every later digest.
select public.job_cancel(:digest_2_job, 'S13: lost');
select count(*) from (select jobs.enqueue('s13', '{}', 's13:extra')) e;
select count(*) from public.job_claim('s13', 's13-worker', 1);
select public.job_report('s13-worker',
  (select jsonb_agg(jsonb_build_object('id', id, 'ok', false, 'error', 'S13 extra', 'permanent', true))
   from jobs.jobs where queue = 's13' and state = 'running'));
select results_eq(
  format($$select count(*)::int, bool_and(a.job_id <> %s), min(j.state::text), min(j.run_at)
           from public.shop_alerts a join jobs.jobs j on j.id = a.job_id
           where a.kind = 'dead_jobs' and a.status = 'pending'$$, :digest_2_job),
  $$values (1, true, 'waiting', now() + interval '1 hour')$$,
  'a stuck pending digest gets a new job, due an interval after its old one ended'
);
select is((select count(*)::int from public.shop_alerts where kind = 'dead_jobs'), 2, '... and no second pending digest');

-- ---------------------------------------------------------------------------------------------
-- The job core never fails because of the digest
-- ---------------------------------------------------------------------------------------------
update public.shop_alerts set status = 'sent', sent_at = now() - interval '2 hours' where kind = 'dead_jobs';
alter table public.shop_alerts add constraint s13_broken check (kind <> 'dead_jobs') not valid;
select count(*) from public.job_claim('s13', 's13-worker', 1);
set local client_min_messages = error; -- the WARNING is expected
select lives_ok(
  $$select public.job_report('s13-worker',
      (select jsonb_agg(jsonb_build_object('id', id, 'ok', false, 'error', 'S13 last', 'permanent', true))
       from jobs.jobs where queue = 's13' and state = 'running'))$$,
  'a digest that cannot be stored does not fail the job core''s report');
reset client_min_messages;
select is((select count(*)::int from jobs.jobs where queue = 's13' and state = 'dead'), 6, '... the job did go dead');
select is((select count(*)::int from public.shop_alerts where kind = 'dead_jobs' and status = 'pending'), 0, '... without a digest');
alter table public.shop_alerts drop constraint s13_broken;

-- ---------------------------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------------------------
select is(
  array(select r from unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, 'public.shop_alert_start(bigint, timestamptz)', 'execute') order by 1),
  array['service_role'], 'only the service role may start an alert');
select is(
  array(select r from unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, 'public.shop_alert_record(bigint, jsonb, timestamptz)', 'execute') order by 1),
  array['service_role'], 'only the service role may record one');
select tests.act_as_user(tests.create_auth_user('s13.admin@s13.example.test', '{"role": "admin"}'), '{"role": "admin"}');
select ok((select count(*) from public.shop_alerts) > 0, 'admins read the alerts');
select throws_ok(format($$select public.shop_alert_start(%s)$$, :alert_2), '42501', null, '... but do not send them');
reset role;
select is(tests.functions_api_roles_may_execute('shop_internal') && array[
  'shop_internal.raise_alert(text,text,jsonb)', 'shop_internal.open_dead_jobs_digest(timestamp with time zone)',
  'shop_internal.enqueue_alert(bigint,timestamp with time zone)', 'shop_internal.dead_jobs_alert()',
  'shop_internal.compute_daily_analytics(date,date)', 'shop_internal.run_daily_analytics(text,timestamp with time zone)'],
  false, 'no API role may call the internal alert and analytics functions');

select * from finish();
rollback;
