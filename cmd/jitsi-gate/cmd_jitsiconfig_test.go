package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiconf"
)

// runCmd runs the program with args and returns stdout, stderr and the exit
// code main would use.
func runCmd(t *testing.T, getenv func(string) string, args ...string) (string, string, int) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"jitsi-gate"}, args...), getenv, strings.NewReader(""), &out, &errOut)
	code := 0
	if err != nil {
		code = 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
			errOut.WriteString(ee.msg)
		} else {
			errOut.WriteString(err.Error())
		}
	}
	return out.String(), errOut.String(), code
}

func TestJitsiConfigCommand(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("jitsi: {app_id: \"bad id\", colour: red}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErr    []string
		notWantOut []string
	}{
		{
			name: "default config, default format env",
			args: []string{"jitsi-config"},
			wantOut: []string{"\nENABLE_AUTH=1\n", "\nAUTH_TYPE=jwt\n", "\nJWT_APP_ID=jitsi-gate\n", "\nJICOFO_ENABLE_AUTH=0\n",
				"\nENABLE_AUTO_OWNER=false\n", "\nXMPP_MUC_MODULES=token_affiliation,token_lobby_bypass\n",
				"\nTOKEN_AUTH_URL=http://localhost:8080/login?state={state}\n", "config.tokenLogoutUrl = 'http://localhost:8080/logout';",
				"from the built-in demo configuration", "jitsi.signing.secret is ${JWT_APP_SECRET}"},
			notWantOut: []string{"insecure-demo", "\nJWT_APP_SECRET="},
		},
		{
			name:    "prosody",
			args:    []string{"jitsi-config", "-format", "prosody"},
			wantOut: []string{`authentication = "token"`, `app_secret = "<value of JWT_APP_SECRET>"`, `"token_verification";`, "enable-auto-owner = false"},
		},
		{
			name:    "configjs",
			args:    []string{"jitsi-config", "-format", "configjs"},
			wantOut: []string{"config.tokenAuthUrl = 'http://localhost:8080/login?state={state}';"},
		},
		{name: "unknown format", args: []string{"jitsi-config", "-format", "yaml"}, wantCode: 2, wantErr: []string{`unknown format "yaml"`}},
		{name: "stray argument", args: []string{"jitsi-config", "extra"}, wantCode: 2},
		{name: "config problems", args: []string{"jitsi-config", "-config", broken}, wantCode: 1,
			wantErr: []string{"jitsi.app_id", "jitsi.colour"}},
		{name: "missing file", args: []string{"jitsi-config", "-config", filepath.Join(dir, "nope.yaml")}, wantCode: 1,
			wantErr: []string{"nope.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWantOut {
				if strings.Contains(out, w) {
					t.Errorf("stdout contains %q", w)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestJitsiConfigCommandMatchesPackage: the command prints exactly what
// the golden-tested package generates for a file, secret reference
// included.
func TestJitsiConfigCommandMatchesPackage(t *testing.T) {
	path := filepath.Join("..", "..", "internal", "jitsiconf", "testdata", "hs256.yaml")
	envs := map[string]string{
		"PUBLIC_URL": "https://meet.example.com", "JWT_APP_ID": "jitsi-gate", "JWT_ACCEPTED_AUDIENCES": "jitsi-gate",
		"JWT_APP_SECRET": testSecret, "SESSION_SECRET": "cmd-test-session-secret-0123456789abcdefgh",
		"RESERVATIONS_TOKEN": jitsiConfigTestReservationsToken,
	}
	getenv := func(k string) string { return envs[k] }
	cfg, err := config.Load(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range jitsiconf.Formats() {
		want, err := jitsiconf.GenerateWith(cfg, format, jitsiconf.Options{SecretEnv: "JWT_APP_SECRET", Source: path,
			ReservationsTokenEnv: "RESERVATIONS_TOKEN"})
		if err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runCmd(t, getenv, "jitsi-config", "-config", path, "-format", format)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		if out != want {
			t.Errorf("%s: command output differs from jitsiconf.GenerateWith:\n%s", format, out)
		}
		if strings.Contains(out, testSecret) || strings.Contains(out, jitsiConfigTestReservationsToken) {
			t.Errorf("%s: prints a secret", format)
		}
	}
}

// jitsiConfigTestReservationsToken is the reservations token of the jitsi-config test.
const jitsiConfigTestReservationsToken = "cmd-test-reservations-token-0123456789abcdef"
