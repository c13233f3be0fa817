-- The shop, admin alerts: what creates a shop_alerts row and its `shop` job, and the two RPCs
-- the job's handler (process-shop-queue, _shared/shop/alerts.ts) calls around the sending.
--   - low_review: a review of 2 or less (subject review:<id>);
--   - low_stock: a product's stock going from at or above its threshold to under it (subject
--     product:<id>:<order id>, or product:<id>:manual for a change by hand): each crossing once;
--   - dead_jobs: jobs of any queue going dead → one pending digest (subject digest), which waits
--     until alert_digest_interval has passed since the previous digest (at most one an hour);
--     its details (which jobs, which queues) are filled when it is sent.
-- Each alert's job: queue shop, payload {"kind": "alert", "alert_id": N}, subject alert, dedupe
-- key shop-alert:<id>, run_at = the alert's not_before.

-- =============================================================================================
-- Helper functions
-- =============================================================================================

/* Enqueues the `shop` job of an alert and stores its id on the alert. */
create function shop_internal.enqueue_alert(p_alert_id bigint, p_run_at timestamptz) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job_id bigint;
begin
  v_job_id := (jobs.enqueue(
    'shop',
    jsonb_build_object('kind', 'alert', 'alert_id', p_alert_id),
    'alert',
    'shop-alert:' || p_alert_id,
    0,
    p_run_at
  )).id;
  update public.shop_alerts set job_id = v_job_id where id = p_alert_id;
  return v_job_id;
end
$$;
comment on function shop_internal.enqueue_alert(bigint, timestamptz) is
  'Enqueues the job that sends alert p_alert_id (queue shop, payload {kind: alert, alert_id}, subject alert, dedupe key shop-alert:<id>, run_at p_run_at) and stores its id in shop_alerts.job_id. Returns the job id.';
revoke all on function shop_internal.enqueue_alert(bigint, timestamptz) from public, anon, authenticated, service_role;

/*
 * Creates an alert (kind, subject, details) unless one exists for that kind and subject, and
 * enqueues its job. Returns the new alert's id, or null when it existed.
 */
create function shop_internal.raise_alert(p_kind text, p_subject text, p_details jsonb) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_not_before timestamptz;
begin
  insert into public.shop_alerts (kind, subject, details)
  values (p_kind, p_subject, coalesce(p_details, '{}'))
  on conflict do nothing
  returning id, not_before into v_id, v_not_before;
  if v_id is not null then
    perform shop_internal.enqueue_alert(v_id, v_not_before);
  end if;
  return v_id;
end
$$;
comment on function shop_internal.raise_alert(text, text, jsonb) is
  'Inserts a pending shop_alerts row (p_kind, p_subject, p_details; nothing when that kind and subject exist: each review or crossing alerts once) and enqueues its job. Returns the alert id, or null.';
revoke all on function shop_internal.raise_alert(text, text, jsonb) from public, anon, authenticated, service_role;

/*
 * Opens the pending dead-jobs digest when none is pending. It waits until alert_digest_interval
 * has passed since the previous digest went (sent, partial or failed).
 */
create function shop_internal.open_dead_jobs_digest(p_now timestamptz default now()) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_previous timestamptz;
  v_id bigint;
  v_not_before timestamptz;
  v_pending public.shop_alerts;
  v_job jobs.jobs;
