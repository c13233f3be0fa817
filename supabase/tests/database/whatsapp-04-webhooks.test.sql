-- Evolution's webhooks (whatsapp_webhook_receive): an unknown instance or a wrong secret stores
-- nothing and changes nothing; the secret is compared through SHA-256 digests in constant time; a
-- body received twice is a duplicate; each event kind does its part: QR codes (both payload
-- shapes, either name spelling), connection states (refused then close stays refused, open clears
-- the code), inbound messages (not the instance's own, once per id), send.message (stored),
-- logout, removal; other events are stored and ignored; malformed data is kept with its error.
begin;
select plan(44);

select tests.frozen_now() as t0 \gset
select tests.sign_up('Fay W4') as fay \gset
select tests.instance_name(:'fay') as fay_instance \gset
select tests.whatsapp_created(:'fay', :'t0');

/* Fay's instance as "status instance_status status_reason qr_count qr_code". */
create function pg_temp.fay() returns text
language sql as $$
  select format('%s %s %s %s %s', i.status, i.instance_status, coalesce(i.status_reason::text, '-'), i.qr_count,
                coalesce(i.qr_code, '-'))
  from public.evolution_instances i where i.instance_name = tests.instance_name(current_setting('w4.fay')::uuid)
$$;
select set_config('w4.fay', :'fay', true);

-- ---------------------------------------------------------------------------------------------
-- The constant-time comparison.
-- ---------------------------------------------------------------------------------------------
select ok(whatsapp_internal.secret_matches('s3cret', 's3cret'), 'equal secrets match');
select ok(not whatsapp_internal.secret_matches('s3creT', 's3cret'), 'a secret differing in one character does not');
select ok(not whatsapp_internal.secret_matches('s3cret-longer', 's3cret'), 'nor one of another length');
select ok(not whatsapp_internal.secret_matches(null, 's3cret') and not whatsapp_internal.secret_matches('', '')
          and not whatsapp_internal.secret_matches(null, null), 'a missing or empty secret never matches');
select ok((select p.prosrc like '%sha256%' and p.prosrc like '%for i in 0..31 loop%' and p.prosrc like '%#%'
           from pg_proc p where p.oid = 'whatsapp_internal.secret_matches(text, text)'::regprocedure),
  'the comparison xors the 32 bytes of both SHA-256 digests, without an early exit');

-- ---------------------------------------------------------------------------------------------
-- Refused calls store nothing and change nothing.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select is(public.whatsapp_webhook_receive('user_unknown', 'x', 'qrcode.updated', '{"data": {}}'),
  '{"status": "unknown_instance", "event_id": null}'::jsonb, 'an unknown instance');
select is(public.whatsapp_webhook_receive(:'fay_instance', 'wrong', 'connection.update', '{"data": {"state": "open"}}'),
  '{"status": "unauthorized", "event_id": null}'::jsonb, 'a wrong secret');
select is(public.whatsapp_webhook_receive(:'fay_instance', null, 'connection.update', '{"data": {"state": "open"}}'),
  '{"status": "unauthorized", "event_id": null}'::jsonb, 'no secret');
reset role;
select is((select count(*)::int from public.evolution_webhook_events), 0, 'none of them stored an event');
select is(pg_temp.fay(), 'created connecting - 1 data:image/png;base64,QR1', 'nor changed the instance');

-- ---------------------------------------------------------------------------------------------
-- QR codes.
-- ---------------------------------------------------------------------------------------------
select is(tests.whatsapp_webhook(:'fay', 'qrcode.updated',
  '{"qrcode": {"base64": "data:image/png;base64,QR2", "code": "c2", "pairingCode": "PAIR0002", "count": 2}}',
  :'t0'::timestamptz + interval '45 seconds') ->> 'status', 'handled', 'qrcode.updated is handled');
select results_eq(
  format($$select qr_code, qr_code_text, pairing_code, qr_count, last_qr_update, instance_status
           from public.evolution_instances where user_id = %L$$, :'fay'),
  format($$values ('data:image/png;base64,QR2', 'c2', 'PAIR0002', 2, %L::timestamptz + interval '45 seconds', 'connecting')$$, :'t0'),
  'the new code, its count and when it came'
);
select is(tests.whatsapp_webhook(:'fay', 'QRCODE_UPDATED', '{"base64": "QR3", "code": "c3", "pairingCode": "PAIR0003"}',
  :'t0'::timestamptz + interval '90 seconds') ->> 'status', 'handled',
  'the older shape (data is the code) under the upper-case name is handled too');
select is(pg_temp.fay(), 'created connecting - 3 data:image/png;base64,QR3',
  'without a count, the count goes up by one; a bare base64 becomes a data URL');
select results_eq(
  format($$select event, outcome, handled_at, payload ->> 'instance'
           from public.evolution_webhook_events where instance_name = %L order by id$$, :'fay_instance'),
  format($$values ('qrcode.updated', 'handled: QR code 2', %1$L::timestamptz + interval '45 seconds', %2$L),
                  ('qrcode.updated', 'handled: QR code 3', %1$L::timestamptz + interval '90 seconds', %2$L)$$,
         :'t0', :'fay_instance'),
  'each event is stored with its name in lower case with dots, its outcome and the whole body'
);

-- A body received again: a duplicate, stored once, handled once.
select tests.whatsapp_webhook(:'fay', 'connection.update', '{"state": "connecting"}', :'t0') as first_call \gset
select is(tests.whatsapp_webhook(:'fay', 'connection.update', '{"state": "connecting"}', :'t0'),
  jsonb_build_object('status', 'duplicate', 'event_id', (:'first_call'::jsonb ->> 'event_id')::bigint),
  'the same body again is a duplicate of the stored event');
select is((select count(*)::int from public.evolution_webhook_events where event = 'connection.update'), 1,
  'stored once');

-- ---------------------------------------------------------------------------------------------
-- Connection states.
-- ---------------------------------------------------------------------------------------------
select tests.whatsapp_webhook(:'fay', 'connection.update', '{"state": "refused", "statusReason": 428}',
  :'t0'::timestamptz + interval '20 minutes');
select is(pg_temp.fay(), 'created refused 428 3 -', 'refused (QR limit): visible, with its reason, the code cleared');
select tests.whatsapp_webhook(:'fay', 'connection.update', '{"state": "close", "statusReason": 401}',
  :'t0'::timestamptz + interval '21 minutes');
select is(pg_temp.fay(), 'created refused 428 3 -', 'close right after refused keeps refused');
select tests.act_as_service_role();
select is(public.whatsapp_qr_store(:'fay_instance', '{"base64": "data:image/png;base64,QR4", "code": "c4", "count": 1}',
                                   :'t0'::timestamptz + interval '30 minutes') ->> 'instance_status', 'connecting',
  'a new code asked for: connecting again');
reset role;
select is(pg_temp.fay(), 'created connecting - 1 data:image/png;base64,QR4', 'with the new code');
select tests.whatsapp_webhook(:'fay', 'connection.update',
  '{"state": "open", "statusReason": 200, "wuid": "33612345678@s.whatsapp.net", "profileName": "Fay Shop"}',
  :'t0'::timestamptz + interval '31 minutes');
select results_eq(
  format($$select instance_status, phone_number, profile_name, connected_at, qr_code, qr_code_text, pairing_code
           from public.evolution_instances where user_id = %L$$, :'fay'),
  format($$values ('open', '33612345678', 'Fay Shop', %L::timestamptz + interval '31 minutes', null::text, null::text, null::text)$$, :'t0'),
  'open: connected, the number and profile name recorded, the QR code cleared'
);
select tests.whatsapp_webhook(:'fay', 'connection.update', '{"state": "open"}', :'t0'::timestamptz + interval '40 minutes');
select is((select connected_at from public.evolution_instances where user_id = :'fay'),
  :'t0'::timestamptz + interval '31 minutes', 'open again keeps when it connected');
-- Evolution posts events concurrently and retries them: one sent before the last applied arrives
-- late. It is kept, not applied.
select is(tests.whatsapp_webhook(:'fay', 'connection.update', '{"state": "connecting"}',
                                 :'t0'::timestamptz + interval '35 minutes') ->> 'status', 'ignored',
  'a connecting event sent before the last open one is ignored');
select is(tests.whatsapp_webhook(:'fay', 'qrcode.updated', '{"qrcode": {"base64": "data:image/png;base64,OLD", "code": "OLD"}}',
                                 :'t0'::timestamptz + interval '36 minutes') ->> 'status', 'ignored',
  'so is a QR code sent before it');
select results_eq(
  format($$select instance_status, qr_code, last_event_at from public.evolution_instances where user_id = %L$$, :'fay'),
  format($$values ('open', null::text, %L::timestamptz + interval '40 minutes')$$, :'t0'),
  'the instance stays open, without a QR code'
);
select is(tests.whatsapp_webhook(:'fay', 'connection.update', '{"state": "sleeping"}') ->> 'status', 'ignored',
  'an unknown state is ignored');

-- ---------------------------------------------------------------------------------------------
-- Messages.
-- ---------------------------------------------------------------------------------------------
select is(tests.whatsapp_webhook(:'fay', 'messages.upsert', '{
  "key": {"remoteJid": "33700000001@s.whatsapp.net", "fromMe": false, "id": "3EB0C0FFEE"},
  "pushName": "Gus", "message": {"conversation": "Is my order ready?"}, "messageType": "conversation",
  "messageTimestamp": 1796630400}', :'t0'::timestamptz + interval '50 minutes') ->> 'status', 'handled',
  'an inbound message is handled');
select results_eq(
  format($$select instance_name, user_id, message_id, remote_jid, from_number, push_name, message_type, text, sent_at, received_at
           from public.whatsapp_inbound_messages where instance_name = %L$$, :'fay_instance'),
  format($$values (%L, %L::uuid, '3EB0C0FFEE', '33700000001@s.whatsapp.net', '33700000001', 'Gus', 'conversation',
                   'Is my order ready?', to_timestamp(1796630400), %L::timestamptz + interval '50 minutes')$$,
         :'fay_instance', :'fay', :'t0'),
  'it lands in whatsapp_inbound_messages, with the sender''s digits, the text and both times'
);
select is(tests.whatsapp_webhook(:'fay', 'messages.upsert', '{
  "key": {"remoteJid": "33700000001@s.whatsapp.net", "fromMe": false, "id": "3EB0C0FFEE"},
  "pushName": "Gus", "message": {"conversation": "Is my order ready?"}, "messageType": "conversation",
  "messageTimestamp": 1796630400}', :'t0'::timestamptz + interval '51 minutes') ->> 'status', 'handled',
  'the same message in another delivery (another body) is accepted');
select is((select count(*)::int from public.whatsapp_inbound_messages where message_id = '3EB0C0FFEE'), 1,
  'but stored once');
select is(tests.whatsapp_webhook(:'fay', 'MESSAGES_UPSERT', '{
  "key": {"remoteJid": "33700000001@s.whatsapp.net", "fromMe": false, "id": "3EB0BEEF"},
  "message": {"extendedTextMessage": {"text": "Thanks!"}}, "messageType": "extendedTextMessage"}') ->> 'status',
  'handled', 'an extended text message is handled');
select is((select text from public.whatsapp_inbound_messages where message_id = '3EB0BEEF'), 'Thanks!',
  'its text is kept');
select is(tests.whatsapp_webhook(:'fay', 'messages.upsert', '{
  "key": {"remoteJid": "33700000001@s.whatsapp.net", "fromMe": true, "id": "3EB0MINE"},
  "message": {"conversation": "Yes, it is"}}') ->> 'status', 'ignored', 'a message the instance sent is ignored');
select is((select count(*)::int from public.whatsapp_inbound_messages where message_id = '3EB0MINE'), 0,
  'and not stored as inbound');
select is(tests.whatsapp_webhook(:'fay', 'messages.upsert', '{"key": {"fromMe": false}}') ->> 'status', 'ignored',
  'a message without an id is ignored');
select is((select format('%s | %s', outcome, error is not null) from public.evolution_webhook_events
           where payload -> 'data' = '{"key": {"fromMe": false}}'), 'ignored: malformed data | t',
  'it is kept with its error');
select is(tests.whatsapp_webhook(:'fay', 'send.message', '{"key": {"remoteJid": "337@s.whatsapp.net", "fromMe": true, "id": "X1"}}')
          ->> 'status', 'handled', 'send.message is handled (stored for the send journal)');
select is(tests.whatsapp_webhook(:'fay', 'chats.update', '{}') ->> 'status', 'ignored',
  'another event is ignored');
select is((select outcome from public.evolution_webhook_events where event = 'chats.update'),
  'ignored: event chats.update is not handled', 'but stored, saying so');

-- ---------------------------------------------------------------------------------------------
-- Logout and removal.
-- ---------------------------------------------------------------------------------------------
select tests.whatsapp_webhook(:'fay', 'logout.instance', '{}', :'t0'::timestamptz + interval '2 hours');
select is(pg_temp.fay(), 'logged_out close - 0 -', 'logout.instance: logged out and closed');
select tests.whatsapp_webhook(:'fay', 'remove.instance', '{}', :'t0'::timestamptz + interval '3 hours');
select is(pg_temp.fay(), 'deleted close - 0 -', 'remove.instance: deleted');
select is(tests.whatsapp_webhook(:'fay', 'qrcode.updated', '{"base64": "LATE"}') ->> 'status', 'ignored',
  'a QR code for a deleted instance is ignored');
select is(pg_temp.fay(), 'deleted close - 0 -', 'and changes nothing');

select * from finish();
rollback;
