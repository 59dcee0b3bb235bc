package testenv

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// recorder is a testing.TB that records Skipf/Fatalf instead of stopping
// the goroutine, so the skip-or-fail decision can be observed. Any other
// TB method panics on the nil embedded interface, which fails the test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func TestRequired(t *testing.T) {
	tests := []struct {
		ci   string
		want bool
	}{
		{"", false},
		{"true", true},
		{"1", true},
		{"TRUE", true},
		{"false", false},
		{"0", false},
		{"yes", false}, // not a Go bool: treated as unset
	}
	for _, tt := range tests {
		t.Run(tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			if got := Required(); got != tt.want {
				t.Errorf("Required() with CI=%q = %v, want %v", tt.ci, got, tt.want)
			}
		})
	}
}

// TestMissingServiceSkipsOrFails checks every helper: unset variables skip
// locally and fail in CI, and the message says how to fix it.
func TestMissingServiceSkipsOrFails(t *testing.T) {
	for _, name := range []string{"GATEWAY_TEST_LDAP_URL", "GATEWAY_TEST_OIDC_ISSUER", "GATEWAY_TEST_POSTGRES_DSN"} {
		t.Setenv(name, "")
	}
	t.Setenv("GATEWAY_TEST_CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	helpers := map[string]func(testing.TB){
		"LDAP":     func(tb testing.TB) { _ = LDAP(tb) },
		"OIDC":     func(tb testing.TB) { _ = OIDC(tb) },
		"Postgres": func(tb testing.TB) { _ = Postgres(tb) },
		"Chromium": func(tb testing.TB) { _ = Chromium(tb) },
	}
	for name, call := range helpers {
		for _, ci := range []string{"", "true"} {
			t.Run(name+"/CI="+ci, func(t *testing.T) {
				t.Setenv("CI", ci)
				r := &recorder{}
				call(r)
				wantFail := ci == "true"
				if r.failed != wantFail || r.skipped == wantFail {
					t.Fatalf("failed=%v skipped=%v, want failed=%v skipped=%v (msg %q)",
						r.failed, r.skipped, wantFail, !wantFail, r.msg)
				}
				if r.msg == "" {
					t.Error("no message explaining what is missing")
				}
			})
		}
	}
}

func TestLDAPReadsEnv(t *testing.T) {
	vars := map[string]string{
		"GATEWAY_TEST_LDAP_URL":            "ldap://127.0.0.1:1",
		"GATEWAY_TEST_LDAPS_URL":           "ldaps://127.0.0.1:2",
		"GATEWAY_TEST_LDAP_CA":             "/ca.pem",
		"GATEWAY_TEST_LDAP_BIND_DN":        "cn=gw",
		"GATEWAY_TEST_LDAP_BIND_PASSWORD":  "pw",
		"GATEWAY_TEST_LDAP_BASE_DN":        "dc=x",
		"GATEWAY_TEST_LDAP_ADMIN_DN":       "cn=admin",
		"GATEWAY_TEST_LDAP_ADMIN_PASSWORD": "apw",
		"GATEWAY_TEST_LDAP_DIR":            "/dir",
		"GATEWAY_TEST_SLAPD_START":         "/start",
		"GATEWAY_TEST_SLAPD_STOP":          "/stop",
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	r := &recorder{}
	got := LDAP(r)
	want := LDAPEnv{
		URL: "ldap://127.0.0.1:1", LDAPSURL: "ldaps://127.0.0.1:2", CAFile: "/ca.pem",
		BindDN: "cn=gw", BindPassword: "pw", BaseDN: "dc=x", AdminDN: "cn=admin", AdminPassword: "apw",
		Dir: "/dir", StartScript: "/start", StopScript: "/stop",
	}
	if r.skipped || r.failed {
		t.Fatalf("LDAP skipped/failed with all variables set: %s", r.msg)
	}
	if got != want {
		t.Errorf("LDAP() = %+v\nwant     %+v", got, want)
	}
}

func TestPostgresReadsEnv(t *testing.T) {
	const dsn = "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"
	t.Setenv("CI", "true")
	t.Setenv("GATEWAY_TEST_POSTGRES_DSN", dsn)
	r := &recorder{}
	if got := Postgres(r); got != dsn || r.skipped || r.failed {
		t.Errorf("Postgres() = %q (skipped %v, failed %v: %s), want %q", got, r.skipped, r.failed, r.msg, dsn)
	}
}

func TestChromiumFromEnv(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExe := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(notExe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		wantOK     bool
	}{
		{"executable", exe, true},
		{"not executable", notExe, false},
		{"directory", t.TempDir(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", "")
			t.Setenv("GATEWAY_TEST_CHROMIUM", tt.path)
			r := &recorder{}
			got := Chromium(r)
			if tt.wantOK && (got != tt.path || r.skipped) {
				t.Errorf("Chromium() = %q (skipped %v), want %q", got, r.skipped, tt.path)
			}
			if !tt.wantOK && (got != "" || !r.skipped) {
				t.Errorf("Chromium() = %q (skipped %v), want a skip", got, r.skipped)
			}
		})
	}
}

func TestFirstFreeSkipsBusyPorts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	free := freePorts(t, 1)[0]

	got, err := firstFree([]int{busyPort, free})
	if err != nil || got != free {
		t.Errorf("firstFree([busy %d, free %d]) = %d, %v; want %d", busyPort, free, got, err, free)
	}
	if _, err := firstFree([]int{busyPort}); err == nil {
		t.Errorf("firstFree([busy]) succeeded, want an error")
	}
}

