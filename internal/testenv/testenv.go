// Package testenv tells tests where the real services are that test/all.sh
// starts: an OpenLDAP slapd, a Dex OIDC provider and Chromium. It reads the
// GATEWAY_TEST_* variables that test/infra/up.sh writes to $STATE/env.
// test/all.sh also starts a PostgreSQL cluster for the store's tests.
//
// When a service is not configured, the helpers skip the test with a message
// saying how to get it, so `go test ./...` works on any machine. In CI
// (CI=true, set by .ci/run) they fail the test instead: a missing service
// there is a broken pipeline, not a reason to skip.
//
// Tests that stop or restart a directory or provider should use PrivateLDAP
// and PrivateOIDC: the shared instances are used by other packages running in
// parallel (go test -p 2), which would see the outage too.
package testenv

import (
	"context"
	cryptorand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for PostgresDB's admin connection
)

// Callback ports for which the test Dex has redirect URIs registered
// (http://127.0.0.1:P/callback/dex and /callback/oidc, both clients).
const (
	CallbackPortFirst = 18080
	CallbackPortLast  = 18089
)

// How long a start/stop script may take before the test fails.
const scriptTimeout = 60 * time.Second

const setupHint = "set the GATEWAY_TEST_* variables or run test/all.sh"

// Required reports whether missing services must fail tests rather than
// skip them: true when the CI variable holds a true value (CI=true, CI=1).
func Required() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// unavailable skips t, or fails it when Required.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("testenv: %s (CI=true, so this is a failure, not a skip)", msg)
		return
	}
	t.Skipf("testenv: %s", msg)
}

// LDAPEnv describes a test slapd (see test/infra/ldap/seed.ldif.tmpl for its
// users and groups).
type LDAPEnv struct {
	URL      string // ldap://127.0.0.1:PORT (plain; StartTLS works)
	LDAPSURL string // ldaps://127.0.0.1:PORT
	CAFile   string // PEM of the CA that signed the server cert

	// BindDN/BindPassword is the least-privilege service account: it can
	// read people and groups, nothing else.
	BindDN, BindPassword string
	BaseDN               string // dc=school,dc=example
	// AdminDN/AdminPassword is the rootdn, for tests that change entries.
	AdminDN, AdminPassword string

	// Dir is the instance directory; StartScript/StopScript are
	// test/infra/ldap/{start,stop}-slapd.sh. See Start and Stop.
	Dir, StartScript, StopScript string
}

// LDAP returns the shared test directory, or skips (fails in CI) when
// GATEWAY_TEST_LDAP_URL is not set.
func LDAP(t testing.TB) LDAPEnv {
	t.Helper()
	e := LDAPEnv{
		URL:           os.Getenv("GATEWAY_TEST_LDAP_URL"),
		LDAPSURL:      os.Getenv("GATEWAY_TEST_LDAPS_URL"),
		CAFile:        os.Getenv("GATEWAY_TEST_LDAP_CA"),
		BindDN:        os.Getenv("GATEWAY_TEST_LDAP_BIND_DN"),
		BindPassword:  os.Getenv("GATEWAY_TEST_LDAP_BIND_PASSWORD"),
		BaseDN:        os.Getenv("GATEWAY_TEST_LDAP_BASE_DN"),
		AdminDN:       os.Getenv("GATEWAY_TEST_LDAP_ADMIN_DN"),
		AdminPassword: os.Getenv("GATEWAY_TEST_LDAP_ADMIN_PASSWORD"),
		Dir:           os.Getenv("GATEWAY_TEST_LDAP_DIR"),
		StartScript:   os.Getenv("GATEWAY_TEST_SLAPD_START"),
		StopScript:    os.Getenv("GATEWAY_TEST_SLAPD_STOP"),
	}
	if e.URL == "" {
		unavailable(t, "no LDAP server: GATEWAY_TEST_LDAP_URL is not set; %s", setupHint)
		return LDAPEnv{}
	}
	return e
}

// PrivateLDAP starts a fresh, seeded slapd of its own (own directory, own
// free ports, same seed and credentials as the shared one) and stops it when
// the test ends. Use it for tests that stop or restart the directory.
func PrivateLDAP(t testing.TB) LDAPEnv {
	t.Helper()
	shared := LDAP(t)
	if shared.URL == "" {
		return LDAPEnv{}
	}
	if shared.StartScript == "" || shared.StopScript == "" {
		unavailable(t, "GATEWAY_TEST_SLAPD_START/_STOP are not set; %s", setupHint)
		return LDAPEnv{}
	}
	ports := freePorts(t, 2)
	e := shared
	e.Dir = t.TempDir()
	e.URL = fmt.Sprintf("ldap://127.0.0.1:%d", ports[0])
	e.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", ports[1])
	e.CAFile = e.Dir + "/ca.pem"
	runScript(t, e.StartScript, "LDAP_DIR="+e.Dir,
		"LDAP_PORT="+strconv.Itoa(ports[0]), "LDAPS_PORT="+strconv.Itoa(ports[1]))
	t.Cleanup(func() { e.stop(t) })
	return e
}

