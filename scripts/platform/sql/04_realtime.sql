-- Stand-in for Supabase Realtime's publication: hosted projects have an (empty) publication
-- `supabase_realtime`, to which migrations add the tables the app subscribes to. Locally nothing
-- reads it (the demo page polls), but the migrations see the same database shape.
-- Applied by the local platform before the migrations; never part of them. Safe to apply again.

do $$
begin
  if not exists (select from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
