-- Least privilege in the workshop: row level security on every table, named policies, grants
-- (workshop_check_overdue for the service role only, the internal helpers for nobody), pinned
-- search paths and comments; then the policies at work: anon sees nothing, an admin everything,
-- a linked technician reads the machines and tickets and changes the status of their own
-- assigned tickets only, a signed-in stranger sees nothing, notifications and settings are
-- for admins.
begin;
select plan(38);

-- ---------------------------------------------------------------------------------------------
-- Catalog: RLS, policies, grants, search paths, comments.
-- ---------------------------------------------------------------------------------------------
create temp table w1_tables (name text primary key);
insert into w1_tables values ('public.workshop_users'), ('public.machines'), ('public.tickets'),
  ('public.workshop_settings'), ('public.webhook_notifications');

select is(
  array(select t.name from w1_tables t join pg_class c on c.oid = t.name::regclass
        where not c.relrowsecurity order by 1),
  '{}'::text[],
  'row level security is enabled on every table of the workshop'
);
select is(
  array(select t.name from w1_tables t where obj_description(t.name::regclass, 'pg_class') is null
        union all
        select v from unnest(array['public.overdue_tickets', 'public.ticket_notification_story']) v
        where obj_description(v::regclass, 'pg_class') is null
        order by 1),
  '{}'::text[],
  'every table and view of the workshop carries a comment'
);
select is(
  array(select format('%s: "%s" %s', tablename, policyname, cmd) from pg_policies
        where schemaname = 'public' and tablename in ('workshop_users', 'machines', 'tickets',
          'workshop_settings', 'webhook_notifications')
        order by tablename, policyname),
  array['machines: "Workshop admins manage machines" ALL',
        'machines: "Workshop members see the machines" SELECT',
        'tickets: "Technicians update the status of their own tickets" UPDATE',
        'tickets: "Workshop admins manage tickets" ALL',
        'tickets: "Workshop members see the tickets" SELECT',
        'webhook_notifications: "Workshop admins see the notifications" SELECT',
        'workshop_settings: "Workshop admins change the settings" UPDATE',
        'workshop_settings: "Workshop admins read the settings" SELECT',
        'workshop_users: "Workshop admins manage workshop users" ALL',
        'workshop_users: "Workshop members see the workshop''s users" SELECT'],
  'the policies: admins manage, members read, technicians update their own tickets, admins alone read notifications and settings'
);
select is(
  array(select t.name from w1_tables t
        where has_table_privilege('anon', t.name, 'select,insert,update,delete')
           or has_table_privilege('anon', 'public.overdue_tickets', 'select')
           or has_table_privilege('anon', 'public.ticket_notification_story', 'select')
        order by 1),
  '{}'::text[],
  'anon has no privilege on the workshop''s tables and views'
);
select ok(
  not has_table_privilege('authenticated', 'public.webhook_notifications', 'insert,update,delete')
  and not has_table_privilege('authenticated', 'public.workshop_settings', 'insert,delete'),
  'authenticated never writes notifications, nor adds or removes the settings row'
);
select is(
  array(select r from unnest(array['anon', 'authenticated', 'service_role']) r
        where has_function_privilege(r, 'public.workshop_check_overdue(timestamptz, int)', 'execute')),
  array['service_role'],
  'workshop_check_overdue is executable by service_role only'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'workshop_internal'::regnamespace
          and (has_function_privilege('anon', p.oid, 'execute')
               or has_function_privilege('authenticated', p.oid, 'execute'))
        order by 1),
  array['workshop_internal.current_member()', 'workshop_internal.due_tickets(timestamp with time zone,integer)',
        'workshop_internal.is_member()'],
  'of the helpers, authenticated executes only what its policies and overdue_tickets call; anon none'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where (p.pronamespace = 'workshop_internal'::regnamespace
               or p.oid = 'public.workshop_check_overdue(timestamptz, int)'::regprocedure)
          and not coalesce('search_path=""' = any (p.proconfig), false)
        order by 1),
  '{}'::text[],
  'every function of the workshop pins an empty search_path'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where (p.pronamespace = 'workshop_internal'::regnamespace
               or p.oid = 'public.workshop_check_overdue(timestamptz, int)'::regprocedure)
          and obj_description(p.oid, 'pg_proc') is null
        order by 1),
  '{}'::text[],
  'every function of the workshop carries a comment'
);
select ok(not has_schema_privilege('anon', 'workshop_internal', 'usage'), 'anon may not use schema workshop_internal');

-- ---------------------------------------------------------------------------------------------
-- A workshop: an admin, two technicians (one signs in), an operator who signs in, a stranger.
-- ---------------------------------------------------------------------------------------------
-- (A sign-up provisions a WhatsApp instance, whose wake-up warns without Vault secrets: quiet.)
set local client_min_messages = error;
select tests.create_auth_user('tom.w1@w1.example.test') as tom_auth,
       tests.create_auth_user('olga.w1@w1.example.test') as olga_auth,
       tests.create_auth_user('stranger.w1@w1.example.test') as stranger_auth,
       tests.create_auth_user('ida.w1@w1.example.test') as ida_auth
\gset
reset client_min_messages;
insert into public.workshop_users (full_name, email, role, auth_user_id) values
  ('Tom W1', 'tom.w1@w1.example.test', 'technician', :'tom_auth'),
  ('Ann W1', 'ann.w1@w1.example.test', 'technician', null),
  ('Olga W1', 'olga.w1@w1.example.test', 'operator', :'olga_auth'),
  ('Ida W1', 'ida.w1@w1.example.test', 'technician', :'ida_auth');
