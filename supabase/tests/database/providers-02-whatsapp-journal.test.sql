-- The WhatsApp sender's journal (migration 20261128140300_whatsapp_journal): only service_role
-- calls its functions and nobody reads its table through the API; a send key opens once
-- (sending), settles as sent, failed or unknown; a key sent or failed is not sent again; a key
-- whose answer was lost is settled by Evolution's own send.message event (same instance, number
-- and text, since it was opened), and otherwise sent again (at least once), counting attempts.
begin;
select plan(27);

select tests.frozen_now() as t0 \gset
select tests.sign_up('Hal P2') as hal \gset
select tests.instance_name(:'hal') as hal_instance \gset

/* A key's row as "state attempts message_id error". */
create function pg_temp.send(p_key text) returns text
language sql as $$
  select format('%s %s %s %s', s.state, s.attempts, coalesce(s.message_id, '-'), coalesce(s.error, '-'))
  from providers_internal.whatsapp_sends s where s.send_key = p_key
$$;

-- ---------------------------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------------------------
select ok(not has_table_privilege(r, 'providers_internal.whatsapp_sends', 'select,insert,update,delete'),
          format('%s has no privilege on the WhatsApp journal table', r))
from unnest(array['anon', 'authenticated', 'service_role']) r;
select is(
  array(select format('%s:%s', f, r)
        from unnest(array['public.whatsapp_send_open(text, text, text, text, timestamptz)',
                          'public.whatsapp_send_settle(text, text, text, text, timestamptz)']) f,
             unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, f, 'execute') order by 1),
  array['public.whatsapp_send_open(text, text, text, text, timestamptz):service_role',
        'public.whatsapp_send_settle(text, text, text, text, timestamptz):service_role'],
  'only service_role may execute the whatsapp_send_* functions');

-- ---------------------------------------------------------------------------------------------
-- Open and settle.
-- ---------------------------------------------------------------------------------------------
select tests.act_as_service_role();
select is(public.whatsapp_send_open('order:1:ready', :'hal_instance', '33700000002', 'Your order is ready', :'t0'),
  '{"state": "send", "message_id": null}'::jsonb, 'a new key: send');
reset role;
select is(pg_temp.send('order:1:ready'), 'sending 1 - -', 'journalled as sending, attempt 1');
select public.whatsapp_send_settle('order:1:ready', 'sent', 'MSG-1', null, :'t0'::timestamptz + interval '1 second');
select is(pg_temp.send('order:1:ready'), 'sent 1 MSG-1 -', 'settled as sent, with the message id');
select is(public.whatsapp_send_open('order:1:ready', :'hal_instance', '33700000002', 'Your order is ready', :'t0'),
  '{"state": "sent", "message_id": "MSG-1"}'::jsonb, 'a sent key: sent (skip), with its message id');
select public.whatsapp_send_settle('order:1:ready', 'failed', null, 'late', :'t0');
select is(pg_temp.send('order:1:ready'), 'sent 1 MSG-1 -', 'a settled send is left as it is');

select public.whatsapp_send_open('order:2:ready', :'hal_instance', '33700000003', 'Not on WhatsApp', :'t0');
select public.whatsapp_send_settle('order:2:ready', 'failed', null, 'Evolution answered 400: exists false', :'t0');
select is(public.whatsapp_send_open('order:2:ready', :'hal_instance', '33700000003', 'Not on WhatsApp', :'t0'),
  '{"state": "failed", "message_id": null}'::jsonb, 'a failed key: failed (not sent again)');
select is(pg_temp.send('order:2:ready'), 'failed 1 - Evolution answered 400: exists false', 'with its error');

-- ---------------------------------------------------------------------------------------------
-- A lost answer.
-- ---------------------------------------------------------------------------------------------
select public.whatsapp_send_open('order:3:ready', :'hal_instance', '+33 7 00 00 00 04', 'Parcel shipped', :'t0');
select public.whatsapp_send_settle('order:3:ready', 'unknown', null, 'Timeout after 2000 ms', :'t0'::timestamptz + interval '2 seconds');
select is(pg_temp.send('order:3:ready'), 'sending 1 - Timeout after 2000 ms', 'unknown: still sending, the error kept');
select is(public.whatsapp_send_open('order:3:ready', :'hal_instance', '+33 7 00 00 00 04', 'Parcel shipped',
                                    :'t0'::timestamptz + interval '10 seconds'),
  '{"state": "send", "message_id": null}'::jsonb, 'no sign it left: send again (at least once)');
