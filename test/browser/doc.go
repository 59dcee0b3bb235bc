// Package browser holds the end-to-end tests of jitsi-gate in a real,
// headless Chromium: the real gateway binary (built once per run) against
// the real slapd and Dex of test/infra, with a local stand-in for the Jitsi
// page that records where the browser was sent and checks the token with
// internal/jitsiverify.
//
// The tests cover the flows people use (welcome page, LDAP and OIDC login,
// Jitsi's tokenAuthUrl with {room} and {state}, already logged in, expired
// session, wrong password, denied user, logout), the English and German
// pages, full-page screenshots of every page for a reviewer (in
// testenv.ArtifactsDir: test/artifacts when run by test/all.sh), and an
// axe-core accessibility lint of the pages.
//
// Run them with test/all.sh, or by hand:
//
//	bash test/infra/install.sh; STATE=$(mktemp -d); bash test/infra/up.sh $STATE
//	. $STATE/env; go test -count=1 -v ./test/browser/; bash test/infra/down.sh $STATE
//
// Without Chromium, slapd or Dex the tests skip (in CI they fail).
package browser
