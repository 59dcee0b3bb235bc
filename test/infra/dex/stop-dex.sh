#!/usr/bin/env bash
# stop-dex.sh — stop a Dex started by start-dex.sh.
#
# CONTRACT
#   Input: DEX_DIR (required), the directory start-dex.sh used.
#   SIGTERM to the pid in $DEX_DIR/dex.pid (SIGKILL after 10 s); returns when
#   the process is gone and its port no longer accepts connections.
#   Not running is not an error. start-dex.sh with the same DEX_DIR restarts it
#   on the same port (in-memory state is lost).
set -euo pipefail

LOG_TAG=stop-dex
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

: "${DEX_DIR:?set DEX_DIR to the instance directory}"
[[ -d $DEX_DIR ]] || { log "no such directory $DEX_DIR; nothing to stop"; exit 0; }

if [[ -f $DEX_DIR/dex.pid ]]; then
	pid=$(<"$DEX_DIR/dex.pid")
	if alive "$pid"; then
		stop_pid "$pid" dex 10
		log "dex (pid $pid) stopped"
	else
		log "dex (pid $pid) was not running"
	fi
	rm -f "$DEX_DIR/dex.pid"
else
	log "no dex.pid in $DEX_DIR; nothing to stop"
fi

if [[ -f $DEX_DIR/instance.env ]]; then
	# shellcheck source=/dev/null
	. "$DEX_DIR/instance.env"
	wait_port_free "$DEX_PORT" 15
fi
