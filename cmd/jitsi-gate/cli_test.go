package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

func runCLI(t *testing.T, stdin string, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	getenv = withTestDB(t, getenv)
	var out, errOut strings.Builder
	err = run(context.Background(), append([]string{"jitsi-gate"}, args...), getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// withTestDB points the built-in demo configuration's store
// (${JITSI_GATE_DB:-jitsi-gate.db}, in the working directory) at a file of
// the test's own.
func withTestDB(t *testing.T, getenv func(string) string) func(string) string {
	db := filepath.Join(t.TempDir(), "demo.db")
	return func(k string) string {
		if v := getenv(k); v != "" || k != "JITSI_GATE_DB" {
			return v
		}
		return db
	}
}

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestHashPassword(t *testing.T) {
	out, _, err := runCLI(t, "s3cret pass\n", nil, "hash-password")
	if err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSpace(out)
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret pass")) != nil {
		t.Errorf("hash %q does not match the password", hash)
	}
	if _, _, err := runCLI(t, "\n", nil, "hash-password"); exitCode(err) != 1 {
		t.Errorf("empty password: exit %d, want 1", exitCode(err))
	}
}

func TestCheckConfigExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("server: {listen: x}\nnot_a_key: 1\n"), 0o600)
	out, _, err := runCLI(t, "", nil, "check-config", "-config", bad)
	if exitCode(err) != 1 || !strings.Contains(out, "not_a_key") || !strings.Contains(out, "server.listen") {
		t.Errorf("bad config: exit %d\n%s", exitCode(err), out)
	}
	out, _, err = runCLI(t, "", nil, "check-config")
	if err != nil || !strings.Contains(out, "OK") {
		t.Errorf("demo config: %v\n%s", err, out)
	}
	// serve refuses to start on the same problems.
	_, stderr, err := runCLI(t, "", nil, "serve", "-config", bad)
	if exitCode(err) != 1 || !strings.Contains(stderr, "not_a_key") {
		t.Errorf("serve with a bad config: exit %d\n%s", exitCode(err), stderr)
	}
	if _, _, err := runCLI(t, "", nil, "no-such-command"); exitCode(err) != 2 {
		t.Errorf("unknown command: exit %d, want 2", exitCode(err))
	}
}

