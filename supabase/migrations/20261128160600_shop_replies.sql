-- The shop, review replies: how a customer's answer to a review request becomes a review.
--
--   1. By WhatsApp. evolution-webhook stores each inbound message in
--      public.whatsapp_inbound_messages. The trigger shop_inbound_reply (below) looks at those
--      that reach the shop's instance (shop_settings.whatsapp_instance): when the sender is a
--      customer with a review request sent by WhatsApp within shop_settings.reply_window, it
--      enqueues a `reply` job on the `shop` queue, in the same transaction (outbox). The worker
--      (process-shop-queue, _shared/shop/replies.ts) calls public.shop_review_reply_start,
--      reads the rating in TypeScript (_shared/shop/rating.ts) and records the outcome with
--      public.shop_review_reply_record: a review and a thank-you (review_thanks), or, for an
--      unreadable reply, one polite question (review_question) and never a second one. The
--      messages themselves are shop_messages scheduled here and sent by their own jobs.
--   2. By email. A review request sent by email carries five links to the public function
--      review-response (?token=&rating=N). Its GET shows a confirmation page
--      (public.shop_review_link_view changes nothing: mail scanners follow links), its POST
--      calls public.shop_review_link_use, which records the review once (the token is stored
--      hashed, single-use and expiring).
--
-- Every reply leaves one shop_review_replies row (keyed by the inbound message): a retried job
-- finds it and does nothing twice. Two replies racing for one request are serialised by a row
-- lock on the request; the reviews' unique order_id makes a second review impossible anyway.
-- Rating link tokens are compared by waitlist_internal.token_hash (SHA-256), as
-- shop_message_start stores them.

-- =============================================================================================
-- Helpers (shop_internal)
-- =============================================================================================

/*
 * The open WhatsApp review request a message from p_from_number received at p_received_at
 * answers: the customer's request with status sent, channel whatsapp, sent within reply_window
 * before the message (and not after it); the most recently sent when there are several.
 */
create function shop_internal.open_reply_request(
  p_from_number text,
  p_received_at timestamptz,
  p_reply_window interval
) returns public.review_requests
language sql
stable
security definer
set search_path = ''
as $$
  select r.*
  from public.customers c
  join public.review_requests r on r.customer_id = c.id
  where c.whatsapp_number = p_from_number
    and r.status = 'sent' and r.channel = 'whatsapp'
    and r.sent_at >= p_received_at - p_reply_window
    and r.sent_at <= p_received_at
  order by r.sent_at desc, r.order_id desc
  limit 1
$$;
comment on function shop_internal.open_reply_request(text, timestamptz, interval) is
  'The review request a WhatsApp message from p_from_number (received at p_received_at) answers: status sent, channel whatsapp, sent within p_reply_window before the message; the most recently sent one. Null when none.';
revoke all on function shop_internal.open_reply_request(text, timestamptz, interval)
  from public, anon, authenticated, service_role;

-- =============================================================================================
-- The inbound trigger
-- =============================================================================================

/*
 * After an inbound WhatsApp message is stored: when it reaches the shop's instance from a
 * customer with an open WhatsApp review request, enqueue a `reply` job (subject
 * customer:<id>, dedupe shop-reply:<inbound id>). Everything else (another user's instance,
 * an unknown number, no open request, a message without text) is left alone.
 */
create function shop_internal.inbound_reply() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.shop_settings;
  v_request public.review_requests;
begin
  if new.from_number is null or nullif(btrim(coalesce(new.text, '')), '') is null then
    return null;
  end if;
  v_settings := shop_internal.settings();
  if v_settings.whatsapp_instance is distinct from new.instance_name then
    return null;
  end if;
  v_request := shop_internal.open_reply_request(new.from_number, new.received_at, v_settings.reply_window);
  if v_request.order_id is null then
    return null;
  end if;
  perform jobs.enqueue(
    'shop',
    jsonb_build_object('kind', 'reply', 'inbound_id', new.id),
    'customer:' || v_request.customer_id,
    'shop-reply:' || new.id
  );
  return null;
