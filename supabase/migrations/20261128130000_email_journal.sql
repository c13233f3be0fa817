-- Email provider: the write-ahead journal of requests to Resend.
--
-- The email sender (supabase/functions/_shared/providers/email/sender.ts) batches the emails of
-- concurrent jobs into one request under one Idempotency-Key. Before a request leaves, the sender
-- journals it here (public.email_journal_open: its key, its exact JSON body, its emails' keys),
-- in a transaction of its own that commits before the request is sent. When a job later sends an
-- email that belongs to a journalled request not settled yet (its answer was lost: a killed
-- worker, a timeout, a restarted database before the outcome was recorded), the sender re-sends
-- that request verbatim, same key and same body, and Resend answers it with the original answer
-- instead of sending again; without the journal the retried emails would be grouped into other
-- batches under other keys and sent twice.
--
-- A request is settled when its answer came back and every caller kept its outcomes: the sender
-- passes the keys of settled requests along with the next request it journals, and their rows
-- are deleted. Rows older than Resend's 24-hour idempotency window are useless (a replay would
-- be sent again): public.email_journal_prune(), run hourly by the pg_cron job
-- email-journal-retention, deletes them, and lookups ignore them.

-- =============================================================================================
-- Schema and table (providers_internal: not exposed by the API)
-- =============================================================================================

create schema if not exists providers_internal;
comment on schema providers_internal is
  'Internal state of the providers (email sending through Resend): the journal of requests. Not exposed by the API; reached through the public email_journal_* functions.';
revoke all on schema providers_internal from public;
alter default privileges in schema providers_internal revoke execute on functions from public;

create table providers_internal.email_requests (
  request_key text primary key check (request_key <> '' and length(request_key) <= 256),
  body text not null check (body <> ''),
  email_keys text[] not null check (cardinality(email_keys) between 1 and 100),
  created_at timestamptz not null default now()
);
comment on table providers_internal.email_requests is
  'Requests to Resend journalled before they left and not settled yet: a retry of one of their emails re-sends the request verbatim (same Idempotency-Key, same body) so that Resend answers with the original answer. Deleted when settled, or by public.email_journal_prune() after 24 hours.';
comment on column providers_internal.email_requests.request_key is
  'The request''s Idempotency-Key: an email''s own key for a request of one email, batch:<sha256 of the sorted email keys> for a batch.';
comment on column providers_internal.email_requests.body is
  'The request body exactly as sent (JSON text): an array of emails for POST /emails/batch, one email object for POST /emails.';
comment on column providers_internal.email_requests.email_keys is
  'The keys of the request''s emails, in the order of the body (the order of the answer''s ids).';
comment on column providers_internal.email_requests.created_at is
  'When the request was journalled: Resend remembers its key for 24 hours from then.';

-- Lookups by any of the emails' keys.
create index email_requests_email_keys on providers_internal.email_requests using gin (email_keys);
comment on index providers_internal.email_requests_email_keys is
  'Finds the journalled requests that hold any of a set of email keys (&&).';
create index email_requests_created_at on providers_internal.email_requests (created_at);
comment on index providers_internal.email_requests_created_at is
  'Serves the retention (public.email_journal_prune).';

revoke all on table providers_internal.email_requests from public, anon, authenticated, service_role;

-- =============================================================================================
-- Callable functions (public, service role only)
-- =============================================================================================

