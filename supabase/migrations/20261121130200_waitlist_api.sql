-- Waitlist, part 2 of 3: the functions. Helpers in waitlist_internal (owner only: called by the
-- functions below, the triggers and the cron jobs), then the callable functions in public
-- (service role only, through supabase-js .rpc()). Each is followed by its comment and grants.
-- Lock order, everywhere: an offer (appointment_slot_offers) before its invitations
-- (slot_offer_invitations). A path that starts from an invitation locks its offer first.

-- =============================================================================================
-- Helpers (waitlist_internal)
-- =============================================================================================

-- The settings row.
create function waitlist_internal.settings() returns public.waitlist_settings
language plpgsql
stable
set search_path = ''
as $$
declare
  v_settings public.waitlist_settings;
begin
  select * into v_settings from public.waitlist_settings s where s.id;
  if not found then
    raise exception using errcode = '55000',
      message = 'public.waitlist_settings has no row: insert one (insert into public.waitlist_settings default values)';
  end if;
  return v_settings;
end
$$;
comment on function waitlist_internal.settings() is 'The single row of public.waitlist_settings.';
revoke all on function waitlist_internal.settings() from public, anon, authenticated;

-- A new link token: 32 random bytes, base64url without padding (43 characters).
create function waitlist_internal.new_link_token() returns text
language sql
volatile
set search_path = ''
as $$
  select rtrim(translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/', '-_'), '=')
$$;
comment on function waitlist_internal.new_link_token() is
  'A random link token: 256 bits, base64url, 43 characters.';
revoke all on function waitlist_internal.new_link_token() from public, anon, authenticated;

-- The hash under which a link token is stored.
create function waitlist_internal.token_hash(p_token text) returns bytea
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.sha256(convert_to(coalesce(p_token, ''), 'UTF8'))
$$;
comment on function waitlist_internal.token_hash(text) is 'SHA-256 of a link token.';
revoke all on function waitlist_internal.token_hash(text) from public, anon, authenticated;

-- When a wave due at p_at may go: at p_at, or at the end of the quiet hours when p_at falls in
-- them — unless the offer closes (p_closes_at) before that morning, then at p_at.
create function waitlist_internal.after_quiet_hours(
  p_at timestamptz,
  p_closes_at timestamptz,
  p_settings public.waitlist_settings
) returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
  v_local timestamp := p_at at time zone p_settings.clinic_time_zone;
  v_time time := v_local::time;
  v_start time := p_settings.quiet_hours_start;
  v_end time := p_settings.quiet_hours_end;
  v_until timestamp;
  v_result timestamptz;
begin
  if v_start is null or v_end is null or v_start = v_end then
    return p_at;
  end if;
  if v_start < v_end then
    if v_time >= v_start and v_time < v_end then v_until := v_local::date + v_end; end if;
  elsif v_time >= v_start then
    v_until := (v_local::date + 1) + v_end;
  elsif v_time < v_end then
    v_until := v_local::date + v_end;
  end if;
  if v_until is null then
    return p_at;
  end if;
  v_result := v_until at time zone p_settings.clinic_time_zone;
  if p_closes_at is not null and v_result >= p_closes_at then
    return p_at;
  end if;
  return v_result;
end
$$;
comment on function waitlist_internal.after_quiet_hours(timestamptz, timestamptz, public.waitlist_settings) is
  'p_at, or the end of the quiet hours when p_at falls in them (clinic time), unless the offer closes first.';
revoke all on function waitlist_internal.after_quiet_hours(timestamptz, timestamptz, public.waitlist_settings) from public, anon, authenticated;

-- Appends one row to waitlist_trigger_logs.
create function waitlist_internal.log(
  p_trigger_type text,
  p_status text,
  p_message text,
  p_slot_offer_id uuid default null,
  p_appointment_id uuid default null,
  p_invitation_id uuid default null,
  p_error_message text default null,
  p_retry_count int default 0,
  p_details jsonb default '{}',
  p_now timestamptz default now()
) returns void
language sql
set search_path = ''
as $$
  insert into public.waitlist_trigger_logs
    (trigger_type, status, message, slot_offer_id, appointment_id, invitation_id, error_message,
     retry_count, details, created_at)
  values (p_trigger_type, p_status, p_message, p_slot_offer_id, p_appointment_id, p_invitation_id,
          p_error_message, greatest(coalesce(p_retry_count, 0), 0), coalesce(p_details, '{}'), p_now)
$$;
comment on function waitlist_internal.log(text, text, text, uuid, uuid, uuid, text, int, jsonb, timestamptz) is
  'Writes one waitlist_trigger_logs row.';
revoke all on function waitlist_internal.log(text, text, text, uuid, uuid, uuid, text, int, jsonb, timestamptz) from public, anon, authenticated;

-- What emails and pages show about an offer's slot (both names of the appointment type).
create function waitlist_internal.slot_json(p_offer_id uuid) returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'starts_at', o.starts_at,
    'ends_at', o.ends_at,
    'time_zone', s.clinic_time_zone,
    'clinic_name', s.clinic_name,
    'practitioner_name', p.full_name,
    'appointment_type', t.name,
    'appointment_type_en', coalesce(t.name_en, t.name)
  )
  from public.appointment_slot_offers o
  join public.practitioners p on p.id = o.practitioner_id
  join public.appointment_types t on t.id = o.appointment_type_id
  cross join waitlist_internal.settings() s
  where o.id = p_offer_id
$$;
comment on function waitlist_internal.slot_json(uuid) is
  'The slot of an offer as JSON: starts_at, ends_at, time_zone, clinic_name, practitioner_name, appointment_type, appointment_type_en.';
revoke all on function waitlist_internal.slot_json(uuid) from public, anon, authenticated;

