#!/usr/bin/env bash
# test/all.sh — run ALL tests of jitsi-gate against real services.
#
#   test/all.sh [go test flags...]        e.g. test/all.sh -run LDAP -v
#
# 1. test/infra/install.sh: Debian packages (slapd, ldap-utils, postgresql,
#    chromium, chromium-driver, openssl, curl) and the Dex binary (needs root the first
#    time; later runs take seconds).
# 2. test/infra/up.sh: slapd + PostgreSQL + Dex on 127.0.0.1 in a temp STATE dir, env in
#    $STATE/env (GATEWAY_TEST_*; read by internal/testenv).
# 3. go vet ./... and go test -count=1 -p 2 [flags] ./...
#    then test/build-static.sh: the Dockerfile's exact build command, a
#    static-binary check and `jitsi-gate healthcheck` against a running one. (tests run even if
#    vet fails; the script then still fails); then the Helm chart test (test/helm, its own module).
# 4. On exit (success, failure or Ctrl-C): test/infra/down.sh.
#
# Environment: GO_TEST_PACKAGES (default ./...), KEEP_STATE=1 keeps the
# service dir (logs) after a successful run (it is always kept on failure).
# CI=true (set by .ci/run) makes tests FAIL instead of skip when a service
# is missing.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INFRA=$REPO_ROOT/test/infra
STATE=""
STATUS=1

say() { printf '\n=== all.sh: %s\n' "$*" >&2; }

install_deps() {
	say "install dependencies"
	bash "$INFRA/install.sh"
}

start_services() {
	say "start services"
	STATE=$(mktemp -d "${TMPDIR:-/tmp}/jitsi-gate-test.XXXXXX")
	trap stop_services EXIT
	trap 'exit 130' INT TERM
	bash "$INFRA/up.sh" "$STATE"
	# shellcheck source=/dev/null
	. "$STATE/env"
	export GATEWAY_TEST_ARTIFACTS=${GATEWAY_TEST_ARTIFACTS:-$REPO_ROOT/test/artifacts}
	# Compare room names with what a JavaScript engine computes (Jitsi's
	# web client runs the same String functions), when node is here.
	if command -v node >/dev/null 2>&1; then
		export JITSI_GATE_TEST_NODE=${JITSI_GATE_TEST_NODE:-1}
	fi
}

stop_services() {
	[[ -n $STATE ]] || return 0
	say "stop services"
	bash "$INFRA/down.sh" "$STATE" || true
	if [[ $STATUS == 0 && ${KEEP_STATE:-} != 1 ]]; then
		rm -rf "$STATE"
	else
		echo "all.sh: service logs kept in $STATE (ldap/slapd.log, pg/postgres.log, dex/dex.log)" >&2
	fi
}

report_services() {
	local ldap="missing" pg="missing" dex="missing" chrome="missing"
	[[ -n ${GATEWAY_TEST_LDAP_URL:-} ]] && ldap="$GATEWAY_TEST_LDAP_URL + ${GATEWAY_TEST_LDAPS_URL:-}"
	[[ -n ${GATEWAY_TEST_POSTGRES_DSN:-} ]] && pg="$GATEWAY_TEST_POSTGRES_DSN"
	[[ -n ${GATEWAY_TEST_OIDC_ISSUER:-} ]] && dex="$GATEWAY_TEST_OIDC_ISSUER"
	[[ -n ${GATEWAY_TEST_CHROMIUM:-} ]] && chrome="$GATEWAY_TEST_CHROMIUM"
	echo "all.sh: services: slapd=$ldap | postgres=$pg | dex=$dex | chromium=$chrome" >&2
}

run_go_vet() {
	say "go vet ./..."
	(cd "$REPO_ROOT" && go vet ./...)
}

run_go_tests() {
	say "go test -count=1 -p 2 $* ${GO_TEST_PACKAGES:-./...}"
	# shellcheck disable=SC2086 # GO_TEST_PACKAGES may hold several patterns
	(cd "$REPO_ROOT" && go test -count=1 -p 2 "$@" ${GO_TEST_PACKAGES:-./...})
}

main() {
	local t0=$SECONDS
	install_deps
	start_services
	report_services
	# A vet failure does not hide the test results: both run, both count.
	local vet=ok
	run_go_vet || vet=FAILED
	run_go_tests "$@"
	say "static build + healthcheck (test/build-static.sh, the Dockerfile's build command)"
	bash "$REPO_ROOT/test/build-static.sh"
	# A module of its own: Helm's dependencies stay out of the main go.mod.
	say "helm chart (test/helm: helm template with default and multi-replica values; check-config on the rendered config)"
	(cd "$REPO_ROOT/test/helm" && go vet ./... && go test -count=1 ./...)
	[[ $vet == ok ]] || { say "go vet FAILED (see above); tests passed"; return 1; }
	STATUS=0
	say "all tests passed in $((SECONDS - t0))s"
}

main "$@"
