#!/usr/bin/env bash
# up.sh — start the shared test services and write $STATE/env.
#
#   STATE=<dir> test/infra/up.sh      (or: test/infra/up.sh <dir>)
#
# Starts slapd ($STATE/ldap), PostgreSQL ($STATE/pg) and Dex ($STATE/dex) on
# 127.0.0.1 and writes $STATE/env: `export GATEWAY_TEST_...=...` lines that
# internal/testenv reads.
# Ports: LDAP_PORT (3389), LDAPS_PORT (3636), PG_PORT (15432), DEX_PORT (5556). A port you set
# must be free; a busy default is replaced by the next free port (the env file
# always has the real ones). SKIP_DEX=1 starts slapd only.
# On failure everything already started is stopped again. Stop with down.sh.
set -euo pipefail

LOG_TAG=up
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${1:-${STATE:?set STATE to a directory for the service state}}
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
LDAP_DIR=$STATE/ldap
PG_DIR=$STATE/pg
DEX_DIR=$STATE/dex

ldap_port=$(pick_port LDAP 3389 "${LDAP_PORT:-}")
ldaps_port=$(pick_port LDAPS 3636 "${LDAPS_PORT:-}")
[[ $ldaps_port != "$ldap_port" ]] || ldaps_port=$(pick_port LDAPS $((ldap_port + 1)) "")

trap 'log "startup failed, stopping what was started"; STATE=$STATE "$INFRA_DIR/down.sh" || true' ERR

LDAP_DIR=$LDAP_DIR LDAP_PORT=$ldap_port LDAPS_PORT=$ldaps_port \
	"$INFRA_DIR/ldap/start-slapd.sh" >"$STATE/slapd.out"

pg_port=$(pick_port PostgreSQL 15432 "${PG_PORT:-}")
PG_DIR=$PG_DIR PG_PORT=$pg_port "$INFRA_DIR/postgres/start-postgres.sh" >"$STATE/postgres.out"

dex_lines=""
if [[ ${SKIP_DEX:-} != 1 ]]; then
	dex_port=$(pick_port Dex 5556 "${DEX_PORT:-}")
	DEX_DIR=$DEX_DIR DEX_PORT=$dex_port LDAP_DIR=$LDAP_DIR \
		"$INFRA_DIR/dex/start-dex.sh" >"$STATE/dex.out"
	dex_lines=$(
		cat <<-ENV
			export GATEWAY_TEST_OIDC_ISSUER=http://127.0.0.1:$dex_port/dex
			export GATEWAY_TEST_OIDC_CLIENT_ID=jitsi-gate
			export GATEWAY_TEST_OIDC_CLIENT_SECRET=jitsi-gate-secret
			export GATEWAY_TEST_OIDC_PUBLIC_CLIENT_ID=jitsi-gate-public
			export GATEWAY_TEST_DEX_START=$INFRA_DIR/dex/start-dex.sh
			export GATEWAY_TEST_DEX_STOP=$INFRA_DIR/dex/stop-dex.sh
			export GATEWAY_TEST_DEX_DIR=$DEX_DIR
		ENV
	)
fi

chromium_line=""
if [[ -x /usr/lib/chromium/chromium ]]; then
	chromium_line="export GATEWAY_TEST_CHROMIUM=/usr/lib/chromium/chromium"
fi

{
	echo "# written by test/infra/up.sh; source it before go test"
	echo "export GATEWAY_TEST_LDAP_URL=ldap://127.0.0.1:$ldap_port"
	echo "export GATEWAY_TEST_LDAPS_URL=ldaps://127.0.0.1:$ldaps_port"
	echo "export GATEWAY_TEST_LDAP_CA=$LDAP_DIR/ca.pem"
	echo "export GATEWAY_TEST_LDAP_BIND_DN=cn=gateway,ou=service,dc=school,dc=example"
	echo "export GATEWAY_TEST_LDAP_BIND_PASSWORD=gatewaypass"
	echo "export GATEWAY_TEST_LDAP_BASE_DN=dc=school,dc=example"
	echo "export GATEWAY_TEST_LDAP_ADMIN_DN=cn=manager,dc=school,dc=example"
	echo "export GATEWAY_TEST_LDAP_ADMIN_PASSWORD=rootsecret"
	echo "export GATEWAY_TEST_SLAPD_START=$INFRA_DIR/ldap/start-slapd.sh"
	echo "export GATEWAY_TEST_SLAPD_STOP=$INFRA_DIR/ldap/stop-slapd.sh"
	echo "export GATEWAY_TEST_LDAP_DIR=$LDAP_DIR"
	echo "export GATEWAY_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
	[[ -z $dex_lines ]] || echo "$dex_lines"
	[[ -z $chromium_line ]] || echo "$chromium_line"
} >"$STATE/env"

log "services up; env: $STATE/env"
