package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
)

// demoYAML is config.example.yaml listening on addr.
func demoYAML(addr string) string {
	doc := string(config.DefaultYAML())
	doc = strings.Replace(doc, "  listen: 127.0.0.1:8080\n", fmt.Sprintf("  listen: %q\n", addr), 1)
	return strings.Replace(doc, "  public_url: http://localhost:8080\n", fmt.Sprintf("  public_url: \"http://%s\"\n", addr), 1)
}

// TestSecurityDemoAccountsNeedDemoSecrets replays attack 1: the example
// config with real secrets from docker-jitsi-meet's .env names and preview
// on must not let teacher/teacher log in.
func TestSecurityDemoAccountsNeedDemoSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, config.DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	realSecrets := func(k string) string {
		switch k {
		case "JWT_APP_SECRET":
			return "4f1c0d6a9b8e7f2a3c5d6e7f8091a2b3"
		case "SESSION_SECRET":
			return "b3a2918f7e6d5c4b3a29180f7e6d5c4b"
		}
		return ""
	}
	for _, args := range [][]string{{"check-config", "-config", path}, {"serve", "-config", path}, {"check-config"}} {
		out, errOut, err := runCLI(t, "", realSecrets, args...)
		if exitCode(err) == 0 {
			t.Errorf("%v with real secrets succeeded:\n%s%s", args, out, errOut)
			continue
		}
		if all := out + errOut; !strings.Contains(all, "users[0].password_hash") || !strings.Contains(all, "demo secrets") {
			t.Errorf("%v: the demo accounts are not named:\n%s", args, all)
		}
	}
	// Only one real secret is enough to refuse them.
	oneReal := func(k string) string {
		if k == "JWT_APP_SECRET" {
			return realSecrets(k)
		}
		return ""
	}
	if out, _, err := runCLI(t, "", oneReal, "check-config", "-config", path); exitCode(err) == 0 {
		t.Errorf("check-config with a real JWT secret only succeeded:\n%s", out)
	}
}

// TestSecurityPreviewTokenIsThrowaway: the token the preview page shows is
// refused by a Jitsi with the configured secret, unless the admin asked for
// real tokens.
func TestSecurityPreviewTokenIsThrowaway(t *testing.T) {
	const realSecret = "4f1c0d6a9b8e7f2a3c5d6e7f8091a2b3"
	tokenRE := regexp.MustCompile(`<textarea id="token"[^>]*>([^<]+)</textarea>`)
	for _, real := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview_real_tokens=%v", real), func(t *testing.T) {
			addr := freePort(t)
			doc := demoYAML(addr)
			secret, password := "insecure-demo-jwt-secret-change-me-0123456789", "teacher"
			var getenv func(string) string
			if real {
				// Real tokens need real secrets, and then real accounts:
				// the demo values are public.
				doc = strings.Replace(doc, "  preview: true\n", "  preview: true\n  preview_real_tokens: true\n", 1)
				doc = regexp.MustCompile(`password_hash: "\$2a\$10\$[^"]+"`).ReplaceAllLiteralString(doc,
					`password_hash: "`+hash(t, "a real password")+`"`)
				secret, password = realSecret, "a real password"
				getenv = func(k string) string {
					if k == "JWT_APP_SECRET" || k == "SESSION_SECRET" {
						return realSecret
					}
					return ""
				}
			}
			verifier := &jitsiverify.Config{AppID: "jitsi-gate", AppSecret: secret,
				AcceptedAudiences: []string{"jitsi-gate"}, EnableDomainVerification: true, XMPPDomain: "meet.jitsi"}
			g := startGateway(t, doc, getenv)
			r := login(t, g, browser(t), "room=Mathe", "teacher", password)
			if r.status != http.StatusOK || !strings.Contains(r.body, `id="token-claims"`) {
				t.Fatalf("want the preview page, got %d:\n%s", r.status, r.body)
			}
			m := tokenRE.FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("no token on the preview page:\n%s", r.body)
			}
			_, err := verifier.Verify(context.Background(), m[1])
			if real && err != nil {
				t.Errorf("preview_real_tokens: the token is refused: %v", err)
			}
			if !real {
				if err == nil {
					t.Error("the preview token verifies with the configured secret; it must be signed with a throw-away key")
				}
				if !strings.Contains(r.body, "throw-away key") {
					t.Error("the preview page does not say the token is signed with a throw-away key")
				}
			}
		})
	}
}

// TestSecurityRoomPatternsOneForm replays attack 4: a deny rule written as
// the old docs said (percent-encoded) is refused by check-config, and the
// form people type denies the room whatever spelling the browser sends.
func TestSecurityRoomPatternsOneForm(t *testing.T) {
	addr := freePort(t)
	rules := `
backends:
  - id: demo
    type: static
    users:
      - {username: student, password_hash: "%s", groups: [students]}
rules:
  - name: no-exams
    match: {groups: [students]}
    rooms: [%q]
    role: deny
  - name: students
    match: {groups: [students]}
    role: member
`
	dir := t.TempDir()
	encoded := filepath.Join(dir, "encoded.yaml")
	os.WriteFile(encoded, []byte(hsGatewayHead(addr)+fmt.Sprintf(rules, hash(t, "pw"), "pr%c3%bcfung-*")), 0o600)
	out, _, err := runCLI(t, "", nil, "check-config", "-config", encoded)
	if exitCode(err) != 1 || !strings.Contains(out, `"prüfung-*"`) {
		t.Errorf("check-config of an encoded room pattern: exit %d, want 1 with the typed form as hint:\n%s", exitCode(err), out)
	}

	g := startGateway(t, hsGatewayHead(addr)+fmt.Sprintf(rules, hash(t, "pw"), "prüfung-*"), nil)
	for _, room := range []string{"Prüfung-10b", "pr%C3%BCfung-10b", "PRU%CC%88FUNG-10b"} {
		c := browser(t)
		r := login(t, g, c, "room="+url.QueryEscape(room), "student", "pw")
		if r.status != http.StatusForbidden {
			t.Errorf("room %q: status %d, want 403 from the deny rule (location %q)", room, r.status, r.location)
		}
	}
}