update public.workshop_users set active = false where email = 'ida.w1@w1.example.test';
select id as tom from public.workshop_users where email = 'tom.w1@w1.example.test' \gset
select id as ann from public.workshop_users where email = 'ann.w1@w1.example.test' \gset
insert into public.machines (name, machine_type, serial_number) values ('Four W1', 'Four', 'W1-001');
insert into public.tickets (title, status, machine_id, assigned_to, scheduled_date)
select v.title, 'received', m.id, v.assigned_to, now() - interval '1 day'
from (values ('Tom''s W1', :'tom'::uuid), ('Ann''s W1', :'ann'::uuid)) v(title, assigned_to),
     public.machines m where m.serial_number = 'W1-001';
select id as tom_ticket from public.tickets where title = 'Tom''s W1' \gset
select id as ann_ticket from public.tickets where title = 'Ann''s W1' \gset
insert into public.webhook_notifications (ticket_id, notified_at, next_allowed_at, overdue_by, endpoint_count)
values (:tom_ticket, now(), now() + interval '1 day', '1 day', 0);

-- ---------------------------------------------------------------------------------------------
-- anon
-- ---------------------------------------------------------------------------------------------
select tests.act_as_anon();
select throws_ok('select * from public.tickets', '42501', null, 'anon may not read tickets');
select throws_ok('select * from public.overdue_tickets', '42501', null, 'nor the overdue tickets');
select throws_ok('select public.workshop_check_overdue()', '42501', null, 'nor run the check');
reset role;

-- ---------------------------------------------------------------------------------------------
-- A signed-in user who is not in the workshop, and one who left
-- ---------------------------------------------------------------------------------------------
select tests.act_as_user(:'stranger_auth');
select is(
  (select count(*)::int from public.tickets) + (select count(*)::int from public.machines)
    + (select count(*)::int from public.workshop_users),
  0,
  'a signed-in stranger sees no ticket, machine or workshop user'
);
select throws_ok('select public.workshop_check_overdue()', '42501', null, 'and may not run the check');
reset role;
select tests.act_as_user(:'ida_auth');
select is((select count(*)::int from public.tickets), 0, 'a technician who left (inactive) sees nothing');
reset role;

-- ---------------------------------------------------------------------------------------------
-- A linked technician
-- ---------------------------------------------------------------------------------------------
select tests.act_as_user(:'tom_auth');
select is((select count(*)::int from public.tickets where title like '%W1'), 2, 'a linked technician reads every ticket');
select is((select count(*)::int from public.machines where serial_number = 'W1-001'), 1, 'and the machines');
select is((select count(*)::int from public.workshop_users where email like '%@w1.example.test'), 4, 'and the workshop''s users');
select is((select count(*)::int from public.webhook_notifications), 0, 'but not the notifications');
select is((select count(*)::int from public.workshop_settings), 0, 'nor the settings');
select is((select count(*)::int from public.ticket_notification_story), 0, 'nor the notification story');
update public.tickets set status = 'diagnostic' where id = :tom_ticket;
select is((select status from public.tickets where id = :tom_ticket), 'diagnostic',
  'they change the status of a ticket assigned to them');
update public.tickets set status = 'completed' where id = :ann_ticket;
select is((select status from public.tickets where id = :ann_ticket), 'received',
  'not the status of someone else''s ticket (no row to update)');
select throws_ok(format($$update public.tickets set title = 'Renamed' where id = %s$$, :tom_ticket), '42501',
  format('Ticket %s: a technician may change its status only', :tom_ticket),
  'nor any other column of their own');
select throws_ok(format($$update public.tickets set assigned_to = %L where id = %s$$, :'ann', :tom_ticket), '42501',
  format('Ticket %s: a technician may change its status only', :tom_ticket),
  'nor hand it to someone else');
select throws_ok(format($$insert into public.tickets (title, machine_id) values ('New', (select id from public.machines limit 1))$$),
  '42501', null, 'nor open a ticket');
delete from public.tickets where id = :tom_ticket;
reset role;
select is((select count(*)::int from public.tickets where id = :tom_ticket), 1, 'nor delete one (no row to delete)');

-- ---------------------------------------------------------------------------------------------
-- A linked operator: reads, changes nothing
-- ---------------------------------------------------------------------------------------------
select tests.act_as_user(:'olga_auth');
select is((select count(*)::int from public.tickets where title like '%W1'), 2, 'a linked operator reads the tickets');
update public.tickets set status = 'completed' where title like '%W1';
select is((select count(*)::int from public.tickets where status = 'completed' and title like '%W1'), 0,
  'but changes no ticket''s status');
reset role;

-- ---------------------------------------------------------------------------------------------
-- An admin (JWT app_metadata.role = admin), linked or not
-- ---------------------------------------------------------------------------------------------
select tests.act_as_user(:'stranger_auth', '{"role": "admin"}');
select is((select count(*)::int from public.tickets where title like '%W1'), 2, 'an admin reads every ticket');
select is((select count(*)::int from public.webhook_notifications where ticket_id = :tom_ticket), 1,
  'and the notifications');
select is((select count(*)::int from public.workshop_settings), 1, 'and the settings');
select lives_ok(format($$update public.tickets set title = 'Renamed W1', assigned_to = %L where id = %s$$, :'ann', :tom_ticket),
  'an admin changes any column of a ticket');
select lives_ok($$insert into public.machines (name, machine_type) values ('Press W1', 'Presse')$$,
  'and adds machines');
select lives_ok($$update public.workshop_settings set repeat_interval = '12 hours'$$, 'and changes the settings');
select throws_ok(format($$delete from public.webhook_notifications where ticket_id = %s$$, :tom_ticket), '42501', null,
  'but never deletes a notification');
select throws_ok('select public.workshop_check_overdue()', '42501', null, 'nor runs the check itself');
reset role;

select * from finish();
rollback;
