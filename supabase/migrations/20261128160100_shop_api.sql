-- The shop, part 2 of 3: the scheduling rules and the workers' RPCs. Helpers in shop_internal
-- (quiet hours, scheduling and cancelling a customer message, the review-request rule and when
-- its daily run is due) and the callable functions of the service role: shop_message_start /
-- shop_message_record (the `shop` worker sending one customer message) and
-- shop_request_reviews (the function request-reviews).
--
-- Rules: every customer message is one shop_messages row per order and kind (unique: never
-- twice) and one `shop` job (payload {"kind": "message", "message_id"}, dedupe key
-- shop-message:<id>, run_at = scheduled_for). Proactive kinds (payment_reminder, ready_pickup,
-- pickup_reminder, satisfaction, review_request) never go during the shop's quiet hours;
-- satisfaction and review_request need the customer's consent. The review request goes to every
-- order picked up at least review_delay ago with no review and no request yet (a missed day
-- catches up: no ±1 hour window), once (review_requests' primary key).

-- =============================================================================================
-- Quiet hours
-- =============================================================================================

create function shop_internal.quiet_until(p_at timestamptz) returns timestamptz
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_settings public.shop_settings := shop_internal.settings();
  v_local timestamp := p_at at time zone v_settings.time_zone;
  v_time time := v_local::time;
  v_end timestamp;
begin
  if p_at is null or v_settings.quiet_start = v_settings.quiet_end then
    return p_at;
  end if;
  if v_settings.quiet_start < v_settings.quiet_end then
    -- Within one day, e.g. [01:00, 06:00).
    if v_time >= v_settings.quiet_start and v_time < v_settings.quiet_end then
      v_end := v_local::date + v_settings.quiet_end;
    end if;
  elsif v_time >= v_settings.quiet_start then
    -- Across midnight, e.g. [21:00, 08:00): the evening part ends tomorrow morning.
    v_end := (v_local::date + 1) + v_settings.quiet_end;
  elsif v_time < v_settings.quiet_end then
    v_end := v_local::date + v_settings.quiet_end;
  end if;
  if v_end is null then
    return p_at;
  end if;
  -- Local time back to an instant in the shop's zone (a local time skipped by a daylight-saving
  -- change lands just after the change).
  return greatest(p_at, v_end at time zone v_settings.time_zone);
end
$$;
comment on function shop_internal.quiet_until(timestamptz) is
  'p_at when it is outside the shop''s quiet hours, else the end of that quiet period: local times in shop_settings.time_zone, [quiet_start, quiet_end) wrapping midnight, equal = none; computed in local time, so correct across daylight-saving changes.';
revoke all on function shop_internal.quiet_until(timestamptz) from public, anon, authenticated;

-- =============================================================================================
-- Scheduling and cancelling customer messages
-- =============================================================================================

/* Is a kind proactive (quiet hours apply) rather than an immediate answer? */
create function shop_internal.is_proactive(p_kind text) returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_kind in ('payment_reminder', 'ready_pickup', 'pickup_reminder', 'satisfaction', 'review_request')
$$;
comment on function shop_internal.is_proactive(text) is
  'True for the proactive kinds (payment_reminder, ready_pickup, pickup_reminder, satisfaction, review_request): never sent in quiet hours. order_confirmation, review_thanks, review_question answer the customer and go at once.';
revoke all on function shop_internal.is_proactive(text) from public, anon, authenticated;

/* Does a kind need the customer's consent? */
create function shop_internal.needs_consent(p_kind text) returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_kind in ('satisfaction', 'review_request')
$$;
comment on function shop_internal.needs_consent(text) is
  'True for satisfaction and review_request: only customers with consent_messages get them. Order messages go regardless.';
revoke all on function shop_internal.needs_consent(text) from public, anon, authenticated;

/*
 * Enqueues the `shop` job of each message (scheduled, without a job yet) and stores its id:
 * one jobs.enqueue_many call for all of them.
 */
create function shop_internal.enqueue_messages(p_message_ids uuid[]) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_jobs jsonb;
  v_job_ids bigint[];
