#!/bin/bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the test suite (no systemd, no /etc edits).
#   postgres.sh start   initdb (first time) + pg_ctl start on a free port, prints the URL
#   postgres.sh env     prints `export OUTREACH_TEST_POSTGRES_URL=...` (eval it)
#   postgres.sh stop    fast shutdown
#   postgres.sh status
# Everything lives under $OUTREACH_PG_ROOT (default ${TMPDIR:-/tmp}/outreach-postgres).
# The cluster trusts loopback connections and runs with fsync off: test data only.
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

ROOT=${OUTREACH_PG_ROOT:-${TMPDIR:-/tmp}/outreach-postgres}
DATA=$ROOT/data
LOG=$ROOT/server.log
SUPERUSER=outreach

find_bin() {
  local dir
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  dir=$(dirname "$(command -v initdb 2>/dev/null || true)")
  [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  echo "postgres.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# below the kernel's ephemeral range (32768-60999), where client sockets could take the port
PORTS="${OUTREACH_PG_PORT:-} $(seq 15432 15499)"

url() { echo "postgres://$SUPERUSER@127.0.0.1:$(cat "$ROOT/port")/postgres"; }

running() { [ -f "$ROOT/port" ] && [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  if running; then url; return; fi
  mkdir -p "$ROOT"
  [ "$(id -u)" = 0 ] && chown postgres: "$ROOT"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C.UTF-8 >"$ROOT/initdb.log" 2>&1 \
      || { cat "$ROOT/initdb.log" >&2; exit 1; }
  fi
  local port
  for port in $PORTS; do
    port_free "$port" || continue
    echo "$port" >"$ROOT/port"
    [ -f "$LOG" ] && : >"$LOG"
    # -k: the socket lives here too, not in /var/run/postgresql
    if as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start -o "-h 127.0.0.1 -p $port -k $ROOT \
      -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null; then
      url
      return
    fi
    # taken between the check and the start: try the next port, anything else is fatal
    grep -q "could not create any TCP/IP sockets" "$LOG" 2>/dev/null || { tail -20 "$LOG" >&2; exit 1; }
  done
  echo "postgres.sh: no free port among: $PORTS" >&2
  exit 1
}

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  echo "postgres stopped"
}

BIN=$(find_bin)
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) running || { echo "postgres.sh: not running; run: $0 start" >&2; exit 1; }
       echo "export OUTREACH_TEST_POSTGRES_URL=$(url)" ;;
  status) if running; then echo "running: $(url)"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
