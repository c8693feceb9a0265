# Shared helpers for the deploy/local scripts. Sourced, never run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"           # git-ignored: broker binary, python packages
STATE="$ROOT/.state"           # git-ignored: PostgreSQL data, logs, pid files
SERVICES=(contacts deals activity quality-control reporting)

export CRM_PG_PORT="${CRM_PG_PORT:-55432}"
export CRM_KAFKA_PORT="${CRM_KAFKA_PORT:-19092}"
export CRM_PG_HOST="${CRM_PG_HOST:-127.0.0.1}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DATA="$STATE/postgres/data"
PG_LOG="$STATE/postgres/postgres.log"
PG_OS_USER="${CRM_PG_OS_USER:-crmpg}"
BROKER_BIN="$TOOLS/bin/tansu"
BROKER_PID="$STATE/broker/broker.pid"
BROKER_LOG="$STATE/broker/broker.log"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Password of a service's database role; local-only, deterministic so every script agrees.
service_db() { echo "crm_${1//-/_}"; }
service_role() { echo "crm_${1//-/_}"; }
service_password() { echo "crm_${1//-/_}_local"; }
service_database_url() {
  echo "postgres://$(service_role "$1"):$(service_password "$1")@$CRM_PG_HOST:$CRM_PG_PORT/$(service_db "$1")?sslmode=disable"
}

# Port of each service's HTTP endpoint (health, metrics).
service_http_port() {
  case "$1" in
    contacts) echo 18081 ;;
    deals) echo 18082 ;;
    activity) echo 18083 ;;
    quality-control) echo 18084 ;;
    reporting) echo 18085 ;;
    *) die "unknown service $1" ;;
  esac
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    port_open "$1" && return 0
    sleep 0.1
  done
  return 1
}
