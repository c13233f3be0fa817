-- The shop, expired carts: a cart lives shop_settings.cart_lifetime (24 hours) from its
-- creation; the pg_cron job clean-expired-carts (hourly, the seed's Vercel cron) calls the edge
-- function clean-expired-carts, which deletes the expired carts in short batches through
-- shop_clean_expired_carts_batch (each batch its own transaction, rows locked with skip locked,
-- so no lock is held long and a cart being inserted or edited never waits) and logs the run
-- through shop_automation_run_record.

-- =============================================================================================
-- Triggers
-- =============================================================================================

/*
 * A new cart's expiry: created_at + the shop's cart lifetime. The column keeps the schema's
 * default (now() + 24 hours), which this BEFORE trigger recognises and replaces; any other
 * explicit expires_at (imports, demo and benchmark data in the past) is kept. A trigger rather
 * than a default calling the settings, so that no API role needs to execute a shop_internal
 * function to insert a cart.
 */
create function shop_internal.cart_expiry() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.expires_at = now() + interval '24 hours' then
    new.expires_at := coalesce(new.created_at, now()) + (shop_internal.settings()).cart_lifetime;
  end if;
  return new;
end
$$;
comment on function shop_internal.cart_expiry() is
  'BEFORE INSERT trigger on carts: a cart given the column''s default expires_at (now() + 24 hours) expires at created_at + shop_settings.cart_lifetime instead; an explicit other value is kept.';
revoke all on function shop_internal.cart_expiry() from public, anon, authenticated, service_role;

create trigger carts_expiry before insert on public.carts
for each row execute function shop_internal.cart_expiry();
comment on trigger carts_expiry on public.carts is 'A new cart expires shop_settings.cart_lifetime after its creation.';

-- =============================================================================================
-- Callable functions
-- =============================================================================================

/*
 * One batch of the expired-cart clean-up. Called in a loop by the function clean-expired-carts
 * (_shared/shop/carts.ts) until a batch comes back short; each call is one short transaction.
 */
create function public.shop_clean_expired_carts_batch(
  p_limit int default null,
  p_now timestamptz default now()
) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_limit int := coalesce(p_limit, (shop_internal.settings()).cart_cleanup_batch);
  v_deleted int;
begin
  if v_limit is null or v_limit < 1 or v_limit > 100000 then
    raise exception using errcode = '22023',
      message = format('Invalid cart clean-up batch size %s: give 1 to 100000', coalesce(v_limit::text, 'null'));
  end if;
  if p_now is null then
    raise exception using errcode = '22023', message = 'Cart clean-up needs a time (p_now is null)';
  end if;

  -- Oldest first, by the expires_at index; carts locked elsewhere (being edited) wait for the
  -- next batch or run instead of making this one wait. The batch is deleted by its row
  -- addresses (a TID scan; the rows are locked, so they stay put): joining on id would scan the
  -- whole table once per batch. cart_items go by cascade.
  with gone as (
    delete from public.carts c
    where c.ctid = any (array(
      select e.ctid from public.carts e
      where e.expires_at < p_now
      order by e.expires_at
      limit v_limit
      for update skip locked
    ))
    returning 1
  )
  select count(*)::int into v_deleted from gone;
  return v_deleted;
end
$$;
comment on function public.shop_clean_expired_carts_batch(int, timestamptz) is
  'Deletes up to p_limit (default shop_settings.cart_cleanup_batch) carts expired at p_now (expires_at < p_now), oldest first, skipping carts locked by another transaction; their items go by cascade. Returns the number deleted: a result below p_limit means nothing is left (but locked carts). Service role only; 22023 on a batch size outside 1..100000.';
revoke all on function public.shop_clean_expired_carts_batch(int, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_clean_expired_carts_batch(int, timestamptz) to service_role;

/*
 * Logs one run of an automation (called by the edge functions when a run ends, successful or
 * not). shop_day is the shop-local day the run started.
 */
create function public.shop_automation_run_record(
  p_automation text,
  p_trigger text,
  p_started_at timestamptz,
  p_result jsonb,
  p_error text default null,
  p_now timestamptz default now()
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
begin
  if p_started_at is null then
    raise exception using errcode = '22023',
      message = format('Run of automation "%s" not logged: p_started_at is null', p_automation);
  end if;
  insert into public.shop_automation_runs
    (automation, trigger, shop_day, started_at, finished_at, result, error)
  values (
    p_automation,
    coalesce(p_trigger, 'manual'),
    (p_started_at at time zone (shop_internal.settings()).time_zone)::date,
    p_started_at,
    p_now,
    p_result,
    nullif(left(p_error, 2000), '')
  )
  returning id into v_id;
  return v_id;
end
$$;
comment on function public.shop_automation_run_record(text, text, timestamptz, jsonb, text, timestamptz) is
  'Logs one run of a shop automation into shop_automation_runs (finished_at = p_now, shop_day = the shop-local day of p_started_at, error cut to 2000 characters) and returns its id. p_automation: clean-expired-carts, request-reviews or daily-analytics; p_trigger: schedule or manual (23514 otherwise). Service role only.';
revoke all on function public.shop_automation_run_record(text, text, timestamptz, jsonb, text, timestamptz) from public, anon, authenticated;
grant execute on function public.shop_automation_run_record(text, text, timestamptz, jsonb, text, timestamptz) to service_role;

-- =============================================================================================
-- Cron jobs
-- =============================================================================================

-- Hourly, as the seed's Vercel cron: a pg_net POST to the function with the cron secret.
select cron.schedule(
  'clean-expired-carts',
  '0 * * * *',
  $$select jobs.call_function('clean-expired-carts', '{"trigger":"schedule"}', 'Cron job "clean-expired-carts" did not call its function')$$
);
