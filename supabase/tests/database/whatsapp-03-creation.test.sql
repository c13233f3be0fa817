-- The worker's side of a creation and the user's requests: whatsapp_creation_start says what to
-- create (with the credentials SQL generated) or that it is done or gone; whatsapp_creation_complete
-- stores the instance, its first QR code and webhooks, idempotently, without overwriting a newer
-- code a webhook brought; whatsapp_instance_access, whatsapp_instance_removed,
-- whatsapp_webhook_configured; whatsapp_request_instance runs the request again after a delete
-- (new credentials) or a failure, and does nothing while a job is unfinished or an instance exists.
begin;
select plan(32);

select tests.sign_up('Dora W3') as dora \gset
select tests.instance_name(:'dora') as dora_instance \gset
select tests.frozen_now() as t0 \gset
create temp table w3_credentials as
select * from whatsapp_internal.instance_credentials where user_id = :'dora';
grant select on w3_credentials to service_role;
update public.whatsapp_settings set webhook_events = array['QRCODE_UPDATED', 'CONNECTION_UPDATE', 'MESSAGES_UPSERT'];

select tests.act_as_service_role();
-- ---------------------------------------------------------------------------------------------
-- Start: what to create.
-- ---------------------------------------------------------------------------------------------
select is(
  public.whatsapp_creation_start(:'dora'),
  (select jsonb_build_object('action', 'create', 'user_id', c.user_id,
     'request_id', (select q.request_id from public.evolution_instance_creation_queue q where q.user_id = c.user_id),
     'instance_name', c.instance_name, 'instance_token', c.instance_token, 'webhook_secret', c.webhook_secret,
     'full_name', 'Dora W3',
     'webhook_events', jsonb_build_array('QRCODE_UPDATED', 'CONNECTION_UPDATE', 'MESSAGES_UPSERT'))
   from w3_credentials c),
  'start: create, with the credentials, the full name and the webhook events of the settings'
);
select is(public.whatsapp_creation_start(:'dora') ->> 'instance_token',
  (select instance_token from w3_credentials), 'a second start (a retry) presents the same token');

-- ---------------------------------------------------------------------------------------------
-- Complete: the instance is stored.
-- ---------------------------------------------------------------------------------------------
select public.whatsapp_creation_complete(:'dora', jsonb_build_object(
  'instance_name', :'dora_instance', 'instance_id', 'evo-1',
  'instance_token', (select instance_token from w3_credentials),
  'webhook_url', 'https://example.test/functions/v1/evolution-webhook',
  'webhook_events', jsonb_build_array('QRCODE_UPDATED'), 'instance_status', 'connecting',
  'qr', jsonb_build_object('base64', 'data:image/png;base64,AAA', 'code', '2@abc', 'pairingCode', 'WZYEH1YY', 'count', 1)),
  :'t0') as completed \gset
select results_eq(
  format($$select instance_name, instance_id, webhook_url, webhook_events, webhook_configured_at, status,
                  instance_status, qr_code, qr_code_text, pairing_code, qr_count, last_qr_update
           from public.evolution_instances where user_id = %L$$, :'dora'),
  format($$values (%L, 'evo-1', 'https://example.test/functions/v1/evolution-webhook', array['QRCODE_UPDATED'],
                   %L::timestamptz, 'created', 'connecting', 'data:image/png;base64,AAA', '2@abc', 'WZYEH1YY', 1,
                   %L::timestamptz)$$, :'dora_instance', :'t0', :'t0'),
  'complete stores the instance, its webhooks and its first QR code'
);
select is((select instance_token from public.evolution_instances where user_id = :'dora'),
  (select instance_token from w3_credentials), 'with its token (service role only)');
select ok(not (:'completed'::jsonb ? 'instance_token') and :'completed'::jsonb ->> 'instance_name' = :'dora_instance',
  'complete answers the row without the token');
select is(public.whatsapp_creation_start(:'dora') ->> 'action', 'done',
  'start after complete: done (a retry after a lost answer creates nothing)');
select public.whatsapp_creation_complete(:'dora', jsonb_build_object('instance_name', :'dora_instance',
  'instance_id', 'evo-1', 'webhook_url', 'https://example.test/functions/v1/evolution-webhook',
  'instance_status', 'connecting',
  'qr', jsonb_build_object('base64', 'data:image/png;base64,OLD', 'code', 'old', 'count', 1)),
  :'t0'::timestamptz + interval '1 minute');
select is((select format('%s %s %s', qr_code, qr_count, (select count(*) from public.evolution_instances e where e.user_id = :'dora'))
           from public.evolution_instances where user_id = :'dora'),
  'data:image/png;base64,AAA 1 1', 'complete again: still one row, the stored QR code kept (idempotent)');
select throws_ok(format($$select public.whatsapp_creation_complete(%L, '{"instance_name": "user_someone_else"}')$$, :'dora'),
  '22023', null, 'complete refuses an instance that is not the user''s');
select throws_ok(format($$select public.whatsapp_creation_complete(%L, '[]')$$, :'dora'),
  '22023', null, 'complete refuses an instance that is not a JSON object');
select is(public.whatsapp_creation_complete(gen_random_uuid(), '{}'), null::jsonb,
  'complete for a user who is gone answers null');

