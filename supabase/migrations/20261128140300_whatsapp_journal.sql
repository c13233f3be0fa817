-- WhatsApp provider, part 4 of 4: the journal of outgoing WhatsApp messages.
--
-- Evolution has no idempotency key: a request to POST /message/sendText whose answer was lost
-- may or may not have sent the message. The WhatsApp sender
-- (supabase/functions/_shared/providers/whatsapp/sender.ts) opens a journal row under the send's
-- own key before the request leaves (public.whatsapp_send_open, a transaction of its own) and
-- settles it with the answer (public.whatsapp_send_settle). A retried job that sends the same key
-- again learns what happened: sent (skip), failed for good (skip), or still "sending" (the answer
-- was lost). In that last case Evolution's own send.message webhook, stored by
-- public.whatsapp_webhook_receive, tells whether the message left: a send.message event of that
-- instance, to that number, with that text, since the row was opened settles it as sent.
-- Without such an event the message is sent again: at least once, never silently lost.

-- =============================================================================================
-- Table (providers_internal: not exposed by the API)
-- =============================================================================================

create schema if not exists providers_internal;

create table providers_internal.whatsapp_sends (
  send_key text primary key check (send_key <> '' and length(send_key) <= 256),
  instance_name text not null check (instance_name <> ''),
  number text not null check (number <> ''),
  text text not null,
  state text not null default 'sending' check (state in ('sending', 'sent', 'failed')),
  message_id text,
  attempts int not null default 1 check (attempts >= 1),
  opened_at timestamptz not null default now(),
  sent_at timestamptz,
  error text,
  updated_at timestamptz not null default now(),
  constraint whatsapp_sends_sent_has_time check ((state = 'sent') = (sent_at is not null))
);
alter table providers_internal.whatsapp_sends enable row level security;
comment on table providers_internal.whatsapp_sends is
  'One row per WhatsApp message sent through Evolution, under the send''s own key: sending (the request left, no answer kept yet) → sent | failed. A retried send of a key learns what happened (see public.whatsapp_send_open).';
comment on column providers_internal.whatsapp_sends.number is 'The recipient''s number as given to Evolution.';
comment on column providers_internal.whatsapp_sends.attempts is 'Requests sent under this key (more than one: an answer was lost).';
comment on column providers_internal.whatsapp_sends.opened_at is
  'When the last request was journalled: send.message events since then can settle it.';
comment on column providers_internal.whatsapp_sends.message_id is 'Evolution''s (WhatsApp''s) id of the message sent.';

revoke all on table providers_internal.whatsapp_sends from public, anon, authenticated, service_role;

-- =============================================================================================
-- Callable functions (public, service role only)
-- =============================================================================================

