-- Webhook delivery engine, part 2 of 3: the functions. Helpers in webhooks_internal (owner
-- only; publish is what other flows' SQL calls), the two engine RPCs of the deliver-webhooks
-- worker (service role only), then the admins' management RPCs (authenticated, each starting
-- with webhooks_internal.require_admin()). Each is followed by its comment and grants.
--
-- Lock order, everywhere: an endpoint row (webhook_endpoints) before its messages
-- (webhook_messages), a message before its job (jobs.jobs).
--
-- The retry schedule lives here (webhook_deliveries_record decides, the worker obeys): the
-- job's attempt n (1-based) failed → the next one after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
-- 10 h (n = 1..7); attempt 8 failed → the message failed. 429 is throttling (the job core gives
-- the attempt back), 502/503/504 honour Retry-After, 410 disables the endpoint, and an endpoint
-- whose attempts have all failed for 5 days is disabled.

-- =============================================================================================
-- Helpers (webhooks_internal)
-- =============================================================================================

-- The retry schedule: seconds before the next attempt after the job's attempt p_attempt failed.
create function webhooks_internal.retry_delay(p_attempt int) returns int
language sql
immutable
parallel safe
set search_path = ''
as $$
  select (array[5, 300, 1800, 7200, 18000, 36000, 36000])[least(greatest(p_attempt, 1), 7)]
$$;
comment on function webhooks_internal.retry_delay(int) is
  'Seconds before the next attempt after the job''s attempt p_attempt (1-based) failed: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h for attempts 1..7 (attempt 8 is the last; later ones reuse 10 h, for throttling).';
revoke all on function webhooks_internal.retry_delay(int) from public, anon, authenticated;

-- A new signing secret, as Standard Webhooks spells them.
create function webhooks_internal.new_secret() returns text
language sql
volatile
set search_path = ''
as $$
  select 'whsec_' || encode(extensions.gen_random_bytes(32), 'base64')
$$;
comment on function webhooks_internal.new_secret() is 'A new endpoint secret: whsec_ + base64 of 32 random bytes.';
revoke all on function webhooks_internal.new_secret() from public, anon, authenticated;

-- Whether a secret given by an admin is one Standard Webhooks libraries accept.
create function webhooks_internal.secret_is_valid(p_secret text) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_key bytea;
begin
  if p_secret is null or p_secret !~ '^whsec_[A-Za-z0-9+/]+={0,2}$' then
    return false;
  end if;
  v_key := decode(substr(p_secret, 7), 'base64');
  return length(v_key) between 24 and 64;
exception when others then
  return false;
end
$$;
comment on function webhooks_internal.secret_is_valid(text) is
  'True when p_secret is whsec_ + base64 of 24 to 64 bytes.';
revoke all on function webhooks_internal.secret_is_valid(text) from public, anon, authenticated;

-- Stores a secret in Vault for an endpoint; returns its Vault id.
create function webhooks_internal.store_secret(p_secret text, p_endpoint_id uuid) returns uuid
language sql
volatile
security definer
set search_path = ''
as $$
  select vault.create_secret(p_secret, null,
                             format('Signing secret of webhook endpoint %s', p_endpoint_id))
$$;
comment on function webhooks_internal.store_secret(text, uuid) is
  'Stores p_secret in Vault (no name, described as the signing secret of endpoint p_endpoint_id) and returns the Vault secret id.';
revoke all on function webhooks_internal.store_secret(text, uuid) from public, anon, authenticated;

-- An instant as the payloads and reasons spell it: ISO 8601, UTC, milliseconds.
create function webhooks_internal.iso(p_at timestamptz) returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
comment on function webhooks_internal.iso(timestamptz) is
  'p_at in ISO 8601, UTC, with milliseconds (2026-12-07T09:00:00.000Z): the payload''s timestamp, the reasons.';
revoke all on function webhooks_internal.iso(timestamptz) from public, anon, authenticated;

-- What an attempt got, in a reason: "HTTP 503", the error, or "no answer".
create function webhooks_internal.describe_answer(p_status int, p_error text) returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce('HTTP ' || p_status, nullif(p_error, ''), 'no answer')
$$;
comment on function webhooks_internal.describe_answer(int, text) is
  'What an attempt got, for reasons: HTTP <status>, else the error, else "no answer".';
revoke all on function webhooks_internal.describe_answer(int, text) from public, anon, authenticated;

-- Publishes an event: one message per enabled endpoint subscribed to its type, one job each.
create function webhooks_internal.publish(
  p_event_type text,
  p_data jsonb,
  p_event_id text,
  p_subject text default null,
  p_endpoint_id uuid default null,
  p_now timestamptz default now()
) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_payload jsonb;
  v_size int;
  v_ids text[];
  v_endpoint_ids uuid[];
  v_job_ids bigint[];
  v_created int;
begin
  if not webhooks_internal.is_event_type(p_event_type) then
    raise exception using errcode = '22023',
      message = format('Event type "%s" of event %s is invalid: lower-case words separated by dots expected (e.g. ticket.overdue)',
                       p_event_type, p_event_id);
  end if;
  if coalesce(p_event_id, '') = '' or char_length(p_event_id) > 200 then
    raise exception using errcode = '22023',
      message = format('The %s event needs an event id of 1 to 200 characters', p_event_type);
  end if;
  if p_data is null then
    raise exception using errcode = '22023', message = format('Event %s (%s) has no data', p_event_id, p_event_type);
  end if;
  v_payload := jsonb_build_object('type', p_event_type, 'timestamp', webhooks_internal.iso(p_now),
                                  'data', p_data);
  v_size := octet_length(v_payload::text);
  if v_size >= 20480 then
    raise exception using errcode = '22023',
      message = format('Event %s (%s) is %s bytes: a webhook payload must stay under 20480 bytes',
                       p_event_id, p_event_type, v_size);
  end if;

  -- The messages to create (their ids made here), their jobs, then the messages with their
  -- job: no second write of each new row. A concurrent publish of the same event may win the
  -- unique (event_id, endpoint_id) race; the loser's job then finds no message and is skipped.
  select array_agg(t.id order by t.endpoint_id), array_agg(t.endpoint_id order by t.endpoint_id)
    into v_ids, v_endpoint_ids
  from (
    select 'msg_' || replace(gen_random_uuid()::text, '-', '') as id, e.id as endpoint_id
    from public.webhook_endpoints e
    where e.enabled
      and case when p_endpoint_id is not null then e.id = p_endpoint_id
               else e.event_types is null or p_event_type = any (e.event_types) end
      and not exists (
        select from public.webhook_messages m
        where m.event_id = p_event_id and m.endpoint_id = e.id
      )
  ) t;
  if v_ids is null then
    return 0;
  end if;

  select array_agg(j.id order by j.ord) into v_job_ids
  from jobs.enqueue_many(
    'webhooks',
    (select jsonb_agg(jsonb_build_object('payload', jsonb_build_object('message_id', t.id),
                                         'subject', 'endpoint:' || t.endpoint_id,
                                         'dedupe_key', t.id) order by t.ord)
     from unnest(v_ids, v_endpoint_ids) with ordinality as t(id, endpoint_id, ord)),
    p_now, 'publish'
  ) with ordinality as j(id, ord);

  insert into public.webhook_messages as m
    (id, event_id, endpoint_id, event_type, payload, subject, job_id, created_at)
  select t.id, p_event_id, t.endpoint_id, p_event_type, v_payload, p_subject, t.job_id, p_now
  from unnest(v_ids, v_endpoint_ids, v_job_ids) as t(id, endpoint_id, job_id)
  on conflict (event_id, endpoint_id) do nothing;
  get diagnostics v_created = row_count;
  return v_created;
