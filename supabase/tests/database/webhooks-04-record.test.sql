-- What SQL decides from an attempt (webhook_deliveries_record), with a frozen clock: the retry
-- schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after job attempts 1..7; attempt 8 failed →
-- the message failed); 2xx delivered and failing_since cleared; 410 disables the endpoint at once;
-- 429 throttled (Retry-After, else the schedule; past the queue's throttle limit it counts);
-- 502/503/504 honour Retry-After (clamped to 1 s..24 h), other statuses do not; timeouts retry;
-- five days of failures disable the endpoint with a visible reason; an attempt recorded twice is
-- ignored; a healthy endpoint's row is not written; a message gone is answered; bad input 22023.
begin;
select plan(32);

select tests.frozen_now() as t0 \gset

create function pg_temp.add_endpoint(p_name text) returns uuid
language plpgsql as $$
declare
  v_id uuid := gen_random_uuid();
begin
  insert into public.webhook_endpoints (id, url, secret_id)
  values (v_id, 'https://hooks.example.test/' || p_name, webhooks_internal.store_secret(webhooks_internal.new_secret(), v_id));
  return v_id;
end
$$;
/* A new message (event p_event) for endpoint p_endpoint only; returns its id. */
create function pg_temp.message(p_event text, p_endpoint uuid) returns text
language plpgsql as $$
begin
  perform webhooks_internal.publish('ticket.overdue', '{}', p_event, null, p_endpoint, tests.frozen_now());
  return (select m.id from public.webhook_messages m where m.event_id = p_event);
end
$$;
/* Records one attempt of message p_id (job attempt p_n, message attempt: its attempts + 1) and returns the answer. */
create function pg_temp.record(
  p_id text, p_n int, p_status int, p_started timestamptz, p_now timestamptz,
  p_retry_after numeric default null, p_error text default null, p_attempt int default null
) returns jsonb
language sql as $$
  select public.webhook_deliveries_record(jsonb_build_array(jsonb_build_object(
    'message_id', p_id, 'job_id', (select m.job_id from public.webhook_messages m where m.id = p_id),
    'job_attempt', p_n,
    'attempt', coalesce(p_attempt, (select m.attempts + 1 from public.webhook_messages m where m.id = p_id), 1),
    'started_at', p_started, 'duration_ms', 42, 'status', p_status, 'response_excerpt', 'body of ' || p_status,
    'error', p_error, 'retry_after_seconds', p_retry_after)), p_now) -> 0
$$;

select pg_temp.add_endpoint('flaky') as e_flaky \gset
select pg_temp.message('evt_r1', :'e_flaky') as r1 \gset

-- ---------------------------------------------------------------------------------------------
-- The schedule: eight attempts answered 500.
-- ---------------------------------------------------------------------------------------------
create temp table r_answers (n int primary key, answer jsonb, started timestamptz);
do $$
declare
  v_at timestamptz := tests.frozen_now();
  v_answer jsonb;
begin
  for n in 1..8 loop
    v_answer := pg_temp.record((select m.id from public.webhook_messages m where m.event_id = 'evt_r1'),
                               n, 500, v_at, v_at + interval '1 second');
    insert into r_answers values (n, v_answer, v_at);
    v_at := v_at + interval '1 second' + make_interval(secs => coalesce((v_answer ->> 'retry_after_seconds')::int, 0));
  end loop;
end
$$;
select is(array(select a.answer ->> 'outcome' from r_answers a where a.n <= 7 order by a.n),
  array['retry', 'retry', 'retry', 'retry', 'retry', 'retry', 'retry'], 'attempts 1 to 7 answered 500: retry');
select is(array(select (a.answer ->> 'retry_after_seconds')::int from r_answers a where a.n <= 7 order by a.n),
  array[5, 300, 1800, 7200, 18000, 36000, 36000],
  'after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h');
select is((select array[a.answer ->> 'outcome', a.answer ->> 'reason', a.answer ->> 'retry_after_seconds'] from r_answers a where a.n = 8),
  array['failed', 'Failed after 8 attempts; last: HTTP 500', null],
  'attempt 8 answered 500: failed, no retry');
select is(
  (select format('%s|%s|%s|%s|%s', m.status, m.attempts, m.last_response_status, m.failure_reason,
                 m.failed_at = (select a.started + interval '1 second' from r_answers a where a.n = 8))
   from public.webhook_messages m where m.id = :'r1'),
  'failed|8|500|Failed after 8 attempts; last: HTTP 500|t',
  'the message failed after 8 attempts, with the reason and the last status'
);
select is(
  (select array_agg(format('%s %s %s %s', a.attempt, a.outcome, a.response_status,
                           extract(epoch from a.next_attempt_at - a.started_at)::int) order by a.attempt)
   from public.webhook_attempts a where a.message_id = :'r1'),
  array['1 retry 500 6', '2 retry 500 301', '3 retry 500 1801', '4 retry 500 7201', '5 retry 500 18001',
        '6 retry 500 36001', '7 retry 500 36001', '8 failed 500 '],
  'eight attempts recorded, each with its next attempt time (p_now + the delay)'
);
select ok((select bool_and(a.duration_ms = 42 and a.response_excerpt = 'body of 500' and a.endpoint_id = :'e_flaky'
                           and a.job_id is not null) from public.webhook_attempts a where a.message_id = :'r1'),
  'with their duration, response excerpt, endpoint and job');
select is((select e.failing_since from public.webhook_endpoints e where e.id = :'e_flaky'), :'t0'::timestamptz,
  'the endpoint fails since the first failed attempt');

-- Sent twice: ignored, answered from what was stored.
select is(pg_temp.record(:'r1', 3, 200, :'t0', :'t0'::timestamptz + interval '2 days', null, null, 3),
  jsonb_build_object('message_id', :'r1', 'outcome', 'retry', 'retry_after_seconds', 1,
                     'reason', format('Attempt 3 of message %s was recorded already', :'r1')),
  'an attempt recorded again is ignored: answered from the stored one (its next attempt is past: 1 s)');
select is(
  (select format('%s|%s|%s', m.status, m.attempts, (select count(*) from public.webhook_attempts a where a.message_id = m.id))
   from public.webhook_messages m where m.id = :'r1'),
  'failed|8|8', 'the message and its attempts are unchanged');

-- ---------------------------------------------------------------------------------------------
-- Success clears failing_since; a healthy endpoint's row is not written.
-- ---------------------------------------------------------------------------------------------
select pg_temp.message('evt_r2', :'e_flaky') as r2 \gset
select is(pg_temp.record(:'r2', 1, 204, :'t0'::timestamptz + interval '2 days', :'t0'::timestamptz + interval '2 days'),
  jsonb_build_object('message_id', :'r2', 'outcome', 'delivered', 'retry_after_seconds', null, 'reason', null),
  '2xx: delivered');
select is(
  (select format('%s|%s|%s', m.status, m.delivered_at - :'t0'::timestamptz, m.failure_reason) from public.webhook_messages m where m.id = :'r2'),
  'delivered|2 days|', 'the message is delivered');
select is((select e.failing_since from public.webhook_endpoints e where e.id = :'e_flaky'), null,
  'a success clears the endpoint''s failing_since');

select pg_temp.add_endpoint('healthy') as e_ok \gset
select pg_temp.message('evt_r3', :'e_ok') as r3 \gset
select e.ctid::text as ctid_before from public.webhook_endpoints e where e.id = :'e_ok' \gset
select is(pg_temp.record(:'r3', 1, 200, :'t0', :'t0') ->> 'outcome', 'delivered', 'a healthy endpoint''s delivery');
select is((select e.ctid::text from public.webhook_endpoints e where e.id = :'e_ok'), :'ctid_before',
  'does not write the endpoint row (nothing changed)');

-- ---------------------------------------------------------------------------------------------
-- 410 Gone.
-- ---------------------------------------------------------------------------------------------
select pg_temp.add_endpoint('gone') as e_gone \gset
select pg_temp.message('evt_r4', :'e_gone') as r4 \gset
select is(pg_temp.record(:'r4', 1, 410, :'t0', :'t0'::timestamptz + interval '1 second'),
  jsonb_build_object('message_id', :'r4', 'outcome', 'endpoint_disabled', 'retry_after_seconds', null,
                     'reason', format('Answered 410 Gone at 2026-12-07T09:00:00.000Z to %s', :'r4')),
  '410: endpoint_disabled at the first attempt');
select is(
  (select format('%s|%s|%s', e.enabled, e.disabled_at - :'t0'::timestamptz, e.disabled_reason) from public.webhook_endpoints e where e.id = :'e_gone'),
  format('f|00:00:01|Answered 410 Gone at 2026-12-07T09:00:00.000Z to %s', :'r4'),
  'the endpoint is disabled at once, saying why');
select is((select format('%s|%s', m.status, m.failure_reason) from public.webhook_messages m where m.id = :'r4'),
  format('failed|endpoint disabled: Answered 410 Gone at 2026-12-07T09:00:00.000Z to %s', :'r4'),
  'the message failed (recoverable once the endpoint is enabled)');

-- ---------------------------------------------------------------------------------------------
-- 429, 502/503/504 and Retry-After; timeouts.
-- ---------------------------------------------------------------------------------------------
select pg_temp.add_endpoint('busy') as e_busy \gset
select pg_temp.message('evt_r5', :'e_busy') as r5 \gset
select is(
  array[pg_temp.record(:'r5', 2, 429, :'t0', :'t0', 120) ->> 'outcome',
        pg_temp.record(:'r5', 2, 429, :'t0', :'t0', 120) ->> 'retry_after_seconds'],
  array['throttled', '120'], '429 with Retry-After 120: throttled for 120 s');
select is(pg_temp.record(:'r5', 2, 429, :'t0', :'t0') ->> 'retry_after_seconds', '300',
  '429 without Retry-After at job attempt 2: the schedule''s 5 min');
select is((select format('%s|%s', m.status, m.attempts) from public.webhook_messages m where m.id = :'r5'),
  'pending|3', 'throttled messages stay pending; each of the three HTTP attempts counts in the message''s attempts');
update jobs.jobs set throttled_since = :'t0'::timestamptz - interval '25 hours'
where id = (select m.job_id from public.webhook_messages m where m.id = :'r5');
select is(pg_temp.record(:'r5', 8, 429, :'t0', :'t0') ->> 'outcome', 'failed',
  'a 429 past the queue''s 24-hour throttle limit counts: at job attempt 8 the message fails');

select pg_temp.message('evt_r6', :'e_busy') as r6 \gset
select is(
  array[pg_temp.record(:'r6', 1, 503, :'t0', :'t0', 60) ->> 'retry_after_seconds',
        pg_temp.record(:'r6', 2, 502, :'t0', :'t0', 999999) ->> 'retry_after_seconds',
        pg_temp.record(:'r6', 3, 504, :'t0', :'t0', 0) ->> 'retry_after_seconds',
        pg_temp.record(:'r6', 2, 500, :'t0', :'t0', 60) ->> 'retry_after_seconds',
        pg_temp.record(:'r6', 1, 503, :'t0', :'t0') ->> 'retry_after_seconds'],
  array['60', '86400', '1', '300', '5'],
  'Retry-After of a 502/503/504 is honoured (clamped to 1 s..24 h); a 500''s is not; a 503 without it follows the schedule');
select is((select array_agg(a.outcome order by a.attempt) from public.webhook_attempts a where a.message_id = :'r6'),
  array['retry', 'retry', 'retry', 'retry', 'retry'], 'all retries, counted');
select is(pg_temp.record(:'r6', 8, 503, :'t0', :'t0', 60) ->> 'outcome', 'failed',
  'a 503 with Retry-After at job attempt 8: failed');

select pg_temp.message('evt_r7', :'e_busy') as r7 \gset
select is(pg_temp.record(:'r7', 1, null, :'t0', :'t0', null, 'timeout after 15000 ms'),
  jsonb_build_object('message_id', :'r7', 'outcome', 'retry', 'retry_after_seconds', 5, 'reason', 'timeout after 15000 ms'),
  'a timeout (no status): retry after 5 s, the error as reason');
select is((select format('%s|%s', a.response_status, a.error) from public.webhook_attempts a where a.message_id = :'r7'),
  '|timeout after 15000 ms', 'the attempt keeps the error, no status');

-- ---------------------------------------------------------------------------------------------
-- Five days of failures.
-- ---------------------------------------------------------------------------------------------
select pg_temp.add_endpoint('dead') as e_dead \gset
select pg_temp.message('evt_r8', :'e_dead') as r8 \gset
update public.webhook_endpoints set failing_since = :'t0'::timestamptz - interval '4 days 23 hours' where id = :'e_dead';
select is(pg_temp.record(:'r8', 1, 500, :'t0', :'t0') ->> 'outcome', 'retry',
  'failing for 4 days 23 hours: still retrying');
select is(pg_temp.record(:'r8', 2, 500, :'t0'::timestamptz + interval '1 hour', :'t0'::timestamptz + interval '1 hour'),
  jsonb_build_object('message_id', :'r8', 'outcome', 'endpoint_disabled', 'retry_after_seconds', null,
                     'reason', 'Every attempt failed for 5 days (since 2026-12-02T10:00:00.000Z); last: HTTP 500'),
  'failing for 5 days: the endpoint is disabled by this attempt');
select is(
  (select format('%s|%s', e.enabled, e.disabled_reason) from public.webhook_endpoints e where e.id = :'e_dead'),
  'f|Every attempt failed for 5 days (since 2026-12-02T10:00:00.000Z); last: HTTP 500',
  'with the reason visible on the endpoint');
select is(
  (select format('%s|%s|%s', h.disabled_reason, h.last_failure_status, h.last_success_at) from public.webhook_endpoint_health h
   where h.endpoint_id = :'e_dead'),
  'Every attempt failed for 5 days (since 2026-12-02T10:00:00.000Z); last: HTTP 500|500|',
  'and in webhook_endpoint_health');

-- ---------------------------------------------------------------------------------------------
-- A message gone; bad input.
-- ---------------------------------------------------------------------------------------------
select is(
  public.webhook_deliveries_record(jsonb_build_array(jsonb_build_object('message_id', 'msg_gone', 'job_attempt', 1,
    'attempt', 1, 'started_at', :'t0', 'status', 200)), :'t0') -> 0,
  '{"message_id": "msg_gone", "outcome": "failed", "retry_after_seconds": null, "reason": "Message msg_gone no longer exists (its endpoint was deleted)"}'::jsonb,
  'an attempt of a message gone: failed (the job ends), nothing stored');
select throws_ok($$select public.webhook_deliveries_record('[{"message_id": "msg_x"}]')$$, '22023', null,
  'an attempt without its numbers and start is refused');

select * from finish();
rollback;
