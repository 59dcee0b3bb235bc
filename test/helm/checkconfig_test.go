package helm

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestChartConfigPassesCheckConfig runs the gateway's own check-config on
// the config.yaml the chart renders, with the Secret's keys as files and
// the test PostgreSQL (a database of its own) behind postgres-dsn. A chart
// whose config the gateway refuses starts pods that crash-loop; the
// structural checks of TestChartRenders cannot see that.
func TestChartConfigPassesCheckConfig(t *testing.T) {
	dsn := os.Getenv("GATEWAY_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GATEWAY_TEST_POSTGRES_DSN is not set: test/all.sh starts PostgreSQL (test/infra)")
		}
		t.Skip("no PostgreSQL: GATEWAY_TEST_POSTGRES_DSN is not set; run through test/all.sh")
	}
	dsn = ownDatabase(t, dsn)
	bin := filepath.Join(t.TempDir(), "jitsi-gate")
	build := exec.Command("go", "build", "-C", filepath.Join("..", ".."), "-o", bin, "./cmd/jitsi-gate")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the gateway: %v\n%s", err, out)
	}
	tests := []struct {
		name   string
		extra  map[string]any // extraConfig
		wantOK bool
	}{
		{"chart defaults with metrics", nil, true},
		// The control: a config the gateway refuses must fail here.
		{"a section the gateway does not know", map[string]any{"sessions": map[string]any{"lifetime": "8h"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := checkRendered(t, bin, dsn, tt.extra)
			if tt.wantOK && (err != nil || !strings.Contains(out, "OK")) {
				t.Fatalf("check-config refuses the chart's config: %v\n%s", err, out)
			}
			if !tt.wantOK && (err == nil || !strings.Contains(out, `"sessions"`)) {
				t.Fatalf("check-config did not refuse the unknown section: %v\n%s", err, out)
			}
		})
	}
}

// checkRendered renders the chart (only 127.0.0.1 in its values: the
// proxies, and an LDAP address check-config does not dial), writes the
// Secret's keys as files the way the pod sees them (under a temporary
// directory instead of /run/secrets) and runs check-config on the
// rendered config.yaml.
func checkRendered(t *testing.T, bin, dsn string, extra map[string]any) (string, error) {
	t.Helper()
	dir := t.TempDir()
	values := map[string]any{
		"trustedProxies": []any{"127.0.0.1/32"},
		"metrics":        map[string]any{"enabled": true, "port": 9100},
	}
	if extra != nil {
		values["extraConfig"] = extra
	}
	objs := render(t, values)
	cfgText := get(t, objs["ConfigMap"], "data", "config.yaml").(string)
	cfgText = strings.ReplaceAll(cfgText, "ldaps://ldap.example.org:636", "ldap://127.0.0.1:1")
	if !strings.Contains(cfgText, "ldap://127.0.0.1:1") {
		t.Fatalf("the chart's default LDAP URL changed; update this test:\n%s", cfgText)
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{
		"jwt-app-secret":     randomHex(t, 32),
		"session-secret":     randomHex(t, 32),
		"ldap-bind-password": randomHex(t, 12),
		"postgres-dsn":       dsn,
	} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(cfgText, "/run/secrets/jitsi-gate/") {
		t.Fatalf("the rendered config reads no secret file:\n%s", cfgText)
	}
	cfgText = strings.ReplaceAll(cfgText, "/run/secrets/jitsi-gate/", secrets+"/")
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	check := exec.Command(bin, "check-config", "-config", cfgPath)
	check.Dir = dir // the default SQLite path, should a config lack a store
	check.Env = append(os.Environ(), "JITSI_GATE_CONFIG=")
	out, err := check.CombinedOutput()
	return string(out) + "\nconfig:\n" + cfgText, err
}

// ownDatabase creates a database for the test on the cluster of admin (a
// DSN with trust authentication, as test/infra sets it up) with psql and
// drops it when the test ends; it returns the database's DSN.
func ownDatabase(t *testing.T, admin string) string {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql not found (Debian's postgresql-client, installed with the server by test/infra): %v", err)
	}
	name := "helm_" + randomHex(t, 8)
	run := func(sql string) error {
		out, err := exec.Command(psql, admin, "-v", "ON_ERROR_STOP=1", "-qc", sql).CombinedOutput()
		if err != nil {
			t.Logf("psql %q: %s", sql, out)
		}
		return err
	}
	if err := run("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("GATEWAY_TEST_POSTGRES_DSN: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
