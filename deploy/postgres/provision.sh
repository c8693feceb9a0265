#!/usr/bin/env bash
# One database and one role per service; each role may connect to its own database only.
# Used by deploy/local/stack and, in containers, as a /docker-entrypoint-initdb.d script.
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER) of a superuser.
# Passwords: CRM_<SERVICE>_DB_PASSWORD (e.g. CRM_QUALITY_CONTROL_DB_PASSWORD), else "<role>_local".
set -euo pipefail

for service in contacts deals activity quality-control reporting; do
  name="crm_${service//-/_}"
  var="CRM_$(echo "${service//-/_}" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="${!var:-${name}_local}"
  echo "    database $name, role $name"
  psql -v ON_ERROR_STOP=1 -q -d postgres -v role="$name" -v password="$password" <<'SQL'
-- INHERIT: the database owner acts through the implicit pg_database_owner role (PG 15 public schema).
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role') \gexec
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"role" TO :"role";
SQL
done
# The maintenance databases are no one's business but the superuser's.
psql -v ON_ERROR_STOP=1 -q -d postgres -c "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC" \
  -c "REVOKE CONNECT ON DATABASE template1 FROM PUBLIC"
