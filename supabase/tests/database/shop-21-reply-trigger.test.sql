-- Review replies, the inbound trigger (shop_internal.inbound_reply) and shop_review_reply_start:
-- a message on the shop's instance from a customer with a WhatsApp review request sent within
-- reply_window enqueues one reply job (subject customer:<id>, dedupe shop-reply:<inbound id>)
-- for the most recently sent request; another instance, an unknown number, an expired window,
-- an answered request, an email request, a request sent after the message and an empty text
-- enqueue nothing. The start names the request and the customer, and skips what needs nothing.
begin;
select plan(20);

select tests.frozen_now() as t0 \gset
select tests.sign_up('Shop Owner S21') as owner \gset
select tests.instance_name(:'owner') as shop_instance \gset
select tests.whatsapp_created(:'owner', :'t0');
select tests.sign_up('Other Owner S21') as other \gset
select tests.instance_name(:'other') as other_instance \gset
select tests.whatsapp_created(:'other', :'t0');
update public.shop_settings set whatsapp_instance = :'shop_instance', reply_window = '30 days';

/* A customer with a WhatsApp number. */
create function pg_temp.customer(p_name text, p_number text, p_language text default 'fr') returns uuid
language sql as $$
  insert into public.customers (name, whatsapp_number, language, consent_messages)
  values (p_name, p_number, p_language, true) returning id
$$;
/* A picked-up order of the customer with a review request (status, channel, sent at). */
create function pg_temp.request(p_customer uuid, p_status text, p_channel text, p_sent_at timestamptz)
returns bigint
language plpgsql as $$
declare
  v_order bigint;
begin
  insert into public.orders (customer_id, status, picked_up_at)
  values (p_customer, 'picked_up', p_sent_at - interval '8 days') returning id into v_order;
  insert into public.review_requests (order_id, customer_id, status, channel, requested_at, sent_at)
  values (v_order, p_customer, p_status, p_channel, p_sent_at, p_sent_at);
  return v_order;
end
$$;
/* An inbound WhatsApp message, as evolution-webhook stores it. */
create function pg_temp.inbound(p_instance text, p_from text, p_text text, p_at timestamptz) returns bigint
language sql as $$
  insert into public.whatsapp_inbound_messages (instance_name, message_id, from_number, text, received_at)
  values (p_instance, 'MSG' || gen_random_uuid(), p_from, p_text, p_at) returning id
$$;
/* The reply jobs of an inbound message, as "subject dedupe_key". */
create function pg_temp.reply_jobs(p_inbound bigint) returns text[]
language sql as $$
  select coalesce(array_agg(j.subject || ' ' || j.dedupe_key order by j.id), '{}')
  from jobs.jobs j
  where j.queue = 'shop' and j.payload ->> 'kind' = 'reply' and (j.payload ->> 'inbound_id')::bigint = p_inbound
$$;

select pg_temp.customer('Alice S21', '33611000021') as alice \gset
select pg_temp.customer('Bob S21', '33611000022', 'en') as bob \gset
select pg_temp.request(:'alice', 'sent', 'whatsapp', :'t0'::timestamptz - interval '3 days') as alice_old \gset
select pg_temp.request(:'alice', 'sent', 'whatsapp', :'t0'::timestamptz - interval '1 day') as alice_new \gset
select pg_temp.request(:'bob', 'answered', 'whatsapp', :'t0'::timestamptz - interval '1 day') as bob_answered \gset

-- ---------------------------------------------------------------------------------------------
-- The trigger.
-- ---------------------------------------------------------------------------------------------
select pg_temp.inbound(:'shop_instance', '33611000021', '4 très bien', :'t0') as reply \gset
select is(pg_temp.reply_jobs(:'reply'), array[format('customer:%s shop-reply:%s', :'alice', :'reply')],
  'a reply on the shop''s instance from a customer with an open request enqueues one reply job');
select is((select j.payload from jobs.jobs j where j.dedupe_key = 'shop-reply:' || :'reply'),
  jsonb_build_object('kind', 'reply', 'inbound_id', :'reply'::bigint), 'its payload is {kind: reply, inbound_id}');

select is(pg_temp.reply_jobs(pg_temp.inbound(:'other_instance', '33611000021', '4', :'t0')), '{}',
  'the same customer writing to another user''s instance enqueues nothing');
select is(pg_temp.reply_jobs(pg_temp.inbound(:'shop_instance', '33699999999', '4', :'t0')), '{}',
  'an unknown number enqueues nothing');
