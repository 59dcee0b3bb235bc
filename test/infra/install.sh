#!/usr/bin/env bash
# install.sh — install what the integration tests need (Debian 12). Idempotent.
#
#   apt: slapd ldap-utils (OpenLDAP), postgresql (the store's second driver;
#        up.sh starts a cluster of its own, the package's is not used),
#        chromium chromium-driver (browser tests),
#        openssl (test CA), curl (readiness probes), nginx (the front-door
#        test starts its own on 127.0.0.1 with a temporary config; the
#        package's service is stopped and disabled). apt runs only when a
#        package is missing; `apt-get update` only then, too. The slapd
#        package is preseeded so it does NOT configure or start a system
#        instance (slapd/no_configuration). Needs root when something is missing.
#   Dex: built from the pinned wrapper module test/infra/dexbuild into
#        test/infra/bin/dex, in parallel with apt. Skipped when the binary is
#        newer than dexbuild/go.sum. Cold: ~2-3 min (compile); warm GOCACHE: s.
#   npm: axe-core (accessibility lint of the browser tests, test/browser) into
#        test/infra/bin/axe-core/node_modules/axe-core. Skipped when that
#        version is already there. Cold: ~2 s.
#
# Environment: SKIP_DEX=1 skips the Dex build; SKIP_APT=1 skips apt;
# SKIP_AXE=1 skips axe-core.
set -euo pipefail

LOG_TAG=install
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(slapd ldap-utils postgresql chromium chromium-driver openssl curl nginx)
BIN_DIR=$INFRA_DIR/bin
DEX_BIN=$BIN_DIR/dex
DEX_MOD=$INFRA_DIR/dexbuild
AXE_VERSION=4.14.1
AXE_DIR=$BIN_DIR/axe-core
start=$SECONDS

missing_packages() {
	local p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[[ $status == installed ]] || echo "$p"
	done
}

dex_up_to_date() {
	[[ -x $DEX_BIN && $DEX_BIN -nt $DEX_MOD/go.sum && $DEX_BIN -nt $DEX_MOD/go.mod ]]
}

# build_dex runs in the background; it writes its own log.
build_dex() {
	local t0=$SECONDS
	mkdir -p "$BIN_DIR"
	# -buildvcs=false: the wrapper module sits inside this repo's git checkout;
	# VCS stamping would fail without git or on a checkout owned by another user.
	(cd "$DEX_MOD" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
		go build -trimpath -o "$DEX_BIN.tmp" github.com/dexidp/dex/cmd/dex)
	mv -f "$DEX_BIN.tmp" "$DEX_BIN"
	echo "dex build took $((SECONDS - t0))s"
}

# --- Dex (background) ---------------------------------------------------------
dex_pid=""
if [[ ${SKIP_DEX:-} == 1 ]]; then
	log "SKIP_DEX=1: not building Dex"
elif dex_up_to_date; then
	log "dex: $DEX_BIN is up to date"
else
	command -v go >/dev/null || die "go not found in PATH; install Go (see go.mod) first"
	mkdir -p "$BIN_DIR"
	log "dex: building $DEX_BIN in the background (log: $BIN_DIR/dex-build.log)"
	build_dex >"$BIN_DIR/dex-build.log" 2>&1 &
	dex_pid=$!
fi

# --- axe-core (npm) -------------------------------------------------------------
axe_installed_version() {
	local pkg=$AXE_DIR/node_modules/axe-core/package.json
	[[ -f $pkg && -f $AXE_DIR/node_modules/axe-core/axe.min.js ]] || return 0
	sed -n 's/^  "version": "\(.*\)",$/\1/p' "$pkg"
}

if [[ ${SKIP_AXE:-} == 1 ]]; then
	log "SKIP_AXE=1: not installing axe-core"
elif [[ $(axe_installed_version) == "$AXE_VERSION" ]]; then
	log "axe-core: $AXE_VERSION is installed in $AXE_DIR"
elif ! command -v npm >/dev/null; then
	log "WARNING: npm not found; the accessibility lint of test/browser will skip (fail in CI)"
else
	t0=$SECONDS
	mkdir -p "$AXE_DIR"
	if ! npm install --prefix "$AXE_DIR" --no-audit --no-fund --no-save --loglevel=error \
		"axe-core@$AXE_VERSION" >"$BIN_DIR/axe-install.log" 2>&1; then
		tail -n 20 "$BIN_DIR/axe-install.log" >&2
		if [[ -n $dex_pid ]]; then wait "$dex_pid" || true; fi
		die "npm install axe-core@$AXE_VERSION failed (full log: $BIN_DIR/axe-install.log)"
	fi
	log "axe-core: $AXE_VERSION installed in $((SECONDS - t0))s"
fi

# --- apt ----------------------------------------------------------------------
mapfile -t missing < <(missing_packages)
if [[ ${SKIP_APT:-} == 1 ]]; then
	log "SKIP_APT=1: not installing packages"
elif ((${#missing[@]} == 0)); then
	log "apt: all packages present (${PACKAGES[*]})"
elif [[ $(id -u) != 0 ]]; then
	if [[ -n $dex_pid ]]; then wait "$dex_pid" || true; fi
	die "missing Debian packages: ${missing[*]}. Run as root: sudo $0  (or: sudo apt-get install ${missing[*]})"
else
	t0=$SECONDS
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-o DPkg::Lock::Timeout=300 -qq)
	# No system slapd (dc=nodomain on :389) from the package's postinst.
	echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
	log "apt: installing ${missing[*]}"
	apt_log=$BIN_DIR/apt.log
	mkdir -p "$BIN_DIR"
	if ! { apt-get "${apt_opts[@]}" update &&
		apt-get "${apt_opts[@]}" install -y --no-install-recommends "${PACKAGES[@]}"; } >"$apt_log" 2>&1; then
		tail -n 40 "$apt_log" >&2
		if [[ -n $dex_pid ]]; then wait "$dex_pid" || true; fi
		die "apt-get failed (full log: $apt_log)"
	fi
	if [[ " ${missing[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null; then
		systemctl disable --now nginx >/dev/null 2>&1 || true # nothing on :80
	fi
	log "apt: done in $((SECONDS - t0))s"
fi

# --- wait for Dex ---------------------------------------------------------------
if [[ -n $dex_pid ]]; then
	if ! wait "$dex_pid"; then
		tail -n 40 "$BIN_DIR/dex-build.log" >&2
		die "dex build failed (full log: $BIN_DIR/dex-build.log)"
	fi
	log "$(tail -n 1 "$BIN_DIR/dex-build.log")"
fi

log "done in $((SECONDS - start))s"
