-- Probes: an insert enqueues a `probe` job in the same transaction, job_probe_record() is
-- idempotent and refuses unknown probes, and only the service role may call it.
begin;
select plan(10);

select jobs.send_probe('pgTAP') as probe_id \gset

select is(
  (select j.subject from jobs.probes p join jobs.jobs j on j.id = p.job_id where p.id = :probe_id),
  'probe:' || :probe_id,
  'inserting a probe enqueues its job, whose subject names the probe'
);
select is(
  (select j.payload from jobs.jobs j join jobs.probes p on j.id = p.job_id where p.id = :probe_id),
  jsonb_build_object('probe_id', :probe_id),
  'the job carries the probe id'
);
select is(
  (select count(*)::int from net.http_request_queue
   where url like '%/functions/v1/job-probe'),
  1,
  'the probe wakes the job-probe function once'
);

select is(
  (public.job_probe_record(:probe_id, '2026-11-21 10:00:00+00', '2026-11-21 10:00:01+00')).handler_started_at,
  '2026-11-21 10:00:00+00'::timestamptz,
  'job_probe_record() stores when the handler started'
);
select is(
  (public.job_probe_record(:probe_id, '2026-11-21 11:00:00+00', '2026-11-21 11:00:01+00')).handled_at,
  '2026-11-21 10:00:01+00'::timestamptz,
  'a second record keeps the first times (a job may run twice)'
);
select throws_ok(
  $$select public.job_probe_record(-1, now())$$,
  'P0002', 'Probe -1 does not exist',
  'an unknown probe raises no_data_found, which the handler treats as permanent'
);

select tests.act_as_anon();
select throws_ok($$select public.job_probe_record(1, now())$$, '42501', null,
  'anon cannot record probes');
reset role;
select tests.act_as_user();
select throws_ok($$select public.job_probe_record(1, now())$$, '42501', null,
  'authenticated users cannot record probes');
select throws_ok($$select jobs.send_probe()$$, '42501', null,
  'authenticated users cannot send probes');
reset role;
select tests.act_as_service_role();
select lives_ok(format('select public.job_probe_record(%s, now())', :probe_id),
  'the service role may call job_probe_record()');
reset role;

select * from finish();
rollback;