end
$$;
comment on function webhooks_internal.publish(text, jsonb, text, text, uuid, timestamptz) is
  'Publishes event p_event_id of type p_event_type: one message (payload {type, timestamp: p_now in ISO 8601 UTC, data: p_data}, under 20 KB or 22023) per enabled endpoint subscribed to the type (event_types null or containing it), or only to endpoint p_endpoint_id (test events: subscribed or not); an event is never sent twice to one endpoint. Each new message gets a job on the webhooks queue (subject endpoint:<id>, dedupe key the message id); the worker is woken after commit. Returns the number of messages created. For other flows'' SQL; no API role may call it.';
revoke all on function webhooks_internal.publish(text, jsonb, text, text, uuid, timestamptz)
  from public, anon, authenticated, service_role;

-- =============================================================================================
-- Engine RPCs (the deliver-webhooks worker; service role only)
-- =============================================================================================

create function public.webhook_deliveries_start(p_message_ids text[], p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_bucket record;
  v_available numeric;
  v_grants jsonb := '{}'::jsonb;
  v_result jsonb;
begin
  if p_message_ids is null or array_position(p_message_ids, null) is not null then
    raise exception using errcode = '22023', message = 'p_message_ids must be an array of message ids without nulls';
  end if;

  -- Messages whose endpoint was disabled fail (webhook_endpoint_recover brings them back).
  update public.webhook_messages m
  set status = 'failed', failed_at = p_now, failure_reason = 'endpoint disabled: ' || e.disabled_reason
  from public.webhook_endpoints e
  where m.id = any (p_message_ids) and m.status = 'pending' and e.id = m.endpoint_id and not e.enabled;

  -- Token buckets of the rate-limited endpoints, one endpoint at a time (in id order: no
  -- deadlock between two batches): how many of this batch's messages may go now.
  for v_bucket in
    select e.id, e.rate_limit_per_second as rate, count(*) as wanted
    from public.webhook_messages m
    join public.webhook_endpoints e on e.id = m.endpoint_id
    where m.id = any (p_message_ids) and m.status = 'pending' and e.enabled
      and e.rate_limit_per_second is not null
    group by e.id
    order by e.id
  loop
    select least(e.rate_limit_per_second::numeric,
                 coalesce(e.rate_tokens, e.rate_limit_per_second::numeric)
                 + greatest(extract(epoch from p_now - coalesce(e.rate_refilled_at, p_now)), 0)
                   * e.rate_limit_per_second)
      into v_available
    from public.webhook_endpoints e where e.id = v_bucket.id
    for no key update;
    update public.webhook_endpoints e
    set rate_tokens = v_available - least(floor(v_available), v_bucket.wanted),
        rate_refilled_at = p_now
    where e.id = v_bucket.id;
    v_grants := v_grants || jsonb_build_object(v_bucket.id::text,
      jsonb_build_object('sent', least(floor(v_available), v_bucket.wanted), 'available', v_available,
                         'rate', v_bucket.rate));
  end loop;

  with asked as (
    select u.id, u.ord from unnest(p_message_ids) with ordinality as u(id, ord)
  ),
  found as (
    select a.ord, a.id, m.status, m.attempts, m.failure_reason, m.payload, m.event_type,
           e.id as endpoint_id, e.url, e.enabled, e.secret_id, e.previous_secret_id,
           e.previous_secret_expires_at,
           row_number() over (partition by e.id order by a.ord) as nth,
           v_grants -> (e.id::text) as grant_
    from asked a
    left join public.webhook_messages m on m.id = a.id
    left join public.webhook_endpoints e on e.id = m.endpoint_id
  ),
  decided as (
    select f.*,
           case
             when f.status is null then 'skip'
             when f.status <> 'pending' or not f.enabled then 'skip'
             when f.grant_ is not null and f.nth > (f.grant_ ->> 'sent')::numeric then 'wait'
             else 'send'
           end as action
    from found f
  ),
  -- Each endpoint's secrets are decrypted once per batch.
  secrets as materialized (
    select e.id,
           jsonb_build_array(cur.decrypted_secret)
             || case when prev.decrypted_secret is not null then jsonb_build_array(prev.decrypted_secret)
                     else '[]'::jsonb end as secrets
    from public.webhook_endpoints e
    left join vault.decrypted_secrets cur on cur.id = e.secret_id
    left join vault.decrypted_secrets prev
      on prev.id = e.previous_secret_id and e.previous_secret_expires_at > p_now
    where e.id in (select d.endpoint_id from decided d where d.action = 'send')
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'message_id', d.id,
           'action', d.action,
           'url', case when d.action = 'send' then d.url end,
           'secrets', case when d.action = 'send' then s.secrets end,
           'body', case when d.action = 'send' then d.payload::text end,
           'event_type', d.event_type,
           'attempt', case when d.status is not null then d.attempts + 1 end,
           'wait_seconds', case when d.action = 'wait' then
             (ceil((d.nth - (d.grant_ ->> 'available')::numeric) / (d.grant_ ->> 'rate')::numeric * 1000) / 1000)::float8 end,
           'reason', case
             when d.status is null then format('Message %s no longer exists (its endpoint was deleted)', d.id)
             when d.status = 'delivered' then format('Message %s was delivered already', d.id)
             when d.status = 'failed' then coalesce(d.failure_reason, format('Message %s failed', d.id))
             when d.action = 'wait' then format('Endpoint %s is at its rate limit of %s per second',
                                                d.endpoint_id, d.grant_ ->> 'rate')
           end) order by d.ord), '[]'::jsonb)
    into v_result
  from decided d
  left join secrets s on s.id = d.endpoint_id;
  return v_result;
