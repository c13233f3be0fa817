-- Full waves when a patient has several matching waitlist entries. The ranking lists each
-- matching entry, and a wave invites each patient once: waitlist_open_wave looked at the first
-- wave_size × 2 rows only, so a patient holding more of them cut the wave short, and a short
-- wave schedules no next one, ending the offer while candidates remained. It now looks
-- further until the wave is full or the ranking has nobody left.

/*
 * As in 20261121130100_waitlist.sql, with the candidates taken in a loop (see above).
 */
create or replace function public.waitlist_open_wave(
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
  select * into v_offer from public.appointment_slot_offers o where o.id = p_slot_offer_id for update;
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
      select c.* from public.get_eligible_waitlist_candidates(v_offer.id, v_look, p_now) c
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
