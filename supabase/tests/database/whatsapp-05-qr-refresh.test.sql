-- The QR fallback with a frozen clock: whatsapp_qr_due picks the instances still connecting
-- whose code is missing or older than qr_refresh_after (never open, refused, closed, logged out
-- or deleted ones), oldest first, up to the batch size; whatsapp_qr_store and
-- whatsapp_connection_store record what refresh-qr-codes and the settings endpoint learn; the
-- cron job refresh-qr-codes calls the function only when something is due.
begin;
select plan(17);

select tests.frozen_now() as t0 \gset
update public.whatsapp_settings set qr_refresh_after = '45 seconds', qr_refresh_batch = 50;

/* A signed-up user whose instance was created, with its code last updated p_age before t0 (null: no code). */
create function pg_temp.instance(p_name text, p_age interval) returns uuid
language plpgsql as $$
declare
  v_user uuid := tests.sign_up(p_name);
begin
  perform tests.whatsapp_created(v_user, tests.frozen_now() - coalesce(p_age, interval '0'), p_age is not null);
  return v_user;
end
$$;

/* The users of the instances due at p_now (limit p_limit), in order, by full name. */
create function pg_temp.due(p_now timestamptz, p_limit int default null) returns text[]
language sql as $$
  select array(select p.full_name
               from public.whatsapp_qr_due(p_limit, p_now) with ordinality d(instance_name, user_id, instance_token, n)
               join public.profiles p on p.id = d.user_id
               where p.full_name like '% W5'
               order by d.n)
$$;

select pg_temp.instance('Fresh W5', interval '10 seconds') as fresh \gset
select pg_temp.instance('Old W5', interval '50 seconds') as old \gset
select pg_temp.instance('Older W5', interval '5 minutes') as older \gset
select pg_temp.instance('Nocode W5', null) as nocode \gset
select pg_temp.instance('Open W5', interval '5 minutes') as open \gset
select pg_temp.instance('Refused W5', interval '5 minutes') as refused \gset
select pg_temp.instance('Out W5', interval '5 minutes') as out \gset
select tests.whatsapp_webhook(:'open', 'connection.update', '{"state": "open"}', :'t0'::timestamptz - interval '4 minutes');
select tests.whatsapp_webhook(:'refused', 'connection.update', '{"state": "refused", "statusReason": 428}',
  :'t0'::timestamptz - interval '4 minutes');
update public.evolution_instances set last_qr_update = :'t0'::timestamptz - interval '5 minutes'
where user_id in (:'open', :'refused');
select tests.whatsapp_webhook(:'out', 'logout.instance', '{}', :'t0'::timestamptz - interval '4 minutes');
select tests.sign_up('Pending W5') as pending \gset

select tests.act_as_service_role();
select is(pg_temp.due(:'t0'), array['Nocode W5', 'Older W5', 'Old W5'],
  'due: connecting instances without a code or with one older than 45 seconds, oldest first');
select is(pg_temp.due(:'t0', 2), array['Nocode W5', 'Older W5'], 'at most p_limit of them');
update public.whatsapp_settings set qr_refresh_batch = 1;
select is(pg_temp.due(:'t0'), array['Nocode W5'], 'by default at most qr_refresh_batch');
update public.whatsapp_settings set qr_refresh_batch = 50, qr_refresh_after = '1 minute';
select is(pg_temp.due(:'t0'), array['Nocode W5', 'Older W5'], 'qr_refresh_after is read from the settings');
update public.whatsapp_settings set qr_refresh_after = '45 seconds';
select is(pg_temp.due(:'t0'::timestamptz + interval '40 seconds'), array['Nocode W5', 'Older W5', 'Old W5', 'Fresh W5'],
  'later, the fresh code is due too');
select is(
  (select d.instance_token from public.whatsapp_qr_due(null, :'t0') d where d.user_id = :'older'),
  (select i.instance_token from public.evolution_instances i where i.user_id = :'older'),
  'each with the token needed to ask Evolution');

-- refresh-qr-codes stores what it fetched.
select public.whatsapp_qr_store(tests_name.n, '{"base64": "data:image/png;base64,R", "code": "r", "count": 2}', :'t0')
from (select 'user_' || replace(:'older', '-', '') as n) tests_name;
select is(pg_temp.due(:'t0'), array['Nocode W5', 'Old W5'], 'a stored code is no longer due');
select throws_ok($$select public.whatsapp_qr_store('user_nobody', '{"base64": "x"}')$$, 'P0002', null,
  'a code for an unknown instance: P0002');
select throws_ok(format($$select public.whatsapp_qr_store(%L, '{"pairingCode": "x"}')$$, 'user_' || replace(:'old', '-', '')),
  '22023', null, 'a code without base64 or code: 22023');

-- Connection states learnt by polling.
select is(public.whatsapp_connection_store('user_' || replace(:'old', '-', ''), 'open', null, :'t0') ->> 'instance_status',
  'open', 'a state learnt by polling is stored');
select is(pg_temp.due(:'t0'), array['Nocode W5'], 'an open instance is no longer due');
select is(public.whatsapp_connection_store('user_' || replace(:'refused', '-', ''), 'close', 401, :'t0') ->> 'instance_status',
  'refused', 'close after refused keeps refused, also by polling');
select is(public.whatsapp_connection_store('user_' || replace(:'refused', '-', ''), 'connecting', null, :'t0') ->> 'instance_status',
  'connecting', 'connecting again after refused (a new code was asked for)');
select is(pg_temp.due(:'t0'), array['Nocode W5', 'Refused W5'], 'and due again');
select throws_ok(format($$select public.whatsapp_connection_store(%L, 'asleep')$$, 'user_' || replace(:'old', '-', '')),
  '22023', null, 'an unknown state: 22023');
reset role;

-- The cron job asks refresh-qr-codes only when something is due.
update public.evolution_instances set instance_status = 'open';
select is(whatsapp_internal.request_qr_refresh(:'t0'), null::bigint, 'nothing due: no request');
select is((select schedule || ' ' || command from cron.job where jobname = 'refresh-qr-codes'),
  '* * * * * select whatsapp_internal.request_qr_refresh()', 'refresh-qr-codes runs every minute');

select * from finish();
rollback;
