-- The shop, daily analytics: one row of shop_daily_analytics per shop-local day (the day in
-- shop_settings.time_zone, so an order at 23:30 UTC in winter counts on the next Paris day),
-- computed by shop_internal.compute_daily_analytics: messages received on the shop's WhatsApp
-- instance, orders created, revenue of the orders paid that day (cancelled ones left out),
-- reviews and their average rating, new and returning customers. The pg_cron job
-- shop-daily-analytics recomputes yesterday and today every hour (and any day of the last 30
-- that has no row yet); shop_compute_analytics runs it by hand. Admins read the table, and the
-- view shop_analytics_last_30_days, through RLS.

-- =============================================================================================
-- Helper functions
-- =============================================================================================

/* The shop-local date of an instant. */
create function shop_internal.local_date(p_at timestamptz default now()) returns date
language sql
security definer
set search_path = ''
as $$
  select (p_at at time zone (shop_internal.settings()).time_zone)::date;
$$;
comment on function shop_internal.local_date(timestamptz) is
  'The date of p_at in the shop''s time zone (shop_settings.time_zone).';
revoke all on function shop_internal.local_date(timestamptz) from public, anon, authenticated, service_role;

/*
 * Computes (and upserts) the analytics of the given shop-local days, set-based: each day is the
 * interval [local midnight, next local midnight) converted to timestamptz, which is 23 or 25
 * hours long on daylight-saving days.
 */
create function shop_internal.compute_daily_analytics_days(p_days date[]) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings public.shop_settings := shop_internal.settings();
  v_count int;
begin
  with days as (
    select distinct d as day,
           (d::timestamp at time zone v_settings.time_zone) as lo,
           ((d + 1)::timestamp at time zone v_settings.time_zone) as hi
    from unnest(p_days) d
    where d is not null
  ),
  computed as (
    select
      days.day,
      (select count(*)::int from public.whatsapp_inbound_messages m
        where v_settings.whatsapp_instance is not null
          and m.instance_name = v_settings.whatsapp_instance
          and m.received_at >= days.lo and m.received_at < days.hi) as messages_received,
      (select count(*)::int from public.orders o
        where o.created_at >= days.lo and o.created_at < days.hi) as orders_created,
      (select coalesce(sum(o.total_cents), 0)::bigint from public.orders o
        where o.paid_at >= days.lo and o.paid_at < days.hi and o.status <> 'cancelled') as revenue_cents,
      r.reviews,
      r.average_rating,
      c.new_customers,
      c.returning_customers
    from days
    cross join lateral (
      select count(*)::int as reviews, round(avg(v.rating), 2)::numeric(3, 2) as average_rating
      from public.reviews v
      where v.created_at >= days.lo and v.created_at < days.hi
    ) r
    cross join lateral (
      -- A customer who ordered that day is new when no order of theirs is older than the day,
      -- returning otherwise (two orders on the first day: new, once).
      select count(*) filter (where not b.before)::int as new_customers,
             count(*) filter (where b.before)::int as returning_customers
      from (select distinct o.customer_id from public.orders o
            where o.created_at >= days.lo and o.created_at < days.hi) buyers
      cross join lateral (
        select exists (select from public.orders p
                       where p.customer_id = buyers.customer_id and p.created_at < days.lo) as before
      ) b
    ) c
  ),
  upserted as (
    insert into public.shop_daily_analytics as a
      (day, messages_received, orders_created, revenue_cents, reviews, average_rating,
       new_customers, returning_customers, computed_at)
    select day, messages_received, orders_created, revenue_cents, reviews, average_rating,
           new_customers, returning_customers, now()
    from computed
    on conflict (day) do update set
      messages_received = excluded.messages_received,
      orders_created = excluded.orders_created,
      revenue_cents = excluded.revenue_cents,
      reviews = excluded.reviews,
      average_rating = excluded.average_rating,
      new_customers = excluded.new_customers,
      returning_customers = excluded.returning_customers,
      computed_at = excluded.computed_at
    returning 1
  )
  select count(*)::int into v_count from upserted;
  return v_count;
end
$$;
comment on function shop_internal.compute_daily_analytics_days(date[]) is
  'Computes and upserts shop_daily_analytics for each shop-local day in p_days (see shop_internal.compute_daily_analytics). Returns the number of days written.';
revoke all on function shop_internal.compute_daily_analytics_days(date[]) from public, anon, authenticated, service_role;

/* The analytics of every shop-local day from p_from to p_to, both included. */
create function shop_internal.compute_daily_analytics(p_from date, p_to date) returns int
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_from is null or p_to is null or p_from > p_to then
    raise exception using errcode = '22023',
      message = format('Invalid analytics period %s to %s: give two dates, the first not after the second',
                       coalesce(p_from::text, 'null'), coalesce(p_to::text, 'null'));
  end if;
  if p_to - p_from > 366 then
    raise exception using errcode = '22023',
      message = format('Analytics period %s to %s is too long: at most 367 days at once', p_from, p_to);
  end if;
  return shop_internal.compute_daily_analytics_days(
    array(select d::date from generate_series(p_from, p_to, interval '1 day') d));