func TestKeygenAndTokenCommands(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	out, _, err := runCLI(t, "", nil, "keygen", "-out", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
	kid := ""
	for _, line := range strings.Split(out, "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(line), "key_id: "); ok {
			kid = k
		}
	}
	if kid == "" {
		t.Fatalf("keygen printed no key_id:\n%s", out)
	}
	if _, _, err := runCLI(t, "", nil, "keygen", "-out", keyFile); exitCode(err) != 1 {
		t.Errorf("keygen over an existing key: exit %d, want 1", exitCode(err))
	}

	// The printed snippet works: mint an RS256 token with the token command.
	cfg := strings.Replace(string(mustRead(t, "../../config.example.yaml")),
		`    algorithm: HS256
    secret: "${JWT_APP_SECRET:-insecure-demo-jwt-secret-change-me-0123456789}"`,
		"    algorithm: RS256\n    private_key_file: "+keyFile+"\n    key_id: "+kid, 1)
	// With a real key the demo accounts and the demo session secret are
	// refused: real passwords, a real secret.
	cfg = regexp.MustCompile(`password_hash: "\$2a\$10\$[^"]+"`).ReplaceAllLiteralString(cfg,
		`password_hash: "`+hash(t, "a real password")+`"`)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	realSession := func(k string) string {
		if k == "SESSION_SECRET" {
			return "b3a2918f7e6d5c4b3a29180f7e6d5c4b"
		}
		return ""
	}
	out, stderr, err := runCLI(t, "", realSession, "token", "-config", path, "-user", "tina", "-groups", "teachers", "-room", "Mathe-Übung", "-json")
	if err != nil {
		t.Fatalf("token: %v\n%s", err, stderr)
	}
	for _, want := range []string{`"url": "https://meet.example.com/mathe-%c3%bcbung?jwt=`, `"affiliation": "owner"`, `"rule": "teachers"`} {
		if !strings.Contains(out, want) {
			t.Errorf("token -json lacks %q:\n%s", want, out)
		}
	}
	// Prosody fetching the public key of the printed kid accepts the token.
	var minted struct{ Token string }
	if err := json.Unmarshal([]byte(out), &minted); err != nil {
		t.Fatal(err)
	}
	key, err := token.ParsePrivateKeyPEM(mustRead(t, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewPublicKeySet(map[string]*rsa.PublicKey{kid: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pem, ok := keys.PEM(strings.TrimPrefix(r.URL.Path, "/asap/")); ok {
			w.Write(pem)
			return
		}
		http.NotFound(w, r)
	}))
	defer ks.Close()
	v := &jitsiverify.Config{AppID: "jitsi-gate", ASAPKeyServer: ks.URL + "/asap"}
	if got, err := v.Verify(context.Background(), minted.Token); err != nil || got.Header["kid"] != kid {
		t.Errorf("token from the token command: %v (header %v)", err, got)
	}
	if _, stderr, err := runCLI(t, "", realSession, "token", "-config", path, "-user", "pat", "-groups", "parents", "-room", "x"); exitCode(err) != 3 ||
		!strings.Contains(err.Error(), "no rule admits") {
		t.Errorf("token for a denied user: exit %d %v %s", exitCode(err), err, stderr)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)
	if out, _, err := runCLI(t, "", nil, "healthcheck", "-url", g.base+"/healthz"); err != nil || strings.TrimSpace(out) != "ok" {
		t.Errorf("healthcheck of a running gateway: %v %q", err, out)
	}
	if _, _, err := runCLI(t, "", nil, "healthcheck", "-url", g.base+"/nope"); exitCode(err) != 1 {
		t.Errorf("healthcheck of a 404: exit %d, want 1", exitCode(err))
	}
	if _, _, err := runCLI(t, "", nil, "healthcheck", "-url", "http://"+closedAddr(t)+"/healthz"); exitCode(err) != 1 {
		t.Errorf("healthcheck with nothing listening: exit %d, want 1", exitCode(err))
	}
}

// TestHealthcheckFollowsServerListen: with a config (by -config or by
// $JITSI_GATE_CONFIG, as the Dockerfile sets it) healthcheck probes the
// port of server.listen, not a fixed 8080.
func TestHealthcheckFollowsServerListen(t *testing.T) {
	addr := freePort(t)
	cfg := gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`)
	startGateway(t, cfg, nil)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	wildcard := filepath.Join(t.TempDir(), "wildcard.yaml")
	if err := os.WriteFile(wildcard, []byte(strings.Replace(cfg, `listen: "`+addr+`"`, `listen: ":`+port+`"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	fromEnv := func(p string) func(string) string {
		return func(k string) string {
			if k == "JITSI_GATE_CONFIG" {
				return p
			}
			return ""
		}
	}
	tests := []struct {
		name   string
		getenv func(string) string
		args   []string
	}{
		{"-config", nil, []string{"-config", path}},
		{"JITSI_GATE_CONFIG", fromEnv(path), nil},
		{"wildcard listen probes loopback", fromEnv(wildcard), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runCLI(t, "", tt.getenv, append([]string{"healthcheck"}, tt.args...)...)
			if err != nil || strings.TrimSpace(out) != "ok" {
				t.Errorf("healthcheck: %v %q %s", err, out, stderr)
			}
		})
	}
	// The port comes from the config: a config naming a port where
	// nothing listens fails, although 8080 might answer.
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(cfg, addr, closedAddr(t), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "", fromEnv(other), "healthcheck"); exitCode(err) != 1 {
		t.Errorf("healthcheck of a config whose port is closed: exit %d, want 1", exitCode(err))
	}
	if got := healthURL("[::]:9000"); got != "http://[::1]:9000/healthz" {
		t.Errorf("healthURL([::]:9000) = %s", got)
	}
}

func TestBranding(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.png")
	os.WriteFile(logo, []byte("\x89PNG\r\n\x1a\nfake"), 0o600)
	tpl := filepath.Join(dir, "templates")
	os.Mkdir(tpl, 0o700)
	// A school overrides one template; the others stay embedded.
	loggedout := `{{define "content"}}<h1 id="custom">Auf Wiedersehen, Schule am See</h1><a href="{{.Data.Login}}">x</a>{{end}}`
	os.WriteFile(filepath.Join(tpl, "loggedout.html"), []byte(loggedout), 0o600)

	addr := freePort(t)
	cfg := gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`) + `
ui:
  title: "Schule am See"
  logo_file: ` + logo + `
  primary_color: "#0a7d32"
  footer_html: '<a href="https://schule.example">Impressum</a><script>alert(1)</script><img src=x onerror=alert(2)>'
  templates_dir: ` + tpl + `
  default_language: de
`
	g := startGateway(t, cfg, nil)
	c := browser(t)
	r := do(t, c, http.MethodGet, g.base+"/", nil)
	for _, want := range []string{"Schule am See", `<html lang="de">`, `<a href="https://schule.example" rel="nofollow">Impressum</a>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("welcome page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "onerror") {
		t.Error("footer_html was not sanitised")
	}
	if r := do(t, c, http.MethodGet, g.base+"/static/theme.css", nil); !strings.Contains(r.body, "--primary:#0a7d32") {
		t.Errorf("theme.css = %q", r.body)
	}
	if r := do(t, c, http.MethodGet, g.base+"/static/logo", nil); r.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(r.body, "\x89PNG") {
		t.Errorf("logo: %q %q", r.header.Get("Content-Type"), r.body)
	}
	if r := do(t, c, http.MethodGet, g.base+"/logout", nil); !strings.Contains(r.body, `id="custom"`) {
		t.Errorf("templates_dir override not used:\n%s", r.body)
	}
	if r := do(t, c, http.MethodGet, g.base+"/login", nil); !strings.Contains(r.body, "Passwort") {
		t.Errorf("non-overridden template missing or not German")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
