#!/usr/bin/env bash
# down.sh — stop what up.sh started in $STATE (by PID; waits until the
# processes are gone and their ports are free). Safe to run twice or after a
# failed up.sh. Keeps $STATE (logs); delete it yourself.
#
#   STATE=<dir> test/infra/down.sh     (or: test/infra/down.sh <dir>)
set -uo pipefail

LOG_TAG=down
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${1:-${STATE:?set STATE to the directory given to up.sh}}
rc=0
if [[ -d $STATE/dex ]]; then
	DEX_DIR=$STATE/dex "$INFRA_DIR/dex/stop-dex.sh" || rc=1
fi
if [[ -d $STATE/pg ]]; then
	PG_DIR=$STATE/pg "$INFRA_DIR/postgres/stop-postgres.sh" || rc=1
fi
if [[ -d $STATE/ldap ]]; then
	LDAP_DIR=$STATE/ldap "$INFRA_DIR/ldap/stop-slapd.sh" || rc=1
fi
exit $rc