end
$$;
comment on function public.webhook_deliveries_start(text[], timestamptz) is
  'What the worker does with a batch of messages, one answer per id in order: {message_id, action, url, secrets, body, event_type, attempt, wait_seconds, reason}. send: POST body (payload::text, the same at every attempt) to url, signed with each of secrets (the current one, and the previous one until it expires); attempt is the message''s next attempt number. skip: the message is gone, delivered or failed already, or its endpoint is disabled (the message then fails: "endpoint disabled: <reason>", recoverable). wait: the endpoint''s rate limit is used up; a token comes in wait_seconds (nothing is consumed). Service role only.';
revoke all on function public.webhook_deliveries_start(text[], timestamptz) from public, anon, authenticated;
grant execute on function public.webhook_deliveries_start(text[], timestamptz) to service_role;

create function public.webhook_deliveries_record(p_attempts jsonb, p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_max_attempts int;
  v_throttle_limit interval;
  v_result jsonb;
begin
  if jsonb_typeof(p_attempts) is distinct from 'array' or exists (
    select from jsonb_array_elements(p_attempts) e
    where jsonb_typeof(e) <> 'object'
       or jsonb_typeof(e -> 'message_id') is distinct from 'string'
       or jsonb_typeof(e -> 'attempt') is distinct from 'number'
       or jsonb_typeof(e -> 'job_attempt') is distinct from 'number'
       or jsonb_typeof(e -> 'started_at') is distinct from 'string'
       or coalesce(jsonb_typeof(e -> 'status'), 'null') not in ('number', 'null')
  ) then
    raise exception using errcode = '22023',
      message = 'p_attempts must be a JSON array of {message_id, job_id, job_attempt, attempt, started_at, duration_ms, status, response_excerpt, error, retry_after_seconds} objects';
  end if;
  select q.max_attempts, q.throttle_limit into v_max_attempts, v_throttle_limit
  from jobs.queues q where q.name = 'webhooks';

  -- Endpoints whose row may change (a failure, or a success after failures) are locked first, in
  -- id order; a healthy endpoint's successes touch no endpoint row.
  perform
  from public.webhook_endpoints e
  join (
    select m.endpoint_id, bool_and(coalesce(x.status between 200 and 299, false)) as all_ok
    from jsonb_to_recordset(p_attempts) as x(message_id text, status int)
    join public.webhook_messages m on m.id = x.message_id
    group by m.endpoint_id
  ) b on b.endpoint_id = e.id
  where not b.all_ok or e.failing_since is not null
  order by e.id
  for no key update of e;

  with given as (
    select x.*
    from rows from (jsonb_to_recordset(p_attempts)
      as (message_id text, job_id bigint, job_attempt int, attempt int, started_at timestamptz,
          duration_ms int, status int, response_excerpt text, error text,
          retry_after_seconds numeric)) with ordinality
      as x(message_id, job_id, job_attempt, attempt, started_at, duration_ms, status,
           response_excerpt, error, retry_after_seconds, ord)
  ),
  -- One row per (message, attempt): a duplicate within the batch is answered like the first.
  x as (
    select distinct on (g.message_id, g.attempt) g.*
    from given g
    order by g.message_id, g.attempt, g.ord
  ),
  -- Locked: an endpoint deleted meanwhile takes its messages with it, and they drop out here.
  m as (
    select m.id, m.endpoint_id, m.status, m.attempts
    from public.webhook_messages m
    where m.id in (select x.message_id from x)
    for no key update
  ),
  c as (
    select x.*, m.endpoint_id, m.status as message_status,
           coalesce(x.status between 200 and 299, false) as ok,
           e.enabled, e.disabled_reason,
           coalesce(e.failing_since, x.started_at) as failing_since,
           x.status = 429
             and coalesce(j.throttled_since, p_now) + coalesce(v_throttle_limit, interval '24 hours') > p_now
             as paused,
           x.job_attempt >= coalesce(v_max_attempts, 8) as last_try,
           webhooks_internal.describe_answer(x.status, x.error) as answer,
           -- greatest() and least() skip nulls: clamp only a Retry-After that was given.
           case when x.retry_after_seconds is not null
                then greatest(1, least(86400, x.retry_after_seconds)) end as retry_after
    from x
    join m on m.id = x.message_id
    join public.webhook_endpoints e on e.id = m.endpoint_id
    left join jobs.jobs j on j.id = x.job_id and x.status = 429
  ),
  d as (
    select c.*,
           case
             when c.message_status = 'delivered' then 'delivered'
             when c.message_status <> 'pending' then 'failed'
             when c.ok then 'delivered'
             when not c.enabled then 'failed'
             when c.status = 410 then 'endpoint_disabled'
             when c.failing_since <= p_now - interval '5 days' then 'endpoint_disabled'
             when c.paused then 'throttled'
             when c.last_try then 'failed'
             else 'retry'
           end as outcome
    from c
  ),
  o as (
    select d.*,
           case
             when d.outcome = 'throttled' then coalesce(d.retry_after, webhooks_internal.retry_delay(d.job_attempt))
             when d.outcome = 'retry' then
               case when d.status in (502, 503, 504) and d.retry_after is not null then d.retry_after
                    else webhooks_internal.retry_delay(d.job_attempt) end
           end as delay,
           case
             when d.message_status <> 'pending' then format('Message %s was %s already', d.message_id, d.message_status)
             when d.outcome = 'delivered' then null
             when not d.enabled then 'endpoint disabled: ' || d.disabled_reason
             when d.status = 410 then format('Answered 410 Gone at %s to %s', webhooks_internal.iso(d.started_at), d.message_id)
             when d.outcome = 'endpoint_disabled' then
               format('Every attempt failed for 5 days (since %s); last: %s', webhooks_internal.iso(d.failing_since), d.answer)
             when d.outcome = 'failed' then format('Failed after %s attempts; last: %s', d.job_attempt, d.answer)
             else d.answer
           end as reason
    from d
  ),
  ins as (
    insert into public.webhook_attempts as a
      (message_id, endpoint_id, attempt, job_id, started_at, duration_ms, response_status,
       response_excerpt, error, outcome, next_attempt_at)
    select o.message_id, o.endpoint_id, o.attempt, o.job_id, o.started_at, greatest(o.duration_ms, 0),
           o.status, left(o.response_excerpt, 1024), o.error, o.outcome,
           p_now + make_interval(secs => o.delay::double precision)
    from o
    order by o.message_id, o.attempt
    on conflict (message_id, attempt) do nothing
    returning a.message_id, a.attempt
  ),
  done as (
    select o.* from o join ins on ins.message_id = o.message_id and ins.attempt = o.attempt
  ),
  messages_updated as (
    update public.webhook_messages m
    set attempts = greatest(m.attempts, d.attempt),
        last_attempt_at = d.started_at,
        last_response_status = d.status,
        status = case when d.outcome = 'delivered' then 'delivered'
                      when d.outcome in ('failed', 'endpoint_disabled') then 'failed'
                      else m.status end,
        delivered_at = case when d.outcome = 'delivered' then p_now else m.delivered_at end,
        failed_at = case when d.outcome in ('failed', 'endpoint_disabled') then p_now else m.failed_at end,
        failure_reason = case
                           when d.outcome = 'delivered' then null
                           when d.outcome = 'endpoint_disabled' then 'endpoint disabled: ' || d.reason
                           when d.outcome = 'failed' then d.reason
                           else m.failure_reason
                         end
    from done d
    where m.id = d.message_id and d.message_status = 'pending'
  ),
  -- Per endpoint: its last success in the batch, the first failure after it, what disables it.
  per_endpoint as (
    select w.endpoint_id,
           max(w.started_at) filter (where w.ok) as last_ok,
           min(w.started_at) filter (where not w.ok and (w.last_ok is null or w.started_at > w.last_ok)) as first_failure,
           (array_agg(w.reason order by w.started_at, w.ord) filter (where w.outcome = 'endpoint_disabled'))[1] as disable_reason
    from (select d.*, max(d.started_at) filter (where d.ok) over (partition by d.endpoint_id) as last_ok
          from done d where d.message_status = 'pending') w
    group by w.endpoint_id
  ),
  endpoints_updated as (
    update public.webhook_endpoints e
    set failing_since = case when p.last_ok is not null then p.first_failure
                             else coalesce(e.failing_since, p.first_failure) end,
        enabled = e.enabled and p.disable_reason is null,
        disabled_at = case when e.enabled and p.disable_reason is not null then p_now else e.disabled_at end,
        disabled_reason = case when e.enabled and p.disable_reason is not null then p.disable_reason
                               else e.disabled_reason end,
        updated_at = p_now
    from per_endpoint p
    where e.id = p.endpoint_id
      and (e.failing_since is distinct from case when p.last_ok is not null then p.first_failure
                                                 else coalesce(e.failing_since, p.first_failure) end
           or (e.enabled and p.disable_reason is not null))
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'message_id', g.message_id,
           'outcome', case when o.message_id is null then 'failed'
                           when d.message_id is not null then d.outcome
                           else coalesce(a.outcome, 'retry') end,
           'retry_after_seconds', case when o.message_id is null then null
                                       when d.message_id is not null then d.delay
                                       when a.outcome is null then webhooks_internal.retry_delay(1)
                                       when a.next_attempt_at is not null
                                         then greatest(ceil(extract(epoch from a.next_attempt_at - p_now)), 1)
                                  end,
           'reason', case when o.message_id is null
                            then format('Message %s no longer exists (its endpoint was deleted)', g.message_id)
                          when d.message_id is not null then d.reason
                          else format('Attempt %s of message %s was recorded already', g.attempt, g.message_id)
                     end) order by g.ord), '[]'::jsonb)
    into v_result
  from given g
  left join o on o.message_id = g.message_id and o.attempt = g.attempt
  left join done d on d.message_id = g.message_id and d.attempt = g.attempt
  left join public.webhook_attempts a on a.message_id = g.message_id and a.attempt = g.attempt
    and d.message_id is null;
  return v_result;