-- Closes an open offer: expired (its open invitations expire) or withdrawn (they are
-- withdrawn). Does nothing to an offer that is no longer open. Filling is waitlist_respond's job.
create function waitlist_internal.close_offer(
  p_offer_id uuid,
  p_status text,
  p_reason text,
  p_now timestamptz default now()
) returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_invitations int;
begin
  if p_status not in ('expired', 'withdrawn') then
    raise exception using errcode = '22023', message = format('Cannot close an offer as "%s"', p_status);
  end if;
  update public.appointment_slot_offers o
  set status = p_status, closed_at = p_now, closed_reason = p_reason, next_wave_at = null,
      updated_at = p_now
  where o.id = p_offer_id and o.status = 'open';
  if not found then
    return false;
  end if;
  update public.slot_offer_invitations i
  set status = case p_status when 'expired' then 'expired' else 'withdrawn' end,
      pending_token = null, updated_at = p_now
  where i.slot_offer_id = p_offer_id and i.status in ('pending', 'sent');
  get diagnostics v_invitations = row_count;
  perform waitlist_internal.log(
    'offer_closed', 'success', format('Offer %s: %s', p_status, p_reason),
    p_slot_offer_id => p_offer_id,
    p_details => jsonb_build_object('status', p_status, 'open_invitations_closed', v_invitations),
    p_now => p_now);
  return true;
end
$$;
comment on function waitlist_internal.close_offer(uuid, text, text, timestamptz) is
  'Closes an open offer as expired or withdrawn, with its open invitations; logs it. Returns false when the offer was not open.';
revoke all on function waitlist_internal.close_offer(uuid, text, text, timestamptz) from public, anon, authenticated;

-- Opens the slot offer of a cancelled appointment, or says why not (already past, inside the
-- cutoff, an offer already open). Enqueues the first wave, after the quiet hours. Logs either way.
create function waitlist_internal.open_offer(p_appointment public.appointments, p_now timestamptz)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_settings public.waitlist_settings := waitlist_internal.settings();
  v_closes timestamptz := p_appointment.starts_at - v_settings.offer_cutoff;
  v_reason text;
  v_first timestamptz;
  v_offer_id uuid;
begin
  v_reason := case
    when p_appointment.starts_at <= p_now then 'the appointment time has passed'
    when v_closes <= p_now then
      format('the appointment starts within the cutoff (%s before its start)', v_settings.offer_cutoff)
    when exists (select from public.appointment_slot_offers o
                 where o.appointment_id = p_appointment.id and o.status = 'open')
      then 'an offer is already open for this appointment'
  end;
  if v_reason is not null then
    perform waitlist_internal.log(
      'cancellation', 'skipped', 'No slot offer: ' || v_reason,
      p_appointment_id => p_appointment.id,
      p_details => jsonb_build_object('starts_at', p_appointment.starts_at, 'closes_at', v_closes),
      p_now => p_now);
    return null;
  end if;

  v_first := waitlist_internal.after_quiet_hours(p_now, v_closes, v_settings);
  insert into public.appointment_slot_offers
    (appointment_id, cancelled_patient_id, practitioner_id, appointment_type_id, starts_at, ends_at,
     closes_at, next_wave_at, created_at, updated_at)
  values (p_appointment.id, p_appointment.patient_id, p_appointment.practitioner_id,
          p_appointment.appointment_type_id, p_appointment.starts_at, p_appointment.ends_at,
          v_closes, v_first, p_now, p_now)
  returning id into v_offer_id;

  perform jobs.enqueue(
    p_queue => 'waitlist',
    p_payload => jsonb_build_object('kind', 'offer_wave', 'slot_offer_id', v_offer_id, 'wave', 1),
    p_subject => 'slot_offer:' || v_offer_id,
    p_dedupe_key => 'slot_offer:' || v_offer_id || ':wave:1',
    p_run_at => v_first,
    p_now => p_now);

  perform waitlist_internal.log(
    'cancellation', 'success',
    case when v_first > p_now then 'Slot offer opened; first wave after the quiet hours'
         else 'Slot offer opened; first wave queued' end,
    p_slot_offer_id => v_offer_id,
    p_appointment_id => p_appointment.id,
    p_details => jsonb_build_object('first_wave_at', v_first, 'closes_at', v_closes),
    p_now => p_now);
  return v_offer_id;
end
$$;
comment on function waitlist_internal.open_offer(public.appointments, timestamptz) is
  'Opens the slot offer of a cancelled appointment and enqueues its first wave, or logs why not. Returns the offer id or null.';
revoke all on function waitlist_internal.open_offer(public.appointments, timestamptz) from public, anon, authenticated;

-- The state of an invitation as its link shows it: open (can be answered), already_answered,
-- already_taken, withdrawn, expired.
create function waitlist_internal.invitation_state(
  p_invitation public.slot_offer_invitations,
  p_offer public.appointment_slot_offers,
  p_now timestamptz
) returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_invitation.status in ('accepted', 'declined') then 'already_answered'
    when p_offer.status = 'filled' then 'already_taken'
    when p_offer.status = 'withdrawn' or p_invitation.status = 'withdrawn' then 'withdrawn'
    when p_offer.status = 'expired' or p_invitation.status in ('expired', 'failed')
      or p_invitation.expires_at <= p_now or p_offer.closes_at <= p_now then 'expired'
    else 'open'
  end
$$;
comment on function waitlist_internal.invitation_state(public.slot_offer_invitations, public.appointment_slot_offers, timestamptz) is
  'open | already_answered | already_taken | withdrawn | expired, for an invitation and its offer at p_now.';
revoke all on function waitlist_internal.invitation_state(public.slot_offer_invitations, public.appointment_slot_offers, timestamptz) from public, anon, authenticated;