end
$$;
comment on function shop_internal.inbound_reply() is
  'AFTER INSERT trigger on whatsapp_inbound_messages: a text message on the shop''s instance from a customer with an open WhatsApp review request (shop_internal.open_reply_request) enqueues a reply job on the shop queue (subject customer:<id>, dedupe shop-reply:<inbound id>).';
revoke all on function shop_internal.inbound_reply() from public, anon, authenticated, service_role;

create trigger shop_inbound_reply after insert on public.whatsapp_inbound_messages
for each row execute function shop_internal.inbound_reply();
comment on trigger shop_inbound_reply on public.whatsapp_inbound_messages is
  'A reply to a shop review request enqueues its reply job (shop_internal.inbound_reply).';

-- =============================================================================================
-- Callable functions (service role only)
-- =============================================================================================

/*
 * What the reply job needs: the message, the request it answers, the customer. action skip
 * when the message is gone, was handled already, or answers no open request any more (e.g. an
 * earlier reply was a review). Changes nothing.
 */
create function public.shop_review_reply_start(
  p_inbound_id bigint,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_inbound public.whatsapp_inbound_messages;
  v_request public.review_requests;
  v_customer public.customers;
  v_reply public.shop_review_replies;
  v_skip text;
begin
  select * into v_inbound from public.whatsapp_inbound_messages m where m.id = p_inbound_id;
  if not found then
    v_skip := format('inbound message %s no longer exists', p_inbound_id);
  else
    select * into v_reply from public.shop_review_replies x where x.inbound_id = p_inbound_id;
    if found then
      v_skip := format('already handled (%s) at %s', v_reply.outcome, v_reply.created_at);
    else
      v_request := shop_internal.open_reply_request(
        v_inbound.from_number, v_inbound.received_at, (shop_internal.settings()).reply_window);
      if v_request.order_id is null then
        v_skip := 'no open review request for this number (answered, or the window is over)';
      end if;
    end if;
  end if;
  if v_skip is not null then
    return jsonb_build_object('action', 'skip', 'reason', v_skip, 'checked_at', p_now);
  end if;
  select * into v_customer from public.customers c where c.id = v_request.customer_id;
  return jsonb_build_object(
    'action', 'parse',
    'reason', null,
    'checked_at', p_now,
    'inbound', jsonb_build_object(
      'id', v_inbound.id, 'text', coalesce(v_inbound.text, ''), 'from_number', v_inbound.from_number),
    'request', jsonb_build_object(
      'order_id', v_request.order_id, 'customer_id', v_request.customer_id,
      'question_sent_at', v_request.question_sent_at,
      'question_asked', exists (select from public.shop_messages m
                                where m.order_id = v_request.order_id and m.kind = 'review_question')),
    'customer', jsonb_build_object('name', v_customer.name, 'language', v_customer.language)
  );
end
$$;
comment on function public.shop_review_reply_start(bigint, timestamptz) is
  'Reply job, step 1: {action: parse|skip, reason, inbound: {id, text, from_number}, request: {order_id, customer_id, question_sent_at, question_asked}, customer: {name, language}}. skip when the inbound message is gone, already handled (shop_review_replies), or answers no open WhatsApp request. Changes nothing. Service role.';
revoke all on function public.shop_review_reply_start(bigint, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_review_reply_start(bigint, timestamptz) to service_role;

/*
 * Reply job, step 2: records what a reply did, once per inbound message.
 *   p_rating 1..5: the review (channel whatsapp), the request answered, the thank-you
 *     scheduled. When the order already has a review (e.g. a second reply racing the first),
 *     nothing more: outcome ignored.
 *   p_rating null (unreadable): the one polite question scheduled, unless one was scheduled
 *     already for the order: outcome ignored (no loop).
 * A second call for the same inbound message answers the first call's outcome.
 */
create function public.shop_review_reply_record(
  p_inbound_id bigint,
  p_rating int,
  p_comment text,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_inbound public.whatsapp_inbound_messages;
  v_request public.review_requests;
  v_reply public.shop_review_replies;
  v_comment text := left(nullif(btrim(coalesce(p_comment, '')), ''), 2000);
  v_review_id bigint;
  v_message_id uuid;
  v_outcome text;
  v_reason text;
begin
  if p_rating is not null and p_rating not between 1 and 5 then
    raise exception using errcode = '22023',
      message = format('Rating %s of inbound message %s is not between 1 and 5', p_rating, p_inbound_id);
  end if;
  select * into v_inbound from public.whatsapp_inbound_messages m where m.id = p_inbound_id;
  if not found then
    raise exception using errcode = 'P0002',
      message = format('Inbound message %s does not exist', p_inbound_id);
  end if;

  -- The request, locked: two replies to one request go one after the other.
  v_request := shop_internal.open_reply_request(
    v_inbound.from_number, v_inbound.received_at, (shop_internal.settings()).reply_window);
  if v_request.order_id is not null then
    select * into v_request from public.review_requests r
    where r.order_id = v_request.order_id and r.status = 'sent'
    for update;
  end if;

  -- Handled already (a retried job): the same answer, nothing done twice.
  select * into v_reply from public.shop_review_replies x where x.inbound_id = p_inbound_id;
  if found then
    return jsonb_build_object(
      'outcome', v_reply.outcome, 'order_id', v_reply.order_id, 'replayed', true,
      'review_id', (select v.id from public.reviews v where v.order_id = v_reply.order_id),
      'message_id', (select m.id from public.shop_messages m
                     where m.order_id = v_reply.order_id
                       and m.kind = case v_reply.outcome when 'review' then 'review_thanks'
                                                         when 'question' then 'review_question' end));
  end if;

  if v_request.order_id is null then
    -- Answered meanwhile (another reply won the lock): keep a trace on the latest request.
    select r.* into v_request
    from public.customers c
    join public.review_requests r on r.customer_id = c.id
    where c.whatsapp_number = v_inbound.from_number and r.channel = 'whatsapp' and r.status = 'answered'
    order by r.answered_at desc nulls last, r.order_id desc
    limit 1;
    if not found then
      return jsonb_build_object('outcome', 'ignored', 'order_id', null, 'review_id', null,
                                'message_id', null, 'reason', 'no review request for this number');
    end if;
    v_outcome := 'ignored';
    v_reason := 'the request was answered already';
  elsif p_rating is not null then
    insert into public.reviews (order_id, customer_id, rating, comment, channel, created_at)
    values (v_request.order_id, v_request.customer_id, p_rating, v_comment, 'whatsapp', p_now)
    on conflict (order_id) do nothing
    returning id into v_review_id;
    update public.review_requests r set status = 'answered', answered_at = p_now
    where r.order_id = v_request.order_id;
    if v_review_id is null then
      v_outcome := 'ignored';
      v_reason := 'the order has a review already';
    else
      v_outcome := 'review';
      v_message_id := shop_internal.schedule_message(v_request.order_id, 'review_thanks', p_now);
    end if;
  else
    if v_request.question_sent_at is null then
      v_message_id := shop_internal.schedule_message(v_request.order_id, 'review_question', p_now);
    end if;
    if v_message_id is null then
      v_outcome := 'ignored';
      v_reason := 'unreadable again: the question was asked already';
    else
      v_outcome := 'question';
    end if;
  end if;

  insert into public.shop_review_replies (inbound_id, order_id, outcome, rating, comment, created_at)
  values (p_inbound_id, v_request.order_id, v_outcome,
          case when v_outcome = 'review' then p_rating end,
          case when v_outcome = 'review' then v_comment else left(v_inbound.text, 2000) end,
          p_now);
  return jsonb_build_object(
    'outcome', v_outcome, 'order_id', v_request.order_id, 'review_id', v_review_id,
    'message_id', v_message_id, 'reason', v_reason);
end
$$;
comment on function public.shop_review_reply_record(bigint, int, text, timestamptz) is
  'Reply job, step 2: {outcome: review|question|ignored, order_id, review_id, message_id, reason}. A rating (1..5) stores the review (channel whatsapp, once per order), answers the request and schedules review_thanks; null (unreadable) schedules the one review_question, later unreadable replies are ignored. One shop_review_replies row per inbound message: a second call answers the first outcome (replayed). Service role.';
revoke all on function public.shop_review_reply_record(bigint, int, text, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_review_reply_record(bigint, int, text, timestamptz) to service_role;

/*
 * What a rating link leads to, without using it (the GET of review-response: mail scanners
 * follow links): state open | expired | used | unknown, the customer's language, the shop's
 * name.
 */
create function public.shop_review_link_view(p_token text, p_now timestamptz default now())
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_request public.review_requests;
  v_language text;
  v_state text;
begin
  select * into v_request from public.review_requests r
  where r.link_token_hash = waitlist_internal.token_hash(p_token);
  if not found then
    return jsonb_build_object('state', 'unknown', 'order_id', null, 'language', null,
                              'shop_name', (shop_internal.settings()).shop_name);
  end if;
  select c.language into v_language from public.customers c where c.id = v_request.customer_id;
  v_state := case
    when v_request.link_used_at is not null or v_request.status = 'answered'
      or exists (select from public.reviews v where v.order_id = v_request.order_id) then 'used'
    when v_request.link_expires_at is null or p_now >= v_request.link_expires_at then 'expired'
    else 'open' end;
  return jsonb_build_object('state', v_state, 'order_id', v_request.order_id, 'language', v_language,
                            'shop_name', (shop_internal.settings()).shop_name);
end
$$;
comment on function public.shop_review_link_view(text, timestamptz) is
  'What an email rating link leads to, without using it: {state: open|expired|used|unknown, order_id, language, shop_name}. The GET of review-response. Service role.';
revoke all on function public.shop_review_link_view(text, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_review_link_view(text, timestamptz) to service_role;

/*
 * Uses a rating link (the POST of review-response): the review (channel email), the request
 * answered, the link used, the thank-you scheduled, once. outcome expired after
 * link_expires_at, used when the link was used or the order has a review, unknown for a
 * token that matches no request.
 */
create function public.shop_review_link_use(
  p_token text,
  p_rating int,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_request public.review_requests;
  v_language text;
  v_shop_name text := (shop_internal.settings()).shop_name;
  v_review_id bigint;
  v_message_id uuid;
  v_outcome text;
begin
  if p_rating is null or p_rating not between 1 and 5 then
    raise exception using errcode = '22023',
      message = format('Rating %s of a review link is not between 1 and 5', coalesce(p_rating::text, 'null'));
  end if;
  select * into v_request from public.review_requests r
  where r.link_token_hash = waitlist_internal.token_hash(p_token)
  for update;
  if not found then
    return jsonb_build_object('outcome', 'unknown', 'order_id', null, 'language', null,
                              'shop_name', v_shop_name);
  end if;
  select c.language into v_language from public.customers c where c.id = v_request.customer_id;

  if v_request.link_used_at is not null or v_request.status = 'answered' then
    v_outcome := 'used';
  elsif v_request.link_expires_at is null or p_now >= v_request.link_expires_at then
    v_outcome := 'expired';
  else
    insert into public.reviews (order_id, customer_id, rating, comment, channel, created_at)
    values (v_request.order_id, v_request.customer_id, p_rating, null, 'email', p_now)
    on conflict (order_id) do nothing
    returning id into v_review_id;
    update public.review_requests r
    set status = 'answered', answered_at = coalesce(r.answered_at, p_now), link_used_at = p_now
    where r.order_id = v_request.order_id;
    if v_review_id is null then
      v_outcome := 'used';
    else
      v_outcome := 'review';
      v_message_id := shop_internal.schedule_message(v_request.order_id, 'review_thanks', p_now);
    end if;
  end if;
  return jsonb_build_object(
    'outcome', v_outcome, 'order_id', v_request.order_id, 'language', v_language,
    'shop_name', v_shop_name, 'rating', case when v_outcome = 'review' then p_rating end,
    'review_id', v_review_id, 'message_id', v_message_id);
end
$$;
comment on function public.shop_review_link_use(text, int, timestamptz) is
  'Uses an email rating link once: {outcome: review|expired|used|unknown, order_id, language, shop_name, rating, review_id, message_id}. review stores the review (channel email), answers the request, marks the link used and schedules review_thanks. The token is compared by its SHA-256 (review_requests.link_token_hash). Service role (review-response calls it).';
revoke all on function public.shop_review_link_use(text, int, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_review_link_use(text, int, timestamptz) to service_role;
