#!/usr/bin/env bash
# One database and two roles per service, each may connect to its own database only:
#   crm_<service>      owns the database and its schema, applies the migrations;
#   crm_<service>_app  the runtime role: owns nothing (no DDL), granted table access by the
#                      service after each migration (MigrationRunner.grantRuntimeAccess).
# Used by deploy/local/stack and, in containers, as a /docker-entrypoint-initdb.d script.
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER) of a superuser.
# Passwords: CRM_<SERVICE>_DB_PASSWORD and CRM_<SERVICE>_APP_DB_PASSWORD (e.g.
# CRM_QUALITY_CONTROL_APP_DB_PASSWORD), else "<role>_local" (the local stack's).
set -euo pipefail

for service in contacts deals activity quality-control reporting; do
  name="crm_${service//-/_}"
  var="CRM_$(echo "${service//-/_}" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="${!var:-${name}_local}"
  app_var="CRM_$(echo "${service//-/_}" | tr '[:lower:]' '[:upper:]')_APP_DB_PASSWORD"
  app_password="${!app_var:-${name}_app_local}"
  echo "    database $name, roles $name (migrations) and ${name}_app (runtime)"
  psql -v ON_ERROR_STOP=1 -q -d postgres -v role="$name" -v password="$password" \
    -v app="${name}_app" -v app_password="$app_password" <<'SQL'
-- INHERIT: the database owner acts through the implicit pg_database_owner role (PG 15 public schema).
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role') \gexec
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"role" TO :"role";
SELECT format('CREATE ROLE %I LOGIN', :'app')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"app" LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
GRANT CONNECT ON DATABASE :"role" TO :"app";
SQL
done
# The maintenance databases are no one's business but the superuser's.
psql -v ON_ERROR_STOP=1 -q -d postgres -c "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC" \
  -c "REVOKE CONNECT ON DATABASE template1 FROM PUBLIC"
