package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// copyCookies gives to a second browser the cookies the first holds for
// base (an attacker who copied them).
func copyCookies(t *testing.T, from *http.Client, base string) *http.Client {
	t.Helper()
	u, _ := url.Parse(base)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	jar.SetCookies(u, from.Jar.Cookies(u))
	c := browser(t)
	c.Jar = jar
	return c
}

// TestSecurityLogoutRevokesCopiedCookies: after /logout, a copy of the
// login cookie taken before it mints nothing.
func TestSecurityLogoutRevokesCopiedCookies(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)
	victim := browser(t)
	jitsiToken(t, hsVerifier(), login(t, g, victim, "room=Mathe", "teacher", "teacherpw"),
		"https://meet.example.com/mathe", "mathe", "")
	thief := copyCookies(t, victim, g.base)
	if r := do(t, thief, http.MethodGet, g.base+"/join/mathe", nil); r.status != http.StatusFound {
		t.Fatalf("the copied cookie should work before the logout: %d", r.status)
	}
	do(t, victim, http.MethodGet, g.base+"/logout", nil)
	r := do(t, thief, http.MethodGet, g.base+"/join/mathe", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") || strings.Contains(r.location, "jwt=") {
		t.Errorf("copied cookie after logout: %d %q, want a redirect to the login page", r.status, r.location)
	}
}

// TestSecurityGroupChangesReachTheSession: a teacher removed from the
// teachers group loses owner rights, and an account that no longer
// matches the user filter (disabled) gets no token, within
// session.refresh_groups, without logging out.
func TestSecurityGroupChangesReachTheSession(t *testing.T) {
	l := testenv.PrivateLDAP(t) // the test changes entries
	addr := freePort(t)
	cfg := strings.Replace(ldapGatewayConfig(t, addr, l), `session: {secret: "test-session-secret-0123456789abcdef0123"}`,
		`session: {secret: "test-session-secret-0123456789abcdef0123", refresh_groups: 1s}`, 1)
	if !strings.Contains(cfg, "refresh_groups: 1s") {
		t.Fatal("test config: session line not found")
	}
	g := startGateway(t, cfg, nil)
	g.backend = "school"
	teacher, student := browser(t), browser(t)
	tok := jitsiToken(t, hsVerifier(), login(t, g, teacher, "room=Physik", "teacher1", "teacher1pass"),
		"https://meet.example.com/physik", "physik", "")
	if tok.User["affiliation"] != "owner" {
		t.Fatalf("teacher1 before the change: %v, want owner", tok.User["affiliation"])
	}
	jitsiToken(t, hsVerifier(), login(t, g, student, "room=Physik", "student1", "student1pass"),
		"https://meet.example.com/physik", "physik", "")

	conn, err := goldap.DialURL(l.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(l.AdminDN, l.AdminPassword); err != nil {
		t.Fatal(err)
	}
	// teacher1 leaves the teachers group (and so staff, nested).
	mod := goldap.NewModifyRequest("cn=teachers,ou=groups,"+l.BaseDN, nil)
	mod.Delete("member", []string{"uid=teacher1,ou=people," + l.BaseDN})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	// student1 is disabled: no longer an inetOrgPerson the filter finds.
	del := goldap.NewDelRequest("uid=student1,ou=people,"+l.BaseDN, nil)
	if err := conn.Del(del); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)

	r := do(t, teacher, http.MethodGet, g.base+"/join/physik", nil)
	if r.status == http.StatusFound && strings.Contains(r.location, "jwt=") {
		t.Errorf("teacher1 removed from teachers still gets a token: %s", r.location)
	} else if r.status != http.StatusForbidden {
		t.Errorf("teacher1 after the change: %d, want 403 (no rule for a user without groups)", r.status)
	}
	r = do(t, student, http.MethodGet, g.base+"/join/physik", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("deleted student1: %d %q, want a redirect to the login page", r.status, r.location)
	}
	log := g.waitForLog(t, "login ended: the account is gone or disabled")
	if !strings.Contains(log, "login groups changed") {
		t.Errorf("the log does not say teacher1's groups changed")
	}
}
