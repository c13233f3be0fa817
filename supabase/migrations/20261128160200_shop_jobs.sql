-- The shop, part 3 of 3: what runs by itself. The `shop` queue (drained by the function
-- process-shop-queue), the order triggers that schedule the customer messages and cancel them
-- when the order moves on first, the pg_cron job request-reviews (every 15 minutes; it calls the
-- function request-reviews once a shop-local day, from the review hour on), and the operators'
-- views shop_message_story and shop_review_request_status.

-- =============================================================================================
-- The queue
-- =============================================================================================

select jobs.create_queue('shop', 'process-shop-queue', p_max_attempts => 6, p_lease_seconds => 60, p_batch_size => 50);

-- =============================================================================================
-- Order triggers: the order messages
-- =============================================================================================

/* A new order: its confirmation now, a payment reminder later while unpaid. */
create function shop_internal.order_created() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.shop_settings := shop_internal.settings();
begin
  -- An order recorded after the fact (picked up or cancelled already, e.g. imported history)
  -- gets no confirmation and no reminder.
  if new.status in ('picked_up', 'cancelled') then
    return null;
  end if;
  perform shop_internal.schedule_message(new.id, 'order_confirmation', now());
  if new.payment_status = 'pending' then
    perform shop_internal.schedule_message(new.id, 'payment_reminder', new.created_at + v_settings.payment_reminder_after);
  end if;
  return null;
end
$$;
comment on function shop_internal.order_created() is
  'AFTER INSERT trigger on orders: schedules order_confirmation now and, when payment_status is pending, payment_reminder at created_at + payment_reminder_after (orders inserted already picked up or cancelled get neither).';
revoke all on function shop_internal.order_created() from public, anon, authenticated, service_role;

create trigger orders_created after insert on public.orders
for each row execute function shop_internal.order_created();
comment on trigger orders_created on public.orders is 'Schedules the confirmation and the payment reminder.';

/* An order moving on: the messages it now needs, and the ones it no longer needs. */
create function shop_internal.order_changed() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.shop_settings := shop_internal.settings();
begin
  if old.payment_status = 'pending' and new.payment_status <> 'pending' then
    perform shop_internal.cancel_messages(new.id, array['payment_reminder'], 'payment ' || new.payment_status);
  end if;
  if new.status is distinct from old.status then
    if new.status = 'cancelled' then
      perform shop_internal.cancel_messages(new.id, null, 'order cancelled');
      return null;
    end if;
    if old.status = 'ready_pickup' then
      perform shop_internal.cancel_messages(new.id, array['pickup_reminder'], 'order ' || new.status);
    end if;
    if new.status = 'ready_pickup' then
      perform shop_internal.schedule_message(new.id, 'ready_pickup', now());
      perform shop_internal.schedule_message(new.id, 'pickup_reminder',
                                             coalesce(new.ready_at, now()) + v_settings.pickup_reminder_after);
    elsif new.status = 'picked_up' then
      perform shop_internal.schedule_message(new.id, 'satisfaction',
                                             coalesce(new.picked_up_at, now()) + v_settings.satisfaction_after);
    end if;
  end if;
  return null;
end
$$;
comment on function shop_internal.order_changed() is
  'AFTER UPDATE trigger on orders: payment_status leaving pending cancels payment_reminder ("payment <status>"); status ready_pickup schedules ready_pickup now and pickup_reminder at ready_at + pickup_reminder_after; leaving ready_pickup cancels pickup_reminder; picked_up schedules satisfaction at picked_up_at + satisfaction_after (consent needed); cancelled cancels every scheduled message ("order cancelled"). Cancelling also cancels the message''s job.';
revoke all on function shop_internal.order_changed() from public, anon, authenticated, service_role;

create trigger orders_changed after update of status, payment_status on public.orders
for each row when (old.status is distinct from new.status or old.payment_status is distinct from new.payment_status)
execute function shop_internal.order_changed();
comment on trigger orders_changed on public.orders is 'Schedules and cancels the order messages as the order moves on.';

-- =============================================================================================
-- The cron job request-reviews
-- =============================================================================================

/* What the cron job runs: a call of request-reviews when the day's run is due. */
create function shop_internal.request_reviews_cron(p_now timestamptz default now()) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not shop_internal.request_reviews_due(p_now) then
    return null;
  end if;
  return jobs.call_function('request-reviews', '{"trigger": "schedule"}', 'Cron job "request-reviews" did not call its function');
end
$$;
comment on function shop_internal.request_reviews_cron(timestamptz) is
  'Run every 15 minutes by the pg_cron job request-reviews: when shop_internal.request_reviews_due(p_now) (the shop-local review hour reached, no successful scheduled run today), queues a pg_net POST {"trigger": "schedule"} to the function request-reviews with the cron secret (jobs.call_function). Returns the request id, or null.';
revoke all on function shop_internal.request_reviews_cron(timestamptz) from public, anon, authenticated, service_role;

select cron.schedule('request-reviews', '*/15 * * * *', 'select shop_internal.request_reviews_cron()');

-- =============================================================================================
-- Operators' views
-- =============================================================================================

create view public.shop_message_story with (security_invoker = true) as
select m.order_id, o.status as order_status, o.payment_status, m.customer_id, c.name as customer_name,
       m.id as message_id, m.kind, m.status, m.channel, m.scheduled_for, m.sent_at, m.attempts,
       m.fallback_reason, m.error, m.cancel_reason, m.job_id, m.created_at
from public.shop_messages m
join public.orders o on o.id = m.order_id
join public.customers c on c.id = m.customer_id;
comment on view public.shop_message_story is
  'Per order, what became of each customer message: kind, status, channel, when scheduled and sent, attempts, why email (fallback_reason), why failed (error) or cancelled/skipped (cancel_reason), its job. Order by order_id, scheduled_for.';

create view public.shop_review_request_status with (security_invoker = true) as
select r.order_id, r.customer_id, c.name as customer_name, o.picked_up_at, r.status, r.channel,
       r.requested_at, r.sent_at, r.question_sent_at, r.answered_at is not null as answered, r.answered_at,
       v.rating, v.comment, v.channel as review_channel, r.reason
from public.review_requests r
join public.orders o on o.id = r.order_id
join public.customers c on c.id = r.customer_id
left join public.reviews v on v.order_id = r.order_id;
comment on view public.shop_review_request_status is
  'Each review request: its order and customer, status (queued, sent, failed, skipped, answered), channel, when sent, whether answered and with which rating, why failed or skipped.';

revoke all on public.shop_message_story, public.shop_review_request_status from anon, authenticated;
grant select on public.shop_message_story, public.shop_review_request_status to authenticated, service_role;
