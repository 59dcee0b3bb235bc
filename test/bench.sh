#!/usr/bin/env bash
# test/bench.sh — the /join benchmark of the README's "Performance" section:
# a bare net/http 302 handler and the gateway's /join (HS256, RS256) under
# the same closed-loop load in interleaved rounds on this machine, /join on a
# registered room against the rule-only /join, the RS256 token signature
# against a raw crypto/rsa signature, and the reservation API's POST at a
# fixed 200 req/s.
#
#   test/bench.sh                                  # quick (about 45 s)
#   test/bench.sh -rounds 6 -duration 10s -conns 64
#
# Flags: see `go run ./test/bench -h`. Only 127.0.0.1 is used. Not part of
# test/all.sh (a smoke run of it is: test/bench/main_test.go).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run ./test/bench "$@"