select is(pg_temp.send('order:3:ready'), 'sending 2 - Timeout after 2000 ms', 'attempt 2');
select is((select opened_at from providers_internal.whatsapp_sends where send_key = 'order:3:ready'),
  :'t0'::timestamptz + interval '10 seconds', 'opened again now');

-- Events that do not match: before the opening, another text, another number, another instance.
select tests.sign_up('Ivy P2') as ivy \gset
select tests.whatsapp_webhook(:'hal', 'send.message',
  '{"key": {"remoteJid": "33700000004@s.whatsapp.net", "fromMe": true, "id": "EARLY"}, "message": {"conversation": "Parcel shipped"}}',
  :'t0'::timestamptz + interval '5 seconds');
select tests.whatsapp_webhook(:'hal', 'send.message',
  '{"key": {"remoteJid": "33700000004@s.whatsapp.net", "fromMe": true, "id": "OTHERTEXT"}, "message": {"conversation": "Parcel lost"}}',
  :'t0'::timestamptz + interval '11 seconds');
select tests.whatsapp_webhook(:'hal', 'send.message',
  '{"key": {"remoteJid": "33700000009@s.whatsapp.net", "fromMe": true, "id": "OTHERNUMBER"}, "message": {"conversation": "Parcel shipped"}}',
  :'t0'::timestamptz + interval '11 seconds');
select tests.whatsapp_webhook(:'ivy', 'send.message',
  '{"key": {"remoteJid": "33700000004@s.whatsapp.net", "fromMe": true, "id": "OTHERINSTANCE"}, "message": {"conversation": "Parcel shipped"}}',
  :'t0'::timestamptz + interval '11 seconds');
select is(public.whatsapp_send_open('order:3:ready', :'hal_instance', '+33 7 00 00 00 04', 'Parcel shipped',
                                    :'t0'::timestamptz + interval '20 seconds') ->> 'state', 'send',
  'send.message events of another time, text, number or instance do not settle it');
select is(pg_temp.send('order:3:ready'), 'sending 3 - Timeout after 2000 ms', 'attempt 3');

-- The event of the message: the answer was lost, but the message left.
select tests.whatsapp_webhook(:'hal', 'send.message',
  '{"key": {"remoteJid": "33700000004@s.whatsapp.net", "fromMe": true, "id": "3EB0SHIPPED"},
    "message": {"extendedTextMessage": {"text": "Parcel shipped"}}, "messageType": "extendedTextMessage"}',
  :'t0'::timestamptz + interval '21 seconds');
select is(public.whatsapp_send_open('order:3:ready', :'hal_instance', '+33 7 00 00 00 04', 'Parcel shipped',
                                    :'t0'::timestamptz + interval '30 seconds'),
  '{"state": "sent", "message_id": "3EB0SHIPPED"}'::jsonb,
  'Evolution''s send.message of that number and text since the opening: sent, not sent again');
select is(pg_temp.send('order:3:ready'), 'sent 3 3EB0SHIPPED -', 'the journal says sent, with the event''s message id');
select is((select sent_at from providers_internal.whatsapp_sends where send_key = 'order:3:ready'),
  :'t0'::timestamptz + interval '30 seconds', 'when it learnt so');

-- ---------------------------------------------------------------------------------------------
-- Refusals.
-- ---------------------------------------------------------------------------------------------
select throws_ok($$select public.whatsapp_send_settle('never:opened', 'sent', 'X', null)$$, 'P0002', null,
  'settling a key never opened: P0002');
select throws_ok($$select public.whatsapp_send_settle('order:1:ready', 'lost', null, null)$$, '22023', null,
  'an unknown outcome: 22023');
select throws_ok(format($$select public.whatsapp_send_open('k', %L, '', 'text')$$, :'hal_instance'), '22023', null,
  'opening without a number: 22023');

-- ---------------------------------------------------------------------------------------------
-- Retention: a key is remembered for 30 days after its last change.
-- ---------------------------------------------------------------------------------------------
select is(public.whatsapp_journal_prune(:'t0'::timestamptz + interval '29 days'), 0,
  'nothing is pruned within 30 days');
select ok(public.whatsapp_journal_prune(:'t0'::timestamptz + interval '31 days') > 0,
  'sends untouched for 30 days are pruned');
select is((select count(*)::int from providers_internal.whatsapp_sends
           where updated_at < :'t0'::timestamptz + interval '1 day'), 0, 'none of them is left');
select is((select schedule from cron.job where jobname = 'whatsapp-journal-retention'), '17 3 * * *',
  'the cron job whatsapp-journal-retention prunes daily');

select * from finish();
rollback;