begin
  select array_agg(m.id order by m.scheduled_for, m.id),
         jsonb_agg(jsonb_build_object(
           'payload', jsonb_build_object('kind', 'message', 'message_id', m.id),
           'subject', 'order:' || m.order_id,
           'dedupe_key', 'shop-message:' || m.id,
           'priority', case when shop_internal.is_proactive(m.kind) then 5 else 0 end,
           'run_at', m.scheduled_for
         ) order by m.scheduled_for, m.id)
    into v_ids, v_jobs
  from public.shop_messages m
  where m.id = any (p_message_ids) and m.status = 'scheduled' and m.job_id is null;
  if v_ids is null then
    return 0;
  end if;
  select array_agg(j) into v_job_ids from jobs.enqueue_many('shop', v_jobs) j;
  update public.shop_messages m
  set job_id = x.job_id
  from unnest(v_ids, v_job_ids) as x(message_id, job_id)
  where m.id = x.message_id;
  return cardinality(v_ids);
end
$$;
comment on function shop_internal.enqueue_messages(uuid[]) is
  'Enqueues one `shop` job per scheduled message without a job ({"kind": "message", "message_id"}, subject order:<id>, dedupe key shop-message:<id>, run_at scheduled_for; answers first) and stores job_id. Returns how many.';
revoke all on function shop_internal.enqueue_messages(uuid[]) from public, anon, authenticated;

create function shop_internal.schedule_message(p_order_id bigint, p_kind text, p_at timestamptz default now())
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers;
  v_id uuid;
begin
  select c.* into v_customer
  from public.orders o join public.customers c on c.id = o.customer_id
  where o.id = p_order_id;
  if not found then
    raise exception using errcode = 'P0002',
      message = format('Cannot schedule a %s message: order %s does not exist', p_kind, p_order_id);
  end if;
  if shop_internal.needs_consent(p_kind) and not v_customer.consent_messages then
    return null;
  end if;

  insert into public.shop_messages (order_id, customer_id, kind, scheduled_for)
  values (p_order_id, v_customer.id, p_kind,
          case when shop_internal.is_proactive(p_kind) then shop_internal.quiet_until(p_at) else p_at end)
  on conflict (order_id, kind) do nothing
  returning id into v_id;
  if v_id is not null then
    perform shop_internal.enqueue_messages(array[v_id]);
  end if;
  return v_id;
end
$$;
comment on function shop_internal.schedule_message(bigint, text, timestamptz) is
  'Schedules the p_kind message of an order at p_at (proactive kinds: moved out of quiet hours, shop_internal.quiet_until) and enqueues its `shop` job. Returns the message id, or null when the order already has one of that kind or the kind needs consent the customer did not give.';
revoke all on function shop_internal.schedule_message(bigint, text, timestamptz) from public, anon, authenticated;

create function shop_internal.cancel_messages(p_order_id bigint, p_kinds text[], p_reason text)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_message record;
  v_count int := 0;
begin
  for v_message in
    update public.shop_messages m
    set status = 'cancelled', cancel_reason = p_reason
    where m.order_id = p_order_id and m.status = 'scheduled' and (p_kinds is null or m.kind = any (p_kinds))
    returning m.id, m.job_id
  loop
    v_count := v_count + 1;
    if exists (select from jobs.jobs j
               where j.id = v_message.job_id and j.state in ('waiting', 'retrying', 'running')) then
      perform public.job_cancel(v_message.job_id, p_reason);
    end if;
  end loop;
  return v_count;
end
$$;
comment on function shop_internal.cancel_messages(bigint, text[], text) is
  'Cancels the still-scheduled messages of an order of the given kinds (null: every kind): status cancelled with p_reason, and public.job_cancel of their unfinished jobs. Returns how many.';
revoke all on function shop_internal.cancel_messages(bigint, text[], text) from public, anon, authenticated;

-- =============================================================================================
-- Sending one message (the `shop` worker)
-- =============================================================================================

/* The shop's WhatsApp instance when it can send (created and open), else null. */
create function shop_internal.open_instance() returns text
language sql
stable
security definer
set search_path = ''
as $$
  select i.instance_name
  from public.evolution_instances i
  where i.instance_name = (shop_internal.settings()).whatsapp_instance
    and i.status = 'created' and i.instance_status = 'open'
