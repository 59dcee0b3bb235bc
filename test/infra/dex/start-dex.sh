#!/usr/bin/env bash
# start-dex.sh — start Dex (OIDC provider) for tests, backed by a test slapd.
#
# CONTRACT (tests rely on this; keep it stable)
#   Input (environment):
#     DEX_DIR    required. Holds this instance: dex.yaml, dex.pid, dex.log,
#                instance.env.
#     DEX_PORT   HTTP port (first start: default 5556; later starts: the saved one)
#     LDAP_DIR   the slapd instance (start-slapd.sh) Dex's LDAP connector uses;
#                its port and CA are read from $LDAP_DIR/instance.env.
#                Needed on the first start only (saved in instance.env).
#     DEX_BIN    default: test/infra/bin/dex (built by install.sh)
#   Issuer: http://127.0.0.1:$DEX_PORT/dex. Storage is in memory: a restart
#   forgets keys, codes and refresh tokens (that is what provider-restart tests
#   want). Clients: jitsi-gate (secret jitsi-gate-secret) and jitsi-gate-public
#   (public), both with redirect URIs http://127.0.0.1:P/callback/{dex,oidc}
#   for P in 18080..18089. One connector, id `ldap`.
#   Dex runs as a background child with stdio in $DEX_DIR/dex.log, listens on
#   127.0.0.1 only and survives this script. The script exits 0 once the
#   discovery document answers. If this DEX_DIR's Dex is already running,
#   nothing is started.
#   Output: one stdout line `DEX_PID=<pid>` (also in $DEX_DIR/dex.pid).
#   Stop with stop-dex.sh (waits until the process and port are gone).
set -euo pipefail

LOG_TAG=start-dex
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

: "${DEX_DIR:?set DEX_DIR to the instance directory}"
mkdir -p "$DEX_DIR"
DEX_DIR=$(cd "$DEX_DIR" && pwd)
DEX_BIN=${DEX_BIN:-$INFRA_DIR/bin/dex}
[[ -x $DEX_BIN ]] || die "no Dex binary at $DEX_BIN; run test/infra/install.sh"
command -v curl >/dev/null || die "curl not found; run test/infra/install.sh"

if [[ -f $DEX_DIR/dex.pid ]]; then
	pid=$(<"$DEX_DIR/dex.pid")
	if alive "$pid"; then
		log "dex already running for $DEX_DIR (pid $pid)"
		echo "DEX_PID=$pid"
		exit 0
	fi
	rm -f "$DEX_DIR/dex.pid"
fi

if [[ -f $DEX_DIR/instance.env ]]; then
	saved_port=$(. "$DEX_DIR/instance.env" && echo "$DEX_PORT")
	saved_ldap_port=$(. "$DEX_DIR/instance.env" && echo "$DEX_LDAP_PORT")
	saved_ldap_ca=$(. "$DEX_DIR/instance.env" && echo "$DEX_LDAP_CA")
fi
DEX_PORT=${DEX_PORT:-${saved_port:-5556}}
if [[ -n ${LDAP_DIR:-} ]]; then
	[[ -f $LDAP_DIR/instance.env ]] || die "$LDAP_DIR/instance.env missing; start slapd first"
	# shellcheck disable=SC2153 # LDAP_PORT and LDAP_CA come from instance.env
	ldap_port=$(. "$LDAP_DIR/instance.env" && echo "$LDAP_PORT")
	# shellcheck disable=SC2153
	ldap_ca=$(. "$LDAP_DIR/instance.env" && echo "$LDAP_CA")
else
	ldap_port=${saved_ldap_port:-}
	ldap_ca=${saved_ldap_ca:-}
fi
[[ -n $ldap_port && -n $ldap_ca ]] || die "set LDAP_DIR (the slapd instance Dex should use)"
port_in_use "$DEX_PORT" && die "port $DEX_PORT on 127.0.0.1 is already in use (set DEX_PORT)"

ISSUER="http://127.0.0.1:$DEX_PORT/dex"
uris=""
for ((p = 18080; p <= 18089; p++)); do
	uris+="${uris:+, }\"http://127.0.0.1:$p/callback/dex\", \"http://127.0.0.1:$p/callback/oidc\""
done
sed -e "s|@DEX_PORT@|$DEX_PORT|g" -e "s|@LDAP_PORT@|$ldap_port|g" \
	-e "s|@LDAP_CA@|$ldap_ca|g" -e "s|@REDIRECT_URIS@|$uris|g" \
	"$INFRA_DIR/dex/dex.yaml.tmpl" >"$DEX_DIR/dex.yaml"

cat >"$DEX_DIR/instance.env" <<ENV
DEX_PORT=$DEX_PORT
DEX_ISSUER=$ISSUER
DEX_LDAP_PORT=$ldap_port
DEX_LDAP_CA=$ldap_ca
ENV

"$DEX_BIN" serve "$DEX_DIR/dex.yaml" </dev/null >>"$DEX_DIR/dex.log" 2>&1 &
pid=$!
echo "$pid" >"$DEX_DIR/dex.pid"

deadline=$((SECONDS + 20))
until curl -fsS -o /dev/null "$ISSUER/.well-known/openid-configuration" 2>/dev/null; do
	if ! alive "$pid" || ((SECONDS >= deadline)); then
		log "dex did not come up (see $DEX_DIR/dex.log):"
		tail -n 30 "$DEX_DIR/dex.log" >&2 || true
		stop_pid "$pid" dex 5 || true
		rm -f "$DEX_DIR/dex.pid"
		exit 1
	fi
	sleep 0.1
done
log "dex up: $ISSUER (pid $pid, dir $DEX_DIR)"
echo "DEX_PID=$pid"
