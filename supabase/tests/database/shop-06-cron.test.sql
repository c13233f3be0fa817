-- The pg_cron job request-reviews: every 15 minutes it runs shop_internal.request_reviews_cron(),
-- which calls the function request-reviews ({"trigger": "schedule"}, with the cron secret) only
-- when the day's run is due; and the `shop` queue exists for process-shop-queue.
begin;
select plan(5);

delete from vault.secrets where name in ('project_url', 'cron_secret');
select vault.create_secret('http://api.test', 'project_url');
select vault.create_secret('test-cron-secret', 'cron_secret');
delete from net.http_request_queue where url like 'http://api.test/%';
delete from public.shop_automation_runs;
update public.shop_settings set time_zone = 'Europe/Paris', review_hour = '10:00';

select results_eq(
  $$select schedule, command, username from cron.job where jobname = 'request-reviews'$$,
  $$values ('*/15 * * * *', 'select shop_internal.request_reviews_cron()', 'postgres')$$,
  'the cron job request-reviews runs every 15 minutes'
);
select results_eq(
  $$select function_name, max_attempts, lease_seconds, batch_size from jobs.queues where name = 'shop'$$,
  $$values ('process-shop-queue', 6, 60, 50)$$,
  'the `shop` queue is drained by process-shop-queue'
);
select is(shop_internal.request_reviews_cron('2026-12-07 08:45+00'), null, 'at 09:45 in Paris: no call');
select isnt(shop_internal.request_reviews_cron('2026-12-07 09:00+00'), null, 'at 10:00 in Paris: a call');
select results_eq(
  $$select url, convert_from(body, 'UTF8')::jsonb, headers ->> 'Authorization' from net.http_request_queue
    where url like 'http://api.test/%'$$,
  $$values ('http://api.test/functions/v1/request-reviews', '{"trigger": "schedule"}'::jsonb, 'Bearer test-cron-secret')$$,
  '... a POST {"trigger": "schedule"} to request-reviews with the cron secret'
);

select * from finish();
rollback;
