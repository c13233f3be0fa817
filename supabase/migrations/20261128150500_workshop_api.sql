-- The maintenance workshop, part 2 of 3: the overdue rule and what it publishes. Helpers in
-- workshop_internal (the settings row, the rule itself, the ticket.overdue payload), the
-- callable function workshop_check_overdue (service role: the edge function check-overdue,
-- run by the pg_cron job of part 3), and two views for operators: overdue_tickets (what the
-- next check would announce) and ticket_notification_story (what became of each notification).
--
-- The rule: a ticket is overdue at p_now when scheduled_date < p_now, its status is one of
-- workshop_settings.overdue_statuses, it is assigned, and no notification of it has a window
-- [notified_at, next_allowed_at) containing p_now. Each overdue ticket gets one notification
-- row and one ticket.overdue event in the webhook engine (one message per subscribed endpoint),
-- in the same transaction: the notification's exclusion constraint makes a second one within
-- the window impossible, even from two checks running at once.

-- =============================================================================================
-- Helpers (workshop_internal)
-- =============================================================================================

-- The settings row.
create function workshop_internal.settings() returns public.workshop_settings
language plpgsql
stable
set search_path = ''
as $$
declare
  v_settings public.workshop_settings;
begin
  select * into v_settings from public.workshop_settings s where s.id;
  if not found then
    raise exception using errcode = '55000',
      message = 'public.workshop_settings has no row: insert one (insert into public.workshop_settings default values)';
  end if;
  return v_settings;
end
$$;
comment on function workshop_internal.settings() is 'The single row of public.workshop_settings (raises 55000 when it is missing).';
revoke all on function workshop_internal.settings() from public, anon, authenticated;

-- A text cut to fit an event: at most p_chars characters and p_json_bytes bytes once written as
-- a JSON string (quotes, control characters and multi-byte letters count); a cut text ends
-- with "…".
create function workshop_internal.clip(p_text text, p_chars int, p_json_bytes int) returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_text text := p_text;
  v_cut boolean := false;
begin
  if v_text is null then
    return null;
  end if;
  if length(v_text) > p_chars then
    v_text := left(v_text, p_chars - 1);
    v_cut := true;
  end if;
  while octet_length(to_jsonb(v_text)::text) + 3 > p_json_bytes loop
    v_text := left(v_text, length(v_text) * 3 / 4);
    v_cut := true;
  end loop;
  return case when v_cut then v_text || '…' else v_text end;
end
$$;
comment on function workshop_internal.clip(text, int, int) is
  'p_text cut to at most p_chars characters and p_json_bytes bytes as a JSON string, ending with … when cut; null for null.';
revoke all on function workshop_internal.clip(text, int, int) from public, anon, authenticated;

-- How many endpoints a ticket.overdue event reaches now.
create function workshop_internal.subscriber_count() returns int
language sql
stable
set search_path = ''
as $$
  select count(*)::int from public.webhook_endpoints e
  where e.enabled and (e.event_types is null or 'ticket.overdue' = any (e.event_types))
$$;
comment on function workshop_internal.subscriber_count() is
  'The enabled webhook endpoints subscribed to ticket.overdue (event_types null or containing it).';
revoke all on function workshop_internal.subscriber_count() from public, anon, authenticated;

/*
 * The overdue rule, in one query: the tickets to announce at p_now, most overdue first, at
 * most p_limit (null: all). Served by the partial index tickets_overdue (the literal status
 * list repeats its predicate, which the settings' statuses are a subset of) and by
 * webhook_notifications_open_windows. Security definer so that overdue_tickets shows members the
 * truth (they do not read webhook_notifications); it returns ticket ids only.
 */
create function workshop_internal.due_tickets(p_now timestamptz, p_limit int default null)
returns table (ticket_id bigint, overdue_by interval)
language sql
stable
security definer
-- Overdue tickets are few: without this the planner expects 1000 rows and joins the view's
-- tickets by scanning them all (57 ms instead of 5 over 100,000 tickets).
rows 100
set search_path = ''
as $$
  select t.id, p_now - t.scheduled_date
  from public.tickets t
  where t.assigned_to is not null
    and t.scheduled_date is not null
    and t.status in ('received', 'diagnostic', 'in_progress', 'waiting_parts')
    and t.status = any ((select s.overdue_statuses from public.workshop_settings s where s.id)::text[])
    and t.scheduled_date < p_now
    and not exists (
      select from public.webhook_notifications n
      where n.ticket_id = t.id and n.next_allowed_at > p_now and n.notified_at <= p_now
    )
  order by t.scheduled_date, t.id
  limit p_limit
