/**
 * Fixtures for races on one waitlist invitation, made directly in SQL so a test can repeat a
 * round many times cheaply: a clinic of its own (practitioner, appointment type, one patient on
 * the waitlist), then per round an open slot offer at an hour of its own and one sent invitation
 * whose plain link token the test knows.
 */
import type postgres from "postgres";

/** The clinic of one race test. */
export interface RaceClinic {
  practitionerId: string;
  appointmentTypeId: string;
  /** Whose appointment is cancelled in every round. */
  cancellingPatientId: string;
  /** The invited patient, and their waitlist entry. */
  patientId: string;
  waitlistId: string;
}

/** One round's invitation: its id, its offer and the plain token of its link. */
export interface RaceInvitation {
  id: string;
  slotOfferId: string;
  token: string;
}

/** Creates the practitioner, the appointment type and the two patients of a race test. */
export async function createRaceClinic(sql: postgres.Sql): Promise<RaceClinic> {
  const run = crypto.randomUUID().slice(0, 8);
  const [row] = await sql`
    with practitioner as (
      insert into public.practitioners (full_name) values (${`Dr Race ${run}`}) returning id
    ), type as (
      insert into public.appointment_types (name, duration_minutes)
      values (${`Race ${run}`}, 30) returning id
    ), patients as (
      insert into public.patients (first_name, last_name, email)
      values ('Camille', ${`Race ${run}`}, ${`race-cancel-${run}@patients.example.test`}),
             ('Alex', ${`Race ${run}`}, ${`race-${run}@patients.example.test`})
      returning id, first_name
    ), entry as (
      insert into public.waitlist (patient_id, practitioner_id, appointment_type_id,
                                   consent_automated_notifications)
      select p.id, (select id from practitioner), (select id from type), true
      from patients p where p.first_name = 'Alex'
      returning id, patient_id
    )
    select (select id from practitioner) as practitioner_id,
           (select id from type) as appointment_type_id,
           (select id from patients where first_name = 'Camille') as cancelling_patient_id,
           e.patient_id, e.id as waitlist_id
    from entry e`;
  return {
    practitionerId: row.practitioner_id,
    appointmentTypeId: row.appointment_type_id,
    cancellingPatientId: row.cancelling_patient_id,
    patientId: row.patient_id,
    waitlistId: row.waitlist_id,
  };
}

/**
 * Round `round`: a cancelled appointment `round` hours after a start two days ahead, its open
 * offer and a sent invitation of the clinic's patient, valid for a day.
 */
export async function raceInvitation(
  sql: postgres.Sql,
  clinic: RaceClinic,
  round: number,
): Promise<RaceInvitation> {
  const token = crypto.randomUUID().replaceAll("-", "").padEnd(43, "x");
  const [row] = await sql`
    with slot as (
      select date_trunc('hour', now()) + interval '2 days' + ${round} * interval '1 hour'
               as starts_at
    ), appointment as (
      insert into public.appointments (patient_id, practitioner_id, appointment_type_id,
                                       starts_at, ends_at, status)
      select ${clinic.cancellingPatientId}, ${clinic.practitionerId}, ${clinic.appointmentTypeId},
             s.starts_at, s.starts_at + interval '30 minutes', 'cancelled'
      from slot s
      returning id, starts_at, ends_at
    ), offer as (
      insert into public.appointment_slot_offers (appointment_id, cancelled_patient_id,
        practitioner_id, appointment_type_id, starts_at, ends_at, closes_at, waves_sent,
        invitation_count)
      select a.id, ${clinic.cancellingPatientId}, ${clinic.practitionerId},
             ${clinic.appointmentTypeId}, a.starts_at, a.ends_at, a.starts_at - interval '1 hour',
             1, 1
      from appointment a
      returning id
    )
    insert into public.slot_offer_invitations (slot_offer_id, waitlist_id, patient_id, wave,
      rank, email, locale, token_hash, status, expires_at, sent_at, email_id)
    select o.id, ${clinic.waitlistId}, ${clinic.patientId}, 1, 1,
           (select p.email from public.patients p where p.id = ${clinic.patientId}), 'en',
           sha256(convert_to(${token}, 'UTF8')), 'sent', now() + interval '1 day', now(),
           'race-invitation'
    from offer o
    returning id, slot_offer_id`;
  return { id: row.id, slotOfferId: row.slot_offer_id, token };
}