-- A webhook's QR code arrives before the worker stores the instance: kept, not overwritten.
reset role;
select tests.sign_up('Eli W3') as eli \gset
select tests.whatsapp_webhook(:'eli', 'qrcode.updated',
  '{"qrcode": {"base64": "data:image/png;base64,NEWER", "code": "c2", "pairingCode": "P2", "count": 2}}', :'t0');
select is((select format('%s %s %s', status, instance_status, webhook_configured_at is null)
           from public.evolution_instances where user_id = :'eli'), 'created connecting t',
  'an early QR webhook makes the instance row, not yet configured');
select tests.act_as_service_role();
select is(public.whatsapp_creation_start(:'eli') ->> 'action', 'create', 'start still says create');
reset role;
select tests.whatsapp_created(:'eli', :'t0'::timestamptz + interval '1 second');
select is((select format('%s %s %s', qr_code, qr_count, webhook_configured_at is not null)
           from public.evolution_instances where user_id = :'eli'),
  'data:image/png;base64,NEWER 2 t', 'complete keeps the newer QR code of the webhook');
select tests.act_as_service_role();

-- ---------------------------------------------------------------------------------------------
-- Access, webhooks reconfigured, logout and delete.
-- ---------------------------------------------------------------------------------------------
select is(public.whatsapp_instance_access(:'dora'),
  (select jsonb_build_object('instance_name', c.instance_name, 'instance_token', c.instance_token,
     'webhook_secret', c.webhook_secret, 'status', 'created', 'instance_status', 'connecting',
     'webhook_events', (select to_jsonb(s.webhook_events) from public.whatsapp_settings s)) from w3_credentials c),
  'access: what the settings endpoint needs to act');
select is(public.whatsapp_instance_access(gen_random_uuid()), null::jsonb, 'access for an unknown user: null');
select is(public.whatsapp_webhook_configured(:'dora_instance', 'https://example.test/hook', array['QRCODE_UPDATED', 'LOGOUT_INSTANCE'],
                                            :'t0'::timestamptz + interval '5 minutes') ->> 'webhook_url',
  'https://example.test/hook', 'webhooks reconfigured: the new url');
select is((select format('%s %s', webhook_events, webhook_configured_at - :'t0'::timestamptz)
           from public.evolution_instances where user_id = :'dora'),
  '{QRCODE_UPDATED,LOGOUT_INSTANCE} 00:05:00', 'with the events and when');
select throws_ok($$select public.whatsapp_webhook_configured('user_nobody', 'https://x.test', '{}')$$, 'P0002', null,
  'webhooks reconfigured for an unknown instance: P0002');

select is(public.whatsapp_request_instance(:'dora') ->> 'status', 'pending',
  'asking for an instance while one exists changes nothing (the current status)');
select is((select count(*)::int from jobs.jobs where subject = 'user:' || :'dora'), 1, 'and enqueues nothing');

select is(public.whatsapp_instance_removed(:'dora', 'logged_out') ->> 'status', 'logged_out', 'logout recorded');
select is((select format('%s %s %s', status, instance_status, qr_code is null) from public.evolution_instances where user_id = :'dora'),
  'logged_out close t', 'logged out: closed, QR cleared');
select throws_ok(format($$select public.whatsapp_instance_removed(%L, 'gone')$$, :'dora'), '22023', null,
  'an unknown removal is refused');

-- The old job finishes; the instance is deleted; the user asks for a new one.
reset role;
select tests.evolution_claim(:'dora', 'w3', now());
select tests.evolution_report(:'dora', '{"ok": true}', 'w3', now());
select tests.act_as_service_role();
select is(public.whatsapp_instance_removed(:'dora', 'deleted') ->> 'status', 'deleted', 'delete recorded');
select (tests_job ->> 'job_id')::bigint as new_job from (select public.whatsapp_request_instance(:'dora', :'t0'::timestamptz + interval '1 hour') as tests_job) r \gset
reset role;
select is(pg_temp_status.s, 'pending', 'a new instance asked for after a delete: the request is pending')
from (select status as s from public.evolution_instance_creation_queue where user_id = :'dora') pg_temp_status;
select is((tests.evolution_job(:'dora')).id, :new_job::bigint, 'with a fresh job, which the entry stores');
select is((tests.evolution_job(:'dora')).state::text, 'waiting', 'waiting to run');
select ok((select c.instance_token <> o.instance_token and c.webhook_secret <> o.webhook_secret and c.instance_name = o.instance_name
           from whatsapp_internal.instance_credentials c, w3_credentials o where c.user_id = :'dora'),
  'the credentials are renewed (same instance name, new token and secret)');
select tests.act_as_service_role();
select is(public.whatsapp_creation_start(:'dora') ->> 'action', 'create', 'start: create again');
select is(public.whatsapp_request_instance(:'dora') ->> 'job_id', :'new_job',
  'asking again while that job is unfinished changes nothing');
reset role;
select tests.whatsapp_created(:'dora', :'t0'::timestamptz + interval '2 hours');
select is((select format('%s %s %s %s', status, instance_status, qr_count, created_at - :'t0'::timestamptz)
           from public.evolution_instances where user_id = :'dora'),
  'created connecting 1 02:00:00', 'the new instance replaces the deleted one, clean');
select tests.act_as_service_role();
select throws_ok(format('select public.whatsapp_request_instance(%L)', gen_random_uuid()), 'P0002', null,
  'asking for an instance for an unknown user: P0002');
reset role;

select * from finish();
rollback;