$$;
comment on function shop_internal.open_instance() is
  'shop_settings.whatsapp_instance when that instance exists, is created and its connection is open; null otherwise (messages then go by email).';
revoke all on function shop_internal.open_instance() from public, anon, authenticated;

create function public.shop_message_start(p_message_id uuid, p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_message public.shop_messages;
  v_order public.orders;
  v_customer public.customers;
  v_settings public.shop_settings := shop_internal.settings();
  v_reason text;
  v_until timestamptz;
  v_request public.review_requests;
  v_token text;
  v_link jsonb;
  v_summary jsonb;
begin
  select * into v_message from public.shop_messages m where m.id = p_message_id for update;
  if not found then
    return jsonb_build_object('action', 'skip', 'reason', format('Message %s does not exist (order deleted?)', p_message_id),
                              'wait_seconds', null, 'message', null, 'customer', null, 'order', null,
                              'shop', null, 'review_link', null);
  end if;
  v_summary := jsonb_build_object('id', v_message.id, 'kind', v_message.kind, 'order_id', v_message.order_id,
                                  'attempt', v_message.attempts);
  if v_message.status <> 'scheduled' then
    return jsonb_build_object('action', 'skip', 'reason', format('Message %s is already %s', v_message.id, v_message.status),
                              'wait_seconds', null, 'message', v_summary, 'customer', null, 'order', null,
                              'shop', null, 'review_link', null);
  end if;

  select * into v_order from public.orders o where o.id = v_message.order_id;
  select * into v_customer from public.customers c where c.id = v_message.customer_id;

  -- The send-time check: the conditions of the schedule, again.
  v_reason := case
    when v_order.status = 'cancelled' and v_message.kind not in ('review_thanks', 'review_question') then 'order cancelled'
    when v_message.kind = 'payment_reminder' and v_order.payment_status <> 'pending' then 'payment ' || v_order.payment_status
    when v_message.kind = 'pickup_reminder' and v_order.status <> 'ready_pickup' then 'order ' || v_order.status
    when shop_internal.needs_consent(v_message.kind) and not v_customer.consent_messages then 'no consent'
    when v_message.kind = 'review_request' and exists (select from public.reviews r where r.order_id = v_order.id)
      then 'already reviewed'
  end;
  if v_reason is not null then
    update public.shop_messages m set status = 'skipped', cancel_reason = v_reason where m.id = v_message.id;
    if v_message.kind = 'review_request' then
      update public.review_requests r
      set status = 'skipped', reason = v_reason, link_pending_token = null
      where r.order_id = v_message.order_id and r.status = 'queued';
    end if;
    return jsonb_build_object('action', 'skip', 'reason', v_reason, 'wait_seconds', null, 'message', v_summary,
                              'customer', null, 'order', null, 'shop', null, 'review_link', null);
  end if;

  if shop_internal.is_proactive(v_message.kind) then
    v_until := shop_internal.quiet_until(p_now);
    if v_until > p_now then
      return jsonb_build_object('action', 'wait', 'reason', 'quiet hours',
                                'wait_seconds', ceil(extract(epoch from v_until - p_now))::int,
                                'message', v_summary, 'customer', null, 'order', null, 'shop', null,
                                'review_link', null);
    end if;
  end if;

  update public.shop_messages m set attempts = m.attempts + 1
  where m.id = v_message.id
  returning m.* into v_message;

  -- The email rating links: a token made at the first attempt, the same one for the retries.
  if v_message.kind = 'review_request' then
    select * into v_request from public.review_requests r where r.order_id = v_message.order_id for update;
    if found then
      if v_request.link_pending_token is null then
        v_token := waitlist_internal.new_link_token();
        update public.review_requests r
        set link_pending_token = v_token, link_token_hash = waitlist_internal.token_hash(v_token),
            link_expires_at = p_now + v_settings.reply_window, link_used_at = null
        where r.order_id = v_request.order_id
        returning r.* into v_request;
      end if;
      v_link := jsonb_build_object('token', v_request.link_pending_token, 'expires_at', v_request.link_expires_at);
    end if;
  end if;

  return jsonb_build_object(
    'action', 'send',
    'reason', null,
    'wait_seconds', null,
    'message', jsonb_build_object('id', v_message.id, 'kind', v_message.kind, 'order_id', v_message.order_id,
                                  'attempt', v_message.attempts),
    'customer', jsonb_build_object('id', v_customer.id, 'name', v_customer.name,
                                   'whatsapp_number', v_customer.whatsapp_number, 'email', v_customer.email,
                                   'language', v_customer.language, 'consent_messages', v_customer.consent_messages),
    'order', jsonb_build_object(
      'id', v_order.id, 'status', v_order.status, 'payment_status', v_order.payment_status,
      'total_cents', v_order.total_cents, 'created_at', v_order.created_at, 'ready_at', v_order.ready_at,
      'picked_up_at', v_order.picked_up_at,
      'items', coalesce((select jsonb_agg(jsonb_build_object('name', p.name, 'quantity', i.quantity,
                                                             'unit_price_cents', i.unit_price_cents) order by i.id)
                         from public.order_items i join public.products p on p.id = i.product_id
                         where i.order_id = v_order.id), '[]'::jsonb)),
    'shop', jsonb_build_object('name', v_settings.shop_name, 'email_from', v_settings.email_from,
                               'time_zone', v_settings.time_zone, 'whatsapp_instance', shop_internal.open_instance()),
    'review_link', v_link
  );
end
$$;
comment on function public.shop_message_start(uuid, timestamptz) is
  'The `shop` worker, before sending a message: {action send|skip|wait, reason, wait_seconds, message {id, kind, order_id, attempt}, customer, order (with items), shop {name, email_from, time_zone, whatsapp_instance (null unless created and open)}, review_link {token, expires_at} (review_request only)}. skip: already handled, or the send-time check fails (order cancelled, paid, no longer ready, no consent, reviewed: the message becomes skipped); wait: a proactive kind in quiet hours. send counts the attempt.';
revoke all on function public.shop_message_start(uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_message_start(uuid, timestamptz) to service_role;

create function public.shop_message_record(
  p_message_id uuid,
  p_status text,
  p_channel text default null,
  p_provider_message_id text default null,
  p_error text default null,
  p_fallback_reason text default null,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_message public.shop_messages;
begin
  if p_status is null or p_status not in ('sent', 'failed', 'skipped') then
    raise exception using errcode = '22023',
      message = format('Message %s: invalid status "%s" (sent, failed or skipped)', p_message_id, p_status);
  end if;
  if p_channel is not null and p_channel not in ('whatsapp', 'email') then
    raise exception using errcode = '22023',
      message = format('Message %s: invalid channel "%s" (whatsapp or email)', p_message_id, p_channel);
  end if;
  if p_status = 'sent' and p_channel is null then
    raise exception using errcode = '22023', message = format('Message %s: a sent message needs its channel', p_message_id);
  end if;

  select * into v_message from public.shop_messages m where m.id = p_message_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('Message %s does not exist', p_message_id);
  end if;
  -- The first outcome wins (a retried job records nothing twice); a message cancelled while it
  -- was being sent did go: that truth is recorded.
  if v_message.status = 'scheduled' or (v_message.status = 'cancelled' and p_status = 'sent') then
    update public.shop_messages m
    set status = p_status,
        channel = coalesce(p_channel, m.channel),
        sent_at = case when p_status = 'sent' then p_now else m.sent_at end,
        provider_message_id = coalesce(p_provider_message_id, m.provider_message_id),
        error = case when p_status = 'failed' then p_error else m.error end,
        cancel_reason = case when p_status = 'skipped' then p_error else m.cancel_reason end,
        fallback_reason = coalesce(p_fallback_reason, m.fallback_reason)
    where m.id = v_message.id
    returning m.* into v_message;

    if v_message.kind = 'review_request' then
      update public.review_requests r
      set status = p_status,
          channel = coalesce(p_channel, r.channel),
          sent_at = case when p_status = 'sent' then p_now else r.sent_at end,
          reason = case when p_status = 'sent' then r.reason else p_error end,
          link_pending_token = null,
          -- Links exist only in an email: a request sent otherwise keeps none.
          link_token_hash = case when p_status = 'sent' and p_channel = 'email' then r.link_token_hash end,
          link_expires_at = case when p_status = 'sent' and p_channel = 'email' then r.link_expires_at end
      where r.order_id = v_message.order_id and r.status = 'queued';
    elsif v_message.kind = 'review_question' and p_status = 'sent' then
      update public.review_requests r set question_sent_at = coalesce(r.question_sent_at, p_now)
      where r.order_id = v_message.order_id;
    end if;
  end if;
  return to_jsonb(v_message);
end
$$;
comment on function public.shop_message_record(uuid, text, text, text, text, text, timestamptz) is
  'The `shop` worker, after sending: records the outcome of a message (p_status sent | failed | skipped, channel, provider id, error, fallback reason) once; for a review_request the request follows (sent/failed/skipped, channel, sent_at; the pending link token erased, links kept for email only); for a review_question sets review_requests.question_sent_at. Returns the message row as JSON.';
revoke all on function public.shop_message_record(uuid, text, text, text, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_message_record(uuid, text, text, text, text, text, timestamptz) to service_role;

-- =============================================================================================
-- Review requests
-- =============================================================================================

/* The shop-local date of an instant. */
create function shop_internal.shop_day(p_at timestamptz) returns date
language sql
stable
security definer
set search_path = ''
as $$
  select (p_at at time zone (shop_internal.settings()).time_zone)::date
$$;
comment on function shop_internal.shop_day(timestamptz) is 'The date of p_at in the shop''s time zone.';
revoke all on function shop_internal.shop_day(timestamptz) from public, anon, authenticated;

/* The orders due for a review request at p_now, oldest pickup first. */
create function shop_internal.review_due_orders(p_now timestamptz default now(), p_limit int default null)
returns table (order_id bigint, customer_id uuid, picked_up_at timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
  -- review_delay is counted on the shop's calendar (7 days after 15:00 is 15:00, across a
  -- daylight-saving change too), whatever the session's time zone.
  select o.id, o.customer_id, o.picked_up_at
  from public.orders o, shop_internal.settings() s
  where o.status = 'picked_up'
    and o.picked_up_at <= ((p_now at time zone s.time_zone) - s.review_delay) at time zone s.time_zone
    and not exists (select from public.reviews r where r.order_id = o.id)
    and not exists (select from public.review_requests q where q.order_id = o.id)
  order by o.picked_up_at, o.id
  limit p_limit
$$;
comment on function shop_internal.review_due_orders(timestamptz, int) is
  'The review rule: orders picked up at least review_delay before p_now (in shop-local time; no upper bound: a missed day catches up) with no review and no review request, oldest pickup first, at most p_limit (null: all).';
revoke all on function shop_internal.review_due_orders(timestamptz, int) from public, anon, authenticated;

create function shop_internal.request_reviews_due(p_now timestamptz default now()) returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select (p_now at time zone s.time_zone)::time >= s.review_hour
     and not exists (
       select from public.shop_automation_runs r
       where r.automation = 'request-reviews' and r.trigger = 'schedule' and r.error is null
         and r.shop_day = (p_now at time zone s.time_zone)::date)
  from shop_internal.settings() s
$$;
comment on function shop_internal.request_reviews_due(timestamptz) is
  'True when the daily request-reviews run is due at p_now: the shop-local time has reached review_hour and no scheduled run succeeded on this shop-local day (so the run happens once a day at the local review hour, across daylight-saving changes, and late when the cron missed the hour).';
revoke all on function shop_internal.request_reviews_due(timestamptz) from public, anon, authenticated;

create function public.shop_request_reviews(
  p_now timestamptz default now(),
  p_trigger text default 'manual',
  p_limit int default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_day date;
  v_run_id bigint;
  v_sent int := 0;
  v_failed int := 0;
  v_skipped int := 0;
  v_messages uuid[];
  v_result jsonb;
begin
  if p_trigger is null or p_trigger not in ('schedule', 'manual') then
    raise exception using errcode = '22023',
      message = format('shop_request_reviews: invalid trigger "%s" (schedule or manual)', p_trigger);
  end if;
  if p_limit is not null and p_limit < 1 then
    raise exception using errcode = '22023', message = format('shop_request_reviews: invalid limit %s', p_limit);
  end if;
  v_day := shop_internal.shop_day(p_now);

  -- The scheduled run of a day happens once: a second one (two calls at once) waits for the
  -- first and then finds the day taken.
  insert into public.shop_automation_runs (automation, trigger, shop_day, started_at)
  values ('request-reviews', p_trigger, v_day, p_now)
  on conflict (automation, shop_day)
    where trigger = 'schedule' and error is null and automation = 'request-reviews'
    do nothing
  returning id into v_run_id;
  if v_run_id is null then
    return jsonb_build_object('success', true, 'sent', 0, 'failed', 0, 'skipped', 0, 'total', 0,
                              'timestamp', p_now, 'run_id', null,
                              'note', format('The scheduled run of %s already happened', v_day));
  end if;

  begin
    with due as (
      select d.order_id, d.customer_id, c.consent_messages, c.whatsapp_number, c.email
      from shop_internal.review_due_orders(p_now, p_limit) d
      join public.customers c on c.id = d.customer_id
    ),
    inserted as (
      insert into public.review_requests (order_id, customer_id, status, requested_at, reason)
      select d.order_id, d.customer_id,
             case when not d.consent_messages then 'skipped'
                  when d.whatsapp_number is null and d.email is null then 'failed'
                  else 'queued' end,
             p_now,
             case when not d.consent_messages then 'no consent'
                  when d.whatsapp_number is null and d.email is null then 'no WhatsApp number and no email' end
      from due d
      order by d.order_id
      on conflict (order_id) do nothing
      returning order_id, customer_id, status
    ),
    messages as (
      insert into public.shop_messages (order_id, customer_id, kind, scheduled_for)
      select i.order_id, i.customer_id, 'review_request', shop_internal.quiet_until(p_now)
      from inserted i
      where i.status = 'queued'
      order by i.order_id
      on conflict (order_id, kind) do nothing
      returning id
    )
    select (select count(*) from inserted where status = 'queued'),
           (select count(*) from inserted where status = 'failed'),
           (select count(*) from inserted where status = 'skipped'),
           (select array_agg(id) from messages)
      into v_sent, v_failed, v_skipped, v_messages;

    if v_messages is not null then
      update public.review_requests r
      set message_id = m.id
      from public.shop_messages m
      where m.id = any (v_messages) and r.order_id = m.order_id;
      perform shop_internal.enqueue_messages(v_messages);
    end if;

    v_result := jsonb_build_object('success', true, 'sent', v_sent, 'failed', v_failed, 'skipped', v_skipped,
                                   'total', v_sent + v_failed + v_skipped, 'timestamp', p_now, 'run_id', v_run_id);
    update public.shop_automation_runs r set finished_at = clock_timestamp(), result = v_result
    where r.id = v_run_id;
  exception when others then
    -- The work is undone; the run stays, with its error (it does not take the day).
    v_result := jsonb_build_object('success', false, 'error', sqlerrm, 'sent', 0, 'failed', 0, 'skipped', 0,
                                   'total', 0, 'timestamp', p_now, 'run_id', v_run_id);
    update public.shop_automation_runs r set finished_at = clock_timestamp(), result = v_result,
      error = format('Review requests of %s failed: %s (%s)', v_day, sqlerrm, sqlstate)
    where r.id = v_run_id;
  end;
  return v_result;
end
$$;
comment on function public.shop_request_reviews(timestamptz, text, int) is
  'The function request-reviews: creates the review request of every due order (shop_internal.review_due_orders; at most p_limit): customers without consent → skipped (no consent), without number and email → failed, else queued with a review_request message and its job. Logs a shop_automation_runs row (shop_day = local date of p_now; a scheduled run once per day). Returns {success, sent (handed to the queue), failed, skipped, total, timestamp, run_id}; on an error {success: false, error, ...} with the run logged.';
revoke all on function public.shop_request_reviews(timestamptz, text, int) from public, anon, authenticated;
grant execute on function public.shop_request_reviews(timestamptz, text, int) to service_role;
