package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// standInJitsi serves a config.js like a Jitsi web container would.
func standInJitsi(t *testing.T, configJS string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/config.js" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, configJS)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDoctorAgainstRunningGateway runs doctor against the real gateway
// (started through run) and a stand-in Jitsi, all on 127.0.0.1.
func TestDoctorAgainstRunningGateway(t *testing.T) {
	dir := t.TempDir()
	key, err := token.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, token.EncodePrivateKeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		signing  string
		configJS func(base string) string
		wantCode int
		wantOut  []string
	}{
		{
			name:    "HS256, Jitsi points here",
			signing: fmt.Sprintf(`{algorithm: HS256, secret: %q}`, testSecret),
			configJS: func(base string) string {
				return "var config = {\n  // anonymousdomain: 'guest.example.com',\n  hosts: {domain: 'meet.jitsi'},\n};\n" +
					"config.tokenAuthUrl = '" + base + "/login?state={state}';\nconfig.tokenLogoutUrl = '" + base + "/logout';\n"
			},
			wantOut: []string{"✓ tokenAuthUrl points at this gateway", "✓ tokenLogoutUrl points at this gateway",
				"✓ no guest domain", "/healthz answered 200", "Jitsi rejects a token signed with a wrong secret",
				"/jitsi-gate-doctor?jwt=ey", "0 problem(s) ✗"},
		},
		{
			name:    "RS256, served key checked",
			signing: fmt.Sprintf(`{algorithm: RS256, private_key_file: %q, key_id: doctor-1}`, keyFile),
			configJS: func(base string) string {
				return "config.tokenAuthUrl = '" + base + "/login?state={state}';\nconfig.tokenLogoutUrl = '" + base + "/logout';\n"
			},
			wantOut: []string{"✓ serves the public key for kid doctor-1", "/asap/" + token.ASAPFileName("doctor-1"),
				"wrong key (same kid doctor-1)", "0 problem(s) ✗"},
		},
		{
			name:    "guest domain and a foreign login page",
			signing: fmt.Sprintf(`{algorithm: HS256, secret: %q}`, testSecret),
			configJS: func(string) string {
				return "var config = { hosts: { domain: 'meet.jitsi', anonymousdomain: 'guest.meet.jitsi' }, " +
					"tokenAuthUrl: 'https://auth.example.com/{room}' };\n"
			},
			wantCode: 1,
			wantOut:  []string{"✗ tokenAuthUrl is https://auth.example.com/{room}, not this gateway", "✗ hosts.anonymousdomain is set", "2 problem(s) ✗"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freePort(t)
			// doctor only checks (and prints tokens for) jitsi.url, so the
			// stand-in is jitsi.url.
			jitsi := standInJitsi(t, tt.configJS("http://"+addr))
			cfg := strings.Replace(gatewayConfig(t, addr, tt.signing), "url: https://meet.example.com", "url: "+jitsi, 1)
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			startGateway(t, cfg, nil)
			out, errOut, code := runCmd(t, nil, "doctor", "-config", path, "-timeout", "5s")
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, testSecret) {
				t.Error("doctor prints the signing secret")
			}
		})
	}
}

func TestDoctorCommandBadInput(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"not an http URL", []string{"doctor", "-jitsi", "ftp://meet.example.com"}, 2},
		{"bad timeout", []string{"doctor", "-timeout", "-1s"}, 2},
		{"stray argument", []string{"doctor", "meet.example.com"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, errOut, code := runCmd(t, nil, tt.args...); code != tt.wantCode {
				t.Errorf("exit %d, want %d: %s", code, tt.wantCode, errOut)
			}
		})
	}
}
