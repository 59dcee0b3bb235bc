package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// verdictHead is a valid production-style config; each corpus case edits
// it or appends to it.
func verdictHead(dir string) string {
	return fmt.Sprintf(`
server: {listen: "127.0.0.1:0", public_url: "https://meet.example.com/_auth", shutdown_delay: 0s}
jitsi:
  url: https://meet.example.com
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  signing: {algorithm: HS256, secret: "%s"}
session: {secret: "test-session-secret-0123456789abcdef0123"}
backends:
  - id: local
    type: static
    users:
      - {username: ada, password_hash: "%s", groups: [teachers]}
rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner}
ui: {}
`, testSecret, verdictHash)
}

// verdictHash is a bcrypt hash of "pw" at the minimum cost.
const verdictHash = "$2a$04$eJm40Z7zXKJTBYtPCT8qDemakeHrDxYmbLiOMhKdzznCB4jmguUxq"

// TestCheckConfigAndServeAgree runs a corpus of broken and valid configs
// through check-config and serve: the same verdict, the same problems in
// the same words, each at the expected key.
func TestCheckConfigAndServeAgree(t *testing.T) {
	dir := t.TempDir()
	key2048, _ := testenv.WriteRSAKey(t, dir, "key.pem", 2048, true)
	key1024, _ := testenv.WriteRSAKey(t, dir, "small.pem", 1024, true)
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	shortSecret := filepath.Join(dir, "short-secret")
	os.WriteFile(shortSecret, []byte("short-SECRETVALUE\n"), 0o600)
	tplFile := filepath.Join(dir, "tpl")
	os.WriteFile(tplFile, nil, 0o600)

	replace := func(old, new string) func(string) string {
		return func(doc string) string {
			if !strings.Contains(doc, old) {
				t.Fatalf("corpus edit: %q not in the head", old)
			}
			return strings.Replace(doc, old, new, 1)
		}
	}
	appendYAML := func(s string) func(string) string { return func(doc string) string { return doc + s } }
	rs256 := func(keyFile, extra string) func(string) string {
		return replace(fmt.Sprintf(`signing: {algorithm: HS256, secret: "%s"}`, testSecret),
			fmt.Sprintf(`signing: {algorithm: RS256, private_key_file: %q, key_id: gate-1%s}`, keyFile, extra))
	}
	ldapBackend := func(extra string) func(string) string {
		return replace("rules:\n", `  - id: dir
    type: ldap
    url: ldaps://127.0.0.1:1636
    user_search: {base_dn: "ou=people,dc=example,dc=org", filter: "(uid={username})"}
    group_search: {base_dn: "ou=groups,dc=example,dc=org", filter: "(member={dn})"}
`+extra+"rules:\n")
	}
	oidcBackend := func(extra string) func(string) string {
		return replace("rules:\n", `  - id: sso
    type: oidc
    issuer: http://127.0.0.1:1/dex
    client_id: jitsi-gate
    client_secret: secret
`+extra+"rules:\n")
	}

	tests := []struct {
		name string
		edit func(string) string
		path string // "" = valid
		frag string
	}{
		{"valid", func(s string) string { return s }, "", ""},
		{"cookie name with a dot", replace("session: {", "session: {cookie_name: jitsi.gate, "), "session.cookie_name", "not a valid cookie name"},
		{"cookie name with a space", replace("session: {", `session: {cookie_name: "jitsi gate", `), "session.cookie_name", "not a valid cookie name"},
		{"__Host- cookie under a path", replace("session: {", "session: {cookie_name: __Host-gate, "), "session.cookie_name", "Path=/"},
		{"__Host- cookie at the root is fine", func(s string) string {
			return strings.Replace(replace("session: {", "session: {cookie_name: __Host-gate, ")(s), "https://meet.example.com/_auth", "https://gate.example.com", 1)
		}, "", ""},
		{"__Secure- cookie over http", func(s string) string {
			return strings.Replace(replace("session: {", "session: {cookie_name: __Secure-gate, ")(s), "https://meet.example.com/_auth", "http://127.0.0.1:8080", 1)
		}, "session.cookie_name", "https"},
		{"session secret too short", replace(`session: {secret: "test-session-secret-0123456789abcdef0123"}`, `session: {secret: "short"}`), "session.secret", "5 bytes"},
		{"HS256 secret too short, from a file, never printed", replace(fmt.Sprintf(`secret: "%s"`, testSecret), fmt.Sprintf(`secret_file: %q`, shortSecret)), "jitsi.signing.secret", "17 bytes"},
		{"RS256 key file missing", rs256(filepath.Join(dir, "nope.pem"), ""), "jitsi.signing.private_key_file", "cannot read"},
		{"RS256 key file not PEM", rs256(notPEM, ""), "jitsi.signing.private_key_file", "no PEM data"},
		{"RS256 key too small", rs256(key1024, ""), "jitsi.signing.private_key_file", "1024 bits"},
		{"RS256 previous key is a private key", rs256(key2048, fmt.Sprintf(`, previous_public_keys: [{key_id: old-1, public_key_file: %q}]`, key2048)), "jitsi.signing.previous_public_keys[0].public_key_file", "no public key"},
		{"RS256 valid", rs256(key2048, ""), "", ""},
		{"LDAP backend that is fine", ldapBackend(`    member_of_attribute: ""
`), "", ""},
		{"LDAP user filter unbalanced", func(s string) string {
			return strings.Replace(ldapBackend("")(s), `filter: "(uid={username})"`, `filter: "(&(uid={username})"`, 1)
		}, "backends[1]", "user_search.filter"},
		{"LDAP user filter without parentheses", func(s string) string {
			return strings.Replace(ldapBackend("")(s), `filter: "(uid={username})"`, `filter: "uid={username}"`, 1)
		}, "backends[1]", "user_search.filter"},
		{"LDAP CA file missing", ldapBackend(fmt.Sprintf("    ca_file: %q\n", filepath.Join(dir, "ca.pem"))), "backends[1]", "ca.pem"},
		{"LDAP CA file not a certificate", ldapBackend(fmt.Sprintf("    ca_file: %q\n", notPEM)), "backends[1]", "not.pem"},
		{"OIDC reserved auth param", oidcBackend("    auth_params: {prompt: login, redirect_uri: https://evil.example}\n"), "backends[1]", "redirect_uri"},
		{"OIDC reserved auth param (state)", oidcBackend("    auth_params: {state: x}\n"), "backends[1]", "state"},
		{"rule names an unknown backend", replace("match: {groups: [teachers]}", "match: {groups: [teachers], backends: [ldpa]}"), "rules[0].match.backends[0]", "no backend"},
		{"rule with a bad glob", replace("ui: {}", "  - {name: bad, role: member, rooms: [\"[a-\"]}\nui: {}"), "rules[1].rooms[0]", "not a valid pattern"},
		{"rule with an encoded room pattern", replace("ui: {}", "  - {name: enc, role: deny, rooms: [\"pr%c3%bcfung-*\"]}\nui: {}"), "rules[1]", "encoded form"},
		{"rule tenant that is reserved", replace("match: {groups: [teachers]}", "match: {groups: [teachers], tenants: [static]}"), "rules[0]", "reserved"},
		{"reserved tenant", replace("  xmpp_domain: meet.jitsi\n", "  xmpp_domain: meet.jitsi\n  tenants: [static]\n"), "jitsi.tenants[0]", "reserved"},
		{"logo missing", replace("ui: {}", fmt.Sprintf("ui: {logo_file: %q}", filepath.Join(dir, "logo.png"))), "ui.logo_file", "cannot read"},
		{"templates_dir is a file", replace("ui: {}", fmt.Sprintf("ui: {templates_dir: %q}", tplFile)), "ui.templates_dir", "not a directory"},
		{"templates_dir missing", replace("ui: {}", fmt.Sprintf("ui: {templates_dir: %q}", filepath.Join(dir, "none"))), "ui.templates_dir", "cannot read"},
		{"trusted proxy that is not a network", replace("server: {", `server: {trusted_proxies: ["127.0.0.1/33"], `), "server.trusted_proxies[0]", ""},
		{"unknown key", appendYAML("sesion: {}\n"), "sesion", "unknown key"},
		{"static user twice in another Unicode form", replace("      - {username: ada,", "      - {username: ada, password_hash: \""+verdictHash+"\", groups: [teachers]}\n      - {username: ａｄａ,"),
			"backends[0]", "listed twice"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), fmt.Sprintf("c%d.yaml", i))
			doc := tt.edit(verdictHead(dir))
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			checkOut, _, checkErr := runCLI(t, "", nil, "check-config", "-config", path)
			// serve: it builds and, when the config is good, listens;
			// then it is stopped.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			serveErr := &stopOnListening{cancel: cancel}
			err := run(ctx, []string{"jitsi-gate", "serve", "-config", path}, func(string) string { return "" },
				strings.NewReader(""), io.Discard, serveErr)

			if (exitCode(checkErr) == 0) != (err == nil) {
				t.Fatalf("verdicts differ: check-config exit %d, serve %v\ncheck-config:\n%s\nserve:\n%s", exitCode(checkErr), err, checkOut, serveErr.String())
			}
			if tt.path == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v\n%s", err, serveErr.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want a problem at %s", tt.path)
			}
			checkLines, serveLines := problemLines(checkOut), problemLines(serveErr.String())
			if !slices.Equal(checkLines, serveLines) {
				t.Errorf("different words:\ncheck-config: %q\nserve:        %q", checkLines, serveLines)
			}
			found := false
			for _, l := range checkLines {
				if strings.HasPrefix(l, tt.path+" ") || strings.HasPrefix(l, tt.path+":") {
					found = found || strings.Contains(l, tt.frag)
				}
			}
			if !found {
				t.Errorf("no problem at %s containing %q:\n%s", tt.path, tt.frag, checkOut)
			}
			if strings.Contains(checkOut+serveErr.String(), "SECRETVALUE") {
				t.Error("a secret from a file is printed")
			}
		})
	}
}

// stopOnListening collects serve's output and stops it (cancel) once it
// says it is listening.
type stopOnListening struct {
	testenv.SyncBuffer
	cancel context.CancelFunc
}

func (s *stopOnListening) Write(p []byte) (int, error) {
	n, err := s.SyncBuffer.Write(p)
	if strings.Contains(s.SyncBuffer.String(), "jitsi-gate listening") {
		s.cancel()
	}
	return n, err
}

// problemLines are the "  - path (line N): message" lines of a problem list.
func problemLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "  - "); ok {
			lines = append(lines, s)
		}
	}
	return lines
}
