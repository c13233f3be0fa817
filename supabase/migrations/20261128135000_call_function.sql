-- One way for SQL to call an edge function: a pg_net POST to <project_url>/functions/v1/<name>
-- with the cron secret, both read from Vault. The job core's wake-ups, the waitlist's monitor
-- and the flows' cron jobs used to read Vault each in their own words; they now share this.

create function jobs.call_function(p_function text, p_body jsonb default '{}', p_context text default null)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
  v_missing text[];
  v_what text := coalesce(p_context, format('Function "%s" not called', p_function));
begin
  if p_function is null or p_function !~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$' then
    raise exception using errcode = '22023',
      message = format('Invalid edge function name "%s"', p_function);
  end if;

  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = 'cron_secret')
    into v_url, v_secret
  from vault.decrypted_secrets s
  where s.name in ('project_url', 'cron_secret');

  if coalesce(v_url, '') = '' then v_missing := v_missing || 'project_url'::text; end if;
  if coalesce(v_secret, '') = '' then v_missing := v_missing || 'cron_secret'::text; end if;
  if v_missing is not null then
    raise warning '%', format(
      '%s: Vault %s missing (store it with vault.create_secret())',
      v_what,
      case when cardinality(v_missing) = 1 then format('secret "%s" is', v_missing[1])
           else 'secrets "project_url" and "cron_secret" are' end);
    return null;
  end if;

  begin
    return net.http_post(
      url := rtrim(v_url, '/') || '/functions/v1/' || p_function,
      body := coalesce(p_body, '{}'::jsonb),
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || v_secret
      )
    );
  exception when others then
    -- A lost call costs latency: the callers are kicks and cron jobs that run again.
    raise warning '%: %', v_what, sqlerrm;
    return null;
  end;
end
$$;
comment on function jobs.call_function(text, jsonb, text) is
  'Queues one pg_net POST of p_body to <project_url>/functions/v1/<p_function> with Authorization: Bearer <cron_secret> (both from Vault); pg_net sends it after commit. Returns the request id, or null with a WARNING (starting with p_context) when a secret is missing or pg_net refused.';
revoke all on function jobs.call_function(text, jsonb, text) from public, anon, authenticated;

create or replace function jobs.wake(p_queue text, p_reason text default 'manual')
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_function text;
begin
  select q.function_name into v_function from jobs.queues q where q.name = p_queue;
  if not found then
    raise exception using errcode = '22023', message = format('Unknown queue "%s"', p_queue);
  end if;
  if v_function is null then
    return null; -- drained by a worker of its own (benchmarks, in-process tests): nobody to wake
  end if;
  -- A lost wake-up costs latency, never a job: the cron drain catches up.
  return jobs.call_function(
    v_function,
    jsonb_build_object('queue', p_queue, 'reason', p_reason),
    format('Queue "%s" not woken (the job stands)', p_queue)
  );
end
$$;

create or replace function waitlist_internal.request_monitor() returns bigint
language sql
security definer
set search_path = ''
as $$
  select jobs.call_function('monitor-waitlist-system', jsonb_build_object('reason', 'cron'));
$$;
