-- Accepting an invitation checks the patient's calendar again. Eligibility excludes patients
-- with an appointment overlapping the slot, but only when the invitation is created: one
-- booked since (by phone, at the desk) would have ended in a patient booked twice at once.
-- waitlist_respond now answers state 'time_conflict' instead, books nothing, and logs it.

/*
 * As in 20261121130100_waitlist.sql, with the overlap check before the booking.
 */
create or replace function public.waitlist_respond(
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
  -- Locks in the order every writer uses (offer, then its invitations): the offer lock makes
  -- simultaneous acceptances of one slot take turns, and the second sees it filled.
  select * into v_offer from public.appointment_slot_offers o
  where o.id = v_invitation.slot_offer_id
  for update;
  select * into v_invitation from public.slot_offer_invitations i
  where i.id = v_invitation.id
  for update;

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
