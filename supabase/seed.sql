-- Demo data for the local stack: a small clinic in Paris with three practitioners, a dozen
-- patients, two weeks of upcoming appointments and a waitlist; and the clinic's three doctors
-- as users of the app, each of whom gets a WhatsApp instance. Times are computed from the
-- moment the seed runs, in the clinic's time zone; `bash scripts/dev.sh --reset` makes new ones.
--
-- Try the waitlist: cancel the next appointment (dev.sh prints this statement), then watch the
-- invitations arrive in the local inbox.
--
--   update appointments set status = 'cancelled'
--   where id = (select id from appointments
--               where status = 'confirmed' and starts_at > now() + interval '3 hours'
--               order by starts_at limit 1);

update public.waitlist_settings
set clinic_name = 'Cabinet médical des Lilas',
    sender = 'Cabinet médical des Lilas <rendez-vous@cabinet-des-lilas.example>',
    clinic_time_zone = 'Europe/Paris';

insert into public.practitioners (id, full_name, email) values
  ('7d1f0c3e-0000-4000-8000-000000000001', 'Dr Claire Martin', 'claire.martin@cabinet-des-lilas.example'),
  ('7d1f0c3e-0000-4000-8000-000000000002', 'Dr Julien Bernard', 'julien.bernard@cabinet-des-lilas.example'),
  ('7d1f0c3e-0000-4000-8000-000000000003', 'Dr Sophie Leroy', 'sophie.leroy@cabinet-des-lilas.example');

insert into public.appointment_types (id, name, name_en, duration_minutes) values
  ('7d1f0c3e-0000-4000-8000-000000000101', 'Consultation', 'Consultation', 30),
  ('7d1f0c3e-0000-4000-8000-000000000102', 'Suivi', 'Follow-up', 20),
  ('7d1f0c3e-0000-4000-8000-000000000103', 'Première consultation', 'First consultation', 45);