-- Journals a request before it leaves, unless one of its emails is in an unsettled request.
create function public.email_journal_open(
  p_request_key text,
  p_body text,
  p_email_keys text[],
  p_settled_keys text[] default '{}',
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_journalled jsonb;
  v_inserted text;
begin
  if coalesce(p_request_key, '') = '' or coalesce(p_body, '') = ''
     or coalesce(cardinality(p_email_keys), 0) = 0 then
    raise exception using errcode = '22023',
      message = 'email_journal_open needs a request key, a body and the keys of its emails';
  end if;
  if cardinality(p_email_keys) > 100
     or exists (select from unnest(p_email_keys) k where coalesce(k, '') = '') then
    raise exception using errcode = '22023',
      message = format('Request %s: between 1 and 100 non-empty email keys are needed, got %s',
                       p_request_key, cardinality(p_email_keys));
  end if;
  perform p_body::json;

  -- Settled requests need no replay any more.
  delete from providers_internal.email_requests r
  where r.request_key = any(coalesce(p_settled_keys, '{}'));

  -- One opening at a time: two workers never journal the same email in two requests.
  perform pg_advisory_xact_lock(hashtextextended('providers_internal.email_requests', 0));

  select jsonb_agg(jsonb_build_object('request_key', r.request_key, 'body', r.body,
                                      'email_keys', to_jsonb(r.email_keys))
                   order by r.created_at, r.request_key)
  into v_journalled
  from providers_internal.email_requests r
  where r.email_keys && p_email_keys
    and r.created_at > p_now - interval '24 hours';
  if v_journalled is not null then
    return jsonb_build_object('recorded', false, 'journalled', v_journalled);
  end if;

  -- A key journalled more than 24 hours ago is free again on Resend: replace its row.
  insert into providers_internal.email_requests as r (request_key, body, email_keys, created_at)
  values (p_request_key, p_body, p_email_keys, p_now)
  on conflict (request_key) do update
    set body = excluded.body, email_keys = excluded.email_keys, created_at = excluded.created_at
    where r.created_at <= p_now - interval '24 hours'
  returning r.request_key into v_inserted;
  if v_inserted is null then
    -- The same key with other emails is still journalled (not possible with keys derived from
    -- the emails, but never send two bodies under one key): replay the journalled one.
    select jsonb_agg(jsonb_build_object('request_key', r.request_key, 'body', r.body,
                                        'email_keys', to_jsonb(r.email_keys)))
    into v_journalled
    from providers_internal.email_requests r
    where r.request_key = p_request_key;
    return jsonb_build_object('recorded', false, 'journalled', v_journalled);
  end if;
  return jsonb_build_object('recorded', true, 'journalled', '[]'::jsonb);
end
$$;
comment on function public.email_journal_open(text, text, text[], text[], timestamptz) is
  'Called by the email sender before a request to Resend leaves. Deletes the settled requests p_settled_keys, then: when any of p_email_keys belongs to a request journalled in the last 24 hours, returns those requests ({recorded: false, journalled: [{request_key, body, email_keys}]}) for the sender to re-send verbatim, and journals nothing; otherwise journals this request and returns {recorded: true, journalled: []}. Service role only.';
revoke all on function public.email_journal_open(text, text, text[], text[], timestamptz) from public, anon, authenticated;
grant execute on function public.email_journal_open(text, text, text[], text[], timestamptz) to service_role;

-- Settles requests on their own (the sender passes them to email_journal_open instead).
create function public.email_journal_settle(p_request_keys text[])
returns int
language sql
security definer
set search_path = ''
as $$
  with settled as (
    delete from providers_internal.email_requests r
    where r.request_key = any(coalesce(p_request_keys, '{}'))
    returning 1
  )
  select count(*)::int from settled
$$;
comment on function public.email_journal_settle(text[]) is
  'Settles journalled requests: their answers came back and their outcomes are kept, so they need no replay; deletes their rows and returns how many there were. Service role only.';
revoke all on function public.email_journal_settle(text[]) from public, anon, authenticated;
grant execute on function public.email_journal_settle(text[]) to service_role;

-- Retention: Resend forgets a key after 24 hours, and so does the journal.
create function public.email_journal_prune(p_now timestamptz default now())
returns int
language sql
security definer
set search_path = ''
as $$
  with pruned as (
    delete from providers_internal.email_requests r
    where r.created_at <= p_now - interval '24 hours'
    returning 1
  )
  select count(*)::int from pruned
$$;
comment on function public.email_journal_prune(timestamptz) is
  'Deletes journalled requests older than Resend''s 24-hour idempotency window (a replay would be sent again) and returns how many. Run hourly by the pg_cron job email-journal-retention. Service role only.';
revoke all on function public.email_journal_prune(timestamptz) from public, anon, authenticated;
grant execute on function public.email_journal_prune(timestamptz) to service_role;

-- =============================================================================================
-- Cron
-- =============================================================================================

select cron.schedule('email-journal-retention', '41 * * * *', 'select public.email_journal_prune()');