func TestFreeCallbackPort(t *testing.T) {
	p := FreeCallbackPort(t)
	if p < CallbackPortFirst || p > CallbackPortLast {
		t.Fatalf("FreeCallbackPort() = %d, outside %d..%d", p, CallbackPortFirst, CallbackPortLast)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("port %d is not usable: %v", p, err)
	}
	l.Close()
}

func TestScriptEnvDropsInstanceSettings(t *testing.T) {
	in := []string{"PATH=/bin", "LDAP_PORT=1", "LDAPS_PORT=2", "LDAP_DIR=/x", "DEX_DIR=/y", "DEX_PORT=3", "LDAP_SEED=/s"}
	got := scriptEnv(in)
	want := []string{"PATH=/bin", "LDAP_SEED=/s"}
	if !slices.Equal(got, want) {
		t.Errorf("scriptEnv() = %v, want %v", got, want)
	}
}

// TestPrivateInstancesStopAndStart runs the real scripts: a private slapd
// and a private Dex go down and come back on the same ports. Skipped
// without test/all.sh's environment (fails in CI).
func TestPrivateInstancesStopAndStart(t *testing.T) {
	ldap := PrivateLDAP(t)
	dex := PrivateOIDC(t, ldap)
	ldapAddr := ldap.URL[len("ldap://"):]
	discovery := dex.Issuer + "/.well-known/openid-configuration"

	if !listening(ldapAddr) {
		t.Fatalf("private slapd not listening on %s", ldapAddr)
	}
	if status := get(t, discovery); status != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", discovery, status)
	}

	ldap.Stop(t)
	if listening(ldapAddr) {
		t.Errorf("slapd still listening on %s after Stop", ldapAddr)
	}
	ldap.Start(t)
	if !listening(ldapAddr) {
		t.Errorf("slapd not listening on %s after Start", ldapAddr)
	}

	dex.Restart(t)
	if status := get(t, discovery); status != http.StatusOK {
		t.Errorf("after Restart GET %s = %d, want 200", discovery, status)
	}
	dex.Stop(t)
	if status := get(t, discovery); status != 0 {
		t.Errorf("after Stop GET %s = %d, want connection refused", discovery, status)
	}
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// get returns the status code, or 0 if the request failed.
func get(t *testing.T, url string) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