// Start starts the instance in e.Dir again (same ports, data kept) and
// returns once it answers. Starting a running instance does nothing.
func (e LDAPEnv) Start(t testing.TB) {
	t.Helper()
	runScript(t, e.StartScript, "LDAP_DIR="+e.Dir)
}

// Stop stops the instance and returns once its ports are closed.
func (e LDAPEnv) Stop(t testing.TB) {
	t.Helper()
	e.stop(t)
}

func (e LDAPEnv) stop(t testing.TB) {
	t.Helper()
	runScript(t, e.StopScript, "LDAP_DIR="+e.Dir)
}

// Restart is Stop followed by Start.
func (e LDAPEnv) Restart(t testing.TB) {
	t.Helper()
	e.Stop(t)
	e.Start(t)
}

// Postgres returns the admin DSN of the test PostgreSQL cluster
// (postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable, superuser,
// trust authentication), or skips (fails in CI) when
// GATEWAY_TEST_POSTGRES_DSN is not set. The cluster is shared by every test
// package: create a database of your own with it (and drop it at cleanup)
// rather than writing into the "postgres" database.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("GATEWAY_TEST_POSTGRES_DSN")
	if dsn == "" {
		unavailable(t, "no PostgreSQL: GATEWAY_TEST_POSTGRES_DSN is not set; %s "+
			"(needs Debian's postgresql package: test/infra/install.sh)", setupHint)
		return ""
	}
	return dsn
}

// PostgresDB creates an empty database with a random name (prefix, then
// 16 hex digits) on the test cluster and returns its DSN; the database is
// dropped, its connections closed by force, when the test ends. It skips
// (fails in CI) like Postgres when there is no cluster, returning "".
func PostgresDB(t testing.TB, prefix string) string {
	t.Helper()
	admin := Postgres(t)
	if admin == "" {
		return "" // skipped
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testenv: GATEWAY_TEST_POSTGRES_DSN: %v", err)
	}
	var b [8]byte
	cryptorand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("testenv: connect to the test cluster: %v", err)
	}
	ctx := context.Background()
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		adminDB.Close()
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer adminDB.Close()
		if _, err := adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// OIDCEnv describes the test Dex. Both clients accept the redirect URIs
// http://127.0.0.1:P/callback/dex and /callback/oidc for P in
// CallbackPortFirst..CallbackPortLast (see FreeCallbackPort). Dex's only
// connector is the test LDAP (id "ldap"), so ID tokens carry its groups.
// Dex has no end_session_endpoint (no RP-initiated logout).
type OIDCEnv struct {
	Issuer         string // http://127.0.0.1:PORT/dex
	ClientID       string // confidential client
	ClientSecret   string
	PublicClientID string // public client (no secret; use PKCE)

	// Dir is the instance directory; StartScript/StopScript are
	// test/infra/dex/{start,stop}-dex.sh. See Start and Stop.
	Dir, StartScript, StopScript string
}

// OIDC returns the shared test provider, or skips (fails in CI) when
// GATEWAY_TEST_OIDC_ISSUER is not set.
func OIDC(t testing.TB) OIDCEnv {
	t.Helper()
	e := OIDCEnv{
		Issuer:         os.Getenv("GATEWAY_TEST_OIDC_ISSUER"),
		ClientID:       os.Getenv("GATEWAY_TEST_OIDC_CLIENT_ID"),
		ClientSecret:   os.Getenv("GATEWAY_TEST_OIDC_CLIENT_SECRET"),
		PublicClientID: os.Getenv("GATEWAY_TEST_OIDC_PUBLIC_CLIENT_ID"),
		Dir:            os.Getenv("GATEWAY_TEST_DEX_DIR"),
		StartScript:    os.Getenv("GATEWAY_TEST_DEX_START"),
		StopScript:     os.Getenv("GATEWAY_TEST_DEX_STOP"),
	}
	if e.Issuer == "" {
		unavailable(t, "no OIDC provider: GATEWAY_TEST_OIDC_ISSUER is not set; %s", setupHint)
		return OIDCEnv{}
	}
	return e
}

