#!/usr/bin/env bash
# stop-postgres.sh — stop a PostgreSQL started by start-postgres.sh.
#
# CONTRACT
#   Input: PG_DIR (required), the same directory start-postgres.sh used.
#   Fast shutdown (pg_ctl -m fast: open sessions are disconnected); if that
#   fails, SIGTERM then SIGKILL to the postmaster by its PID. Returns only
#   when the process is gone AND its port no longer accepts connections.
#   The data in PG_DIR is kept. Stopping an instance that is not running is
#   not an error (exit 0).
set -euo pipefail

LOG_TAG=stop-postgres
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

: "${PG_DIR:?set PG_DIR to the instance directory}"
[[ -d $PG_DIR ]] || { log "no such directory $PG_DIR; nothing to stop"; exit 0; }
DATA=$PG_DIR/data

if [[ -f $DATA/postmaster.pid ]]; then
	pid=$(head -n 1 "$DATA/postmaster.pid")
	if alive "$pid"; then
		PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
		if [[ $(id -u) == 0 ]]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
		as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 20 stop >/dev/null 2>&1 ||
			log "pg_ctl stop failed; signalling pid $pid"
		stop_pid "$pid" postgres 10
		log "postgres (pid $pid) stopped"
	else
		log "postgres (pid $pid) was not running"
	fi
else
	log "no postmaster.pid in $DATA; nothing to stop"
fi

if [[ -f $PG_DIR/instance.env ]]; then
	# shellcheck source=/dev/null
	. "$PG_DIR/instance.env"
	wait_port_free "$PG_PORT" 15
fi