end
$$;
comment on function shop_internal.compute_daily_analytics(date, date) is
  'Upserts one shop_daily_analytics row per shop-local day from p_from to p_to (at most 367 days; 22023 otherwise): messages_received (whatsapp_inbound_messages on shop_settings.whatsapp_instance received that day), orders_created, revenue_cents (total_cents of orders paid that day, i.e. paid_at that day, and not cancelled), reviews and average_rating (null without reviews) of reviews created that day, new_customers (customers whose first order was that day) and returning_customers (customers who ordered that day and had ordered before). Days are [local midnight, next local midnight) in shop_settings.time_zone. Returns the number of days written.';
revoke all on function shop_internal.compute_daily_analytics(date, date) from public, anon, authenticated, service_role;

/*
 * What the pg_cron job shop-daily-analytics runs: yesterday and today (local), and every day of
 * the last 30 that has no row yet (the job was down, or the shop is new). Logs the run.
 */
create function shop_internal.run_daily_analytics(p_trigger text default 'schedule', p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_today date := shop_internal.local_date(p_now);
  v_days date[];
  v_count int;
  v_result jsonb;
begin
  select array_agg(d order by d) into v_days
  from (
    select d::date as d from generate_series(v_today - 29, v_today - 2, interval '1 day') d
    where not exists (select from public.shop_daily_analytics a where a.day = d::date)
    union all select v_today - 1
    union all select v_today
  ) s;
  v_count := shop_internal.compute_daily_analytics_days(v_days);
  v_result := jsonb_build_object('success', true, 'days', v_count, 'from', v_days[1],
                                 'to', v_today, 'timestamp', p_now);
  perform public.shop_automation_run_record('daily-analytics', p_trigger, p_now, v_result, null, clock_timestamp());
  return v_result;
end
$$;
comment on function shop_internal.run_daily_analytics(text, timestamptz) is
  'Run by the pg_cron job shop-daily-analytics: computes yesterday and today (shop-local) and every day of the last 30 without a row, logs a shop_automation_runs row (daily-analytics, p_trigger) and returns {success, days, from, to, timestamp}.';
revoke all on function shop_internal.run_daily_analytics(text, timestamptz) from public, anon, authenticated, service_role;

-- =============================================================================================
-- Views
-- =============================================================================================

-- The last 30 shop-local days, today included. security_invoker: RLS of shop_daily_analytics
-- (admins) and shop_settings applies to the reader. The zone falls back to the default when the
-- reader cannot see the settings.
create view public.shop_analytics_last_30_days
with (security_invoker = true)
as
select a.day, a.messages_received, a.orders_created, a.revenue_cents, a.reviews,
       a.average_rating, a.new_customers, a.returning_customers, a.computed_at
from public.shop_daily_analytics a
cross join (
  select (now() at time zone coalesce((select s.time_zone from public.shop_settings s limit 1),
                                      'Europe/Paris'))::date as today
) t
where a.day > t.today - 30 and a.day <= t.today
order by a.day desc;
comment on view public.shop_analytics_last_30_days is
  'shop_daily_analytics of the last 30 shop-local days (today included), newest first. security_invoker: admins read it through RLS.';
revoke all on public.shop_analytics_last_30_days from public, anon, authenticated, service_role;
grant select on public.shop_analytics_last_30_days to authenticated, service_role;

-- =============================================================================================
-- Callable functions
-- =============================================================================================

/* Computes the analytics by hand (operators, the demo, tests); default: yesterday and today. */
create function public.shop_compute_analytics(p_from date default null, p_to date default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_today date := shop_internal.local_date(now());
  v_from date := coalesce(p_from, v_today - 1);
  v_to date := coalesce(p_to, greatest(v_today, v_from));
  v_started timestamptz := clock_timestamp();
  v_result jsonb;
begin
  v_result := jsonb_build_object(
    'success', true,
    'days', shop_internal.compute_daily_analytics(v_from, v_to),
    'from', v_from,
    'to', v_to,
    'timestamp', now());
  perform public.shop_automation_run_record('daily-analytics', 'manual', v_started, v_result, null, clock_timestamp());
  return v_result;
end
$$;
comment on function public.shop_compute_analytics(date, date) is
  'Computes shop_daily_analytics for the shop-local days p_from..p_to (default: yesterday and today in shop_settings.time_zone; at most 367 days, 22023 otherwise), logs a manual daily-analytics run and returns {success, days, from, to, timestamp}. Service role only.';
revoke all on function public.shop_compute_analytics(date, date) from public, anon, authenticated;
grant execute on function public.shop_compute_analytics(date, date) to service_role;

-- =============================================================================================
-- Cron jobs
-- =============================================================================================

-- Every hour at :10: today's figures stay fresh, and yesterday is final an hour after midnight.
select cron.schedule('shop-daily-analytics', '10 * * * *', 'select shop_internal.run_daily_analytics()');