-- The JSON a link's page is drawn from.
create function waitlist_internal.invitation_json(
  p_invitation public.slot_offer_invitations,
  p_state text,
  p_extra jsonb default '{}'
) returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'state', p_state,
    'invitation_id', p_invitation.id,
    'locale', p_invitation.locale,
    'patient_first_name', (select p.first_name from public.patients p where p.id = p_invitation.patient_id),
    'answer', case p_invitation.status when 'accepted' then 'accept' when 'declined' then 'decline' end,
    'expires_at', p_invitation.expires_at,
    'slot', waitlist_internal.slot_json(p_invitation.slot_offer_id)
  ) || coalesce(p_extra, '{}')
$$;
comment on function waitlist_internal.invitation_json(public.slot_offer_invitations, text, jsonb) is
  'Page data of an invitation: state, locale, first name, earlier answer, slot.';
revoke all on function waitlist_internal.invitation_json(public.slot_offer_invitations, text, jsonb) from public, anon, authenticated;

-- What process-cancellation needs to email an offer's pending invitations.
create function waitlist_internal.wave_json(p_offer_id uuid, p_wave int, p_note text) returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'slot_offer_id', o.id,
    'wave', p_wave,
    'offer_status', o.status,
    'note', p_note,
    'waves_sent', o.waves_sent,
    'next_wave_at', o.next_wave_at,
    'sender', s.sender,
    'public_base_url', s.public_base_url,
    'slot', waitlist_internal.slot_json(o.id),
    'invitations', coalesce((
      select jsonb_agg(jsonb_build_object(
               'invitation_id', i.id,
               'email', i.email,
               'locale', i.locale,
               'patient_first_name', p.first_name,
               'token', i.pending_token,
               'expires_at', i.expires_at,
               'send_attempts', i.send_attempts
             ) order by i.rank)
      from public.slot_offer_invitations i
      join public.patients p on p.id = i.patient_id
      where i.slot_offer_id = o.id and i.status = 'pending'
    ), '[]'::jsonb)
  )
  from public.appointment_slot_offers o
  cross join waitlist_internal.settings() s
  where o.id = p_offer_id
$$;
comment on function waitlist_internal.wave_json(uuid, int, text) is
  'The pending invitations of an offer with their plain tokens, the slot, sender and link base.';
revoke all on function waitlist_internal.wave_json(uuid, int, text) from public, anon, authenticated;

-- =============================================================================================
-- Callable functions (public, service role only)
-- =============================================================================================

-- The ranked candidates for an offer, with why each is eligible: the operators' tool as much as
-- the flow's. Walks the waitlist_candidates index in rank order and stops at p_limit. The
-- availability window, the filter that turns most entries away, is checked before the patient
-- is looked up, and the planner keeps that order (join_collapse_limit = 1); the query is planned
-- once per connection (a generic plan), since planning it at every call cost more than running
-- it. `bash scripts/bench.sh waitlist candidates` measures what each of these is worth.
create function public.get_eligible_waitlist_candidates(
  p_slot_offer_id uuid,
  p_limit int default null
)
returns table (
  rank int,
  waitlist_id uuid,
  patient_id uuid,
  patient_name text,
  email text,
  locale text,
  priority smallint,
  waiting_since timestamptz,
  practitioner_preference text,
  availability text,
  why text
)
language plpgsql
stable
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set join_collapse_limit = 1
as $$
declare
  v_offer public.appointment_slot_offers;
  v_tz text := (waitlist_internal.settings()).clinic_time_zone;
  v_local_start timestamp;
  v_local_end timestamp;
  v_weekday int;
  v_day date;
begin
  select * into v_offer from public.appointment_slot_offers o where o.id = p_slot_offer_id;
  if not found then
    raise no_data_found using message = format('Slot offer %s does not exist', p_slot_offer_id);
  end if;
  v_local_start := v_offer.starts_at at time zone v_tz;
  v_local_end := v_offer.ends_at at time zone v_tz;
  v_day := v_local_start::date;
  v_weekday := extract(isodow from v_local_start)::int;

  return query
  select (row_number() over (order by w.priority desc, w.created_at, w.id))::int,
         w.id, w.patient_id, p.first_name || ' ' || p.last_name, p.email, p.locale,
         w.priority, w.created_at,
         case when w.practitioner_id is null then 'any practitioner' else 'this practitioner' end,
         win.label,
         format('priority %s; waiting since %s; %s; available %s; dates %s to %s',
                w.priority, to_char(w.created_at at time zone v_tz, 'YYYY-MM-DD HH24:MI'),
                case when w.practitioner_id is null then 'any practitioner'
                     else 'asked for this practitioner' end,
                win.label, w.earliest_date, coalesce(w.latest_date::text, 'open-ended'))
  from public.waitlist w
  cross join lateral (
    select format('%s %s–%s',
                  (array['Mon','Tue','Wed','Thu','Fri','Sat','Sun'])[a.weekday],
                  to_char(a.start_time, 'HH24:MI'),
                  case when a.end_time = time '24:00' then '24:00' else to_char(a.end_time, 'HH24:MI') end)
           as label
    from public.waitlist_availability a
    where a.waitlist_id = w.id
      and (
        -- A window opening on the slot's local day, possibly running past midnight.
        (a.weekday = v_weekday
         and v_local_start >= v_day + a.start_time
         and v_local_end <= v_day + a.start_time
              + case when a.end_time > a.start_time then a.end_time - a.start_time
                     else a.end_time - a.start_time + interval '24 hours' end)
        -- An overnight window opened the evening before.
        or (a.end_time < a.start_time
            and a.weekday = (v_weekday + 5) % 7 + 1
            and v_local_end <= v_day + a.end_time)
      )
    order by a.id
    limit 1
  ) win
  join public.patients p on p.id = w.patient_id
  where w.appointment_type_id = v_offer.appointment_type_id
    and w.status = 'active'
    and w.consent_automated_notifications
    and (w.practitioner_id is null or w.practitioner_id = v_offer.practitioner_id)
    and w.earliest_date <= v_day
    and (w.latest_date is null or w.latest_date >= (v_local_end - interval '1 microsecond')::date)
    and p.email is not null
    and w.patient_id <> v_offer.cancelled_patient_id
    and not exists (
      select from public.appointments a
      where a.patient_id = w.patient_id and a.status <> 'cancelled'
        and a.starts_at < v_offer.ends_at and a.ends_at > v_offer.starts_at
    )
    and not exists (
      select from public.slot_offer_invitations i
      where i.slot_offer_id = v_offer.id and i.patient_id = w.patient_id
    )
  order by w.priority desc, w.created_at, w.id
  limit p_limit;
