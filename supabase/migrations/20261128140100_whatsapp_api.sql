-- WhatsApp provisioning, part 2 of 4: the functions. Helpers in whatsapp_internal (owner only:
-- called by the functions below, the triggers and the cron jobs), then the callable functions in
-- public: service role only (edge functions, through their rpc.ts modules), except
-- whatsapp_my_instance, which a signed-in user calls for their own state. Each is followed by
-- its comment and grants.
--
-- Lock order, everywhere: a queue entry (evolution_instance_creation_queue) before its job
-- (jobs.jobs), an instance row (evolution_instances) on its own.
--
-- The queue entry mirrors its job (part 3). Writes made here to keep it in step run with the
-- transaction-local setting whatsapp.syncing = on (whatsapp_internal.begin_sync), so that the
-- triggers which react to an operator's change do not react to them.

-- =============================================================================================
-- Helpers (whatsapp_internal)
-- =============================================================================================

-- The settings row.
create function whatsapp_internal.settings() returns public.whatsapp_settings
language plpgsql
stable
set search_path = ''
as $$
declare
  v_settings public.whatsapp_settings;
begin
  select * into v_settings from public.whatsapp_settings s where s.id;
  if not found then
    raise exception using errcode = '55000',
      message = 'public.whatsapp_settings has no row: insert one (insert into public.whatsapp_settings default values)';
  end if;
  return v_settings;
end
$$;
comment on function whatsapp_internal.settings() is 'The single row of public.whatsapp_settings.';
revoke all on function whatsapp_internal.settings() from public, anon, authenticated;

-- The Evolution instance name of a user: derived, so a retry finds its own instance.
create function whatsapp_internal.instance_name(p_user_id uuid) returns text
language sql
immutable
set search_path = ''
as $$
  select 'user_' || replace(p_user_id::text, '-', '')
$$;
comment on function whatsapp_internal.instance_name(uuid) is
  'The instance name of a user: user_<uuid without dashes>.';
revoke all on function whatsapp_internal.instance_name(uuid) from public, anon, authenticated;

-- A random secret: 32 bytes, hex.
create function whatsapp_internal.random_secret() returns text
language sql
volatile
set search_path = ''
as $$
  select encode(extensions.gen_random_bytes(32), 'hex')
$$;
comment on function whatsapp_internal.random_secret() is 'A random secret: 256 bits, 64 hex digits.';
revoke all on function whatsapp_internal.random_secret() from public, anon, authenticated;

-- Whether two secrets are equal, in time that does not depend on where they differ: the SHA-256
-- digests of both are compared with an xor over all 32 bytes (the lengths do not leak either).
create function whatsapp_internal.secret_matches(p_given text, p_stored text) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_given bytea := pg_catalog.sha256(convert_to(coalesce(p_given, ''), 'UTF8'));
  v_stored bytea := pg_catalog.sha256(convert_to(coalesce(p_stored, ''), 'UTF8'));
  v_diff int := 0;