insert into public.patients (id, first_name, last_name, email, phone, locale) values
  ('7d1f0c3e-0000-4000-8000-000000000201', 'Camille', 'Durand', 'camille.durand@example.com', '+33611111111', 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000202', 'Lucas', 'Moreau', 'lucas.moreau@example.com', '+33622222222', 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000203', 'Emma', 'Petit', 'emma.petit@example.com', '+33633333333', 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000204', 'Hugo', 'Roux', 'hugo.roux@example.com', null, 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000205', 'Léa', 'Fournier', 'lea.fournier@example.com', null, 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000206', 'Oliver', 'Smith', 'oliver.smith@example.com', '+447700900123', 'en'),
  ('7d1f0c3e-0000-4000-8000-000000000207', 'Chloé', 'Girard', 'chloe.girard@example.com', null, 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000208', 'Nathan', 'Bonnet', 'nathan.bonnet@example.com', null, 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000209', 'Inès', 'Lambert', 'ines.lambert@example.com', null, 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000210', 'Amelia', 'Jones', 'amelia.jones@example.com', null, 'en'),
  ('7d1f0c3e-0000-4000-8000-000000000211', 'Louis', 'Faure', null, '+33644444444', 'fr'),
  ('7d1f0c3e-0000-4000-8000-000000000212', 'Manon', 'Mercier', 'manon.mercier@example.com', null, 'fr');

-- Two weeks of weekday appointments, 09:00 to 16:00 clinic time, for the first five patients.
insert into public.appointments
  (patient_id, practitioner_id, appointment_type_id, starts_at, ends_at, status, notes)
select patient.id,
       practitioner.id,
       '7d1f0c3e-0000-4000-8000-000000000101',
       (day + slot.at) at time zone 'Europe/Paris',
       (day + slot.at + interval '30 minutes') at time zone 'Europe/Paris',
       'confirmed',
       'Demo appointment'
from generate_series(1, 14) as d(n)
cross join lateral (
  select (date_trunc('day', now() at time zone 'Europe/Paris') + d.n * interval '1 day')::timestamp as day
) days
cross join (values (time '09:00'), (time '11:00'), (time '14:30'), (time '16:00')) as slot(at)
cross join lateral (
  select p.id from public.practitioners p
  order by p.id offset ((d.n + extract(hour from slot.at)::int) % 3) limit 1
) practitioner
cross join lateral (
  select p.id from public.patients p
  where p.id between '7d1f0c3e-0000-4000-8000-000000000201' and '7d1f0c3e-0000-4000-8000-000000000205'
  order by p.id offset ((d.n * 4 + extract(hour from slot.at)::int) % 5) limit 1
) patient
where extract(isodow from days.day) between 1 and 5;

-- The waitlist: patients 6 to 12, most of them available on weekdays during opening hours.
insert into public.waitlist
  (id, patient_id, practitioner_id, appointment_type_id, earliest_date, latest_date, priority,
   consent_automated_notifications, notes, created_at)
values
  ('7d1f0c3e-0000-4000-8000-000000000301', '7d1f0c3e-0000-4000-8000-000000000206', null,
   '7d1f0c3e-0000-4000-8000-000000000101', current_date, null, 2, true,
   'Prefers mornings', now() - interval '20 days'),
  ('7d1f0c3e-0000-4000-8000-000000000302', '7d1f0c3e-0000-4000-8000-000000000207', null,
   '7d1f0c3e-0000-4000-8000-000000000101', current_date, null, 0, true,
   null, now() - interval '12 days'),
  ('7d1f0c3e-0000-4000-8000-000000000303', '7d1f0c3e-0000-4000-8000-000000000208', null,
   '7d1f0c3e-0000-4000-8000-000000000101', current_date, current_date + 30, 1, true,
   null, now() - interval '9 days'),
  ('7d1f0c3e-0000-4000-8000-000000000304', '7d1f0c3e-0000-4000-8000-000000000209',
   '7d1f0c3e-0000-4000-8000-000000000001', '7d1f0c3e-0000-4000-8000-000000000101', current_date,
   null, 0, true, 'Only with Dr Martin', now() - interval '30 days'),
  ('7d1f0c3e-0000-4000-8000-000000000305', '7d1f0c3e-0000-4000-8000-000000000210', null,
   '7d1f0c3e-0000-4000-8000-000000000101', current_date, null, 0, true,
   null, now() - interval '5 days'),
  ('7d1f0c3e-0000-4000-8000-000000000306', '7d1f0c3e-0000-4000-8000-000000000211', null,
   '7d1f0c3e-0000-4000-8000-000000000101', current_date, null, 3, true,
   'No email address: never invited by email', now() - interval '40 days'),
  ('7d1f0c3e-0000-4000-8000-000000000307', '7d1f0c3e-0000-4000-8000-000000000212', null,
   '7d1f0c3e-0000-4000-8000-000000000101', current_date, null, 1, false,
   'Has not agreed to automated notifications', now() - interval '15 days');

insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
select w.id, wd, '08:00', '19:00'
from public.waitlist w
cross join generate_series(1, 5) as wd
where w.id <> '7d1f0c3e-0000-4000-8000-000000000301';

insert into public.waitlist_availability (waitlist_id, weekday, start_time, end_time)
select '7d1f0c3e-0000-4000-8000-000000000301', wd, '08:00', '12:30'
from generate_series(1, 5) as wd;

-- The app's users: the three doctors sign up (a row in auth.users, as Supabase Auth writes it).
-- The trigger on auth.users creates each profile from raw_user_meta_data.full_name, and the
-- trigger on profiles records the provisioning request and enqueues its job: once this file is
-- committed, the WhatsApp instances are created on the Evolution stand-in within seconds. The
-- dev command (scripts/demo/whatsapp.ts) then scans Dr Martin's code, so that her instance is
-- open and has a message from a patient, and leaves the other two connecting, their codes
-- rotating on the stand-in's WhatsApp page.
--
-- Try it with a new user (dev.sh prints this statement):
--
--   insert into auth.users (email, raw_user_meta_data)
--   values ('user-' || substr(md5(random()::text), 1, 8) || '@example.com',
--           '{"full_name": "Alex Dupont"}');
insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data, created_at) values
  ('7d1f0c3e-0000-4000-8000-000000000401', 'claire.martin@cabinet-des-lilas.example', now(),
   '{"full_name": "Dr Claire Martin"}', now() - interval '2 minutes'),
  ('7d1f0c3e-0000-4000-8000-000000000402', 'julien.bernard@cabinet-des-lilas.example', now(),
   '{"full_name": "Dr Julien Bernard"}', now() - interval '1 minute'),
  ('7d1f0c3e-0000-4000-8000-000000000403', 'sophie.leroy@cabinet-des-lilas.example', now(),
   '{"full_name": "Dr Sophie Leroy"}', now());