end
$$;
comment on function public.get_eligible_waitlist_candidates(uuid, int) is
  'Ranked waitlist candidates for a slot offer, with why each is eligible: active, consenting, with an email, same appointment type, this practitioner or any, the slot within the dates and an availability window (clinic time), no overlapping appointment, not the cancelling patient, not yet invited. Rank: priority (higher first), then longest waiting. p_limit null: all. Planned once per connection, joins in the written order.';
revoke all on function public.get_eligible_waitlist_candidates(uuid, int) from public, anon, authenticated;
grant execute on function public.get_eligible_waitlist_candidates(uuid, int) to service_role;

-- Opens wave p_wave of an offer (called by process-cancellation for an `offer_wave` job):
-- creates up to wave_size invitations for the best candidates, one per patient, and schedules
-- the next wave when the wave is full. A patient with several matching entries is ranked once
-- per entry, so the ranking is read further until the wave is full or has nobody left. Safe to
-- call again: invitations still waiting for their email are returned instead (with their
-- tokens), and a wave already opened creates nothing.
create function public.waitlist_open_wave(
  p_slot_offer_id uuid,
  p_wave int,
  p_attempt int default 1,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.waitlist_settings := waitlist_internal.settings();
  v_offer public.appointment_slot_offers;
  v_created int := 0;
  v_added int;
  v_ranked int;
  v_look int := v_settings.wave_size * 2;
  v_next timestamptz;
begin
  select * into v_offer from public.appointment_slot_offers o where o.id = p_slot_offer_id
  for no key update;
  if not found then
    raise no_data_found using message = format('Slot offer %s does not exist', p_slot_offer_id);
  end if;
  if v_offer.status = 'open' and v_offer.closes_at <= p_now then
    perform waitlist_internal.close_offer(v_offer.id, 'expired', 'the offer reached its cutoff', p_now);
    return waitlist_internal.wave_json(v_offer.id, p_wave, 'offer closed');
  end if;
  if v_offer.status <> 'open' then
    return waitlist_internal.wave_json(v_offer.id, p_wave, 'offer closed');
  end if;
  if exists (select from public.slot_offer_invitations i
             where i.slot_offer_id = v_offer.id and i.status = 'pending') then
    return waitlist_internal.wave_json(v_offer.id, p_wave, 'unsent invitations');
  end if;
  if p_wave <= v_offer.waves_sent then
    return waitlist_internal.wave_json(v_offer.id, p_wave, 'wave already opened');
  end if;

  -- One invitation per patient, and a patient with several matching entries is ranked once
  -- per entry: look at twice the wave size, and further while the wave is short and the ranking
  -- had more to give (already invited patients drop out of it).
  loop
    with ranked as materialized (
      select c.* from public.get_eligible_waitlist_candidates(v_offer.id, v_look) c
    ),
    best as (
      select distinct on (r.patient_id) r.*
      from ranked r
      order by r.patient_id, r.rank
    ),
    chosen as (
      select b.*, waitlist_internal.new_link_token() as token
      from best b
      order by b.rank
      limit v_settings.wave_size - v_created
    ),
    inserted as (
      insert into public.slot_offer_invitations
        (slot_offer_id, waitlist_id, patient_id, wave, rank, email, locale, token_hash,
         pending_token, expires_at, created_at, updated_at)
      select v_offer.id, c.waitlist_id, c.patient_id, p_wave, c.rank, c.email, c.locale,
             waitlist_internal.token_hash(c.token), c.token,
             least(p_now + v_settings.invitation_lifetime, v_offer.closes_at), p_now, p_now
      from chosen c
      on conflict (slot_offer_id, patient_id) do nothing
      returning 1
    )
    select (select count(*) from inserted), (select count(*) from ranked)
    into v_added, v_ranked;
    v_created := v_created + v_added;
    exit when v_created >= v_settings.wave_size or v_ranked < v_look;
    v_look := v_look * 4;
  end loop;

  -- A full wave means more candidates may wait: plan the next one (never in quiet hours
  -- unless the offer would close first, never after the cutoff).
  if v_created = v_settings.wave_size then
    v_next := waitlist_internal.after_quiet_hours(
      p_now + v_settings.wave_interval, v_offer.closes_at, v_settings);
    if v_next >= v_offer.closes_at then
      v_next := null;
    end if;
  end if;

  update public.appointment_slot_offers o
  set waves_sent = p_wave, invitation_count = o.invitation_count + v_created,
      last_wave_at = p_now, next_wave_at = v_next, updated_at = p_now
  where o.id = v_offer.id;

  if v_next is not null then
    perform jobs.enqueue(
      p_queue => 'waitlist',
      p_payload => jsonb_build_object('kind', 'offer_wave', 'slot_offer_id', v_offer.id, 'wave', p_wave + 1),
      p_subject => 'slot_offer:' || v_offer.id,
      p_dedupe_key => 'slot_offer:' || v_offer.id || ':wave:' || (p_wave + 1),
      p_run_at => v_next,
      p_now => p_now);
  end if;

  perform waitlist_internal.log(
    'wave', case when v_created > 0 then 'success' else 'skipped' end,
    case when v_created > 0 then format('Wave %s: %s invitation(s) created', p_wave, v_created)
         else format('Wave %s: no eligible candidate left', p_wave) end,
    p_slot_offer_id => v_offer.id,
    p_retry_count => p_attempt - 1,
    p_details => jsonb_build_object('wave', p_wave, 'invited', v_created, 'next_wave_at', v_next),
    p_now => p_now);

  -- Nobody left to invite and nobody left to answer: the offer is over.
  if v_next is null and not exists (
       select from public.slot_offer_invitations i
       where i.slot_offer_id = v_offer.id and i.status in ('pending', 'sent')) then
    perform waitlist_internal.close_offer(v_offer.id, 'expired', 'no eligible candidate left', p_now);
  end if;
  return waitlist_internal.wave_json(v_offer.id, p_wave, 'wave opened');
end
$$;
comment on function public.waitlist_open_wave(uuid, int, int, timestamptz) is
  'Opens wave p_wave of a slot offer: invitations for the best candidates, one per patient (returned with their plain tokens for the email), the next wave scheduled when the wave is full. Idempotent: returns the invitations still waiting for their email instead of creating more. Service role only.';
revoke all on function public.waitlist_open_wave(uuid, int, int, timestamptz) from public, anon, authenticated;
grant execute on function public.waitlist_open_wave(uuid, int, int, timestamptz) to service_role;

-- Records what Resend answered for invitation emails: p_results is an array of
-- {invitation_id, email_id} (accepted) or {invitation_id, error, permanent} (refused; permanent
-- marks the invitation failed). Accepted emails erase the plain token.
create function public.waitlist_record_invitation_emails(
  p_results jsonb,
  p_now timestamptz default now()
) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count int;
begin
  -- The offers before their invitations, as every path locks them (see
  -- waitlist_record_booking_email): the log rows' foreign keys take these locks anyway.
  perform from public.appointment_slot_offers o
  where o.id in (select i.slot_offer_id from public.slot_offer_invitations i
                 where i.id in (select (r ->> 'invitation_id')::uuid
                                from jsonb_array_elements(p_results) r))
  order by o.id
  for key share;
  with results as (
    select * from jsonb_to_recordset(p_results)
      as r(invitation_id uuid, email_id text, error text, permanent boolean)
  ),
  updated as (
    update public.slot_offer_invitations i
    set sent_at = case when r.email_id is not null then coalesce(i.sent_at, p_now) else i.sent_at end,
        email_id = coalesce(i.email_id, r.email_id),
        status = case
          when i.status <> 'pending' then i.status
          when r.email_id is not null then 'sent'
          when coalesce(r.permanent, false) then 'failed'
          else 'pending' end,
        pending_token = case
          when r.email_id is not null or coalesce(r.permanent, false) or i.status <> 'pending' then null
          else i.pending_token end,
        send_attempts = i.send_attempts + 1,
        last_error = case when r.email_id is null then r.error else i.last_error end,
        updated_at = p_now
    from results r
    where i.id = r.invitation_id
    returning i.id, i.slot_offer_id, i.send_attempts, i.status, r.email_id, r.error, r.permanent
  )
  insert into public.waitlist_trigger_logs
    (trigger_type, status, message, slot_offer_id, invitation_id, error_message, retry_count,
     details, created_at)
  select 'invitation_email',
         case when u.email_id is not null then 'success' else 'error' end,
         case when u.email_id is not null then 'Invitation email accepted by Resend'
              when coalesce(u.permanent, false) then 'Invitation email refused for good'
              else 'Invitation email failed; the job will retry' end,
         u.slot_offer_id, u.id, u.error, u.send_attempts - 1,
         jsonb_strip_nulls(jsonb_build_object('email_id', u.email_id, 'permanent', u.permanent,
                                              'invitation_status', u.status)),
         p_now
  from updated u;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function public.waitlist_record_invitation_emails(jsonb, timestamptz) is
  'Records Resend''s answers for invitation emails ([{invitation_id, email_id} | {invitation_id, error, permanent}]) and logs each. Returns the number recorded. Service role only.';
revoke all on function public.waitlist_record_invitation_emails(jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.waitlist_record_invitation_emails(jsonb, timestamptz) to service_role;

-- What a link shows, without changing anything (GET and HEAD: mail scanners open links).
create function public.waitlist_invitation_view(p_token text, p_now timestamptz default now())
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_invitation public.slot_offer_invitations;
  v_offer public.appointment_slot_offers;
begin
  select * into v_invitation from public.slot_offer_invitations i
  where i.token_hash = waitlist_internal.token_hash(p_token);
  if not found then
    return jsonb_build_object('state', 'unknown');
  end if;
  select * into v_offer from public.appointment_slot_offers o where o.id = v_invitation.slot_offer_id;
  return waitlist_internal.invitation_json(
    v_invitation, waitlist_internal.invitation_state(v_invitation, v_offer, p_now));
end
$$;
comment on function public.waitlist_invitation_view(text, timestamptz) is
  'Read-only: the state of the invitation behind a link token (open, already_answered, already_taken, withdrawn, expired, unknown) with its slot. Service role only.';
revoke all on function public.waitlist_invitation_view(text, timestamptz) from public, anon, authenticated;
grant execute on function public.waitlist_invitation_view(text, timestamptz) to service_role;

-- Answers an invitation. Accept books the slot, first come first served: the offer row is
-- locked, so of many simultaneous acceptances one books and the others see already_taken.
-- Booking creates the appointment, fills the offer, fulfils the waitlist entry, withdraws the
-- other open invitations and enqueues the confirmation email. The patient's calendar is checked
-- again first: an appointment booked elsewhere at that time since the invitation went out
-- answers time_conflict and books nothing. Decline records the answer; the patient stays on the
-- list. States returned: booked, declined, or why nothing changed.
create function public.waitlist_respond(
  p_token text,
  p_action text,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_invitation public.slot_offer_invitations;
  v_offer public.appointment_slot_offers;
  v_state text;
  v_appointment_id uuid;
begin
  if p_action is null or p_action not in ('accept', 'decline') then
    raise exception using errcode = '22023',
      message = format('Unknown answer "%s": use accept or decline', p_action);
  end if;
  select * into v_invitation from public.slot_offer_invitations i
  where i.token_hash = waitlist_internal.token_hash(p_token);
  if not found then
    return jsonb_build_object('state', 'unknown');
  end if;
  -- Locks in the order every path uses (offer, then its invitations): the offer lock makes
  -- simultaneous acceptances of one slot take turns, and the second sees it filled. NO KEY
  -- UPDATE (no key changes here) leaves the key-share locks of foreign keys pointing at the
  -- offer (log rows written by other transactions) free to go.
  select * into v_offer from public.appointment_slot_offers o
  where o.id = v_invitation.slot_offer_id
  for no key update;
  select * into v_invitation from public.slot_offer_invitations i
  where i.id = v_invitation.id
  for no key update;

  v_state := waitlist_internal.invitation_state(v_invitation, v_offer, p_now);
  if v_state <> 'open' then
    return waitlist_internal.invitation_json(v_invitation, v_state);
  end if;

  if p_action = 'decline' then
    update public.slot_offer_invitations i
    set status = 'declined', responded_at = p_now, pending_token = null, updated_at = p_now
    where i.id = v_invitation.id
    returning * into v_invitation;
    perform waitlist_internal.log(
      'response', 'success', 'Invitation declined; the patient stays on the waitlist',
      p_slot_offer_id => v_offer.id, p_invitation_id => v_invitation.id,
      p_details => jsonb_build_object('answer', 'decline'), p_now => p_now);
    -- The last open invitation declined and no wave planned: nothing can fill the slot.
    if v_offer.next_wave_at is null and not exists (
         select from public.slot_offer_invitations i
         where i.slot_offer_id = v_offer.id and i.status in ('pending', 'sent')) then
      perform waitlist_internal.close_offer(v_offer.id, 'expired', 'every invitation was answered or expired', p_now);
    end if;
    return waitlist_internal.invitation_json(v_invitation, 'declined');
  end if;

  -- The patient may have booked another appointment at that time since the invitation went
  -- out: nothing is booked, and the invitation stays open (they can decline it, or free the
  -- time and accept again while the slot lasts).
  if exists (
    select from public.appointments a
    where a.patient_id = v_invitation.patient_id and a.status <> 'cancelled'
      and a.starts_at < v_offer.ends_at and a.ends_at > v_offer.starts_at
  ) then
    perform waitlist_internal.log(
      'response', 'skipped', 'Acceptance refused: the patient has another appointment at that time',
      p_slot_offer_id => v_offer.id, p_invitation_id => v_invitation.id,
      p_details => jsonb_build_object('answer', 'accept'), p_now => p_now);
    return waitlist_internal.invitation_json(v_invitation, 'time_conflict');
  end if;

  begin
    insert into public.appointments
      (patient_id, practitioner_id, appointment_type_id, starts_at, ends_at, status, notes)
    values (v_invitation.patient_id, v_offer.practitioner_id, v_offer.appointment_type_id,
            v_offer.starts_at, v_offer.ends_at, 'confirmed',
            format('Booked from the waitlist (slot offer %s)', v_offer.id))
    returning id into v_appointment_id;
  exception when exclusion_violation then
    -- The practitioner's time was booked another way since the cancellation.
    perform waitlist_internal.close_offer(
      v_offer.id, 'withdrawn', 'the time was booked outside the waitlist', p_now);
    return waitlist_internal.invitation_json(v_invitation, 'already_taken');
  end;

  update public.appointment_slot_offers o
  set status = 'filled', filled_at = p_now, filled_appointment_id = v_appointment_id,
      filled_invitation_id = v_invitation.id, closed_at = p_now, closed_reason = 'booked',
      next_wave_at = null, updated_at = p_now
  where o.id = v_offer.id;
  update public.slot_offer_invitations i
  set status = 'accepted', responded_at = p_now, pending_token = null, updated_at = p_now
  where i.id = v_invitation.id
  returning * into v_invitation;
  update public.slot_offer_invitations i
  set status = 'withdrawn', pending_token = null, updated_at = p_now
  where i.slot_offer_id = v_offer.id and i.status in ('pending', 'sent');
  update public.waitlist w
  set status = 'fulfilled', fulfilled_at = p_now, fulfilled_appointment_id = v_appointment_id,
      updated_at = p_now
  where w.id = v_invitation.waitlist_id;

  perform jobs.enqueue(
    p_queue => 'waitlist',
    p_payload => jsonb_build_object('kind', 'booking_email', 'invitation_id', v_invitation.id),
    p_subject => 'appointment:' || v_appointment_id,
    p_dedupe_key => 'booking_email:' || v_appointment_id,
    p_now => p_now);
  perform waitlist_internal.log(
    'response', 'success', 'Invitation accepted; appointment booked',
    p_slot_offer_id => v_offer.id, p_appointment_id => v_appointment_id,
    p_invitation_id => v_invitation.id,
    p_details => jsonb_build_object('answer', 'accept'), p_now => p_now);
  return waitlist_internal.invitation_json(
    v_invitation, 'booked', jsonb_build_object('appointment_id', v_appointment_id));
end
$$;
comment on function public.waitlist_respond(text, text, timestamptz) is
  'Answers the invitation behind a link token with accept or decline. Accept books atomically (first come, first served) unless the patient has another appointment at that time. Returns {state: booked | declined | time_conflict | already_answered | already_taken | withdrawn | expired | unknown, ...page data}. Service role only.';
revoke all on function public.waitlist_respond(text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.waitlist_respond(text, text, timestamptz) to service_role;

-- What the confirmation email of a booking needs.
create function public.waitlist_booking_email(p_invitation_id uuid) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_invitation public.slot_offer_invitations;
begin
  select * into v_invitation from public.slot_offer_invitations i where i.id = p_invitation_id;
  if not found or v_invitation.status <> 'accepted' then
    raise no_data_found using message = format('Invitation %s does not exist or was not accepted', p_invitation_id);
  end if;
  return waitlist_internal.invitation_json(v_invitation, 'booked', jsonb_build_object(
    'email', v_invitation.email,
    'sender', (waitlist_internal.settings()).sender,
    'appointment_id', (select o.filled_appointment_id from public.appointment_slot_offers o
                       where o.id = v_invitation.slot_offer_id),
    'confirmation_email_id', v_invitation.confirmation_email_id));
end
$$;
comment on function public.waitlist_booking_email(uuid) is
  'Data of the booking confirmation email of an accepted invitation (recipient, locale, slot, sender; confirmation_email_id when already sent). Service role only.';
revoke all on function public.waitlist_booking_email(uuid) from public, anon, authenticated;
grant execute on function public.waitlist_booking_email(uuid) to service_role;

-- Records the confirmation email's outcome (email_id, or error).
create function public.waitlist_record_booking_email(
  p_invitation_id uuid,
  p_email_id text default null,
  p_error text default null,
  p_attempt int default 1,
  p_now timestamptz default now()
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_invitation public.slot_offer_invitations;
begin
  -- The offer before the invitation, as every path locks them: the log row's foreign key
  -- takes this key-share lock anyway, and taken after the invitation's it could wait for
  -- waitlist_respond, which holds the offer and waits for the invitation (40P01).
  perform from public.appointment_slot_offers o
  where o.id = (select i.slot_offer_id from public.slot_offer_invitations i
                where i.id = p_invitation_id)
  for key share;
  update public.slot_offer_invitations i
  set confirmation_email_id = coalesce(i.confirmation_email_id, p_email_id),
      confirmation_sent_at = case when p_email_id is not null
                                  then coalesce(i.confirmation_sent_at, p_now)
                                  else i.confirmation_sent_at end,
      updated_at = p_now
  where i.id = p_invitation_id
  returning * into v_invitation;
  if not found then
    raise no_data_found using message = format('Invitation %s does not exist', p_invitation_id);
  end if;
  perform waitlist_internal.log(
    'booking_email', case when p_email_id is not null then 'success' else 'error' end,
    case when p_email_id is not null then 'Booking confirmation accepted by Resend'
         else 'Booking confirmation failed' end,
    p_slot_offer_id => v_invitation.slot_offer_id, p_invitation_id => p_invitation_id,
    p_error_message => p_error, p_retry_count => p_attempt - 1,
    p_details => jsonb_strip_nulls(jsonb_build_object('email_id', p_email_id)), p_now => p_now);
end
$$;
comment on function public.waitlist_record_booking_email(uuid, text, text, int, timestamptz) is
  'Records the outcome of a booking confirmation email and logs it. Service role only.';
revoke all on function public.waitlist_record_booking_email(uuid, text, text, int, timestamptz) from public, anon, authenticated;
grant execute on function public.waitlist_record_booking_email(uuid, text, text, int, timestamptz) to service_role;

-- Closes what is due: invitations past their expiry, offers past their cutoff, and offers with
-- no wave planned and no invitation left open. Run every minute by the pg_cron job
-- waitlist-expire.
create function public.waitlist_expire_due(p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_invitations int;
  v_offers int := 0;
  v_offer record;
begin
  -- Offers are locked before their invitations, as every writer does (no deadlock).
  with due_offers as (
    select o.id from public.appointment_slot_offers o
    where o.id in (select i.slot_offer_id from public.slot_offer_invitations i
                   where i.status in ('pending', 'sent') and i.expires_at <= p_now)
    for no key update skip locked
  )
  update public.slot_offer_invitations i
  set status = 'expired', pending_token = null, updated_at = p_now
  from due_offers d
  where i.slot_offer_id = d.id and i.status in ('pending', 'sent') and i.expires_at <= p_now;
  get diagnostics v_invitations = row_count;

  for v_offer in
    select o.id, case when o.closes_at <= p_now then 'the offer reached its cutoff'
                      else 'no eligible candidate left and no invitation open' end as reason
    from public.appointment_slot_offers o
    where o.status = 'open'
      and (o.closes_at <= p_now
           or (o.next_wave_at is null and o.waves_sent > 0
               and not exists (select from public.slot_offer_invitations i
                               where i.slot_offer_id = o.id and i.status in ('pending', 'sent'))))
    for no key update skip locked
  loop
    if waitlist_internal.close_offer(v_offer.id, 'expired', v_offer.reason, p_now) then
      v_offers := v_offers + 1;
    end if;
  end loop;
  return jsonb_build_object('invitations_expired', v_invitations, 'offers_expired', v_offers);
end
$$;
comment on function public.waitlist_expire_due(timestamptz) is
  'Expires invitations past expires_at and closes offers past their cutoff or with nothing left to do. Returns {invitations_expired, offers_expired}. Run by the pg_cron job waitlist-expire; service role only.';
revoke all on function public.waitlist_expire_due(timestamptz) from public, anon, authenticated;
grant execute on function public.waitlist_expire_due(timestamptz) to service_role;

-- The monitor: closes what is due, repairs what is overdue (a cancellation whose offer failed to
-- open, an open offer whose due wave has no job, a due job nobody woke) and returns the
-- statistics. With the job core it should find nothing to repair.
create function public.waitlist_monitor(p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.waitlist_settings := waitlist_internal.settings();
  v_expired jsonb := public.waitlist_expire_due(p_now);
  v_reopened int := 0;
  v_requeued int := 0;
  v_woken boolean := false;
  v_appointment public.appointments;
  v_offer public.appointment_slot_offers;
  v_stats jsonb;
begin
  -- Cancellations whose trigger failed to open an offer (an error logged, nothing else since).
  for v_appointment in
    select a.* from public.appointments a
    where a.status = 'cancelled'
      and a.starts_at - v_settings.offer_cutoff > p_now
      and not exists (select from public.appointment_slot_offers o where o.appointment_id = a.id)
      and exists (select from public.waitlist_trigger_logs l
                  where l.appointment_id = a.id and l.trigger_type = 'cancellation'
                    and l.status = 'error' and l.created_at >= a.cancelled_at)
      and not exists (select from public.waitlist_trigger_logs l
                      where l.appointment_id = a.id and l.trigger_type = 'cancellation'
                        and l.status = 'skipped' and l.created_at >= a.cancelled_at)
    for no key update of a skip locked
  loop
    if waitlist_internal.open_offer(v_appointment, p_now) is not null then
      v_reopened := v_reopened + 1;
    end if;
  end loop;

  -- Open offers whose next wave is due for more than two minutes with no job to open it
  -- (requeued like any wave: after the quiet hours unless the offer closes first).
  for v_offer in
    select o.* from public.appointment_slot_offers o
    where o.status = 'open' and o.next_wave_at <= p_now - interval '2 minutes'
      and not exists (select from jobs.jobs j
                      where j.queue = 'waitlist' and j.subject = 'slot_offer:' || o.id
                        and j.state in ('waiting', 'running', 'retrying'))
    for no key update of o skip locked
  loop
    perform jobs.enqueue(
      p_queue => 'waitlist',
      p_payload => jsonb_build_object('kind', 'offer_wave', 'slot_offer_id', v_offer.id,
                                      'wave', v_offer.waves_sent + 1),
      p_subject => 'slot_offer:' || v_offer.id,
      p_dedupe_key => 'slot_offer:' || v_offer.id || ':wave:' || (v_offer.waves_sent + 1),
      p_run_at => waitlist_internal.after_quiet_hours(p_now, v_offer.closes_at, v_settings),
      p_now => p_now);
    v_requeued := v_requeued + 1;
  end loop;

  -- A job due for over a minute that no wake-up reached.
  if exists (select from jobs.jobs j
             where j.queue = 'waitlist' and j.state in ('waiting', 'retrying')
               and j.run_at <= p_now - interval '1 minute') then
    v_woken := jobs.wake('waitlist', 'monitor') is not null;
  end if;

  select jsonb_build_object(
    'checked_at', p_now,
    'offers', (select jsonb_object_agg(s.status, coalesce(c.n, 0))
               from unnest(array['open', 'filled', 'expired', 'withdrawn']) s(status)
               left join (select o.status, count(*) n from public.appointment_slot_offers o
                          group by o.status) c on c.status = s.status),
    'open_offers_without_invitations', (select count(*) from public.appointment_slot_offers o
                                         where o.status = 'open' and o.invitation_count = 0),
    'invitations', (select jsonb_object_agg(s.status, coalesce(c.n, 0))
                    from unnest(array['pending', 'sent', 'accepted', 'declined', 'expired',
                                      'withdrawn', 'failed']) s(status)
                    left join (select i.status, count(*) n from public.slot_offer_invitations i
                               group by i.status) c on c.status = s.status),
    'last_24h', jsonb_build_object(
      'cancellations', (select count(*) from public.waitlist_trigger_logs l
                        where l.trigger_type = 'cancellation' and l.created_at > p_now - interval '24 hours'),
      'invitations_sent', (select count(*) from public.slot_offer_invitations i
                           where i.sent_at > p_now - interval '24 hours'),
      'bookings', (select count(*) from public.appointment_slot_offers o
                   where o.filled_at > p_now - interval '24 hours'),
      'errors', (select count(*) from public.waitlist_trigger_logs l
                 where l.status = 'error' and l.created_at > p_now - interval '24 hours')),
    'recent_errors', coalesce((select jsonb_agg(to_jsonb(e) order by e.created_at desc)
                               from (select l.created_at, l.trigger_type, l.message, l.error_message,
                                            l.slot_offer_id, l.invitation_id, l.appointment_id
                                     from public.waitlist_trigger_logs l
                                     where l.status = 'error'
                                     order by l.created_at desc limit 5) e), '[]'::jsonb),
    'queue', (select to_jsonb(h) from jobs.queue_health h where h.queue = 'waitlist'),
    'expired', v_expired,
    'repaired', jsonb_build_object('offers_opened', v_reopened, 'waves_requeued', v_requeued,
                                   'queue_woken', v_woken)
  ) into v_stats;

  perform waitlist_internal.log(
    'monitor', case when v_reopened + v_requeued > 0 or v_woken then 'success' else 'skipped' end,
    case when v_reopened + v_requeued > 0 or v_woken then 'Monitor repaired overdue work'
         else 'Monitor found nothing to repair' end,
    p_details => v_stats -> 'repaired', p_now => p_now);
  return v_stats;
end
$$;
comment on function public.waitlist_monitor(timestamptz) is
  'Closes what is due, repairs what is overdue (offers that failed to open, waves without a job, unwoken jobs) and returns the waitlist''s statistics as JSON. Called by monitor-waitlist-system; service role only.';
revoke all on function public.waitlist_monitor(timestamptz) from public, anon, authenticated;
grant execute on function public.waitlist_monitor(timestamptz) to service_role;
