-- Email rating links: shop_review_link_view says what a link leads to without using it (the GET
-- that mail scanners follow); shop_review_link_use records the review once (channel email), answers
-- the request, marks the link used and schedules the thank-you; a used link answers used, an
-- expired one expired, an unknown token unknown, each with the customer's language and the shop's
-- name, and changes nothing. The token is compared by its SHA-256.
begin;
select plan(19);

select tests.frozen_now() as t0 \gset
update public.shop_settings set shop_name = 'Boutique S23';

/* A picked-up order with a review request sent by email, whose links use p_token until p_expires. */
create function pg_temp.emailed(p_name text, p_email text, p_language text, p_token text, p_expires timestamptz)
returns bigint
language plpgsql as $$
declare
  v_customer uuid;
  v_order bigint;
begin
  insert into public.customers (name, email, language, consent_messages) values (p_name, p_email, p_language, true)
  returning id into v_customer;
  insert into public.orders (customer_id, status, picked_up_at) values (v_customer, 'picked_up', p_expires - interval '40 days')
  returning id into v_order;
  insert into public.review_requests (order_id, customer_id, status, channel, requested_at, sent_at,
                                      link_token_hash, link_expires_at)
  values (v_order, v_customer, 'sent', 'email', p_expires - interval '30 days', p_expires - interval '30 days',
          waitlist_internal.token_hash(p_token), p_expires);
  return v_order;
end
$$;

select pg_temp.emailed('Alice S23', 'alice.s23@example.test', 'en', 'tok-alice-s23', :'t0'::timestamptz + interval '1 day') as alice_order \gset
select pg_temp.emailed('Bob S23', 'bob.s23@example.test', 'fr', 'tok-bob-s23', :'t0'::timestamptz - interval '1 second') as bob_order \gset

select ok((select link_token_hash <> convert_to('tok-alice-s23', 'UTF8') and link_token_hash = sha256('tok-alice-s23'::bytea)
           from public.review_requests where order_id = :'alice_order'), 'the token is stored as its SHA-256 only');

-- ---------------------------------------------------------------------------------------------
-- Viewing changes nothing.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select is(public.shop_review_link_view('tok-alice-s23', :'t0'),
  jsonb_build_object('state', 'open', 'order_id', :'alice_order'::bigint, 'language', 'en', 'shop_name', 'Boutique S23'),
  'view: an open link, with the customer''s language and the shop''s name');
select is(public.shop_review_link_view('tok-alice-s23', :'t0') ->> 'state', 'open', 'viewing it twice leaves it open');
select is(public.shop_review_link_view('tok-bob-s23', :'t0') ->> 'state', 'expired', 'view: an expired link');
select is(public.shop_review_link_view('tok-nobody', :'t0'),
  jsonb_build_object('state', 'unknown', 'order_id', null, 'language', null, 'shop_name', 'Boutique S23'),
  'view: an unknown token');
reset role;
select is((select count(*)::int from public.reviews where order_id in (:'alice_order', :'bob_order')), 0,
  'viewing stored no review');
select is((select link_used_at from public.review_requests where order_id = :'alice_order'), null, 'nor used the link');

-- ---------------------------------------------------------------------------------------------
-- Using.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select public.shop_review_link_use('tok-alice-s23', 2, :'t0') as used \gset
reset role;
select is(:'used'::jsonb - 'review_id' - 'message_id',
  jsonb_build_object('outcome', 'review', 'order_id', :'alice_order'::bigint, 'language', 'en',
                     'shop_name', 'Boutique S23', 'rating', 2),
  'use: the review is recorded');
select results_eq(format('select rating, comment, channel from public.reviews where order_id = %s', :'alice_order'),
  $$values (2, null::text, 'email')$$, 'one review, channel email, no comment');
select results_eq(format('select status, answered_at, link_used_at from public.review_requests where order_id = %s', :'alice_order'),
  format('values (%L, %L::timestamptz, %L::timestamptz)', 'answered', :'t0', :'t0'), 'the request is answered, the link used');
select is((select array_agg(kind || ' ' || status) from public.shop_messages where order_id = :'alice_order'),
  array['review_thanks scheduled'], 'the thank-you is scheduled');
select tests.act_as_service_role();
select is(public.shop_review_link_use('tok-alice-s23', 5, :'t0'::timestamptz + interval '1 minute') ->> 'outcome', 'used',
  'use again: used');
select is(public.shop_review_link_view('tok-alice-s23', :'t0') ->> 'state', 'used', 'view after use: used');
select is(public.shop_review_link_use('tok-bob-s23', 4, :'t0') - 'review_id' - 'message_id' - 'rating',
  jsonb_build_object('outcome', 'expired', 'order_id', :'bob_order'::bigint, 'language', 'fr', 'shop_name', 'Boutique S23'),
  'use after expiry: expired, in the customer''s language');
select is(public.shop_review_link_use('tok-nobody', 4, :'t0') ->> 'outcome', 'unknown', 'use of an unknown token: unknown');
select throws_ok($$select public.shop_review_link_use('tok-bob-s23', 0)$$, '22023', null, 'a rating out of 1..5 is refused');
reset role;
select is((select rating from public.reviews where order_id = :'alice_order'), 2, 'the first rating stands');
select is((select count(*)::int from public.reviews where order_id = :'bob_order'), 0, 'the expired link stored nothing');
select is((select status from public.review_requests where order_id = :'bob_order'), 'sent', 'and left its request open');

select * from finish();
rollback;
