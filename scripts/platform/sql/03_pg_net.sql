-- Stand-in for Supabase's pg_net extension (modelled on pg_net 0.20): the `net` schema with
-- `net.http_get`, `net.http_post`, `net.http_delete`, the queue `net.http_request_queue` and
-- the responses `net._http_response`, with pg_net's signatures, defaults and error texts.
--
-- The requests are executed by an outside process (scripts/platform/pg_net_worker.ts), not by
-- a background worker: it connects with application_name 'pg_net worker', listens on the
-- channel 'pg_net_wake' (notified by a trigger, so only when the inserting transaction
-- commits) and polls as a safety net.
--
-- Applied by the local platform before the migrations; never part of them. Safe to apply again.

create schema if not exists net;

do $$
begin
  if not exists (
    select from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = 'net' and t.typname = 'http_method'
  ) then
    create domain net.http_method as text
      check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
  end if;
  if not exists (
    select from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = 'net' and t.typname = 'request_status'
  ) then
    create type net.request_status as enum ('PENDING', 'SUCCESS', 'ERROR');
  end if;
  if not exists (
    select from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = 'net' and t.typname = 'http_response'
  ) then
    create type net.http_response as (status_code integer, headers jsonb, body text);
  end if;
  if not exists (
    select from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = 'net' and t.typname = 'http_response_result'
  ) then
    create type net.http_response_result as (
      status net.request_status,
      message text,
      response net.http_response
    );
  end if;
end
$$;

-- Pending requests; the worker deletes them as it takes them.
create unlogged table if not exists net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds int not null
);

-- One row per executed request, same id as the request; removed after `pg_net.ttl`.
create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out bool,
  error_msg text,
  created timestamptz not null default now()
);

create index if not exists _http_response_created_idx on net._http_response (created);

-- Wakes the worker. A notification is delivered only when the transaction commits, and
-- identical ones in one transaction are folded into one.
create or replace function net.wake()
  returns void
  language sql
as $$
  select pg_notify('pg_net_wake', '');
$$;

create or replace function net._wake_worker_after_insert()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  perform pg_notify('pg_net_wake', '');
  return null;
end
$$;

create or replace trigger wake_worker
  after insert on net.http_request_queue
  for each statement execute function net._wake_worker_after_insert();

-- Percent-encodes every byte of the UTF-8 text except A-Z a-z 0-9 - . _ ~ (as curl_easy_escape).
create or replace function net._urlencode_string(string varchar)
  returns text
  language sql
  immutable
  strict
  parallel safe
as $$
  select coalesce(
    string_agg(
      case
        when b between 48 and 57 or b between 65 and 90 or b between 97 and 122
          or b in (45, 46, 95, 126) then chr(b)
        else '%' || upper(lpad(to_hex(b), 2, '0'))
      end,
      '' order by i
    ),
    ''
  )
  from (select convert_to(string, 'UTF8') as raw) as r,
    lateral (select i, get_byte(r.raw, i) as b from generate_series(0, length(r.raw) - 1) as i) as s
$$;

-- Validates `url` and appends the already encoded `key=value` items of `params_array` to its
-- query, as pg_net does with curl's URL API: the scheme is lower-cased, an empty path becomes
-- `/`, a fragment stays last. Invalid URLs raise `invalid URL "<url>": <reason>`.
create or replace function net._encode_url_with_params_array(url text, params_array text[])
  returns text
  language plpgsql
  immutable
  strict
  parallel safe
as $$
declare
  parts text[];
  scheme text;
  authority text;
  path text;
  query text;
  fragment text;
  extra text;
begin
  if url ~ '[[:space:][:cntrl:]]' or url = '' then
    raise exception 'invalid URL "%": Malformed input to a URL function', url;
  end if;
  parts := regexp_match(url, '^([A-Za-z][A-Za-z0-9+.-]*):(.*)$');
  if parts is null then
    raise exception 'invalid URL "%": Bad scheme', url;
  end if;
  scheme := lower(parts[1]);
  if scheme not in (
    'dict', 'file', 'ftp', 'ftps', 'gopher', 'gophers', 'http', 'https', 'imap', 'imaps',
    'ldap', 'ldaps', 'mqtt', 'pop3', 'pop3s', 'rtmp', 'rtsp', 'scp', 'sftp', 'smb', 'smbs',
    'smtp', 'smtps', 'telnet', 'tftp', 'ws', 'wss'
  ) then
    raise exception 'invalid URL "%": Unsupported URL scheme', url;
  end if;
  parts := regexp_match(parts[2], '^//([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$');
  if parts is null or (parts[1] = '' and scheme <> 'file') then
    raise exception 'invalid URL "%": No host part in the URL', url;
  end if;
  authority := parts[1];
  path := case when parts[2] = '' then '/' else parts[2] end;
  query := nullif(substr(parts[3], 2), '');
  fragment := parts[4];
  select string_agg(p, '&' order by n) into extra
  from unnest(params_array) with ordinality as a(p, n)
  where p is not null;
  if extra is not null then
    query := case when query is null then extra else query || '&' || extra end;
  end if;
  return scheme || '://' || authority || path || coalesce('?' || query, '') || coalesce(fragment, '');
end
$$;

-- The request URL: `params` (a JSON object) URL-encoded and appended to `url`'s query.
create or replace function net._url_with_params(url text, params jsonb)
  returns text
  language sql
  immutable
  parallel safe
  set search_path = ''