// PrivateOIDC starts a Dex of its own on a free port, using the directory
// ldap (the shared one or a PrivateLDAP), and stops it when the test ends.
// Use it for provider-down and provider-restart tests.
func PrivateOIDC(t testing.TB, ldap LDAPEnv) OIDCEnv {
	t.Helper()
	shared := OIDC(t)
	if shared.Issuer == "" {
		return OIDCEnv{}
	}
	if shared.StartScript == "" || shared.StopScript == "" || ldap.Dir == "" {
		unavailable(t, "GATEWAY_TEST_DEX_START/_STOP or the LDAP dir are not set; %s", setupHint)
		return OIDCEnv{}
	}
	port := freePorts(t, 1)[0]
	e := shared
	e.Dir = t.TempDir()
	e.Issuer = fmt.Sprintf("http://127.0.0.1:%d/dex", port)
	runScript(t, e.StartScript, "DEX_DIR="+e.Dir, "DEX_PORT="+strconv.Itoa(port), "LDAP_DIR="+ldap.Dir)
	t.Cleanup(func() { e.stop(t) })
	return e
}

// Start starts the provider in e.Dir again (same port; in-memory state such
// as signing keys and codes is new) and returns once discovery answers.
func (e OIDCEnv) Start(t testing.TB) {
	t.Helper()
	runScript(t, e.StartScript, "DEX_DIR="+e.Dir)
}

// Stop stops the provider and returns once its port is closed.
func (e OIDCEnv) Stop(t testing.TB) {
	t.Helper()
	e.stop(t)
}

func (e OIDCEnv) stop(t testing.TB) {
	t.Helper()
	runScript(t, e.StopScript, "DEX_DIR="+e.Dir)
}

// Restart is Stop followed by Start.
func (e OIDCEnv) Restart(t testing.TB) {
	t.Helper()
	e.Stop(t)
	e.Start(t)
}

// Chromium returns the path of the Chromium binary for browser tests
// (GATEWAY_TEST_CHROMIUM, else Debian's /usr/lib/chromium/chromium), or
// skips (fails in CI) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	path := os.Getenv("GATEWAY_TEST_CHROMIUM")
	if path == "" {
		path = "/usr/lib/chromium/chromium"
	}
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		unavailable(t, "no Chromium at %s (set GATEWAY_TEST_CHROMIUM, or apt-get install chromium, or run test/all.sh)", path)
		return ""
	}
	return path
}

// ArtifactsDir returns a directory for files a reviewer may want to look
// at after the run (screenshots): $GATEWAY_TEST_ARTIFACTS/<test name> when
// set (test/all.sh sets test/artifacts), else a temporary directory.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("GATEWAY_TEST_ARTIFACTS")
	if root == "" {
		return t.TempDir()
	}
	dir := root + "/" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testenv: artifacts dir: %v", err)
	}
	return dir
}

// FreeCallbackPort returns a port in CallbackPortFirst..CallbackPortLast that
// is free right now, for a gateway whose redirect URI the test Dex accepts.
// Ports are tried in random order so that test packages running in
// parallel rarely pick the same one; bind it soon after.
func FreeCallbackPort(t testing.TB) int {
	t.Helper()
	ports := make([]int, 0, CallbackPortLast-CallbackPortFirst+1)
	for _, i := range rand.Perm(CallbackPortLast - CallbackPortFirst + 1) {
		ports = append(ports, CallbackPortFirst+i)
	}
	p, err := firstFree(ports)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return p
}

// firstFree returns the first port of ports that 127.0.0.1 can listen on.
func firstFree(ports []int) (int, error) {
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("close probe listener on %d: %w", p, err)
		}
		return p, nil
	}
	return 0, fmt.Errorf("no free port among %v", ports)
}

// freePorts returns n distinct ports the kernel considers free.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: find free port: %v", err)
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// scriptEnv drops the variables the scripts read as instance settings, so
// that a value exported in the developer's shell cannot redirect a restart
// to other ports or directories: the instance directory remembers them.
func scriptEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "LDAP_DIR", "LDAP_PORT", "LDAPS_PORT", "DEX_DIR", "DEX_PORT":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runScript runs one of the test/infra start/stop scripts with extra
// environment and fails the test with the script's output if it fails.
func runScript(t testing.TB, script string, env ...string) {
	t.Helper()
	if script == "" {
		t.Fatalf("testenv: no script configured (%s)", setupHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(scriptEnv(os.Environ()), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: %s %s: %v\n%s", strings.Join(env, " "), script, err, out)
	}
}