begin
  -- Cheap and the common case while dead jobs pile up: a digest is already waiting.
  select * into v_pending from public.shop_alerts a where a.kind = 'dead_jobs' and a.status = 'pending';
  if found then
    -- Unless its job ended without sending it (died, was cancelled or pruned): the digest would
    -- then wait forever and hold back every later one. It gets a job again, an interval (a
    -- minute at least) after the last one ended: a digest that can never go is tried again
    -- that often, not in a loop (its own job's death comes through here too).
    select * into v_job from jobs.jobs j where j.id = v_pending.job_id;
    if v_job.id is null or v_job.state not in ('waiting', 'running', 'retrying') then
      perform shop_internal.enqueue_alert(v_pending.id, greatest(
        p_now, v_pending.not_before,
        v_job.finished_at + greatest((shop_internal.settings()).alert_digest_interval,
                                     interval '1 minute')));
    end if;
    return null;
  end if;
  select coalesce(a.sent_at, a.created_at) into v_previous
  from public.shop_alerts a
  where a.kind = 'dead_jobs' and a.status <> 'pending'
  order by a.id desc
  limit 1;

  insert into public.shop_alerts (kind, subject, not_before)
  values ('dead_jobs', 'digest',
          greatest(p_now, v_previous + (shop_internal.settings()).alert_digest_interval))
  on conflict do nothing
  returning id, not_before into v_id, v_not_before;
  if v_id is not null then
    perform shop_internal.enqueue_alert(v_id, v_not_before);
  end if;
  return v_id;
end
$$;
comment on function shop_internal.open_dead_jobs_digest(timestamptz) is
  'Inserts the pending dead_jobs digest (subject digest) when none is pending, with not_before = greatest(p_now, the previous digest''s sent_at (or created_at) + alert_digest_interval), and enqueues its job. Returns its id, or null when one was already pending (whose job is enqueued again when it ended without sending it).';
revoke all on function shop_internal.open_dead_jobs_digest(timestamptz) from public, anon, authenticated, service_role;

-- =============================================================================================
-- Triggers
-- =============================================================================================

/* A review of 2 or less alerts the admins. */
create function shop_internal.review_alert() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_order public.orders;
  v_customer_name text;
begin
  select * into v_order from public.orders o where o.id = new.order_id;
  select c.name into v_customer_name from public.customers c where c.id = new.customer_id;
  perform shop_internal.raise_alert('low_review', 'review:' || new.id, jsonb_build_object(
    'review', jsonb_build_object('id', new.id, 'rating', new.rating, 'comment', new.comment,
                                 'channel', new.channel, 'created_at', new.created_at),
    'order', jsonb_build_object('id', v_order.id, 'status', v_order.status,
                                'total_cents', v_order.total_cents, 'created_at', v_order.created_at,
                                'picked_up_at', v_order.picked_up_at),
    'customer', jsonb_build_object('id', new.customer_id, 'name', v_customer_name)));
  return null;
end
$$;
comment on function shop_internal.review_alert() is
  'AFTER INSERT trigger on reviews (rating ≤ 2): a low_review alert (subject review:<id>; details review, order, customer {id, name}) and its job.';
revoke all on function shop_internal.review_alert() from public, anon, authenticated, service_role;

create trigger reviews_low_rating_alert after insert on public.reviews
for each row when (new.rating <= 2)
execute function shop_internal.review_alert();
comment on trigger reviews_low_rating_alert on public.reviews is 'A review of 2 or less alerts the admins.';

/*
 * The order an order item belongs to, for the stock alert the item's stock change may raise:
 * shop_internal.take_stock updates products from inside the BEFORE trigger order_items_stock,
 * where the product's trigger cannot see the item. This trigger fires just before it (triggers
 * of one timing fire in name order: "..._alert_context" < "..._stock") and leaves the order id
 * in a transaction-local setting.
 */
create function shop_internal.order_item_alert_context() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform set_config('shop.alert_order_id', new.order_id::text, true);
  return new;
end
$$;
comment on function shop_internal.order_item_alert_context() is
  'BEFORE trigger on order_items, fired before order_items_stock: sets the transaction-local setting shop.alert_order_id to the item''s order, which the low-stock alert puts in its subject.';
revoke all on function shop_internal.order_item_alert_context() from public, anon, authenticated, service_role;

create trigger order_items_alert_context before insert or update on public.order_items
for each row execute function shop_internal.order_item_alert_context();
comment on trigger order_items_alert_context on public.order_items is
  'Names the order whose item changes the stock (fires before order_items_stock), for the low-stock alert.';

/* Stock crossing under the threshold alerts the admins, once per crossing. */
create function shop_internal.stock_alert() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_order text;
begin
  -- Nested in a trigger (the order item's stock change): the order named just before.
  -- A change by hand runs at depth 1.
  if pg_trigger_depth() > 1 then
    v_order := nullif(current_setting('shop.alert_order_id', true), '');
  end if;
  perform shop_internal.raise_alert('low_stock',
    format('product:%s:%s', new.id, coalesce(v_order, 'manual')),
    jsonb_build_object(
      'product', jsonb_build_object('id', new.id, 'name', new.name),
      'stock', new.stock,
      'previous_stock', old.stock,
      'threshold', new.low_stock_threshold,
      'order_id', v_order::bigint));
  return null;
end
$$;
comment on function shop_internal.stock_alert() is
  'AFTER UPDATE trigger on products (old.stock ≥ threshold > new.stock): a low_stock alert (subject product:<id>:<order id>, or product:<id>:manual when changed by hand; details product {id, name}, stock, previous_stock, threshold, order_id) and its job.';
revoke all on function shop_internal.stock_alert() from public, anon, authenticated, service_role;

create trigger products_low_stock_alert after update of stock, low_stock_threshold on public.products
for each row when (old.stock >= new.low_stock_threshold and new.stock < new.low_stock_threshold)
execute function shop_internal.stock_alert();
comment on trigger products_low_stock_alert on public.products is
  'Stock going from at or above the threshold to under it alerts the admins.';

/*
 * Jobs gone dead, in any queue: one statement of the job core may kill several; this opens one
 * digest. It runs inside the job core's transactions (claims, reports, reclaims), so it must
 * never fail them: any error becomes a WARNING, and the cheap test comes first.
 */
create function shop_internal.dead_jobs_alert() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (
    select from new_jobs n join old_jobs o on o.id = n.id
    where n.state = 'dead' and o.state is distinct from 'dead'
  ) then
    return null;
  end if;
  begin
    perform shop_internal.open_dead_jobs_digest(now());
  exception when others then
    raise warning 'Shop dead-jobs digest not opened (the jobs'' change stands): % [%]', sqlerrm, sqlstate;
  end;
  return null;
end
$$;
comment on function shop_internal.dead_jobs_alert() is
  'AFTER UPDATE statement trigger on jobs.jobs (transition tables): when a job went dead, opens the pending dead_jobs digest (shop_internal.open_dead_jobs_digest). Never fails the job core''s statement: errors become a WARNING.';
revoke all on function shop_internal.dead_jobs_alert() from public, anon, authenticated, service_role;

create trigger jobs_shop_dead_jobs_alert
  after update on jobs.jobs
  referencing old table as old_jobs new table as new_jobs
  for each statement execute function shop_internal.dead_jobs_alert();
comment on trigger jobs_shop_dead_jobs_alert on jobs.jobs is
  'Jobs gone dead open the shop''s dead-jobs digest for the admins (at most one per alert_digest_interval).';

-- =============================================================================================
-- Callable functions
-- =============================================================================================

/*
 * Called by the alert job before sending: what to send and to whom, or why not now. A digest's
 * details are filled here, from the jobs gone dead since the previous digest.
 */
create function public.shop_alert_start(p_alert_id bigint, p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_alert public.shop_alerts;
  v_settings public.shop_settings := shop_internal.settings();
  v_since timestamptz;
  v_details jsonb;
begin
  select * into v_alert from public.shop_alerts a where a.id = p_alert_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('Shop alert %s not found', p_alert_id);
  end if;

  if v_alert.status <> 'pending' then
    return jsonb_build_object('action', 'skip', 'reason', format('alert already %s', v_alert.status),
                              'alert', jsonb_build_object('id', v_alert.id, 'kind', v_alert.kind));
  end if;
  if p_now < v_alert.not_before then
    return jsonb_build_object(
      'action', 'wait',
      'reason', 'digest interval',
      'wait_seconds', ceil(extract(epoch from v_alert.not_before - p_now))::int,
      'alert', jsonb_build_object('id', v_alert.id, 'kind', v_alert.kind));
  end if;

  if cardinality(v_settings.admin_emails) = 0 and cardinality(v_settings.admin_whatsapp_numbers) = 0 then
    update public.shop_alerts a
    set status = 'failed', sent_at = p_now,
        deliveries = jsonb_build_array(jsonb_build_object(
          'channel', null, 'to', null, 'status', 'failed', 'provider_id', null,
          'error', 'no admin to alert'))
    where a.id = p_alert_id;
    return jsonb_build_object('action', 'skip', 'reason', 'no admin to alert',
                              'alert', jsonb_build_object('id', v_alert.id, 'kind', v_alert.kind));
  end if;

  if v_alert.kind = 'dead_jobs' then
    select (a.details ->> 'until')::timestamptz into v_since
    from public.shop_alerts a
    where a.kind = 'dead_jobs' and a.id <> v_alert.id and a.status <> 'pending'
    order by a.id desc
    limit 1;
    -- The first digest: the interval before it opened, bounds included (the job that opened it
    -- went dead in the same transaction, at created_at, which an interval of 0 must keep).
    v_since := coalesce(v_since,
                        v_alert.created_at - v_settings.alert_digest_interval - interval '1 microsecond');
    with dead as (
      select j.id, j.queue, j.subject, j.last_error, j.finished_at
      from jobs.jobs j
      where j.state = 'dead' and j.finished_at > v_since and j.finished_at <= p_now
    )
    select jsonb_build_object(
      'since', v_since,
      'until', p_now,
      'total', (select count(*) from dead),
      'queues', coalesce((select jsonb_agg(jsonb_build_object('queue', q.queue, 'count', q.count)
                                           order by q.count desc, q.queue)
                          from (select d.queue, count(*)::int as count from dead d group by d.queue) q),
                         '[]'),
      'jobs', coalesce((select jsonb_agg(jsonb_build_object(
                                 'id', l.id, 'queue', l.queue, 'subject', l.subject,
                                 'last_error', left(l.last_error, 500), 'finished_at', l.finished_at)
                               order by l.finished_at desc, l.id desc)
                        from (select * from dead d order by d.finished_at desc, d.id desc limit 20) l),
                       '[]'))
    into v_details;
    update public.shop_alerts a set details = v_details where a.id = p_alert_id
    returning * into v_alert;

    if (v_details ->> 'total')::int = 0 then
      -- Retried since they died: nothing to tell. Closed, so the next dead job opens a digest.
      update public.shop_alerts a set status = 'sent', sent_at = p_now, deliveries = '[]'
      where a.id = p_alert_id;
      return jsonb_build_object('action', 'skip', 'reason', 'no job went dead since the previous digest',
                                'alert', jsonb_build_object('id', v_alert.id, 'kind', v_alert.kind));
    end if;
  end if;

  return jsonb_build_object(
    'action', 'send',
    'alert', jsonb_build_object('id', v_alert.id, 'kind', v_alert.kind, 'subject', v_alert.subject,
                                'details', v_alert.details, 'created_at', v_alert.created_at),
    'recipients', jsonb_build_object('emails', to_jsonb(v_settings.admin_emails),
                                     'whatsapp_numbers', to_jsonb(v_settings.admin_whatsapp_numbers)),
    'language', v_settings.admin_language,
    'shop', jsonb_build_object('name', v_settings.shop_name, 'email_from', v_settings.email_from,
                               'whatsapp_instance', shop_internal.open_instance()));
end
$$;
comment on function public.shop_alert_start(bigint, timestamptz) is
  'Called by the alert job before sending alert p_alert_id: {action: send, alert: {id, kind, subject, details, created_at}, recipients: {emails, whatsapp_numbers}, language, shop: {name, email_from, whatsapp_instance (only when created and open)}}; {action: wait, wait_seconds} before not_before; {action: skip, reason} when already sent/partial/failed, when no admin is set (the alert is then stored failed, "no admin to alert"), or for a digest with no dead job left. A dead_jobs digest gets its details here: {since (the previous digest''s until), until (p_now), total, queues [{queue, count}], jobs [{id, queue, subject, last_error, finished_at}] (newest 20)}. P0002 when the alert does not exist. Service role only.';
revoke all on function public.shop_alert_start(bigint, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_alert_start(bigint, timestamptz) to service_role;

/* Called by the alert job after sending: what each delivery did. */
create function public.shop_alert_record(p_alert_id bigint, p_deliveries jsonb, p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_alert public.shop_alerts;
  v_ok int;
  v_total int;
begin
  if p_deliveries is null or jsonb_typeof(p_deliveries) <> 'array' then
    raise exception using errcode = '22023',
      message = format('Deliveries of shop alert %s must be a JSON array of {channel, to, status, provider_id, error}', p_alert_id);
  end if;
  select * into v_alert from public.shop_alerts a where a.id = p_alert_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('Shop alert %s not found', p_alert_id);
  end if;
  if v_alert.status <> 'pending' then
    return to_jsonb(v_alert); -- recorded already (a retried job): unchanged
  end if;

  select count(*) filter (where d ->> 'status' = 'sent'), count(*)
  into v_ok, v_total
  from jsonb_array_elements(p_deliveries) d;

  update public.shop_alerts a
  set status = case when v_total > 0 and v_ok = v_total then 'sent'
                    when v_ok > 0 then 'partial'
                    else 'failed' end,
      deliveries = p_deliveries,
      sent_at = p_now
  where a.id = p_alert_id
  returning * into v_alert;

  -- A job that went dead while this digest was being sent found it pending and opened none:
  -- the next digest tells it (after alert_digest_interval, as always).
  if v_alert.kind = 'dead_jobs' and exists (
    select from jobs.jobs j
    where j.state = 'dead' and j.finished_at > (v_alert.details ->> 'until')::timestamptz
  ) then
    perform shop_internal.open_dead_jobs_digest(p_now);
  end if;
  return to_jsonb(v_alert);
end
$$;
comment on function public.shop_alert_record(bigint, jsonb, timestamptz) is
  'Records the deliveries of alert p_alert_id ([{channel, to, status: sent|failed, provider_id, error}]): status sent when every delivery is sent, partial when some are, failed when none (or none given); sent_at = p_now. A dead_jobs digest opens the next one when jobs went dead after its details were taken. Returns the alert row as JSON (unchanged when it was already recorded). 22023 when p_deliveries is not an array, P0002 when the alert does not exist. Service role only.';
revoke all on function public.shop_alert_record(bigint, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_alert_record(bigint, jsonb, timestamptz) to service_role;