as $$
  select net._encode_url_with_params_array(url, coalesce(
    (select array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value))
     from jsonb_each_text(coalesce(params, '{}'::jsonb))),
    '{}'
  ))
$$;

-- Interface to make an async request (pg_net's signature and defaults).
create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
)
  returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._url_with_params(url, params), headers,
          timeout_milliseconds)
  returning id into request_id;

  return request_id;
end
$$;

-- Interface to make an async request. The body is sent as JSON: a missing Content-Type header
-- is added, any other Content-Type is refused (as pg_net does).
create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
)
  returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  request_id bigint;
  content_type text;
begin
  select header_value into content_type
  from jsonb_each_text(coalesce(headers, '{}'::jsonb)) as r(header_name, header_value)
  where lower(header_name) = 'content-type'
  limit 1;

  if content_type is null then
    headers := headers || '{"Content-Type": "application/json"}'::jsonb;
  end if;

  if content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;

  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._url_with_params(url, params), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;

  return request_id;
end
$$;

-- Interface to make an async request (pg_net's signature and defaults).
create or replace function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000,
  body jsonb default null
)
  returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._url_with_params(url, params), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;

  return request_id;
end
$$;

-- Blocks until the response of `request_id` is stored.
create or replace function net._await_response(request_id bigint)
  returns bool
  language plpgsql
as $$
begin
  while not exists (select from net._http_response r where r.id = request_id) loop
    perform pg_sleep(0.05);
  end loop;
  return true;
end
$$;

-- The response of `request_id` wrapped in a result; with `async` false, waits for it first.
create or replace function net._http_collect_response(request_id bigint, async bool default true)
  returns net.http_response_result
  language plpgsql
as $$
declare
  rec net._http_response;
begin
  if not async then
    perform net._await_response(request_id);
  end if;

  select * into rec from net._http_response r where r.id = request_id;

  if rec is null or rec.error_msg is not null then
    return (
      'ERROR',
      coalesce(rec.error_msg, 'request matching request_id not found'),
      null
    )::net.http_response_result;
  end if;

  return (
    'SUCCESS',
    'ok',
    (rec.status_code, rec.headers, rec.content)::net.http_response
  )::net.http_response_result;
end
$$;

create or replace function net.http_collect_response(request_id bigint, async bool default true)
  returns net.http_response_result
  language plpgsql
as $$
begin
  raise notice 'The net.http_collect_response function is deprecated.';
  return net._http_collect_response(request_id, async);
end
$$;

create or replace function net.check_worker_is_up()
  returns void
  language plpgsql
as $$
begin
  if not exists (select from pg_stat_activity where application_name = 'pg_net worker') then
    raise exception using
      message = 'the pg_net background worker is not up',
      detail = 'the pg_net background worker is down due to an internal error and cannot process requests',
      hint = 'make sure that you didn''t modify any of pg_net internal tables';
  end if;
end
$$;
comment on function net.check_worker_is_up() is
  'raises an exception if the pg_net background worker is not up, otherwise it doesn''t return anything';

-- Waits until the worker process is connected.
create or replace function net.wait_until_running()
  returns void
  language plpgsql
as $$
begin
  while not exists (select from pg_stat_activity where application_name = 'pg_net worker') loop
    perform pg_sleep(0.05);
  end loop;
end
$$;
comment on function net.wait_until_running() is 'waits until the worker is running';

-- Ends the worker's database sessions; the worker reconnects by itself.
create or replace function net.worker_restart()
  returns bool
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  perform pg_catalog.pg_terminate_backend(pid)
  from pg_catalog.pg_stat_activity
  where application_name = 'pg_net worker';
  return true;
end
$$;

-- Privileges. pg_net 0.20 itself grants USAGE on `net` and ALL on its tables to PUBLIC and
-- leaves its functions executable by PUBLIC (security invoker); hosted Supabase additionally
-- grants USAGE on `net` to postgres, anon, authenticated and service_role, and for its older
-- pg_net versions made http_get/http_post SECURITY DEFINER, revoked them from PUBLIC and granted
-- EXECUTE to those roles. This stand-in follows that locked-down variant: nothing for PUBLIC,
-- the http_* functions SECURITY DEFINER and executable by the four roles (so anon and
-- authenticated need no rights on the tables), the tables and the other helpers for postgres
-- and service_role only.
revoke all on schema net from public;
revoke all on all tables in schema net from public;
revoke all on all sequences in schema net from public;
revoke all on all functions in schema net from public;

grant usage on schema net to postgres, anon, authenticated, service_role;
grant all on all tables in schema net to postgres, service_role;
grant all on all sequences in schema net to postgres, service_role;
grant execute on function
  net.http_get(text, jsonb, jsonb, int),
  net.http_post(text, jsonb, jsonb, jsonb, int),
  net.http_delete(text, jsonb, jsonb, int, jsonb)
  to postgres, anon, authenticated, service_role;
grant execute on function
  net.wake(),
  net._urlencode_string(varchar),
  net._encode_url_with_params_array(text, text[]),
  net._url_with_params(text, jsonb),
  net._await_response(bigint),
  net._http_collect_response(bigint, bool),
  net.http_collect_response(bigint, bool),
  net.check_worker_is_up(),
  net.wait_until_running(),
  net.worker_restart()
  to postgres, service_role;
