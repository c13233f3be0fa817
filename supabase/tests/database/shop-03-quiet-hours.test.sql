-- Quiet hours (shop_internal.quiet_until): outside them an instant is kept; inside, it moves to
-- their end in the shop's zone: across midnight, on the nights the clocks change in Paris, in
-- New York, for a window within one day, and not at all when start equals end.
begin;
select plan(12);

update public.shop_settings set time_zone = 'Europe/Paris', quiet_start = '21:00', quiet_end = '08:00';

select is(shop_internal.quiet_until('2026-12-07 12:00+01'), '2026-12-07 12:00+01'::timestamptz, 'noon: not quiet, kept');
select is(shop_internal.quiet_until('2026-12-07 20:59+01'), '2026-12-07 20:59+01'::timestamptz, '20:59: not quiet yet');
select is(shop_internal.quiet_until('2026-12-07 21:00+01'), '2026-12-08 08:00+01'::timestamptz, '21:00: quiet until 08:00 the next morning');
select is(shop_internal.quiet_until('2026-12-07 23:30+01'), '2026-12-08 08:00+01'::timestamptz, 'before midnight: the next morning');
select is(shop_internal.quiet_until('2026-12-08 02:00+01'), '2026-12-08 08:00+01'::timestamptz, 'after midnight: the same morning');
select is(shop_internal.quiet_until('2026-12-08 08:00+01'), '2026-12-08 08:00+01'::timestamptz, '08:00: no longer quiet');
select is(shop_internal.quiet_until('2026-03-28 22:00+01'), '2026-03-29 08:00+02'::timestamptz,
  'the night the clocks go forward: 08:00 summer time (06:00 UTC)');
select is(shop_internal.quiet_until('2026-10-24 22:00+02'), '2026-10-25 08:00+01'::timestamptz,
  'the night the clocks go back: 08:00 winter time (07:00 UTC)');

update public.shop_settings set quiet_start = '01:00', quiet_end = '02:30';
select is(shop_internal.quiet_until('2026-03-29 01:30+01'), '2026-03-29 03:30+02'::timestamptz,
  'a window ending at a local time the clocks skip ends just after the change');

update public.shop_settings set time_zone = 'America/New_York', quiet_start = '22:00', quiet_end = '07:00';
select is(shop_internal.quiet_until('2026-12-08 03:30+00'), '2026-12-08 07:00-05'::timestamptz,
  'New York: 22:30 local is quiet until 07:00 local (12:00 UTC)');
update public.shop_settings set quiet_start = '12:00', quiet_end = '14:00';
select is(shop_internal.quiet_until('2026-12-07 18:00+00'), '2026-12-07 14:00-05'::timestamptz,
  'a window within one day (12:00–14:00 local): 13:00 local waits until 14:00');
update public.shop_settings set quiet_start = '09:00', quiet_end = '09:00';
select is(shop_internal.quiet_until('2026-12-07 14:00+00'), '2026-12-07 14:00+00'::timestamptz, 'start equal to end: no quiet hours');

select * from finish();
rollback;