end
$$;
comment on function public.webhook_deliveries_record(jsonb, timestamptz) is
  'Records what the worker''s attempts got, p_attempts = [{message_id, job_id, job_attempt (the job''s attempts at claim), attempt (the message''s, from webhook_deliveries_start), started_at, duration_ms, status (HTTP status or null), response_excerpt, error, retry_after_seconds (Retry-After or null)}], and decides: answers [{message_id, outcome, retry_after_seconds, reason}] in order. delivered (2xx); retry after the schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h for job attempts 1..7; Retry-After of a 502/503/504, clamped to 1 s..24 h); throttled (429: Retry-After, else the schedule; the job core gives the attempt back, within the queue''s throttle limit); failed (job attempt 8, or the endpoint was disabled meanwhile); endpoint_disabled (410 Gone, or every attempt failed for 5 days: the endpoint is disabled with the reason, the message fails). An attempt recorded already is ignored (answered from the stored one). Failures set the endpoint''s failing_since, a success clears it; the endpoint row is written only when something changes. Service role only.';
revoke all on function public.webhook_deliveries_record(jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.webhook_deliveries_record(jsonb, timestamptz) to service_role;

-- =============================================================================================
-- Helpers of the management RPCs (webhooks_internal)
-- =============================================================================================

-- An endpoint as the API shows it: never a secret (nor its Vault id), nor the bucket's state.
create function webhooks_internal.endpoint_json(p_endpoint public.webhook_endpoints) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case when p_endpoint.id is not null then jsonb_build_object(
    'id', p_endpoint.id, 'url', p_endpoint.url, 'description', p_endpoint.description,
    'event_types', to_jsonb(p_endpoint.event_types),
    'rate_limit_per_second', p_endpoint.rate_limit_per_second, 'enabled', p_endpoint.enabled,
    'disabled_at', p_endpoint.disabled_at, 'disabled_reason', p_endpoint.disabled_reason,
    'failing_since', p_endpoint.failing_since,
    'previous_secret_expires_at', p_endpoint.previous_secret_expires_at,
    'created_by', p_endpoint.created_by, 'created_at', p_endpoint.created_at,
    'updated_at', p_endpoint.updated_at) end
$$;
comment on function webhooks_internal.endpoint_json(public.webhook_endpoints) is
  'An endpoint as JSON {id, url, description, event_types, rate_limit_per_second, enabled, disabled_at, disabled_reason, failing_since, previous_secret_expires_at, created_by, created_at, updated_at}: no secret, no Vault id, no rate-limit bucket. Null for no row.';
revoke all on function webhooks_internal.endpoint_json(public.webhook_endpoints) from public, anon, authenticated;

-- An endpoint's message counts (the endpoint list).
create function webhooks_internal.endpoint_counts(p_endpoint_id uuid, p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'pending', (select count(*) from public.webhook_messages m
                where m.endpoint_id = p_endpoint_id and m.status = 'pending'),
    'failed', (select count(*) from public.webhook_messages m
               where m.endpoint_id = p_endpoint_id and m.status = 'failed'),
    'delivered_24h', (select count(*) from public.webhook_messages m
                      where m.endpoint_id = p_endpoint_id and m.status = 'delivered'
                        and m.delivered_at >= p_now - interval '24 hours'))
$$;
comment on function webhooks_internal.endpoint_counts(uuid, timestamptz) is
  'An endpoint''s messages {pending, failed, delivered_24h (delivered in the 24 hours before p_now)}.';
revoke all on function webhooks_internal.endpoint_counts(uuid, timestamptz) from public, anon, authenticated;

-- A message as the API shows it; with its attempts when asked.
create function webhooks_internal.message_json(p_message public.webhook_messages, p_with_attempts boolean default true)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select case when p_message.id is not null then jsonb_build_object(
    'id', p_message.id, 'event_id', p_message.event_id, 'endpoint_id', p_message.endpoint_id,
    'event_type', p_message.event_type, 'payload', p_message.payload, 'subject', p_message.subject,
    'status', p_message.status, 'attempt_count', p_message.attempts,
    'last_attempt_at', p_message.last_attempt_at,
    'last_response_status', p_message.last_response_status,
    'delivered_at', p_message.delivered_at, 'failed_at', p_message.failed_at,
    'failure_reason', p_message.failure_reason, 'job_id', p_message.job_id,
    'created_at', p_message.created_at)
    || case when p_with_attempts then jsonb_build_object('attempts', coalesce((
         select jsonb_agg(jsonb_build_object(
                  'attempt', a.attempt, 'started_at', a.started_at, 'duration_ms', a.duration_ms,
                  'response_status', a.response_status, 'response_excerpt', a.response_excerpt,
                  'error', a.error, 'outcome', a.outcome, 'next_attempt_at', a.next_attempt_at)
                order by a.attempt)
         from public.webhook_attempts a where a.message_id = p_message.id), '[]'::jsonb))
       else '{}'::jsonb end
  end
$$;
comment on function webhooks_internal.message_json(public.webhook_messages, boolean) is
  'A message as JSON {id (the webhook-id), event_id, endpoint_id, event_type, payload, subject, status, attempt_count, last_attempt_at, last_response_status, delivered_at, failed_at, failure_reason, job_id, created_at}, with attempts: [{attempt, started_at, duration_ms, response_status, response_excerpt, error, outcome, next_attempt_at}] in order when p_with_attempts. Null for no row.';
revoke all on function webhooks_internal.message_json(public.webhook_messages, boolean) from public, anon, authenticated;

-- An endpoint, locked, or P0002.
create function webhooks_internal.lock_endpoint(p_id uuid) returns public.webhook_endpoints
language plpgsql
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
begin
  select * into v_endpoint from public.webhook_endpoints e where e.id = p_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('Webhook endpoint %s not found', p_id);
  end if;
  return v_endpoint;
end
$$;
comment on function webhooks_internal.lock_endpoint(uuid) is
  'Locks endpoint p_id (FOR UPDATE) and returns it; raises P0002 "Webhook endpoint <id> not found".';
revoke all on function webhooks_internal.lock_endpoint(uuid) from public, anon, authenticated;

-- Field checks of the management RPCs: 22023 naming the field.
create function webhooks_internal.check_endpoint_fields(
  p_url text,
  p_description text,
  p_event_types text[],
  p_rate_limit_per_second int
) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_url is null or p_url !~ '^https?://[^\s/?#]+' or p_url ~ '\s' or char_length(p_url) > 2048 then
    raise exception using errcode = '22023',
      message = format('url must be an http:// or https:// URL of at most 2048 characters without spaces, got %s',
                       coalesce('"' || left(p_url, 100) || '"', 'null'));
  end if;
  if p_description is null or char_length(p_description) > 500 then
    raise exception using errcode = '22023',
      message = format('description must be a text of at most 500 characters, got %s',
                       coalesce(char_length(p_description) || ' characters', 'null'));
  end if;
  if p_event_types is not null then
    if cardinality(p_event_types) not between 1 and 50 or array_ndims(p_event_types) <> 1 then
      raise exception using errcode = '22023',
        message = format('event_types must list 1 to 50 event types (or be null for every type), got %s',
                         cardinality(p_event_types));
    end if;
    if not webhooks_internal.are_event_types(p_event_types) then
      raise exception using errcode = '22023',
        message = format('event_types must be lower-case names with dots like ticket.overdue, got %s',
                         (select string_agg(coalesce('"' || t || '"', 'null'), ', ') from unnest(p_event_types) t
                          where not webhooks_internal.is_event_type(t)));
    end if;
  end if;
  if p_rate_limit_per_second is not null and p_rate_limit_per_second not between 1 and 10000 then
    raise exception using errcode = '22023',
      message = format('rate_limit_per_second must be between 1 and 10000 (or null: unlimited), got %s',
                       p_rate_limit_per_second);
  end if;
end
$$;
comment on function webhooks_internal.check_endpoint_fields(text, text, text[], int) is
  'Raises 22023 naming the field when url (http(s), at most 2048 characters), description (at most 500), event_types (null, or 1 to 50 names like ticket.overdue) or rate_limit_per_second (null or 1..10000) is invalid.';
revoke all on function webhooks_internal.check_endpoint_fields(text, text, text[], int) from public, anon, authenticated;

-- A secret given by an admin, or 22023.
create function webhooks_internal.check_secret(p_secret text) returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  if not webhooks_internal.secret_is_valid(p_secret) then
    raise exception using errcode = '22023',
      message = 'secret must be whsec_ followed by the base64 of 24 to 64 bytes';
  end if;
  return p_secret;
end
$$;
comment on function webhooks_internal.check_secret(text) is
  'Returns p_secret when it is whsec_ + base64 of 24 to 64 bytes; raises 22023 otherwise (without echoing it).';
revoke all on function webhooks_internal.check_secret(text) from public, anon, authenticated;

-- Sends messages again (replay, recover): pending, a new job each (same webhook-id).
create function webhooks_internal.requeue(p_message_ids text[], p_now timestamptz default now()) returns int
language plpgsql
set search_path = ''
as $$
declare
  v_ids text[];
  v_jobs jsonb;
  v_job_ids bigint[];
begin
  with requeued as (
    update public.webhook_messages m
    set status = 'pending', delivered_at = null, failed_at = null, failure_reason = null
    where m.id = any (p_message_ids)
    returning m.id, m.endpoint_id
  )
  select array_agg(r.id order by r.id),
         jsonb_agg(jsonb_build_object('payload', jsonb_build_object('message_id', r.id),
                                      'subject', 'endpoint:' || r.endpoint_id,
                                      'dedupe_key', r.id) order by r.id)
    into v_ids, v_jobs
  from requeued r;
  if v_ids is null then
    return 0;
  end if;
  select array_agg(j.id order by j.ord) into v_job_ids
  from jobs.enqueue_many('webhooks', v_jobs, p_now, 'replay') with ordinality as j(id, ord);
  -- By primary key (= any): a join with unnest() may be planned as a scan of every message.
  update public.webhook_messages m set job_id = v_job_ids[array_position(v_ids, m.id)]
  where m.id = any (v_ids);
  return cardinality(v_ids);
end
$$;
comment on function webhooks_internal.requeue(text[], timestamptz) is
  'Sets messages p_message_ids back to pending and enqueues a new job for each (subject endpoint:<id>, dedupe key the message id: the webhook-id stays). The callers check that none has an unfinished job. Returns how many.';
revoke all on function webhooks_internal.requeue(text[], timestamptz) from public, anon, authenticated;

-- =============================================================================================
-- Management RPCs (admins: authenticated with app_metadata.role = admin)
-- =============================================================================================

create function public.webhook_endpoints_list() returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform webhooks_internal.require_admin();
  return coalesce((
    select jsonb_agg(webhooks_internal.endpoint_json(e)
                     || jsonb_build_object('counts', webhooks_internal.endpoint_counts(e.id))
                     order by e.created_at, e.id)
    from public.webhook_endpoints e), '[]'::jsonb);
end
$$;
comment on function public.webhook_endpoints_list() is
  'Every endpoint (oldest first), as webhooks_internal.endpoint_json shows it (never a secret), with counts {pending, failed, delivered_24h}. Admins only (42501).';
revoke all on function public.webhook_endpoints_list() from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoints_list() to authenticated;

create function public.webhook_endpoint_get(p_id uuid) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
begin
  perform webhooks_internal.require_admin();
  select * into v_endpoint from public.webhook_endpoints e where e.id = p_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('Webhook endpoint %s not found', p_id);
  end if;
  return webhooks_internal.endpoint_json(v_endpoint)
         || jsonb_build_object('counts', webhooks_internal.endpoint_counts(p_id));
end
$$;
comment on function public.webhook_endpoint_get(uuid) is
  'One endpoint (never a secret) with counts {pending, failed, delivered_24h}. P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_get(uuid) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_get(uuid) to authenticated;

create function public.webhook_endpoint_create(
  p_url text,
  p_description text default '',
  p_event_types text[] default null,
  p_rate_limit_per_second int default null,
  p_secret text default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid := gen_random_uuid();
  v_secret text;
  v_endpoint public.webhook_endpoints;
begin
  perform webhooks_internal.require_admin();
  perform webhooks_internal.check_endpoint_fields(p_url, coalesce(p_description, ''), p_event_types,
                                                  p_rate_limit_per_second);
  v_secret := case when p_secret is null then webhooks_internal.new_secret()
                   else webhooks_internal.check_secret(p_secret) end;
  insert into public.webhook_endpoints (id, url, description, event_types, rate_limit_per_second,
                                        secret_id, created_by)
  values (v_id, p_url, coalesce(p_description, ''), p_event_types, p_rate_limit_per_second,
          webhooks_internal.store_secret(v_secret, v_id), auth.uid())
  returning * into v_endpoint;
  return webhooks_internal.endpoint_json(v_endpoint) || jsonb_build_object('secret', v_secret);
end
$$;
comment on function public.webhook_endpoint_create(text, text, text[], int, text) is
  'Creates an endpoint (enabled) and returns it with its secret, generated (whsec_ + base64 of 32 random bytes) unless p_secret is given (whsec_ + base64 of 24 to 64 bytes). The secret goes to Vault. 22023 naming the invalid field; admins only (42501).';
revoke all on function public.webhook_endpoint_create(text, text, text[], int, text) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_create(text, text, text[], int, text) to authenticated;

create function public.webhook_endpoint_update(p_id uuid, p_changes jsonb) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_unknown text;
  v_url text;
  v_description text;
  v_event_types text[];
  v_rate int;
begin
  perform webhooks_internal.require_admin();
  if jsonb_typeof(p_changes) is distinct from 'object' then
    raise exception using errcode = '22023',
      message = 'changes must be a JSON object with some of url, description, event_types, rate_limit_per_second';
  end if;
  select string_agg(k, ', ' order by k) into v_unknown
  from jsonb_object_keys(p_changes) k
  where k not in ('url', 'description', 'event_types', 'rate_limit_per_second');
  if v_unknown is not null then
    raise exception using errcode = '22023',
      message = format('Unknown field(s) in the changes of webhook endpoint %s: %s (url, description, event_types, rate_limit_per_second expected)',
                       p_id, v_unknown);
  end if;
  v_endpoint := webhooks_internal.lock_endpoint(p_id);

  v_url := v_endpoint.url;
  if p_changes ? 'url' then
    if jsonb_typeof(p_changes -> 'url') is distinct from 'string' then
      raise exception using errcode = '22023', message = 'url must be a string';
    end if;
    v_url := p_changes ->> 'url';
  end if;
  v_description := v_endpoint.description;
  if p_changes ? 'description' then
    if jsonb_typeof(p_changes -> 'description') not in ('string', 'null') then
      raise exception using errcode = '22023', message = 'description must be a string (null clears it)';
    end if;
    v_description := coalesce(p_changes ->> 'description', '');
  end if;
  v_event_types := v_endpoint.event_types;
  if p_changes ? 'event_types' then
    if jsonb_typeof(p_changes -> 'event_types') = 'null' then
      v_event_types := null;
    elsif jsonb_typeof(p_changes -> 'event_types') = 'array'
          and not exists (select from jsonb_array_elements(p_changes -> 'event_types') t
                          where jsonb_typeof(t) <> 'string') then
      v_event_types := array(select jsonb_array_elements_text(p_changes -> 'event_types'));
    else
      raise exception using errcode = '22023',
        message = 'event_types must be an array of strings (null: every event type)';
    end if;
  end if;
  v_rate := v_endpoint.rate_limit_per_second;
  if p_changes ? 'rate_limit_per_second' then
    if jsonb_typeof(p_changes -> 'rate_limit_per_second') = 'null' then
      v_rate := null;
    elsif jsonb_typeof(p_changes -> 'rate_limit_per_second') = 'number'
          and (p_changes ->> 'rate_limit_per_second')::numeric between 1 and 10000
          and (p_changes ->> 'rate_limit_per_second')::numeric % 1 = 0 then
      v_rate := (p_changes ->> 'rate_limit_per_second')::int;
    else
      raise exception using errcode = '22023',
        message = format('rate_limit_per_second must be an integer between 1 and 10000 (null: unlimited), got %s',
                         p_changes -> 'rate_limit_per_second');
    end if;
  end if;
  perform webhooks_internal.check_endpoint_fields(v_url, v_description, v_event_types, v_rate);

  update public.webhook_endpoints e
  set url = v_url, description = v_description, event_types = v_event_types,
      rate_limit_per_second = v_rate,
      rate_tokens = case when v_rate is distinct from e.rate_limit_per_second then null else e.rate_tokens end,
      rate_refilled_at = case when v_rate is distinct from e.rate_limit_per_second then null else e.rate_refilled_at end,
      updated_at = now()
  where e.id = p_id
  returning * into v_endpoint;
  return webhooks_internal.endpoint_json(v_endpoint);
end
$$;
comment on function public.webhook_endpoint_update(uuid, jsonb) is
  'Changes an endpoint: p_changes holds some of url, description (null: empty), event_types (null: every type), rate_limit_per_second (null: unlimited; a change refills the bucket). Returns the endpoint (never a secret). 22023 naming the invalid or unknown field, P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_update(uuid, jsonb) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_update(uuid, jsonb) to authenticated;

create function public.webhook_endpoint_enable(p_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
begin
  perform webhooks_internal.require_admin();
  v_endpoint := webhooks_internal.lock_endpoint(p_id);
  if not v_endpoint.enabled or v_endpoint.failing_since is not null then
    update public.webhook_endpoints e
    set enabled = true, disabled_at = null, disabled_reason = null, failing_since = null,
        updated_at = now()
    where e.id = p_id
    returning * into v_endpoint;
  end if;
  return webhooks_internal.endpoint_json(v_endpoint);
end
$$;
comment on function public.webhook_endpoint_enable(uuid) is
  'Enables an endpoint: clears disabled_at, disabled_reason and failing_since (the 5-day count starts again). Its failed messages stay failed: webhook_endpoint_recover sends them again. Returns the endpoint. P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_enable(uuid) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_enable(uuid) to authenticated;

create function public.webhook_endpoint_disable(p_id uuid, p_reason text default 'Disabled by an admin')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_reason text := coalesce(nullif(btrim(p_reason), ''), 'Disabled by an admin');
begin
  perform webhooks_internal.require_admin();
  if char_length(v_reason) > 500 then
    raise exception using errcode = '22023',
      message = format('reason must be at most 500 characters, got %s', char_length(v_reason));
  end if;
  v_endpoint := webhooks_internal.lock_endpoint(p_id);
  if v_endpoint.enabled then
    update public.webhook_endpoints e
    set enabled = false, disabled_at = now(), disabled_reason = v_reason, updated_at = now()
    where e.id = p_id
    returning * into v_endpoint;
  end if;
  return webhooks_internal.endpoint_json(v_endpoint);
end
$$;
comment on function public.webhook_endpoint_disable(uuid, text) is
  'Disables an endpoint with a reason (default "Disabled by an admin"; at most 500 characters): it gets no new messages and its pending ones fail at their next attempt ("endpoint disabled: <reason>"). An endpoint disabled already keeps its reason. Returns the endpoint. P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_disable(uuid, text) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_disable(uuid, text) to authenticated;

create function public.webhook_endpoint_delete(p_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform webhooks_internal.require_admin();
  perform webhooks_internal.lock_endpoint(p_id);
  delete from public.webhook_endpoints e where e.id = p_id;
  return jsonb_build_object('deleted', true, 'id', p_id);
end
$$;
comment on function public.webhook_endpoint_delete(uuid) is
  'Deletes an endpoint, its messages and attempts, and its Vault secrets (trigger webhook_endpoints_delete_secrets); jobs still queued for its messages find them gone and stop. Returns {deleted: true, id}. P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_delete(uuid) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_delete(uuid) to authenticated;

create function public.webhook_endpoint_secret(p_id uuid) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_now timestamptz := now();
begin
  perform webhooks_internal.require_admin();
  select * into v_endpoint from public.webhook_endpoints e where e.id = p_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('Webhook endpoint %s not found', p_id);
  end if;
  return jsonb_build_object(
    'secret', (select s.decrypted_secret from vault.decrypted_secrets s where s.id = v_endpoint.secret_id),
    'previous_secret', case when v_endpoint.previous_secret_expires_at > v_now then
      (select s.decrypted_secret from vault.decrypted_secrets s where s.id = v_endpoint.previous_secret_id) end,
    'previous_secret_expires_at', case when v_endpoint.previous_secret_expires_at > v_now
                                       then v_endpoint.previous_secret_expires_at end);
end
$$;
comment on function public.webhook_endpoint_secret(uuid) is
  'An endpoint''s signing secrets: {secret, previous_secret, previous_secret_expires_at} (previous ones only while they still sign). P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_secret(uuid) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_secret(uuid) to authenticated;

create function public.webhook_endpoint_rotate_secret(p_id uuid, p_secret text default null) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_secret text;
  v_expires timestamptz := now() + interval '24 hours';
begin
  perform webhooks_internal.require_admin();
  v_secret := case when p_secret is null then webhooks_internal.new_secret()
                   else webhooks_internal.check_secret(p_secret) end;
  v_endpoint := webhooks_internal.lock_endpoint(p_id);
  if v_endpoint.previous_secret_id is not null then
    delete from vault.secrets s where s.id = v_endpoint.previous_secret_id;
  end if;
  update public.webhook_endpoints e
  set previous_secret_id = e.secret_id, previous_secret_expires_at = v_expires,
      secret_id = webhooks_internal.store_secret(v_secret, p_id), updated_at = now()
  where e.id = p_id;
  return jsonb_build_object('secret', v_secret, 'previous_secret_expires_at', v_expires);
end
$$;
comment on function public.webhook_endpoint_rotate_secret(uuid, text) is
  'Gives an endpoint a new secret (generated, or p_secret: whsec_ + base64 of 24 to 64 bytes); the old one keeps signing alongside it for 24 hours (an earlier previous secret is deleted from Vault). Returns {secret, previous_secret_expires_at}. 22023 for an invalid secret, P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_rotate_secret(uuid, text) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_rotate_secret(uuid, text) to authenticated;

create function public.webhook_endpoint_test(p_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_event_id text := 'evt_test_' || replace(gen_random_uuid()::text, '-', '');
  v_message public.webhook_messages;
begin
  perform webhooks_internal.require_admin();
  v_endpoint := webhooks_internal.lock_endpoint(p_id);
  if not v_endpoint.enabled then
    raise exception using errcode = '22023',
      message = format('Webhook endpoint %s is disabled (%s): enable it before sending a test event',
                       p_id, v_endpoint.disabled_reason);
  end if;
  perform webhooks_internal.publish(
    'webhook.test',
    jsonb_build_object('message', 'Test event from the workshop', 'endpoint_id', p_id, 'sent_by', auth.uid()),
    v_event_id, null, p_id, now());
  select * into v_message from public.webhook_messages m
  where m.event_id = v_event_id and m.endpoint_id = p_id;
  return webhooks_internal.message_json(v_message);
end
$$;
comment on function public.webhook_endpoint_test(uuid) is
  'Sends a webhook.test event to one endpoint, subscribed to the type or not (data {message: "Test event from the workshop", endpoint_id, sent_by: the admin''s user id}). Returns the message (pending, with its job). 22023 when the endpoint is disabled, P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_test(uuid) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_test(uuid) to authenticated;

create function public.webhook_endpoint_messages(
  p_id uuid,
  p_status text default null,
  p_limit int default 50,
  p_before timestamptz default null
) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform webhooks_internal.require_admin();
  if p_status is not null and p_status not in ('pending', 'delivered', 'failed') then
    raise exception using errcode = '22023',
      message = format('status must be pending, delivered or failed, got "%s"', p_status);
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception using errcode = '22023', message = format('limit must be between 1 and 500, got %s', p_limit);
  end if;
  perform from public.webhook_endpoints e where e.id = p_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('Webhook endpoint %s not found', p_id);
  end if;
  return coalesce((
    select jsonb_agg(webhooks_internal.message_json(m) order by m.created_at desc, m.id desc)
    from (select * from public.webhook_messages m
          where m.endpoint_id = p_id
            and (p_status is null or m.status = p_status)
            and (p_before is null or m.created_at < p_before)
          order by m.created_at desc, m.id desc
          limit p_limit) m), '[]'::jsonb);
end
$$;
comment on function public.webhook_endpoint_messages(uuid, text, int, timestamptz) is
  'An endpoint''s messages, newest first, with their attempts: status p_status (pending, delivered, failed; null: all), created before p_before (paging), at most p_limit (1..500). 22023 for an invalid status or limit, P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_messages(uuid, text, int, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_messages(uuid, text, int, timestamptz) to authenticated;

create function public.webhook_message_get(p_message_id text) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_message public.webhook_messages;
begin
  perform webhooks_internal.require_admin();
  select * into v_message from public.webhook_messages m where m.id = p_message_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('Webhook message %s not found', p_message_id);
  end if;
  return webhooks_internal.message_json(v_message);
end
$$;
comment on function public.webhook_message_get(text) is
  'One message with its attempts. P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_message_get(text) from public, anon, authenticated, service_role;
grant execute on function public.webhook_message_get(text) to authenticated;

create function public.webhook_message_replay(p_message_id text) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_message public.webhook_messages;
  v_endpoint public.webhook_endpoints;
  v_job jobs.jobs;
begin
  perform webhooks_internal.require_admin();
  select e.* into v_endpoint
  from public.webhook_endpoints e
  where e.id = (select m.endpoint_id from public.webhook_messages m where m.id = p_message_id)
  for no key update;
  select * into v_message from public.webhook_messages m where m.id = p_message_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('Webhook message %s not found', p_message_id);
  end if;
  select * into v_job from jobs.jobs j
  where j.id = v_message.job_id and j.state in ('waiting', 'running', 'retrying');
  if found then
    raise exception using errcode = '22023',
      message = format('Webhook message %s is still being delivered (job %s is %s, attempt %s of %s): replay it once it has finished',
                       p_message_id, v_job.id, v_job.state, v_job.attempts, v_job.max_attempts);
  end if;
  if not v_endpoint.enabled then
    raise exception using errcode = '22023',
      message = format('Webhook endpoint %s of message %s is disabled (%s): enable it before replaying',
                       v_endpoint.id, p_message_id, v_endpoint.disabled_reason);
  end if;
  perform webhooks_internal.requeue(array[p_message_id], now());
  select * into v_message from public.webhook_messages m where m.id = p_message_id;
  return webhooks_internal.message_json(v_message);
end
$$;
comment on function public.webhook_message_replay(text) is
  'Sends a message again (delivered or failed): back to pending with a new job, the same webhook-id. Returns the message. 22023 while a job of it is unfinished or its endpoint is disabled, P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_message_replay(text) from public, anon, authenticated, service_role;
grant execute on function public.webhook_message_replay(text) to authenticated;

create function public.webhook_endpoint_recover(p_id uuid, p_since timestamptz) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_ids text[];
begin
  perform webhooks_internal.require_admin();
  if p_since is null then
    raise exception using errcode = '22023', message = 'since must be a timestamp (messages created at or after it are recovered)';
  end if;
  v_endpoint := webhooks_internal.lock_endpoint(p_id);
  if not v_endpoint.enabled then
    raise exception using errcode = '22023',
      message = format('Webhook endpoint %s is disabled (%s): enable it before recovering its messages',
                       p_id, v_endpoint.disabled_reason);
  end if;
  select array_agg(m.id order by m.id) into v_ids
  from (select m.id from public.webhook_messages m
        where m.endpoint_id = p_id and m.status = 'failed' and m.created_at >= p_since
          and not exists (select from jobs.jobs j
                          where j.id = m.job_id and j.state in ('waiting', 'running', 'retrying'))
        order by m.id
        for update of m) m;
  return jsonb_build_object('recovered', coalesce(webhooks_internal.requeue(v_ids, now()), 0));
end
$$;
comment on function public.webhook_endpoint_recover(uuid, timestamptz) is
  'Sends again every failed message of an endpoint created at or after p_since (each back to pending with a new job, the same webhook-id). Returns {recovered: n}. 22023 when since is missing or the endpoint is disabled, P0002 when unknown; admins only (42501).';
revoke all on function public.webhook_endpoint_recover(uuid, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.webhook_endpoint_recover(uuid, timestamptz) to authenticated;