select is(pg_temp.reply_jobs(pg_temp.inbound(:'shop_instance', '33611000022', '4', :'t0')), '{}',
  'a customer whose only request is answered enqueues nothing');
select is(pg_temp.reply_jobs(pg_temp.inbound(:'shop_instance', '33611000021', '   ', :'t0')), '{}',
  'a message without text enqueues nothing');
select pg_temp.inbound(:'shop_instance', '33611000021', '4', :'t0'::timestamptz + interval '29 days') as late \gset
select is(cardinality(pg_temp.reply_jobs(:'late')), 1,
  'a reply exactly reply_window (30 days) after the newest request is still a reply');
select is(pg_temp.reply_jobs(pg_temp.inbound(:'shop_instance', '33611000021', '4',
                                             :'t0'::timestamptz + interval '29 days 1 second')), '{}',
  'a reply a second after the window enqueues nothing');

select pg_temp.customer('Carol S21', '33611000023') as carol \gset
select pg_temp.request(:'carol', 'sent', 'email', :'t0'::timestamptz - interval '1 day') as carol_email \gset
select is(pg_temp.reply_jobs(pg_temp.inbound(:'shop_instance', '33611000023', '4', :'t0')), '{}',
  'a request sent by email takes no WhatsApp reply');
select pg_temp.request(:'carol', 'sent', 'whatsapp', :'t0'::timestamptz + interval '1 hour') as carol_later \gset
select is(pg_temp.reply_jobs(pg_temp.inbound(:'shop_instance', '33611000023', '4', :'t0')), '{}',
  'a message received before the request was sent is no reply to it');

update public.shop_settings set whatsapp_instance = null;
select is(pg_temp.reply_jobs(pg_temp.inbound(:'shop_instance', '33611000021', '4', :'t0')), '{}',
  'with no shop instance configured, nothing is enqueued');
update public.shop_settings set whatsapp_instance = :'shop_instance';

-- ---------------------------------------------------------------------------------------------
-- shop_review_reply_start.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select is(public.shop_review_reply_start(:'reply', :'t0') - 'checked_at',
  jsonb_build_object(
    'action', 'parse', 'reason', null,
    'inbound', jsonb_build_object('id', :'reply'::bigint, 'text', '4 très bien', 'from_number', '33611000021'),
    'request', jsonb_build_object('order_id', :'alice_new'::bigint, 'customer_id', :'alice',
                                  'question_sent_at', null, 'question_asked', false),
    'customer', jsonb_build_object('name', 'Alice S21', 'language', 'fr')),
  'start: parse, with the most recently sent of the customer''s two open requests');
select is(public.shop_review_reply_start(-1, :'t0') ->> 'action', 'skip', 'start: an unknown inbound message is skipped');
select matches(public.shop_review_reply_start(-1, :'t0') ->> 'reason', 'no longer exists', 'and says why');
reset role;

-- Handled once: the start skips it.
insert into public.shop_review_replies (inbound_id, order_id, outcome) values (:'reply', :'alice_new', 'question');
select tests.act_as_service_role();
select is(public.shop_review_reply_start(:'reply', :'t0') ->> 'action', 'skip', 'start: a handled reply is skipped');
select matches(public.shop_review_reply_start(:'reply', :'t0') ->> 'reason', '^already handled \(question\)',
  'because it was handled');
reset role;
delete from public.shop_review_replies where inbound_id = :'reply';

-- The request answered meanwhile: skip; the older open request is then the one answered.
update public.review_requests set status = 'answered', answered_at = :'t0' where order_id = :'alice_new';
select tests.act_as_service_role();
select is(public.shop_review_reply_start(:'reply', :'t0') #>> '{request,order_id}', :'alice_old',
  'start: with the newest request answered, the older open one is the one the reply answers');
reset role;
update public.review_requests set status = 'answered', answered_at = :'t0' where order_id = :'alice_old';
select tests.act_as_service_role();
select is(public.shop_review_reply_start(:'reply', :'t0') ->> 'action', 'skip',
  'start: with every request answered, the reply is skipped');
select matches(public.shop_review_reply_start(:'reply', :'t0') ->> 'reason', 'no open review request',
  'because no request is open');
reset role;

select is((select count(*)::int from jobs.jobs j where j.queue = 'shop' and j.payload ->> 'kind' = 'reply'), 2,
  'in all, two reply jobs: the first reply and the one inside the window');

select * from finish();
rollback;
