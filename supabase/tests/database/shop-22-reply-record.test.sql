-- Review replies, shop_review_reply_record: a rating stores one review (channel whatsapp), answers
-- the request and schedules the thank-you; a second reply to the same request stores nothing
-- more (the order has one review); an unreadable reply schedules the one polite question, a
-- second unreadable reply is ignored (no loop), and a readable reply after the question is a
-- review. A retried call answers the first outcome without doing anything twice; bad ratings are
-- refused (22023) and change nothing.
begin;
select plan(24);

select tests.frozen_now() as t0 \gset
select tests.sign_up('Shop Owner S22') as owner \gset
select tests.instance_name(:'owner') as shop_instance \gset
select tests.whatsapp_created(:'owner', :'t0') is not null as created \gset
update public.shop_settings set whatsapp_instance = :'shop_instance', reply_window = '30 days';

create function pg_temp.customer(p_name text, p_number text) returns uuid
language sql as $$
  insert into public.customers (name, whatsapp_number, consent_messages) values (p_name, p_number, true) returning id
$$;
create function pg_temp.request(p_customer uuid, p_sent_at timestamptz) returns bigint
language plpgsql as $$
declare
  v_order bigint;
begin
  insert into public.orders (customer_id, status, picked_up_at)
  values (p_customer, 'picked_up', p_sent_at - interval '8 days') returning id into v_order;
  insert into public.review_requests (order_id, customer_id, status, channel, requested_at, sent_at)
  values (v_order, p_customer, 'sent', 'whatsapp', p_sent_at, p_sent_at);
  return v_order;
end
$$;
create function pg_temp.inbound(p_from text, p_text text, p_at timestamptz) returns bigint
language sql as $$
  insert into public.whatsapp_inbound_messages (instance_name, message_id, from_number, text, received_at)
  values ((select s.whatsapp_instance from public.shop_settings s), 'MSG' || gen_random_uuid(), p_from, p_text, p_at)
  returning id
$$;
/* The order's messages of the reply kinds, as "kind status". */
create function pg_temp.answers(p_order bigint) returns text[]
language sql as $$
  select coalesce(array_agg(m.kind || ' ' || m.status order by m.kind), '{}')
  from public.shop_messages m where m.order_id = p_order and m.kind in ('review_thanks', 'review_question')
$$;

select pg_temp.customer('Alice S22', '33611000031') as alice \gset
select pg_temp.request(:'alice', :'t0'::timestamptz - interval '1 day') as alice_order \gset
select pg_temp.customer('Bob S22', '33611000032') as bob \gset
select pg_temp.request(:'bob', :'t0'::timestamptz - interval '1 day') as bob_order \gset

-- ---------------------------------------------------------------------------------------------
-- A rating, then a second reply.
-- ---------------------------------------------------------------------------------------------
select pg_temp.inbound('33611000031', '4 très bien', :'t0') as r1 \gset
select pg_temp.inbound('33611000031', '5 finalement', :'t0'::timestamptz + interval '1 minute') as r2 \gset
select tests.act_as_service_role();
select public.shop_review_reply_record(:'r1', 4, 'très bien', :'t0') as first \gset
reset role;
select is(:'first'::jsonb ->> 'outcome', 'review', 'a rating: outcome review');
select results_eq(
  format('select rating, comment, channel, customer_id, created_at from public.reviews where order_id = %s', :'alice_order'),
  format($$values (4, 'très bien', 'whatsapp', %L::uuid, %L::timestamptz)$$, :'alice', :'t0'),
  'the review is stored: rating, comment, channel whatsapp');
select is((:'first'::jsonb ->> 'review_id')::bigint, (select id from public.reviews where order_id = :'alice_order'),
  'its id is answered');
select is((select status || ' ' || answered_at from public.review_requests where order_id = :'alice_order'),
  'answered ' || :'t0'::timestamptz, 'the request is answered');
