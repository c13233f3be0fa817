-- Stand-in for Supabase Vault: `vault.create_secret`, `vault.update_secret` and the view
-- `vault.decrypted_secrets`, with the columns hosted Supabase has. Secrets are stored encrypted
-- (pgcrypto, with a random key kept in a table only the owner can read); hosted Vault uses
-- its own key management. Applied before the migrations; never part of them. Safe to apply again.

create extension if not exists pgcrypto with schema extensions;
create schema if not exists vault;
revoke all on schema vault from public;

create table if not exists vault._local_key (
  id boolean primary key default true check (id),
  key_id uuid not null default gen_random_uuid(),
  key text not null default encode(extensions.gen_random_bytes(32), 'hex')
);
insert into vault._local_key default values on conflict do nothing;
revoke all on vault._local_key from public;
comment on table vault._local_key is 'Local Vault stand-in: the key that encrypts every secret.';

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);
create unique index if not exists secrets_name_idx on vault.secrets (name) where name is not null;
revoke all on vault.secrets from public;
comment on table vault.secrets is 'Local Vault stand-in: encrypted secrets.';

create or replace view vault.decrypted_secrets as
select s.id, s.name, s.description, s.secret,
       convert_from(
         extensions.pgp_sym_decrypt_bytea(decode(s.secret, 'base64'), k.key), 'utf8'
       ) as decrypted_secret,
       s.key_id, s.nonce, s.created_at, s.updated_at
from vault.secrets s
cross join vault._local_key k;
revoke all on vault.decrypted_secrets from public;

create or replace function vault._encrypt(p_secret text) returns text
language sql volatile
set search_path = ''
as $$
  select encode(extensions.pgp_sym_encrypt_bytea(convert_to(p_secret, 'utf8'), k.key), 'base64')
  from vault._local_key k
$$;

create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_id uuid;
begin
  insert into vault.secrets (secret, name, description, key_id, nonce)
  values (
    vault._encrypt(new_secret), new_name, coalesce(new_description, ''),
    coalesce(new_key_id, (select key_id from vault._local_key)), extensions.gen_random_bytes(16)
  )
  returning id into v_id;
  return v_id;
end
$$;

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
) returns void
language plpgsql
set search_path = ''
as $$
begin
  update vault.secrets s
  set secret = coalesce(vault._encrypt(new_secret), s.secret),
      name = coalesce(new_name, s.name),
      description = coalesce(new_description, s.description),
      key_id = coalesce(new_key_id, s.key_id),
      updated_at = current_timestamp
  where s.id = secret_id;
end
$$;

revoke all on function vault._encrypt(text) from public;
revoke all on function vault.create_secret(text, text, text, uuid) from public;
revoke all on function vault.update_secret(uuid, text, text, text, uuid) from public;