$$;
comment on function workshop_internal.due_tickets(timestamptz, int) is
  'The overdue rule: tickets with scheduled_date < p_now, a status in workshop_settings.overdue_statuses, assigned, and no notification whose window [notified_at, next_allowed_at) contains p_now; most overdue first, at most p_limit (null: all). Returns (ticket_id, overdue_by = p_now - scheduled_date).';
revoke all on function workshop_internal.due_tickets(timestamptz, int) from public, anon, authenticated;

/*
 * The data of a ticket.overdue event: the ticket, its machine, the assignee and how late it
 * is. Texts are capped so that the whole body stays well under the engine's 20 KB (the
 * description: 4000 characters, 8000 bytes as JSON).
 */
create function workshop_internal.overdue_event_data(
  p_ticket public.tickets,
  p_machine public.machines,
  p_assignee public.workshop_users,
  p_now timestamptz
) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'ticket', jsonb_build_object(
      'id', p_ticket.id,
      'title', p_ticket.title,
      'description', workshop_internal.clip(p_ticket.description, 4000, 8000),
      'status', p_ticket.status,
      'priority', p_ticket.priority,
      'scheduled_date', webhooks_internal.iso(p_ticket.scheduled_date),
      'created_at', webhooks_internal.iso(p_ticket.created_at)),
    'machine', case when p_machine.id is not null then jsonb_build_object(
      'id', p_machine.id,
      'name', p_machine.name,
      'machine_type', p_machine.machine_type,
      'location', p_machine.location) end,
    'assignee', case when p_assignee.id is not null then jsonb_build_object(
      'id', p_assignee.id,
      'full_name', p_assignee.full_name,
      'email', p_assignee.email,
      'role', p_assignee.role) end,
    'overdue_by_seconds', floor(extract(epoch from p_now - p_ticket.scheduled_date))::bigint,
    'notified_at', webhooks_internal.iso(p_now))
$$;
comment on function workshop_internal.overdue_event_data(public.tickets, public.machines, public.workshop_users, timestamptz) is
  'The data of a ticket.overdue event: {ticket: {id, title, description (≤ 4000 characters, cut with …), status, priority, scheduled_date, created_at}, machine: {id, name, machine_type, location}, assignee: {id, full_name, email, role}, overdue_by_seconds, notified_at} (times ISO 8601 UTC).';
revoke all on function workshop_internal.overdue_event_data(public.tickets, public.machines, public.workshop_users, timestamptz) from public, anon, authenticated;

-- =============================================================================================
-- Callable functions
-- =============================================================================================

create function public.workshop_check_overdue(p_now timestamptz default now(), p_limit int default 1000)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.workshop_settings := workshop_internal.settings();
  v_subscribers int;
  v_ids bigint[];
  v_overdue_by interval[];
  v_row record;
  v_messages int;
  v_notified int := 0;
  v_total_messages int := 0;
begin
  if p_now is null then
    raise exception using errcode = '22023', message = 'workshop_check_overdue: p_now must not be null';
  end if;
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception using errcode = '22023',
      message = format('workshop_check_overdue: p_limit must be between 1 and 10000 (got %s)', coalesce(p_limit::text, 'null'));
  end if;

  select coalesce(array_agg(d.ticket_id order by d.ticket_id), '{}'),
         coalesce(array_agg(d.overdue_by order by d.ticket_id), '{}')
    into v_ids, v_overdue_by
  from workshop_internal.due_tickets(p_now, p_limit) d;

  v_subscribers := workshop_internal.subscriber_count();
  if v_subscribers = 0 or cardinality(v_ids) = 0 then
    return jsonb_build_object(
      'overdue', cardinality(v_ids), 'notified', 0, 'messages', 0, 'subscribers', v_subscribers,
      'checked_at', webhooks_internal.iso(p_now),
      'reason', case when v_subscribers = 0
                     then 'No enabled webhook endpoint subscribes to ticket.overdue: nothing recorded'
                     else 'No ticket is overdue' end);
  end if;

  -- In ticket order, so that two checks at once take the tickets in the same order: the later
  -- one waits for the earlier one's notification of a ticket, then skips it (never a deadlock).
  for v_row in
    with inserted as (
      insert into public.webhook_notifications as n
        (ticket_id, notified_at, next_allowed_at, overdue_by, endpoint_count)
      select d.ticket_id, p_now, p_now + v_settings.repeat_interval, d.overdue_by, v_subscribers
      from unnest(v_ids, v_overdue_by) as d(ticket_id, overdue_by)
      order by d.ticket_id
      on conflict do nothing
      returning n.id, n.ticket_id, n.event_id
    )
    select i.id, i.ticket_id, i.event_id,
           workshop_internal.overdue_event_data(t, m, u, p_now) as data
    from inserted i
    join public.tickets t on t.id = i.ticket_id
    left join public.machines m on m.id = t.machine_id
    left join public.workshop_users u on u.id = t.assigned_to
    order by i.ticket_id
  loop
    v_messages := webhooks_internal.publish(
      'ticket.overdue', v_row.data, v_row.event_id, 'ticket:' || v_row.ticket_id, null, p_now);
    if v_messages <> v_subscribers then
      update public.webhook_notifications n set endpoint_count = v_messages where n.id = v_row.id;
    end if;
    v_notified := v_notified + 1;
    v_total_messages := v_total_messages + v_messages;
  end loop;

  return jsonb_build_object(
    'overdue', cardinality(v_ids), 'notified', v_notified, 'messages', v_total_messages,
    'subscribers', v_subscribers, 'checked_at', webhooks_internal.iso(p_now));
