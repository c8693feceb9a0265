# Shared helpers for the deploy/local scripts. Sourced, never run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"           # git-ignored: broker binary, python packages
STATE="$ROOT/.state"           # git-ignored: PostgreSQL data, logs, pid files
SERVICES=(contacts deals activity quality-control reporting)

export CRM_PG_PORT="${CRM_PG_PORT:-55432}"
export CRM_KAFKA_PORT="${CRM_KAFKA_PORT:-19092}"
export CRM_PG_HOST="${CRM_PG_HOST:-127.0.0.1}"
# Tokens: the local stack's issuer key pair (made by `stack up`); the services verify with the
# public half, crmctl and the demo sign with the private one (DESIGN §4 "Identity").
KEYS="$STATE/keys"
export CRM_TOKEN_VERIFY_KEYS_FILE="${CRM_TOKEN_VERIFY_KEYS_FILE:-$KEYS/issuer.pub.pem}"
export CRM_TOKEN_SIGNING_KEY_FILE="${CRM_TOKEN_SIGNING_KEY_FILE:-$KEYS/issuer.pem}"
# A service calling another signs as itself (service:<name>); locally with the same key.
export CRM_SERVICE_SIGNING_KEY_FILE="${CRM_SERVICE_SIGNING_KEY_FILE:-$KEYS/issuer.pem}"
# The secret the telephony and mail webhooks are signed with (activity; made by stack up),
# unless one is given.
[ -n "${CRM_WEBHOOK_SECRET:-}" ] || export CRM_WEBHOOK_SECRET_FILE="${CRM_WEBHOOK_SECRET_FILE:-$KEYS/webhook.secret}"
# The key review codes are made with (activity and reporting only; `supervise` gives it to no
# other service). A development key: codes made locally mean nothing anywhere else.
export CRM_QC_CODE_KEY="${CRM_QC_CODE_KEY:-local-development-review-code-key-not-a-secret}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_OS_USER="${CRM_PG_OS_USER:-crmpg}"
# The cluster's folder (data, log, socket). Run by root, PostgreSQL runs as $PG_OS_USER, which
# must reach it: a checkout in a private folder (root's home is mode 700) cannot hold it, so
# root's clusters live under /var/lib/crm-platform/postgres, one per checkout (named after the
# checkout's path, so two checkouts never share one). A cluster that an earlier version created
# in .state/postgres stays there. Not root: .state/postgres, run as ourselves. CRM_PG_HOME overrides.
pg_home() {
  if [ -n "${CRM_PG_HOME:-}" ]; then
    echo "$CRM_PG_HOME"
  elif [ "$(id -u)" = 0 ] && [ ! -f "$STATE/postgres/data/PG_VERSION" ]; then
    local path name
    path=$(cd "$ROOT" && pwd -P)  # the same folder reached through a symbolic link is the same checkout
    name=$(basename "$path")
    echo "/var/lib/crm-platform/postgres/${name//[^A-Za-z0-9._-]/_}-$(printf '%s' "$path" | sha256sum | cut -c1-12)"
  else
    echo "$STATE/postgres"
  fi
}
PG_HOME="$(pg_home)"
PG_DATA="$PG_HOME/data"
PG_LOG="$PG_HOME/postgres.log"
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
# The owner role's URL: migrations, and tools (bench, tests) that make schemas of their own.
service_database_url() {
  echo "postgres://$(service_role "$1"):$(service_password "$1")@$CRM_PG_HOST:$CRM_PG_PORT/$(service_db "$1")?sslmode=disable"
}
# The runtime role's URL (crm_<service>_app: owns nothing, runs no DDL; provision.sh).
service_runtime_database_url() {
  echo "postgres://$(service_role "$1")_app:$(service_role "$1")_app_local@$CRM_PG_HOST:$CRM_PG_PORT/$(service_db "$1")?sslmode=disable"
}

# Port of each service's HTTP endpoint (health, metrics): CRM_HTTP_BASE_PORT (18081) for
# contacts, the next ones for the others in the order of SERVICES.
export CRM_HTTP_BASE_PORT="${CRM_HTTP_BASE_PORT:-18081}"
[[ $CRM_HTTP_BASE_PORT =~ ^[1-9][0-9]{0,4}$ ]] && ((CRM_HTTP_BASE_PORT + ${#SERVICES[@]} - 1 <= 65535)) ||
  die "CRM_HTTP_BASE_PORT: expected a port from 1 to $((65536 - ${#SERVICES[@]})), got '$CRM_HTTP_BASE_PORT'"
service_http_port() {
  local i
  for i in "${!SERVICES[@]}"; do
    [ "${SERVICES[$i]}" = "$1" ] && { echo $((CRM_HTTP_BASE_PORT + i)); return; }
  done
  die "unknown service $1"
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