select is(pg_temp.answers(:'alice_order'), array['review_thanks scheduled'], 'the thank-you is scheduled');
select is((:'first'::jsonb ->> 'message_id')::uuid,
  (select id from public.shop_messages where order_id = :'alice_order' and kind = 'review_thanks'),
  'its message id is answered');
select ok(exists (select from jobs.jobs j join public.shop_messages m on m.job_id = j.id
                  where m.order_id = :'alice_order' and m.kind = 'review_thanks' and j.queue = 'shop'),
  'and its job is enqueued');
select results_eq(format('select outcome, rating, comment from public.shop_review_replies where inbound_id = %s', :'r1'),
  $$values ('review', 4, 'très bien')$$, 'the reply is recorded');

select tests.act_as_service_role();
select is(public.shop_review_reply_record(:'r1', 4, 'très bien', :'t0') ->> 'replayed', 'true',
  'recording the same reply again (a retried job) answers the first outcome, replayed');
select is(public.shop_review_reply_record(:'r2', 5, 'finalement', :'t0'::timestamptz + interval '1 minute') ->> 'outcome',
  'ignored', 'a second reply to the answered request is ignored');
reset role;
select is((select count(*)::int from public.reviews where order_id = :'alice_order'), 1, 'the order still has one review');
select is((select rating from public.reviews where order_id = :'alice_order'), 4, 'the first rating stands');
select is(pg_temp.answers(:'alice_order'), array['review_thanks scheduled'], 'and one thank-you');
select results_eq(format('select order_id, outcome from public.shop_review_replies where inbound_id = %s', :'r2'),
  format('values (%s::bigint, %L)', :'alice_order', 'ignored'), 'the second reply is recorded as ignored');

-- ---------------------------------------------------------------------------------------------
-- Unreadable, unreadable again, then readable.
-- ---------------------------------------------------------------------------------------------
select pg_temp.inbound('33611000032', 'bof', :'t0') as b1 \gset
select pg_temp.inbound('33611000032', 'bof bof', :'t0'::timestamptz + interval '1 minute') as b2 \gset
select pg_temp.inbound('33611000032', 'deux, pas terrible', :'t0'::timestamptz + interval '2 minutes') as b3 \gset
select tests.act_as_service_role();
select is(public.shop_review_reply_record(:'b1', null, 'bof', :'t0') ->> 'outcome', 'question',
  'an unreadable reply: outcome question');
reset role;
select is(pg_temp.answers(:'bob_order'), array['review_question scheduled'], 'the polite question is scheduled');
select is((select status from public.review_requests where order_id = :'bob_order'), 'sent', 'the request stays open');
select tests.act_as_service_role();
select is(public.shop_review_reply_record(:'b2', null, 'bof bof', :'t0'::timestamptz + interval '1 minute') ->> 'outcome',
  'ignored', 'a second unreadable reply is ignored');
reset role;
select is(pg_temp.answers(:'bob_order'), array['review_question scheduled'], 'no second question');
select results_eq(format('select outcome, rating, comment from public.shop_review_replies where inbound_id in (%s, %s) order by inbound_id', :'b1', :'b2'),
  $$values ('question', null::int, 'bof'), ('ignored', null, 'bof bof')$$, 'both recorded, with their text');
select tests.act_as_service_role();
select is(public.shop_review_reply_record(:'b3', 2, 'pas terrible', :'t0'::timestamptz + interval '2 minutes') ->> 'outcome',
  'review', 'a readable reply after the question is a review');
reset role;
select is(pg_temp.answers(:'bob_order'), array['review_question scheduled', 'review_thanks scheduled'],
  'and is thanked');

-- ---------------------------------------------------------------------------------------------
-- Refused.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select throws_ok(format('select public.shop_review_reply_record(%s, 6, %L)', :'b1', 'x'), '22023', null,
  'a rating out of 1..5 is refused');
select throws_ok('select public.shop_review_reply_record(-1, 4, ''x'')', 'P0002', 'Inbound message -1 does not exist',
  'an unknown inbound message is refused');
reset role;

select * from finish();
rollback;