end
$$;
comment on function public.workshop_check_overdue(timestamptz, int) is
  'Announces the overdue tickets (workshop_internal.due_tickets: scheduled_date < p_now, status in workshop_settings.overdue_statuses, assigned, not notified within the repeat interval), at most p_limit (1..10000), most overdue first: one webhook_notifications row each (next_allowed_at = p_now + repeat_interval; a ticket another check notified meanwhile is skipped) and one ticket.overdue event in the webhook engine (one message per enabled endpoint subscribed). When no endpoint subscribes, records nothing. Returns {overdue, notified, messages, subscribers, checked_at, reason?}. Raises 22023 for a null p_now or a p_limit out of range. Service role only (the function check-overdue).';
revoke all on function public.workshop_check_overdue(timestamptz, int) from public, anon, authenticated;
grant execute on function public.workshop_check_overdue(timestamptz, int) to service_role;

-- =============================================================================================
-- Operators' views (security invoker: admins read them through RLS, the SQL editor everything)
-- =============================================================================================

create view public.overdue_tickets with (security_invoker = true) as
select t.id, t.title, t.status, t.priority, t.scheduled_date, d.overdue_by,
       t.machine_id, m.name as machine_name, m.machine_type, m.location as machine_location,
       t.assigned_to, u.full_name as assignee_name, u.email as assignee_email
from workshop_internal.due_tickets(now()) d
join public.tickets t on t.id = d.ticket_id
left join public.machines m on m.id = t.machine_id
left join public.workshop_users u on u.id = t.assigned_to;
comment on view public.overdue_tickets is
  'The tickets the overdue rule selects now, most overdue first: what the next check-overdue run announces (tickets notified within the repeat interval are not here: see ticket_notification_story).';

create view public.ticket_notification_story with (security_invoker = true) as
select n.ticket_id, t.title, n.id as notification_id, n.notified_at, n.overdue_by,
       n.next_allowed_at, n.event_id, msg.endpoint_id, e.url as endpoint_url,
       msg.id as message_id, msg.status, msg.attempts, msg.last_attempt_at,
       msg.last_response_status, msg.delivered_at, msg.failed_at, msg.failure_reason
from public.webhook_notifications n
join public.tickets t on t.id = n.ticket_id
left join public.webhook_messages msg on msg.event_id = n.event_id
left join public.webhook_endpoints e on e.id = msg.endpoint_id;
comment on view public.ticket_notification_story is
  'Each notification of each ticket, one row per endpoint it went to (message id = webhook-id, delivery status, attempts, last response status, delivered or failed when); a notification whose messages are gone (endpoint deleted) shows once with nulls. Filter by ticket_id, order by notified_at.';

revoke all on public.overdue_tickets, public.ticket_notification_story from anon, authenticated;
grant select on public.overdue_tickets, public.ticket_notification_story to authenticated, service_role;
-- overdue_tickets reads the rule through workshop_internal.due_tickets as its reader.
grant execute on function workshop_internal.due_tickets(timestamptz, int) to authenticated, service_role;
grant usage on schema workshop_internal to service_role;
