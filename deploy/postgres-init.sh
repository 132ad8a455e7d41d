#!/bin/sh
# First start of the PostgreSQL container: the application role of docs/ledger.md §9.
# The container's own POSTGRES_USER (heeded_owner) owns the database and runs migrate.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$HEEDED_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE heeded_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
REVOKE ALL ON DATABASE heeded FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE heeded TO heeded_app;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO heeded_app;
SQL