create function public.whatsapp_send_open(
  p_send_key text,
  p_instance text,
  p_number text,
  p_text text,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_send providers_internal.whatsapp_sends;
  v_message_id text;
  v_found boolean;
begin
  if coalesce(p_send_key, '') = '' or coalesce(p_instance, '') = '' or coalesce(p_number, '') = ''
     or p_text is null then
    raise exception using errcode = '22023',
      message = format('whatsapp_send_open needs a key, an instance, a number and a text (send %s)', p_send_key);
  end if;
  insert into providers_internal.whatsapp_sends as s
    (send_key, instance_name, number, text, opened_at, updated_at)
  values (p_send_key, p_instance, p_number, p_text, p_now, p_now)
  on conflict (send_key) do nothing
  returning s.* into v_send;
  if v_send.send_key is not null then
    return jsonb_build_object('state', 'send', 'message_id', null);
  end if;

  select * into v_send from providers_internal.whatsapp_sends s where s.send_key = p_send_key for update;
  if v_send.state in ('sent', 'failed') then
    return jsonb_build_object('state', v_send.state, 'message_id', v_send.message_id);
  end if;

  -- Still sending: the last answer was lost. Did Evolution report the message as sent?
  select true, e.payload -> 'data' -> 'key' ->> 'id'
    into v_found, v_message_id
  from public.evolution_webhook_events e
  where e.instance_name = v_send.instance_name and e.event = 'send.message'
    and e.received_at >= v_send.opened_at
    and whatsapp_internal.digits(e.payload -> 'data' -> 'key' ->> 'remoteJid')
        = whatsapp_internal.digits(v_send.number)
    and coalesce(e.payload -> 'data' -> 'message' ->> 'conversation',
                 e.payload -> 'data' -> 'message' -> 'extendedTextMessage' ->> 'text') = v_send.text
  order by e.received_at, e.id
  limit 1;
  if v_found then
    update providers_internal.whatsapp_sends s
    set state = 'sent', message_id = coalesce(v_message_id, s.message_id), sent_at = p_now,
        error = null, updated_at = p_now
    where s.send_key = p_send_key;
    return jsonb_build_object('state', 'sent', 'message_id', v_message_id);
  end if;
  update providers_internal.whatsapp_sends s
  set attempts = s.attempts + 1, opened_at = p_now, updated_at = p_now
  where s.send_key = p_send_key;
  return jsonb_build_object('state', 'send', 'message_id', null);
end
$$;
comment on function public.whatsapp_send_open(text, text, text, text, timestamptz) is
  'Called by the WhatsApp sender before a message leaves: {state, message_id}. A new key is journalled (sending) → send. A sent key → sent (skip, with its message id); a failed one → failed. A key still sending (its answer was lost): when a send.message event of that instance to that number with that text arrived since it was opened, it is marked sent → sent; otherwise attempts + 1 → send (at least once). Service role only.';
revoke all on function public.whatsapp_send_open(text, text, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_send_open(text, text, text, text, timestamptz) to service_role;

create function public.whatsapp_send_settle(
  p_send_key text,
  p_state text,
  p_message_id text default null,
  p_error text default null,
  p_now timestamptz default now()
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_state is null or p_state not in ('sent', 'failed', 'unknown') then
    raise exception using errcode = '22023',
      message = format('Unknown outcome "%s" for WhatsApp send %s: sent, failed or unknown expected', p_state, p_send_key);
  end if;
  update providers_internal.whatsapp_sends s
  set state = case when p_state = 'unknown' then s.state else p_state end,
      message_id = case when p_state = 'sent' then coalesce(p_message_id, s.message_id) else s.message_id end,
      sent_at = case when p_state = 'sent' then p_now else s.sent_at end,
      error = case when p_state = 'sent' then null else coalesce(p_error, s.error) end,
      updated_at = p_now
  where s.send_key = p_send_key and s.state = 'sending';
  if not found and not exists (select from providers_internal.whatsapp_sends s where s.send_key = p_send_key) then
    raise exception using errcode = 'P0002', message = format('WhatsApp send %s was never opened', p_send_key);
  end if;
end
$$;
comment on function public.whatsapp_send_settle(text, text, text, text, timestamptz) is
  'Records the answer of a journalled send: sent (message id, sent_at = p_now), failed (p_error; for good), unknown (the answer was lost: stays sending, p_error kept). A send already settled is left as it is. Raises P0002 for a key never opened. Service role only.';
revoke all on function public.whatsapp_send_settle(text, text, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_send_settle(text, text, text, text, timestamptz) to service_role;

-- =============================================================================================
-- Retention
-- =============================================================================================

create index whatsapp_sends_updated_at_idx on providers_internal.whatsapp_sends (updated_at);
comment on index providers_internal.whatsapp_sends_updated_at_idx is
  'Serves the retention (public.whatsapp_journal_prune).';

create function public.whatsapp_journal_prune(p_now timestamptz default now())
returns int
language sql
security definer
set search_path = ''
as $$
  with pruned as (
    delete from providers_internal.whatsapp_sends s
    where s.updated_at < p_now - interval '30 days'
    returning 1
  )
  select count(*)::int from pruned
$$;
comment on function public.whatsapp_journal_prune(timestamptz) is
  'Deletes journalled sends untouched for 30 days and returns how many. No job retries that long (attempts, backoff and the 24-hour throttle limit end well before), so a key is remembered for as long as a send of it can come again. Run daily by the pg_cron job whatsapp-journal-retention. Service role only.';
revoke all on function public.whatsapp_journal_prune(timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_journal_prune(timestamptz) to service_role;

select cron.schedule('whatsapp-journal-retention', '17 3 * * *', 'select public.whatsapp_journal_prune()');
