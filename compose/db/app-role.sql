-- The replicas' own PostgreSQL role, with only the rights they need: log
-- in, connect to their database, and create (then own) the tables of their
-- migrations in its public schema. No superuser, no other database, no
-- roles, no replication. Run as the superuser on every start of the stack
-- (the db-init service), so it is idempotent: a missing role is created,
-- and the password is set from the environment each time, which is how a
-- password is rotated (README: Passwords).
--
--   POLLING_DB_PASSWORD=... psql -v ON_ERROR_STOP=1 -v app_role=polling_app -v database=polling -f app-role.sql
--
-- The password is read from the environment (getenv, below) and passed as a
-- quoted literal: any character is safe, and it is never on a command line.
-- No backslash in these comments: psql would run it as a meta-command.

\getenv app_password POLLING_DB_PASSWORD
\if :{?app_password}
  SELECT length(:'app_password') = 0 AS no_password \gset
\else
  \set no_password true
\endif
\if :no_password
  DO $$ BEGIN RAISE EXCEPTION 'POLLING_DB_PASSWORD is not set'; END $$;
\endif

SELECT format('CREATE ROLE %I', :'app_role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_role') \gexec

ALTER ROLE :"app_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
    NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'app_password';

-- Nobody but the roles granted below connects to the app's database.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"app_role";
-- Its migrations create the tables (so the role owns them) in public.
GRANT USAGE, CREATE ON SCHEMA public TO :"app_role";
