#!/usr/bin/env bash
# test/build-static.sh — build jitsi-gate exactly as the Dockerfile does and
# check the result, for CI machines without a Docker engine:
#
#   1. runs the Dockerfile's go build command (the same line, character for
#      character; cmd/jitsi-gate TestDockerfileBuildCommandMatchesScript
#      fails when they drift),
#   2. checks the binary is static (file / ldd / go version -m) and carries
#      the version from -ldflags,
#   3. checks the config with check-config and jitsi-config (no secret in
#      the output), starts it with a small config on 127.0.0.1 (a free port chosen by the
#      kernel, read back from the log), runs `jitsi-gate healthcheck` against
#      it (must pass) and against a missing path (must fail),
#   4. stops it with SIGTERM and expects a clean shutdown.
#
# Needs only Go. Run from anywhere: test/build-static.sh
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jitsi-gate-static.XXXXXX")
PID=""
cleanup() {
	if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '=== build-static.sh: %s\n' "$*" >&2; }
fail() {
	printf 'build-static.sh: FAIL: %s\n' "$*" >&2
	if [[ -s $WORK/serve.log ]]; then
		echo "--- server log:" >&2
		cat "$WORK/serve.log" >&2
	fi
	exit 1
}

OUT=$WORK/out
VERSION=${VERSION:-static-check}

say "go build (the Dockerfile's command)"
# Keep the next line identical to the Dockerfile's RUN ... go build line.
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o "${OUT}/jitsi-gate" ./cmd/jitsi-gate
BIN=$OUT/jitsi-gate
[[ -x $BIN ]] || fail "no binary at $BIN"

say "is it static?"
if command -v file >/dev/null; then
	desc=$(file -b "$BIN")
	echo "file: $desc" >&2
	[[ $desc == *"statically linked"* ]] || fail "file does not say 'statically linked': $desc"
fi
if command -v ldd >/dev/null; then
	# ldd exits non-zero for a static binary; only its text matters here.
	lddout=$(ldd "$BIN" 2>&1 || true)
	[[ $lddout == *"not a dynamic executable"* || $lddout == *"statically linked"* ]] ||
		fail "ldd lists shared libraries: $lddout"
fi
buildinfo=$(go version -m "$BIN")
grep -q $'build\tCGO_ENABLED=0' <<<"$buildinfo" || fail "go version -m does not show CGO_ENABLED=0"
grep -q $'build\t-trimpath=true' <<<"$buildinfo" || fail "go version -m does not show -trimpath"
got=$("$BIN" version)
[[ $got == "jitsi-gate $VERSION" ]] || fail "version says '$got', want 'jitsi-gate $VERSION' (-ldflags -X main.version)"

say "start it with a small config"
hash=$(printf 'static-check-password\n' | "$BIN" hash-password)
cat >"$WORK/config.yaml" <<YAML
server:
  listen: "127.0.0.1:8080"   # overridden with -listen below
  public_url: http://127.0.0.1:8080/_auth
jitsi:
  url: https://meet.example.com
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  signing:
    algorithm: HS256
    secret: "\${JWT_APP_SECRET}"
session:
  secret: "\${SESSION_SECRET}"
backends:
  - id: local
    type: static
    users:
      - {username: teacher, password_hash: "$hash", groups: [teachers]}
rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner}
log:
  format: text
YAML
export JWT_APP_SECRET=build-static-check-jwt-secret-0123456789abcdef
export SESSION_SECRET=build-static-check-session-secret-0123456789abcd
"$BIN" check-config -config "$WORK/config.yaml" >&2 || fail "check-config rejects the test config"
"$BIN" jitsi-config -config "$WORK/config.yaml" >"$WORK/jitsi.env" || fail "jitsi-config failed"
grep -qx 'TOKEN_AUTH_URL=http://127.0.0.1:8080/_auth/login?state={state}' "$WORK/jitsi.env" ||
	fail "jitsi-config prints no TOKEN_AUTH_URL for the test config"
if grep -q "$JWT_APP_SECRET" "$WORK/jitsi.env"; then
	fail "jitsi-config prints the secret"
fi

# Port 0: the kernel picks a free port; the log line says which.
"$BIN" serve -config "$WORK/config.yaml" -listen 127.0.0.1:0 2>"$WORK/serve.log" &
PID=$!
ADDR=""
for _ in $(seq 1 100); do
	ADDR=$(sed -n 's/.*msg="jitsi-gate listening" addr=\([^ ]*\).*/\1/p' "$WORK/serve.log" | head -n1)
	[[ -n $ADDR ]] && break
	kill -0 "$PID" 2>/dev/null || fail "jitsi-gate serve exited early"
	sleep 0.1
done
[[ -n $ADDR ]] || fail "jitsi-gate did not log its listen address within 10 s"
[[ $ADDR == 127.0.0.1:* ]] || fail "listens on $ADDR, want 127.0.0.1:<port>"
echo "listening on $ADDR" >&2

say "healthcheck"
"$BIN" healthcheck -url "http://$ADDR/healthz" >&2 || fail "healthcheck against http://$ADDR/healthz failed"
"$BIN" healthcheck -url "http://$ADDR/_auth/healthz" >&2 || fail "healthcheck against http://$ADDR/_auth/healthz failed"
if "$BIN" healthcheck -url "http://$ADDR/_auth/no-such-page" >/dev/null 2>&1; then
	fail "healthcheck passed on a 404: it must exit 0 only on a 200"
fi

say "stop it"
kill -TERM "$PID"
status=0
wait "$PID" || status=$?
PID=""
[[ $status == 0 ]] || fail "jitsi-gate exited with status $status after SIGTERM (want a clean shutdown)"

say "OK"
