#!/usr/bin/env bash
# start-postgres.sh — start a throw-away PostgreSQL cluster for tests.
#
# CONTRACT (tests rely on this; keep it stable)
#   Input (environment):
#     PG_DIR   required. Holds EVERYTHING of this instance: data/ (the
#              cluster), the Unix socket, postgres.log, instance.env.
#     PG_PORT  TCP port (first start: default 15432; later starts: the port
#              saved in $PG_DIR/instance.env).
#   First start on an empty PG_DIR: initdb (superuser "postgres", trust
#     authentication: it listens on 127.0.0.1 only and holds test data only).
#   Later starts on the same PG_DIR: only start; data and port are kept. If the
#     cluster is already running, nothing is started and its PID is reported.
#   PostgreSQL refuses to run as root: as root, the binaries run as the
#     "postgres" user of Debian's package (PG_DIR is chowned to it); as any
#     other user they run as that user.
#   Durability is off (fsync, synchronous_commit): a crash loses test data,
#     which is fine here and makes the many CREATE DATABASEs of the tests fast.
#   When the script exits 0 the server accepts connections on
#     127.0.0.1:PG_PORT. Output: stdout gets exactly one line
#     `POSTGRES_PID=<pid>` (the postmaster). Progress and errors go to stderr.
#   $PG_DIR/instance.env (shell syntax) records PG_PORT and PG_DSN, the admin
#     DSN postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable.
#   Stop with stop-postgres.sh (same PG_DIR).
#
# Example: PG_DIR=$(mktemp -d) PG_PORT=15432 ./start-postgres.sh
set -euo pipefail

LOG_TAG=start-postgres
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

: "${PG_DIR:?set PG_DIR to the instance directory}"
mkdir -p "$PG_DIR"
PG_DIR=$(cd "$PG_DIR" && pwd)
DATA=$PG_DIR/data

# The newest installed server version (Debian: /usr/lib/postgresql/15/bin).
PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
[[ -n $PG_BIN && -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] ||
	die "no PostgreSQL server under /usr/lib/postgresql; run test/infra/install.sh (Debian: postgresql)"

# as_pg CMD...: run a PostgreSQL binary as a user it accepts.
if [[ $(id -u) == 0 ]]; then
	id postgres >/dev/null 2>&1 || die "user postgres missing (it comes with Debian's postgresql package)"
	as_pg() { runuser -u postgres -- "$@"; }
	chown postgres: "$PG_DIR"
	chmod 0700 "$PG_DIR"
	# The postgres user must be able to reach PG_DIR: a mktemp -d parent is
	# 0700 and owned by root. Grant traversal (not listing) on the parent.
	parent=$(dirname "$PG_DIR")
	if ! as_pg test -x "$parent"; then
		chmod o+x "$parent"
	fi
	as_pg test -w "$PG_DIR" ||
		die "user postgres cannot write $PG_DIR (a directory above it is not traversable: chmod o+x it)"
else
	as_pg() { "$@"; }
fi

# Already running for this directory? Then report it and do nothing.
if [[ -f $DATA/postmaster.pid ]]; then
	pid=$(head -n 1 "$DATA/postmaster.pid")
	if alive "$pid"; then
		log "postgres already running for $PG_DIR (pid $pid)"
		echo "POSTGRES_PID=$pid"
		exit 0
	fi
fi

if [[ -f $PG_DIR/instance.env ]]; then
	saved_port=$(. "$PG_DIR/instance.env" && echo "$PG_PORT")
fi
PG_PORT=${PG_PORT:-${saved_port:-15432}}
port_in_use "$PG_PORT" && die "port $PG_PORT on 127.0.0.1 is already in use (another postgres? set PG_PORT)"

if [[ ! -f $DATA/PG_VERSION ]]; then
	rm -rf "$DATA"
	as_pg "$PG_BIN/initdb" -D "$DATA" -A trust -U postgres --encoding=UTF8 --no-locale --no-sync \
		>"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
	log "initialised cluster in $DATA"
fi

DSN="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
cat >"$PG_DIR/instance.env" <<ENV
PG_PORT=$PG_PORT
PG_DSN=$DSN
ENV

# pg_ctl -w returns once the server accepts connections (or failed).
if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$PG_DIR/postgres.log" -w -t 30 start \
	-o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
	>/dev/null; then
	tail -n 30 "$PG_DIR/postgres.log" >&2 || true
	die "postgres did not start on 127.0.0.1:$PG_PORT"
fi
pid=$(head -n 1 "$DATA/postmaster.pid")
port_in_use "$PG_PORT" || die "postgres (pid $pid) runs but 127.0.0.1:$PG_PORT does not answer"

echo "POSTGRES_PID=$pid"
log "postgres up: $DSN (pid $pid, dir $PG_DIR)"
