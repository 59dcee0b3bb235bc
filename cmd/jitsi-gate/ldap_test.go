package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// schoolLDAPBackend is the backends entry "school" for a test slapd
// (StartTLS with the test CA) as a school would write it, binding as
// bindDN; it goes below a "backends:" line.
func schoolLDAPBackend(l testenv.LDAPEnv, bindDN, bindPassword string) string {
	return fmt.Sprintf(`  - id: school
    type: ldap
    label: School account
    url: %s
    start_tls: true
    ca_file: %s
    bind_dn: "%s"
    bind_password: "%s"
    timeout: 3s
    user_search:
      base_dn: "ou=people,%s"
      filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
      id_attribute: uid
      name_attribute: displayName
      email_attribute: mail
    group_search:
      base_dn: "ou=groups,%s"
      filter: "(member={dn})"
      name_attribute: cn
      nested: true
`, l.URL, l.CAFile, bindDN, bindPassword, l.BaseDN, l.BaseDN)
}

// ldapGatewayConfig points a gateway at a test slapd with the rules a
// school would write: teachers own, students join, everyone else is
// denied.
func ldapGatewayConfig(t *testing.T, addr string, l testenv.LDAPEnv) string {
	t.Helper()
	return hsGatewayHead(addr) + "\nbackends:\n" + schoolLDAPBackend(l, l.BindDN, l.BindPassword) + `rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner, lobby_bypass: true}
  - {name: staff, match: {groups: [staff]}, role: owner}
  - {name: students, match: {groups: [students]}, role: member}
`
}

func TestLDAPLoginThroughTheGateway(t *testing.T) {
	l := testenv.LDAP(t)
	addr := freePort(t)
	g := startGateway(t, ldapGatewayConfig(t, addr, l), nil)
	g.backend = "school"

	tests := []struct {
		user, pw, room string
		owner          bool
	}{
		{"teacher1", "teacher1pass", "math-101", true},
		{"admin", "adminpass", "staff-room", true}, // owner through the nested staff group
		{"student1", "student1pass", "math-101", false},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			r := login(t, g, browser(t), "room="+tt.room, tt.user, tt.pw)
			tok := jitsiToken(t, hsVerifier(), r, "https://meet.example.com/"+tt.room, tt.room, "")
			if tok.Owner() != tt.owner {
				t.Errorf("%s: owner = %v, want %v (%v)", tt.user, tok.Owner(), tt.owner, tok.User)
			}
			if tok.User["id"] != "school:"+tt.user {
				t.Errorf("context.user.id = %v", tok.User["id"])
			}
		})
	}
	for _, bad := range []struct{ user, pw string }{
		{"teacher1", "wrong"}, {"nobody", "x"}, {"*", "teacher1pass"}, {"teacher1)(|(uid=*", "x"}, {"teacher1", ""},
	} {
		r := login(t, g, browser(t), "room=math", bad.user, bad.pw)
		if r.status != http.StatusUnauthorized || strings.Contains(r.body, "eyJ") {
			t.Errorf("login %q/%q: %d, want 401 without a token", bad.user, bad.pw, r.status)
		}
	}
	// Password guessing against the directory is cut off (rate_limit
	// defaults: 5 failures per user per minute), before the directory is
	// asked again.
	var last response
	for i := 0; i < 6; i++ {
		last = login(t, g, browser(t), "", "student2", fmt.Sprintf("guess-%d", i))
	}
	if last.status != http.StatusTooManyRequests || !strings.Contains(last.body, "Too many sign-in attempts") {
		t.Errorf("6th wrong password for student2: %d", last.status)
	}

	// guest is in no group: logged in, but no rule admits them.
	r := login(t, g, browser(t), "room=math", "guest", "guestpass")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "not in any group") {
		t.Errorf("guest: %d\n%s", r.status, r.body)
	}
}

func TestLDAPDirectoryDownGives503AndRecovers(t *testing.T) {
	l := testenv.PrivateLDAP(t)
	addr := freePort(t)
	g := startGateway(t, ldapGatewayConfig(t, addr, l), nil)
	g.backend = "school"

	l.Stop(t)
	r := login(t, g, browser(t), "room=math", "teacher1", "teacher1pass")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "cannot be reached") || r.header.Get("Retry-After") == "" {
		t.Fatalf("directory down: %d (Retry-After %q)\n%s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if !strings.Contains(g.waitForLog(t, "connection refused"), "connection refused") {
		t.Errorf("the log does not say why the directory is unavailable:\n%s", g.log.String())
	}
	// The gateway stayed up and works again as soon as the directory does.
	l.Start(t)
	r = login(t, g, browser(t), "room=math", "teacher1", "teacher1pass")
	jitsiToken(t, hsVerifier(), r, "https://meet.example.com/math", "math", "")
}

func TestCheckConfigOnlineAndExplain(t *testing.T) {
	l := testenv.LDAP(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(ldapGatewayConfig(t, "127.0.0.1:1", l)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	getenv := func(string) string { return "" }
	if err := run(context.Background(), []string{"jitsi-gate", "check-config", "-online", "-config", path}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatalf("check-config -online: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "backend school (ldap): connected") {
		t.Errorf("check-config -online output:\n%s", out.String())
	}

	out.Reset()
	if err := run(context.Background(), []string{"jitsi-gate", "explain", "-config", path, "-room", "Mathe", "teacher1"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatalf("explain: %v\n%s", err, out.String())
	}
	for _, want := range []string{"uid=teacher1,ou=people,", "teachers", "staff", "nested via cn=teachers", `rule "teachers" → role owner`, `"affiliation": "owner"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}

	// A wrong service password is a clear failure, not a hang.
	bad := strings.Replace(ldapGatewayConfig(t, "127.0.0.1:1", l), l.BindPassword, "wrong-password", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := run(context.Background(), []string{"jitsi-gate", "check-config", "-online", "-config", path}, getenv, nil, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "backend school (ldap): FAILED") {
		t.Errorf("check-config -online with a wrong service password: %v\n%s", err, out.String())
	}
}
