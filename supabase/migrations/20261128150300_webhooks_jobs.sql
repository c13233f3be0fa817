-- Webhook delivery engine, part 3 of 3: what runs by itself and what operators read. The
-- `webhooks` queue (drained by the function deliver-webhooks), the operators' views
-- (webhook_delivery_outcomes, webhook_endpoint_health) and the retention (pg_cron job
-- webhooks-retention).

-- =============================================================================================
-- Queue
-- =============================================================================================

-- One job per message delivery series (subject endpoint:<id>, dedupe key the message id). The
-- retry delays come from webhook_deliveries_record (retry_after_seconds), not from the queue's
-- backoff; 8 attempts; a 429 may throttle a job for 24 hours without using up attempts. At most
-- 10 running jobs per endpoint, so one hanging endpoint never takes every worker slot.
select jobs.create_queue(
  p_name => 'webhooks',
  p_function_name => 'deliver-webhooks',
  p_max_attempts => 8,
  p_lease_seconds => 60,
  p_batch_size => 100,
  p_throttle_limit => '24 hours'
);
update jobs.queues set subject_concurrency = 10 where name = 'webhooks';

-- =============================================================================================
-- Views for operators (security_invoker: admins read them through the tables' RLS)
-- =============================================================================================

create view public.webhook_delivery_outcomes with (security_invoker = true) as
select e.id as endpoint_id, e.url, m.status, count(*) as messages,
       coalesce(sum(m.attempts), 0) as attempts, max(m.last_attempt_at) as last_attempt_at
from public.webhook_endpoints e
join public.webhook_messages m on m.endpoint_id = e.id
group by e.id, e.url, m.status;
comment on view public.webhook_delivery_outcomes is
  'Deliveries by endpoint and outcome: per endpoint (id, url) and message status (pending, delivered, failed), the messages, their HTTP attempts and the last attempt''s time.';

create view public.webhook_endpoint_health with (security_invoker = true) as
select e.id as endpoint_id, e.url, e.enabled, e.failing_since, e.disabled_at, e.disabled_reason,
       ok.started_at as last_success_at,
       bad.started_at as last_failure_at,
       bad.response_status as last_failure_status,
       bad.error as last_failure_error,
       last.response_status as last_response_status
from public.webhook_endpoints e
left join lateral (
  select a.started_at from public.webhook_attempts a
  where a.endpoint_id = e.id and a.outcome = 'delivered'
  order by a.started_at desc limit 1
) ok on true
left join lateral (
  select a.started_at, a.response_status, a.error from public.webhook_attempts a
  where a.endpoint_id = e.id and a.outcome <> 'delivered'
  order by a.started_at desc limit 1
) bad on true
left join lateral (
  select a.response_status from public.webhook_attempts a
  where a.endpoint_id = e.id
  order by a.started_at desc limit 1
) last on true
where e.failing_since is not null or not e.enabled;
comment on view public.webhook_endpoint_health is
  'Failing or disabled endpoints: since when they fail (failing_since), when and why they were disabled, their last success, their last failure (status or error) and the last response status.';

revoke all on public.webhook_delivery_outcomes, public.webhook_endpoint_health from anon, authenticated;
grant select on public.webhook_delivery_outcomes, public.webhook_endpoint_health to authenticated, service_role;

-- =============================================================================================
-- Retention
-- =============================================================================================

create function webhooks_internal.prune(p_now timestamptz default now())
returns table (messages_deleted bigint, secrets_deleted bigint)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_messages bigint;
  v_secrets bigint;
begin
  delete from public.webhook_messages m
  where m.status = 'delivered' and m.created_at < p_now - interval '30 days'
    and m.delivered_at < p_now - interval '30 days';
  get diagnostics v_messages = row_count;

  with expired as (
    update public.webhook_endpoints e
    set previous_secret_id = null, previous_secret_expires_at = null
    from (select e2.id, e2.previous_secret_id as old_secret_id from public.webhook_endpoints e2
          where e2.previous_secret_expires_at <= p_now
          for no key update) o
    where e.id = o.id
    returning o.old_secret_id
  )
  delete from vault.secrets s where s.id in (select x.old_secret_id from expired x);
  get diagnostics v_secrets = row_count;
  return query select v_messages, v_secrets;
end
$$;
comment on function webhooks_internal.prune(timestamptz) is
  'Deletes delivered messages (and their attempts) delivered more than 30 days ago, and the previous secrets that stopped signing (from Vault too). Run daily at 03:30 by the pg_cron job webhooks-retention.';
revoke all on function webhooks_internal.prune(timestamptz) from public, anon, authenticated, service_role;

select cron.schedule('webhooks-retention', '30 3 * * *', $$select webhooks_internal.prune()$$);
