#!/usr/bin/env bash
# stop-slapd.sh — stop a slapd started by start-slapd.sh.
#
# CONTRACT
#   Input: LDAP_DIR (required), the same directory start-slapd.sh used.
#   Sends SIGTERM to the pid in $LDAP_DIR/slapd.pid (SIGKILL after 10 s) and
#   returns only when the process is gone AND nothing accepts connections on
#   the instance's ports any more, so a following start-slapd.sh binds the
#   ports itself and no client can reach the old server.
#   The data in LDAP_DIR is kept: start-slapd.sh restarts the same directory
#   without re-seeding. Stopping an instance that is not running is not an
#   error (exit 0). Exit != 0 only if the process or the ports do not go away.
set -euo pipefail

LOG_TAG=stop-slapd
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

: "${LDAP_DIR:?set LDAP_DIR to the instance directory}"
[[ -d $LDAP_DIR ]] || { log "no such directory $LDAP_DIR; nothing to stop"; exit 0; }

if [[ -f $LDAP_DIR/slapd.pid ]]; then
	pid=$(<"$LDAP_DIR/slapd.pid")
	if alive "$pid"; then
		stop_pid "$pid" slapd 10
		log "slapd (pid $pid) stopped"
	else
		log "slapd (pid $pid) was not running"
	fi
	rm -f "$LDAP_DIR/slapd.pid"
else
	log "no slapd.pid in $LDAP_DIR; nothing to stop"
fi

if [[ -f $LDAP_DIR/instance.env ]]; then
	# shellcheck source=/dev/null
	. "$LDAP_DIR/instance.env"
	wait_port_free "$LDAP_PORT" 15
	wait_port_free "$LDAPS_PORT" 15
fi