begin
  for i in 0..31 loop
    v_diff := v_diff | (get_byte(v_given, i) # get_byte(v_stored, i));
  end loop;
  return v_diff = 0 and p_given is not null and p_stored is not null and p_stored <> '';
end
$$;
comment on function whatsapp_internal.secret_matches(text, text) is
  'True when p_given equals p_stored (neither null or empty): compares their SHA-256 digests in constant time (xor of the 32 bytes).';
revoke all on function whatsapp_internal.secret_matches(text, text) from public, anon, authenticated;

-- Evolution's event names: `qrcode.updated`, or `QRCODE_UPDATED` in some versions.
create function whatsapp_internal.event_kind(p_event text) returns text
language sql
immutable
set search_path = ''
as $$
  select nullif(lower(replace(btrim(coalesce(p_event, '')), '_', '.')), '')
$$;
comment on function whatsapp_internal.event_kind(text) is
  'An event name in lower case with dots (QRCODE_UPDATED → qrcode.updated); null when empty.';
revoke all on function whatsapp_internal.event_kind(text) from public, anon, authenticated;

-- Digits of a number or a WhatsApp id (33612345678@s.whatsapp.net → 33612345678).
create function whatsapp_internal.digits(p_number text) returns text
language sql
immutable
set search_path = ''
as $$
  select nullif(regexp_replace(split_part(coalesce(p_number, ''), '@', 1), '\D', '', 'g'), '')
$$;
comment on function whatsapp_internal.digits(text) is
  'The digits of a phone number or of the user part of a WhatsApp id; null when none.';
revoke all on function whatsapp_internal.digits(text) from public, anon, authenticated;

-- An instance row as the API shows it: never the token.
create function whatsapp_internal.instance_json(p_instance public.evolution_instances) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case when p_instance.id is not null then to_jsonb(p_instance) - 'instance_token' end
$$;
comment on function whatsapp_internal.instance_json(public.evolution_instances) is
  'An evolution_instances row as JSON without instance_token; null for no row.';
revoke all on function whatsapp_internal.instance_json(public.evolution_instances) from public, anon, authenticated;

-- Marks the writes that keep a queue entry in step with its job (see the header).
create function whatsapp_internal.begin_sync() returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_previous text := coalesce(current_setting('whatsapp.syncing', true), '');
begin
  perform set_config('whatsapp.syncing', 'on', true);
  return v_previous;
end
$$;
comment on function whatsapp_internal.begin_sync() is
  'Sets the transaction-local whatsapp.syncing to on and returns its previous value (for whatsapp_internal.end_sync).';
revoke all on function whatsapp_internal.begin_sync() from public, anon, authenticated;

create function whatsapp_internal.end_sync(p_previous text) returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform set_config('whatsapp.syncing', coalesce(p_previous, ''), true);
end
$$;
comment on function whatsapp_internal.end_sync(text) is 'Restores whatsapp.syncing to the value begin_sync returned.';
revoke all on function whatsapp_internal.end_sync(text) from public, anon, authenticated;

create function whatsapp_internal.syncing() returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(current_setting('whatsapp.syncing', true), '') = 'on'
$$;
comment on function whatsapp_internal.syncing() is
  'True while the flow itself writes a queue entry to keep it in step with its job.';
revoke all on function whatsapp_internal.syncing() from public, anon, authenticated;

-- The user's credentials: created when missing, renewed on demand (a new instance after a delete).
create function whatsapp_internal.ensure_credentials(
  p_user_id uuid,
  p_renew boolean default false,
  p_now timestamptz default now()
) returns whatsapp_internal.instance_credentials
language plpgsql
set search_path = ''
as $$
declare
  v_credentials whatsapp_internal.instance_credentials;
begin
  insert into whatsapp_internal.instance_credentials as c
    (user_id, instance_name, instance_token, webhook_secret, created_at)
  values (p_user_id, whatsapp_internal.instance_name(p_user_id), whatsapp_internal.random_secret(),
          whatsapp_internal.random_secret(), p_now)
  on conflict (user_id) do update
    set instance_token = excluded.instance_token, webhook_secret = excluded.webhook_secret,
        created_at = excluded.created_at
    where p_renew
  returning c.* into v_credentials;
  if v_credentials.user_id is null then
    select * into v_credentials from whatsapp_internal.instance_credentials c
    where c.user_id = p_user_id;
  end if;
  return v_credentials;
end
$$;
comment on function whatsapp_internal.ensure_credentials(uuid, boolean, timestamptz) is
  'The user''s instance credentials (name, token, webhook secret): generated when missing, kept otherwise, new token and secret when p_renew.';
revoke all on function whatsapp_internal.ensure_credentials(uuid, boolean, timestamptz) from public, anon, authenticated;

-- Enqueues the creation job of a user (an unfinished one is returned instead: dedupe key).
create function whatsapp_internal.enqueue_creation(
  p_user_id uuid,
  p_request_id uuid,
  p_now timestamptz default now()
) returns bigint
language sql
set search_path = ''
as $$
  select (jobs.enqueue(
    p_queue => 'evolution',
    p_payload => jsonb_build_object('kind', 'create_instance', 'user_id', p_user_id,
                                    'request_id', p_request_id),
    p_subject => 'user:' || p_user_id,
    p_dedupe_key => 'create_instance:' || p_user_id,
    p_now => p_now)).id
$$;
comment on function whatsapp_internal.enqueue_creation(uuid, uuid, timestamptz) is
  'Enqueues {kind: create_instance, user_id, request_id} on the evolution queue (subject user:<id>, dedupe key create_instance:<id>; an unfinished job holding it is returned instead). Returns the job id.';
revoke all on function whatsapp_internal.enqueue_creation(uuid, uuid, timestamptz) from public, anon, authenticated;

-- Runs a user's request again: cancels its unfinished job (superseded, so the entry does not
-- turn failed) and enqueues a fresh one. The caller stores the returned job id in the entry.
create function whatsapp_internal.fresh_job(
  p_user_id uuid,
  p_request_id uuid,
  p_now timestamptz default now()
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_previous text := whatsapp_internal.begin_sync();
  v_old bigint;
  v_job bigint;
begin
  for v_old in
    select j.id from jobs.jobs j
    where j.queue = 'evolution' and j.dedupe_key = 'create_instance:' || p_user_id
      and j.state in ('waiting', 'running', 'retrying')
    order by j.id
  loop
    perform public.job_cancel(v_old, format('Superseded: the request of user %s runs again', p_user_id), p_now);
  end loop;
  v_job := whatsapp_internal.enqueue_creation(p_user_id, p_request_id, p_now);
  perform whatsapp_internal.end_sync(v_previous);
  return v_job;
end
$$;
comment on function whatsapp_internal.fresh_job(uuid, uuid, timestamptz) is
  'Cancels the user''s unfinished creation job, if any (superseded: its entry is not marked failed), and enqueues a new one. Returns the new job id.';
revoke all on function whatsapp_internal.fresh_job(uuid, uuid, timestamptz) from public, anon, authenticated;

-- The user's instance row, created from the credentials when an event arrives before the worker
-- stored the instance (Evolution sends its first QR code while answering the creation). Locked.
create function whatsapp_internal.instance_row(
  p_credentials whatsapp_internal.instance_credentials,
  p_now timestamptz
) returns public.evolution_instances
language plpgsql
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
begin
  -- One writer at a time per user: Evolution posts the first events while the worker is still
  -- storing the instance (whatsapp_creation_complete takes the same lock).
  perform from whatsapp_internal.instance_credentials c
  where c.user_id = p_credentials.user_id for no key update;
  insert into public.evolution_instances (user_id, instance_name, instance_token, created_at, updated_at)
  values (p_credentials.user_id, p_credentials.instance_name, p_credentials.instance_token, p_now, p_now)
  on conflict (user_id) do nothing;
  select * into v_row from public.evolution_instances i where i.user_id = p_credentials.user_id for update;
  return v_row;
end
$$;
comment on function whatsapp_internal.instance_row(whatsapp_internal.instance_credentials, timestamptz) is
  'The instance row of the credentials'' user, locked (after the credentials, as whatsapp_creation_complete locks them); inserted (status created, connecting) when missing.';
revoke all on function whatsapp_internal.instance_row(whatsapp_internal.instance_credentials, timestamptz) from public, anon, authenticated;

-- Stores a QR code ({base64, code, pairingCode, count}) on an instance: it is connecting again.
create function whatsapp_internal.store_qr(p_instance_id uuid, p_qr jsonb, p_now timestamptz)
returns public.evolution_instances
language plpgsql
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
  v_base64 text := nullif(p_qr ->> 'base64', '');
begin
  if jsonb_typeof(p_qr) is distinct from 'object' or (v_base64 is null and nullif(p_qr ->> 'code', '') is null) then
    raise exception using errcode = '22023',
      message = format('A QR code needs base64 or code, got %s', coalesce(left(p_qr::text, 200), 'null'));
  end if;
  update public.evolution_instances i
  set qr_code = case when v_base64 is null or v_base64 like 'data:%' then v_base64
                     else 'data:image/png;base64,' || v_base64 end,
      qr_code_text = nullif(p_qr ->> 'code', ''),
      pairing_code = nullif(p_qr ->> 'pairingCode', ''),
      qr_count = case when jsonb_typeof(p_qr -> 'count') = 'number' then greatest((p_qr ->> 'count')::numeric::int, 0)
                      else i.qr_count + 1 end,
      last_qr_update = p_now,
      instance_status = 'connecting',
      status_reason = null,
      updated_at = p_now
  where i.id = p_instance_id
  returning i.* into v_row;
  return v_row;
end
$$;
comment on function whatsapp_internal.store_qr(uuid, jsonb, timestamptz) is
  'Stores a QR code {base64 (data URL or bare base64), code, pairingCode, count} on an instance: QR columns, qr_count (count, else one more), last_qr_update, instance_status connecting. Raises 22023 without base64 or code.';
revoke all on function whatsapp_internal.store_qr(uuid, jsonb, timestamptz) from public, anon, authenticated;

-- Records a connection state. `close` right after `refused` (Evolution gives up after its QR
-- limit, then closes) keeps `refused`: the visible "QR limit reached" state.
create function whatsapp_internal.store_state(
  p_instance_id uuid,
  p_state text,
  p_status_reason int,
  p_wuid text,
  p_profile_name text,
  p_now timestamptz
) returns public.evolution_instances
language plpgsql
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
begin
  if p_state is null or p_state not in ('open', 'connecting', 'close', 'refused') then
    raise exception using errcode = '22023',
      message = format('Unknown connection state "%s" for instance %s: open, connecting, close or refused expected',
                       p_state, p_instance_id);
  end if;
  update public.evolution_instances i
  set instance_status = case when p_state = 'close' and i.instance_status = 'refused' then 'refused'
                             else p_state end,
      status_reason = case when p_state = 'close' and i.instance_status = 'refused' then i.status_reason
                           else p_status_reason end,
      status = case when p_state = 'open' and i.status = 'logged_out' then 'created' else i.status end,
      connected_at = case when p_state = 'open' then case when i.instance_status = 'open'
                                                          then coalesce(i.connected_at, p_now) else p_now end
                          else i.connected_at end,
      phone_number = case when p_state = 'open' then coalesce(whatsapp_internal.digits(p_wuid), i.phone_number)
                          else i.phone_number end,
      profile_name = case when p_state = 'open' then coalesce(p_profile_name, i.profile_name)
                          else i.profile_name end,
      qr_code = case when p_state in ('open', 'refused') then null else i.qr_code end,
      qr_code_text = case when p_state in ('open', 'refused') then null else i.qr_code_text end,
      pairing_code = case when p_state in ('open', 'refused') then null else i.pairing_code end,
      qr_count = case when p_state = 'open' then 0 else i.qr_count end,
      updated_at = p_now
  where i.id = p_instance_id
  returning i.* into v_row;
  return v_row;
end
$$;
comment on function whatsapp_internal.store_state(uuid, text, int, text, text, timestamptz) is
  'Records a connection state on an instance: close after refused keeps refused (QR limit reached); open records connected_at, the number (digits of the wuid) and the profile name and clears the QR code; refused clears the QR code too. Raises 22023 for an unknown state.';
revoke all on function whatsapp_internal.store_state(uuid, text, int, text, text, timestamptz) from public, anon, authenticated;

-- Handles one stored webhook event; returns its outcome ('handled: ...' or 'ignored: ...').
create function whatsapp_internal.handle_event(
  p_credentials whatsapp_internal.instance_credentials,
  p_kind text,
  p_data jsonb,
  p_event_at timestamptz,
  p_now timestamptz
) returns text
language plpgsql
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
  v_qr jsonb;
  v_state text;
  v_message jsonb;
  v_inbound int := 0;
  v_duplicates int := 0;
  v_from_me int := 0;
  v_inserted int;
begin
  case p_kind
  when 'qrcode.updated' then
    v_qr := case when jsonb_typeof(p_data -> 'qrcode') = 'object' then p_data -> 'qrcode' else p_data end;
    v_row := whatsapp_internal.instance_row(p_credentials, p_now);
    if v_row.status = 'deleted' then
      return 'ignored: the instance is deleted';
    end if;
    if v_row.last_event_at > p_event_at then
      return format('ignored: older than the state event of %s', v_row.last_event_at);
    end if;
    v_row := whatsapp_internal.store_qr(v_row.id, v_qr, p_now);
    update public.evolution_instances i set last_event_at = p_event_at where i.id = v_row.id;
    return format('handled: QR code %s', v_row.qr_count);
  when 'connection.update' then
    v_state := lower(p_data ->> 'state');
    if v_state is null or v_state not in ('open', 'connecting', 'close', 'refused') then
      return format('ignored: unknown state "%s"', v_state);
    end if;
    v_row := whatsapp_internal.instance_row(p_credentials, p_now);
    if v_row.status = 'deleted' then
      return 'ignored: the instance is deleted';
    end if;
    if v_row.last_event_at > p_event_at then
      return format('ignored: older than the state event of %s', v_row.last_event_at);
    end if;
    update public.evolution_instances i set last_event_at = p_event_at where i.id = v_row.id;
    v_row := whatsapp_internal.store_state(
      v_row.id, v_state,
      case when jsonb_typeof(p_data -> 'statusReason') = 'number' then (p_data ->> 'statusReason')::numeric::int end,
      p_data ->> 'wuid', nullif(p_data ->> 'profileName', ''), p_now);
    return 'handled: ' || v_row.instance_status;
  when 'messages.upsert' then
    for v_message in
      select m from jsonb_array_elements(case jsonb_typeof(p_data)
                                           when 'array' then p_data
                                           when 'object' then jsonb_build_array(p_data)
                                           else '[]'::jsonb end) m
    loop
      if coalesce((v_message -> 'key' ->> 'fromMe')::boolean, false) then
        v_from_me := v_from_me + 1;
        continue;
      end if;
      if nullif(v_message -> 'key' ->> 'id', '') is null then
        raise exception using errcode = '22023', message = format(
          'A message of instance %s has no key.id', p_credentials.instance_name);
      end if;
      insert into public.whatsapp_inbound_messages
        (instance_name, user_id, message_id, remote_jid, from_number, push_name, message_type, text,
         sent_at, received_at)
      values (
        p_credentials.instance_name, p_credentials.user_id, v_message -> 'key' ->> 'id',
        v_message -> 'key' ->> 'remoteJid', whatsapp_internal.digits(v_message -> 'key' ->> 'remoteJid'),
        v_message ->> 'pushName', v_message ->> 'messageType',
        coalesce(v_message -> 'message' ->> 'conversation',
                 v_message -> 'message' -> 'extendedTextMessage' ->> 'text'),
        case when jsonb_typeof(v_message -> 'messageTimestamp') in ('number', 'string')
               and (v_message ->> 'messageTimestamp') ~ '^\d+(\.\d+)?$'
             then to_timestamp((v_message ->> 'messageTimestamp')::double precision) end,
        p_now)
      on conflict (instance_name, message_id) do nothing;
      get diagnostics v_inserted = row_count;
      v_inbound := v_inbound + v_inserted;
      v_duplicates := v_duplicates + 1 - v_inserted;
    end loop;
    if v_inbound + v_duplicates = 0 then
      return format('ignored: no inbound message (%s sent by the instance)', v_from_me);
    end if;
    return format('handled: %s inbound message(s) stored, %s already stored', v_inbound, v_duplicates);
  when 'logout.instance' then
    update public.evolution_instances i
    set status = 'logged_out', instance_status = 'close', qr_code = null, qr_code_text = null,
        pairing_code = null, qr_count = 0, connected_at = null, updated_at = p_now
    where i.user_id = p_credentials.user_id and i.status <> 'deleted';
    if not found then
      return 'ignored: no instance to log out';
    end if;
    return 'handled: logged out';
  when 'remove.instance', 'instance.delete' then
    update public.evolution_instances i
    set status = 'deleted', instance_status = 'close', qr_code = null, qr_code_text = null,
        pairing_code = null, qr_count = 0, connected_at = null, updated_at = p_now
    where i.user_id = p_credentials.user_id;
    if not found then
      return 'ignored: no instance to remove';
    end if;
    return 'handled: deleted';
  when 'send.message' then
    return 'handled: stored for the send journal';
  else
    return format('ignored: event %s is not handled', coalesce(p_kind, '(none)'));
  end case;
end
$$;
comment on function whatsapp_internal.handle_event(whatsapp_internal.instance_credentials, text, jsonb, timestamptz, timestamptz) is
  'Applies one webhook event (its data, sent by Evolution at p_event_at) to the instance of the credentials: qrcode.updated and connection.update (unless older than the last one applied: Evolution posts events concurrently and retries them, so they arrive out of order), messages.upsert (inbound only, once per message id), logout.instance, remove.instance; send.message is only stored. Returns the outcome, "handled: ..." or "ignored: ...".';
revoke all on function whatsapp_internal.handle_event(whatsapp_internal.instance_credentials, text, jsonb, timestamptz, timestamptz) from public, anon, authenticated;

-- Runs a user's request again from the flow (whatsapp_request_instance): the entry is pending
-- with a new request id and a fresh job. Returns the entry.
create function whatsapp_internal.rerun_request(p_user_id uuid, p_now timestamptz)
returns public.evolution_instance_creation_queue
language plpgsql
set search_path = ''
as $$
declare
  v_previous text := whatsapp_internal.begin_sync();
  v_entry public.evolution_instance_creation_queue;
  v_job bigint;
begin
  insert into public.evolution_instance_creation_queue as q
    (user_id, request_id, status, created_at, updated_at)
  values (p_user_id, gen_random_uuid(), 'pending', p_now, p_now)
  on conflict (user_id) do update
    set request_id = excluded.request_id, status = 'pending', error_message = null,
        retry_count = 0, processed_at = null, updated_at = p_now
  returning q.* into v_entry;
  v_job := whatsapp_internal.fresh_job(p_user_id, v_entry.request_id, p_now);
  update public.evolution_instance_creation_queue q set job_id = v_job
  where q.id = v_entry.id
  returning q.* into v_entry;
  perform whatsapp_internal.end_sync(v_previous);
  return v_entry;
end
$$;
comment on function whatsapp_internal.rerun_request(uuid, timestamptz) is
  'Makes the user''s creation request pending again (new request id, errors and retries cleared, inserted when missing) with a fresh job. Returns the entry.';
revoke all on function whatsapp_internal.rerun_request(uuid, timestamptz) from public, anon, authenticated;

-- =============================================================================================
-- Callable functions: the creation worker (process-evolution-queue)
-- =============================================================================================

create function public.whatsapp_creation_start(p_user_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_entry public.evolution_instance_creation_queue;
  v_credentials whatsapp_internal.instance_credentials;
  v_instance public.evolution_instances;
begin
  select * into v_entry from public.evolution_instance_creation_queue q
  where q.user_id = p_user_id for update;
  if not found then
    return jsonb_build_object('action', 'gone', 'user_id', p_user_id);
  end if;
  v_credentials := whatsapp_internal.ensure_credentials(p_user_id);
  select * into v_instance from public.evolution_instances i where i.user_id = p_user_id;
  return jsonb_build_object(
    'action', case when v_instance.status = 'created' and v_instance.webhook_configured_at is not null
                   then 'done' else 'create' end,
    'user_id', p_user_id,
    'request_id', v_entry.request_id,
    'instance_name', v_credentials.instance_name,
    'instance_token', v_credentials.instance_token,
    'webhook_secret', v_credentials.webhook_secret,
    'full_name', (select p.full_name from public.profiles p where p.id = p_user_id),
    'webhook_events', to_jsonb((whatsapp_internal.settings()).webhook_events));
end
$$;
comment on function public.whatsapp_creation_start(uuid) is
  'The create_instance job''s first step: {action, user_id, request_id, instance_name, instance_token, webhook_secret, full_name, webhook_events}. action: create; done when the user''s instance is already created and stored (a retry after a lost answer); gone when the user or its request no longer exists (the job succeeds doing nothing). Service role only.';
revoke all on function public.whatsapp_creation_start(uuid) from public, anon, authenticated;
grant execute on function public.whatsapp_creation_start(uuid) to service_role;

create function public.whatsapp_creation_complete(
  p_user_id uuid,
  p_instance jsonb,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_credentials whatsapp_internal.instance_credentials;
  v_old public.evolution_instances;
  v_row public.evolution_instances;
  v_reset boolean;
  v_name text;
  v_state text;
  v_events text[];
begin
  if jsonb_typeof(p_instance) is distinct from 'object' then
    raise exception using errcode = '22023',
      message = format('whatsapp_creation_complete for user %s needs the instance as a JSON object', p_user_id);
  end if;
  -- The lock early webhooks take too (whatsapp_internal.instance_row): one writer per user.
  select * into v_credentials from whatsapp_internal.instance_credentials c
  where c.user_id = p_user_id for no key update;
  if not found then
    return null; -- the user is gone (deleted meanwhile)
  end if;
  v_name := coalesce(nullif(p_instance ->> 'instance_name', ''), v_credentials.instance_name);
  if v_name <> v_credentials.instance_name then
    raise exception using errcode = '22023',
      message = format('Instance %s is not the instance of user %s (%s)', v_name, p_user_id,
                       v_credentials.instance_name);
  end if;
  v_state := coalesce(lower(p_instance ->> 'instance_status'), 'connecting');
  if v_state not in ('open', 'connecting', 'close', 'refused') then
    v_state := 'connecting';
  end if;
  v_events := case when jsonb_typeof(p_instance -> 'webhook_events') = 'array'
                   then array(select jsonb_array_elements_text(p_instance -> 'webhook_events'))
                   else (whatsapp_internal.settings()).webhook_events end;

  select * into v_old from public.evolution_instances i where i.user_id = p_user_id for update;
  -- A new instance (none yet, or after a logout or delete) starts clean; an instance row made by
  -- an early webhook keeps the newer QR code and state it recorded.
  v_reset := v_old.id is null or v_old.status <> 'created';
  insert into public.evolution_instances as i
    (user_id, instance_name, instance_id, instance_token, webhook_url, webhook_events,
     webhook_configured_at, status, instance_status, created_at, updated_at)
  values (p_user_id, v_name, nullif(p_instance ->> 'instance_id', ''),
          coalesce(nullif(p_instance ->> 'instance_token', ''), v_credentials.instance_token),
          nullif(p_instance ->> 'webhook_url', ''), v_events, p_now, 'created', v_state, p_now, p_now)
  on conflict (user_id) do update
    set instance_name = excluded.instance_name,
        instance_id = coalesce(excluded.instance_id, i.instance_id),
        instance_token = excluded.instance_token,
        webhook_url = excluded.webhook_url,
        webhook_events = excluded.webhook_events,
        webhook_configured_at = excluded.webhook_configured_at,
        status = 'created',
        instance_status = case when v_reset or i.instance_status = 'connecting'
                               then excluded.instance_status else i.instance_status end,
        status_reason = case when v_reset then null else i.status_reason end,
        qr_code = case when v_reset then null else i.qr_code end,
        qr_code_text = case when v_reset then null else i.qr_code_text end,
        pairing_code = case when v_reset then null else i.pairing_code end,
        qr_count = case when v_reset then 0 else i.qr_count end,
        last_qr_update = case when v_reset then null else i.last_qr_update end,
        phone_number = case when v_reset then null else i.phone_number end,
        profile_name = case when v_reset then null else i.profile_name end,
        connected_at = case when v_reset then null else i.connected_at end,
        created_at = case when v_reset then excluded.created_at else i.created_at end,
        updated_at = excluded.updated_at
  returning i.* into v_row;
  if jsonb_typeof(p_instance -> 'qr') = 'object' and v_row.last_qr_update is null
     and v_row.instance_status = 'connecting' then
    v_row := whatsapp_internal.store_qr(v_row.id, p_instance -> 'qr', p_now);
  end if;
  return whatsapp_internal.instance_json(v_row);
end
$$;
comment on function public.whatsapp_creation_complete(uuid, jsonb, timestamptz) is
  'Stores the instance the worker created (or adopted): p_instance {instance_name, instance_id, instance_token, webhook_url, webhook_events, instance_status, qr: {base64, code, pairingCode, count} | null}. Upserts on user_id, status created, webhook_configured_at = p_now, the first QR code unless a webhook brought one already. Idempotent. Returns the row as JSON without instance_token; null when the user no longer exists. Service role only.';
revoke all on function public.whatsapp_creation_complete(uuid, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_creation_complete(uuid, jsonb, timestamptz) to service_role;

-- =============================================================================================
-- Callable functions: webhooks (evolution-webhook)
-- =============================================================================================

create function public.whatsapp_webhook_receive(
  p_instance text,
  p_secret text,
  p_event text,
  p_payload jsonb,
  p_payload_hash bytea default null,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_credentials whatsapp_internal.instance_credentials;
  v_kind text := whatsapp_internal.event_kind(p_event);
  v_hash bytea := coalesce(p_payload_hash, pg_catalog.sha256(convert_to(coalesce(p_payload::text, ''), 'UTF8')));
  v_event_id bigint;
  v_outcome text;
  v_error text;
  v_event_at timestamptz;
begin
  select * into v_credentials from whatsapp_internal.instance_credentials c
  where c.instance_name = p_instance;
  if not found then
    return jsonb_build_object('status', 'unknown_instance', 'event_id', null);
  end if;
  if not whatsapp_internal.secret_matches(p_secret, v_credentials.webhook_secret) then
    return jsonb_build_object('status', 'unauthorized', 'event_id', null);
  end if;

  insert into public.evolution_webhook_events (instance_name, event, payload, payload_hash, received_at)
  values (p_instance, coalesce(v_kind, '(none)'), coalesce(p_payload, 'null'::jsonb), v_hash, p_now)
  on conflict (payload_hash) do nothing
  returning id into v_event_id;
  if v_event_id is null then
    select e.id into v_event_id from public.evolution_webhook_events e where e.payload_hash = v_hash;
    return jsonb_build_object('status', 'duplicate', 'event_id', v_event_id);
  end if;

  -- When Evolution sent it (its date_time); when it came, if it does not say.
  begin
    v_event_at := coalesce((p_payload ->> 'date_time')::timestamptz, p_now);
  exception when data_exception then
    v_event_at := p_now;
  end;
  begin
    v_outcome := whatsapp_internal.handle_event(
      v_credentials, v_kind,
      case when jsonb_typeof(p_payload) = 'object' and p_payload ? 'data' then p_payload -> 'data'
           else p_payload end,
      v_event_at, p_now);
  exception when data_exception then
    -- Malformed data: kept with the error, never retried (Evolution would send it again).
    v_outcome := 'ignored: malformed data';
    v_error := sqlerrm;
  end;
  update public.evolution_webhook_events e
  set handled_at = p_now, outcome = v_outcome, error = v_error
  where e.id = v_event_id;
  return jsonb_build_object('status', case when v_outcome like 'handled%' then 'handled' else 'ignored' end,
                            'event_id', v_event_id);
end
$$;
comment on function public.whatsapp_webhook_receive(text, text, text, jsonb, bytea, timestamptz) is
  'Receives one Evolution webhook call: {status, event_id}. unknown_instance and unauthorized (p_secret differs from the instance''s webhook secret; compared in constant time) store nothing; duplicate: a body with this hash (p_payload_hash, SHA-256 of the raw body; default: of p_payload) was stored already. Otherwise stores the event and handles it in the same transaction: handled, or ignored (kind not handled, nothing to do, malformed data: see the event''s outcome and error). Event names are read in lower case with _ as . (QRCODE_UPDATED = qrcode.updated). Service role only.';
revoke all on function public.whatsapp_webhook_receive(text, text, text, jsonb, bytea, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_webhook_receive(text, text, text, jsonb, bytea, timestamptz) to service_role;

create function public.whatsapp_webhook_configured(
  p_instance text,
  p_url text,
  p_events text[],
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
begin
  update public.evolution_instances i
  set webhook_url = p_url, webhook_events = p_events, webhook_configured_at = p_now, updated_at = p_now
  where i.instance_name = p_instance
  returning i.* into v_row;
  if not found then
    raise exception using errcode = 'P0002', message = format('No WhatsApp instance named %s', p_instance);
  end if;
  return whatsapp_internal.instance_json(v_row);
end
$$;
comment on function public.whatsapp_webhook_configured(text, text, text[], timestamptz) is
  'Records that the instance''s webhook was set again (settings endpoint: "reconfigure the webhooks"): url, events, webhook_configured_at = p_now. Returns the row as JSON without instance_token; raises P0002 for an unknown instance. Service role only.';
revoke all on function public.whatsapp_webhook_configured(text, text, text[], timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_webhook_configured(text, text, text[], timestamptz) to service_role;

-- =============================================================================================
-- Callable functions: QR codes and connection states (refresh-qr-codes, settings endpoint)
-- =============================================================================================

create function public.whatsapp_qr_due(p_limit int default null, p_now timestamptz default now())
returns table (instance_name text, user_id uuid, instance_token text)
language sql
stable
security definer
set search_path = ''
as $$
  select i.instance_name, i.user_id, coalesce(i.instance_token, c.instance_token)
  from public.evolution_instances i
  left join whatsapp_internal.instance_credentials c on c.user_id = i.user_id
  cross join whatsapp_internal.settings() s
  where i.status = 'created' and i.instance_status = 'connecting'
    and (i.last_qr_update is null or i.last_qr_update < p_now - s.qr_refresh_after)
  order by i.last_qr_update nulls first, i.instance_name
  limit greatest(coalesce(p_limit, (select (whatsapp_internal.settings()).qr_refresh_batch)), 0)
$$;
comment on function public.whatsapp_qr_due(int, timestamptz) is
  'Instances whose QR code needs refreshing at p_now: created, still connecting, no code yet or one older than whatsapp_settings.qr_refresh_after; oldest first, at most p_limit (default qr_refresh_batch). With their token. Service role only.';
revoke all on function public.whatsapp_qr_due(int, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_qr_due(int, timestamptz) to service_role;

create function public.whatsapp_qr_store(p_instance text, p_qr jsonb, p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
begin
  select * into v_row from public.evolution_instances i where i.instance_name = p_instance for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('No WhatsApp instance named %s', p_instance);
  end if;
  if v_row.status = 'deleted' then
    return whatsapp_internal.instance_json(v_row);
  end if;
  return whatsapp_internal.instance_json(whatsapp_internal.store_qr(v_row.id, p_qr, p_now));
end
$$;
comment on function public.whatsapp_qr_store(text, jsonb, timestamptz) is
  'Stores a QR code fetched with GET /instance/connect ({base64, code, pairingCode, count}); the instance is connecting again (also after refused: a new code was asked for). A deleted instance is left as it is. Returns the row as JSON without instance_token; raises P0002 for an unknown instance, 22023 for a QR without base64 or code. Service role only.';
revoke all on function public.whatsapp_qr_store(text, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_qr_store(text, jsonb, timestamptz) to service_role;

create function public.whatsapp_connection_store(
  p_instance text,
  p_state text,
  p_status_reason int default null,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
begin
  select * into v_row from public.evolution_instances i where i.instance_name = p_instance for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('No WhatsApp instance named %s', p_instance);
  end if;
  if v_row.status = 'deleted' then
    return whatsapp_internal.instance_json(v_row);
  end if;
  return whatsapp_internal.instance_json(
    whatsapp_internal.store_state(v_row.id, lower(p_state), p_status_reason, null, null, p_now));
end
$$;
comment on function public.whatsapp_connection_store(text, text, int, timestamptz) is
  'Records a connection state learnt by polling (GET /instance/connectionState) or by an action (open, connecting, close, refused; close after refused keeps refused). A deleted instance is left as it is. Returns the row as JSON without instance_token; raises P0002 for an unknown instance, 22023 for an unknown state. Service role only.';
revoke all on function public.whatsapp_connection_store(text, text, int, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_connection_store(text, text, int, timestamptz) to service_role;

-- =============================================================================================
-- Callable functions: the user's settings page
-- =============================================================================================

create function public.whatsapp_my_instance() returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
begin
  if v_user is null then
    raise exception using errcode = '42501', message = 'whatsapp_my_instance needs a signed-in user';
  end if;
  return jsonb_build_object(
    'user_id', v_user,
    'queue', (select jsonb_build_object('status', q.status, 'error_message', q.error_message,
                                        'retry_count', q.retry_count, 'created_at', q.created_at,
                                        'processed_at', q.processed_at)
              from public.evolution_instance_creation_queue q where q.user_id = v_user),
    'instance', (select jsonb_build_object('instance_name', i.instance_name, 'status', i.status,
                                           'instance_status', i.instance_status,
                                           'status_reason', i.status_reason, 'qr_code', i.qr_code,
                                           'qr_code_text', i.qr_code_text,
                                           'pairing_code', i.pairing_code, 'qr_count', i.qr_count,
                                           'last_qr_update', i.last_qr_update,
                                           'phone_number', i.phone_number,
                                           'profile_name', i.profile_name,
                                           'connected_at', i.connected_at,
                                           'webhook_url', i.webhook_url,
                                           'webhook_configured_at', i.webhook_configured_at,
                                           'created_at', i.created_at)
                 from public.evolution_instances i where i.user_id = v_user));
end
$$;
comment on function public.whatsapp_my_instance() is
  'The signed-in user''s WhatsApp state: {user_id, queue: {status, error_message, retry_count, created_at, processed_at} | null, instance: {instance_name, status, instance_status, status_reason, qr_code, qr_code_text, pairing_code, qr_count, last_qr_update, phone_number, profile_name, connected_at, webhook_url, webhook_configured_at, created_at} | null}. Never the token or the webhook secret. Raises 42501 without a user. Authenticated users.';
revoke all on function public.whatsapp_my_instance() from public, anon, authenticated, service_role;
grant execute on function public.whatsapp_my_instance() to authenticated;

create function public.whatsapp_instance_access(p_user_id uuid) returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object('instance_name', c.instance_name,
                            'instance_token', coalesce(i.instance_token, c.instance_token),
                            'webhook_secret', c.webhook_secret, 'status', i.status,
                            'instance_status', i.instance_status,
                            'webhook_events', to_jsonb((whatsapp_internal.settings()).webhook_events))
  from whatsapp_internal.instance_credentials c
  left join public.evolution_instances i on i.user_id = c.user_id
  where c.user_id = p_user_id
$$;
comment on function public.whatsapp_instance_access(uuid) is
  'What the settings endpoint needs to act on a user''s instance: {instance_name, instance_token, webhook_secret, status, instance_status, webhook_events (of the settings, as the creation subscribes them)} (status and instance_status null before the instance is stored); null when the user has no credentials. Service role only.';
revoke all on function public.whatsapp_instance_access(uuid) from public, anon, authenticated;
grant execute on function public.whatsapp_instance_access(uuid) to service_role;

create function public.whatsapp_request_instance(p_user_id uuid, p_now timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_entry public.evolution_instance_creation_queue;
  v_instance public.evolution_instances;
  v_job_state jobs.job_state;
begin
  perform from auth.users u where u.id = p_user_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('User %s does not exist', p_user_id);
  end if;
  select * into v_entry from public.evolution_instance_creation_queue q
  where q.user_id = p_user_id for update;
  select * into v_instance from public.evolution_instances i where i.user_id = p_user_id for update;
  select j.state into v_job_state from jobs.jobs j where j.id = v_entry.job_id;
  if v_instance.status = 'created' or v_job_state in ('waiting', 'running', 'retrying') then
    return jsonb_build_object('status', coalesce(v_entry.status, 'completed'), 'job_id', v_entry.job_id);
  end if;
  perform whatsapp_internal.ensure_credentials(p_user_id, v_instance.status = 'deleted', p_now);
  v_entry := whatsapp_internal.rerun_request(p_user_id, p_now);
  return jsonb_build_object('status', v_entry.status, 'job_id', v_entry.job_id);
end
$$;
comment on function public.whatsapp_request_instance(uuid, timestamptz) is
  'The user''s "create my instance" (after a delete or a failure): {status, job_id}. Renews the credentials when the instance was deleted, makes the request pending and enqueues a fresh job. Does nothing (returns the current status and job) while a job is unfinished or an instance with status created exists. Raises P0002 for an unknown user. Service role only.';
revoke all on function public.whatsapp_request_instance(uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_request_instance(uuid, timestamptz) to service_role;

create function public.whatsapp_instance_removed(
  p_user_id uuid,
  p_status text,
  p_now timestamptz default now()
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.evolution_instances;
begin
  if p_status is null or p_status not in ('logged_out', 'deleted') then
    raise exception using errcode = '22023',
      message = format('Unknown removal "%s" for user %s: logged_out or deleted expected', p_status, p_user_id);
  end if;
  update public.evolution_instances i
  set status = p_status, instance_status = 'close', qr_code = null, qr_code_text = null,
      pairing_code = null, qr_count = 0, connected_at = null, updated_at = p_now
  where i.user_id = p_user_id
  returning i.* into v_row;
  return whatsapp_internal.instance_json(v_row);
end
$$;
comment on function public.whatsapp_instance_removed(uuid, text, timestamptz) is
  'Records a logout (p_status logged_out) or a delete (deleted) done by the settings endpoint: the instance is closed, its QR code cleared. Returns the row as JSON without instance_token; null when the user has no instance. Service role only.';
revoke all on function public.whatsapp_instance_removed(uuid, text, timestamptz) from public, anon, authenticated;
grant execute on function public.whatsapp_instance_removed(uuid, text, timestamptz) to service_role;
