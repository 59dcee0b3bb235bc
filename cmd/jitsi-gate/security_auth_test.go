package main

// Security suite, identity side (issue "Security: six holes found by an
// attack run"): each test replays an attack against the real program (run)
// and asserts it no longer works. Items 2 (Unicode username variants) and 6
// (explain printing password hashes) run against the test slapd of
// test/infra/ldap (seed.ldif.tmpl: student2 is in students, the rootdn may
// read userPassword). Run the suite with: go test ./cmd/jitsi-gate -run Security

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// student2Variants are spellings slapd's uid matching (caseIgnoreMatch with
// Unicode compatibility folding) resolves to uid=student2.
var student2Variants = []string{"student2", "STUDENT2", "ſtudent2", "ｓｔｕｄｅｎｔ２", "student２", "ﬅudent2"}

// securityLDAPConfig is an LDAP backend "school" on l plus a static backend
// "demo" with its own student2 and pupil, and a deny list written the way
// an admin would: school's student2 (mixed case, scoped) and pupil from any
// backend.
func securityLDAPConfig(t *testing.T, addr string, l testenv.LDAPEnv, bindDN, bindPassword string) string {
	t.Helper()
	return hsGatewayHead(addr) + "\nbackends:\n" + schoolLDAPBackend(l, bindDN, bindPassword) + fmt.Sprintf(`  - id: demo
    type: static
    users:
      - {username: student2, password_hash: "%s", groups: [students]}
      - {username: pupil, password_hash: "%s", groups: [students]}
rules:
  - {name: suspended-at-school, match: {users: ["school:Student2"]}, role: deny}
  - {name: suspended-everywhere, match: {users: [pupil]}, role: deny}
  - {name: students, match: {groups: [students]}, role: member}
rate_limit: {per_user: 1000, per_ip: 1000, window: 1m}
log: {level: debug}
`, hash(t, "student2pw"), hash(t, "pupilpw"))
}

// TestSecurityUnicodeUsernameVariantsCannotBypassDeny replays issue item 2:
// every spelling slapd accepts for student2 logs in as student2 and meets
// the deny rule; the scope keeps the static backend's student2 out of it;
// a static user is found (and denied) under any spelling too.
func TestSecurityUnicodeUsernameVariantsCannotBypassDeny(t *testing.T) {
	l := testenv.LDAP(t)
	g := startGateway(t, securityLDAPConfig(t, freePort(t), l, l.BindDN, l.BindPassword), nil)

	g.backend = "school"
	for _, typed := range student2Variants {
		t.Run("ldap "+typed, func(t *testing.T) {
			r := login(t, g, browser(t), "room=math", typed, "student2pass")
			if r.status != http.StatusForbidden || strings.Contains(r.location, "jwt=") || strings.Contains(r.body, "eyJ") {
				t.Fatalf("login as %q: %d %s, want 403 without a token (deny rule for student2)", typed, r.status, r.location)
			}
		})
	}
	// The log is written in batches: wait for all six decisions.
	const decided = `rule \"suspended-at-school\" denies`
	logs := g.log.String()
	for deadline := time.Now().Add(3 * time.Second); strings.Count(logs, decided) < len(student2Variants) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		logs = g.log.String()
	}
	if n := strings.Count(logs, decided); n != len(student2Variants) {
		t.Errorf("the deny rule decided %d of %d variant logins:\n%s", n, len(student2Variants), logs)
	}
	// Another user's variants still work, and the token names the entry.
	r := login(t, g, browser(t), "room=math", "ſtudent1", "student1pass")
	tok := jitsiToken(t, hsVerifier(), r, "https://meet.example.com/math", "math", "")
	if tok.User["id"] != "school:student1" {
		t.Errorf("context.user.id = %v, want school:student1", tok.User["id"])
	}

	g.backend = "demo"
	// school:Student2 is scoped: the static backend's student2 is someone
	// else and gets in.
	r = login(t, g, browser(t), "room=math", "student2", "student2pw")
	jitsiToken(t, hsVerifier(), r, "https://meet.example.com/math", "math", "")
	for _, typed := range []string{"pupil", "PUPIL", "ｐｕｐｉｌ"} {
		r := login(t, g, browser(t), "room=math", typed, "pupilpw")
		if r.status != http.StatusForbidden || strings.Contains(r.location, "jwt=") {
			t.Errorf("static login as %q: %d %s, want 403 (unscoped deny rule for pupil)", typed, r.status, r.location)
		}
	}
}

// TestSecurityExplainNeverPrintsPasswordHashes replays issue item 6 with a
// service account that may read userPassword (the rootdn): explain asked
// for "*" and printed {SSHA} hashes.
func TestSecurityExplainNeverPrintsPasswordHashes(t *testing.T) {
	l := testenv.LDAP(t)
	if l.AdminDN == "" {
		t.Fatal("GATEWAY_TEST_LDAP_ADMIN_DN is not set; the test needs a bind that can read userPassword")
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(securityLDAPConfig(t, "127.0.0.1:1", l, l.AdminDN, l.AdminPassword)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"teacher1", "ｓｔｕｄｅｎｔ２"} {
		out, errOut, code := runCmd(t, nil, "explain", "-config", path, "-backend", "school", "-room", "math", user)
		if code != 0 {
			t.Fatalf("explain %s: exit %d\n%s%s", user, code, out, errOut)
		}
		for _, secret := range []string{"userPassword", "{SSHA}", "{ssha}", "unicodePwd"} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("explain %s prints %q:\n%s", user, secret, out)
			}
		}
		if !strings.Contains(out, "Attributes:") || !strings.Contains(out, "  uid: ") {
			t.Errorf("explain %s lost the harmless attributes:\n%s", user, out)
		}
		if user != "teacher1" && !strings.Contains(out, `username "student2"`) {
			t.Errorf("explain %s does not show the directory's username student2:\n%s", user, out)
		}
	}
}

// TestSecurityCommandsHonourTenantsAndJitsiURL: token and explain refuse a
// tenant the web path would refuse, and doctor prints no token for a Jitsi
// other than jitsi.url.
func TestSecurityCommandsHonourTenantsAndJitsiURL(t *testing.T) {
	cfg := gatewayConfig(t, "127.0.0.1:1", fmt.Sprintf(`{algorithm: HS256, secret: %q}`, testSecret))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"token for a listed tenant", []string{"token", "-config", path, "-user", "t", "-groups", "teachers", "-room", "math", "-tenant", "school-a"}, 0, ""},
		{"token for an unlisted tenant", []string{"token", "-config", path, "-user", "t", "-groups", "teachers", "-room", "math", "-tenant", "evil"},
			1, `tenant "evil" is not allowed`},
		{"explain for a listed tenant", []string{"explain", "-config", path, "-backend", "demo", "-room", "math", "-tenant", "school-b", "teacher"}, 0, ""},
		{"explain for an unlisted tenant", []string{"explain", "-config", path, "-backend", "demo", "-room", "math", "-tenant", "evil", "teacher"},
			2, `tenant "evil" is not allowed`},
		{"doctor for another Jitsi", []string{"doctor", "-config", path, "-jitsi", "https://attacker.example.net", "-timeout", "1s"},
			2, "is not jitsi.url https://meet.example.com"},
		{"doctor for another port of the same host", []string{"doctor", "-config", path, "-jitsi", "https://meet.example.com:8443", "-timeout", "1s"},
			2, "is not jitsi.url"},
		{"doctor for another scheme", []string{"doctor", "-config", path, "-jitsi", "http://meet.example.com", "-timeout", "1s"},
			2, "is not jitsi.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, nil, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.wantErr, out, errOut)
			}
			if tt.wantCode != 0 && strings.Contains(out, "jwt=") {
				t.Errorf("refused, but a token was printed:\n%s", out)
			}
			if tt.wantCode == 0 && !strings.Contains(out, "school-") {
				t.Errorf("output does not mention the tenant:\n%s", out)
			}
		})
	}
}

// countingListener accepts TCP connections on 127.0.0.1, counts them and
// never answers: a directory that hangs.
func countingListener(t *testing.T) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

// TestSecurityReadyzChecksTheDirectoryWithoutDetails: /readyz said ready
// while slapd was down and named backends and errors to anyone. Now it
// follows the directory, says only ready / not ready, logs the reason.
func TestSecurityReadyzChecksTheDirectoryWithoutDetails(t *testing.T) {
	l := testenv.PrivateLDAP(t)
	g := startGateway(t, ldapGatewayConfig(t, freePort(t), l), nil)
	c := browser(t)
	if r := do(t, c, http.MethodGet, g.base+"/readyz", nil); r.status != http.StatusOK || r.body != `{"status":"ready"}`+"\n" {
		t.Fatalf("/readyz with slapd up: %d %q", r.status, r.body)
	}
	l.Stop(t)
	var r response
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if r = do(t, c, http.MethodGet, g.base+"/readyz", nil); r.status != http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	if r.status != http.StatusServiceUnavailable || r.body != `{"status":"not ready"}`+"\n" {
		t.Fatalf("/readyz with slapd down: %d %q, want 503 and only the status", r.status, r.body)
	}
	if logs := g.waitForLog(t, "readyz: backend not ready"); !strings.Contains(logs, "backend=school") || !strings.Contains(logs, "connection refused") {
		t.Errorf("the log does not say which backend is not ready and why:\n%s", logs)
	}
	l.Start(t)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if r = do(t, c, http.MethodGet, g.base+"/readyz", nil); r.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	if r.status != http.StatusOK {
		t.Errorf("/readyz after slapd came back: %d %q", r.status, r.body)
	}
}

// TestSecurityReadyzCannotHammerTheDirectory: /readyz is public; a burst
// of probes must not become a burst of connections and binds.
func TestSecurityReadyzCannotHammerTheDirectory(t *testing.T) {
	dirAddr, accepted := countingListener(t)
	cfg := hsGatewayHead(freePort(t)) + fmt.Sprintf(`
backends:
  - id: school
    type: ldap
    url: ldap://%s
    timeout: 1s
    user_search: {base_dn: "ou=people,dc=school,dc=example", filter: "(uid={username})"}
rules:
  - {name: everyone, role: member}
`, dirAddr)
	g := startGateway(t, cfg, nil)
	var wg sync.WaitGroup
	var ok503 atomic.Int64
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := do(t, browser(t), http.MethodGet, g.base+"/readyz", nil); r.status == http.StatusServiceUnavailable && !strings.Contains(r.body, "school") {
				ok503.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok503.Load() != 30 {
		t.Errorf("%d of 30 probes answered a bare 503 while the directory hangs", ok503.Load())
	}
	if n := accepted.Load(); n > 1 {
		t.Errorf("30 /readyz requests opened %d directory connections, want at most 1", n)
	}
}

// TestSecurityBcryptIsRationed: a burst of logins against expensive hashes
// gets 503 + Retry-After once every core is hashing, instead of queueing
// without bound and starving every other request.
func TestSecurityBcryptIsRationed(t *testing.T) {
	// Cost 13 is about 0.5 s a compare here; cores × the wait (2 s) lets
	// about 4 × cores compares finish, so 12 × cores requests overflow
	// (more requests cost no more CPU: the excess only waits).
	h, err := bcrypt.GenerateFromPassword([]byte("right-password"), 13)
	if err != nil {
		t.Fatal(err)
	}
	cfg := hsGatewayHead(freePort(t)) + fmt.Sprintf(`
backends:
  - id: demo
    type: static
    users:
      - {username: teacher, password_hash: "%s", groups: [teachers]}
rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner}
rate_limit: {per_user: 1000, per_ip: 1000, window: 1m}
`, h)
	g := startGateway(t, cfg, nil)

	n := 12 * runtime.GOMAXPROCS(0)
	type result struct {
		status     int
		retryAfter string
		took       time.Duration
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			r := login(t, g, browser(t), "", []string{"teacher", "nobody"}[i%2], fmt.Sprintf("wrong-%d", i))
			results <- result{r.status, r.header.Get("Retry-After"), time.Since(start)}
		}()
	}
	wg.Wait()
	close(results)
	counts := map[int]int{}
	for r := range results {
		counts[r.status]++
		if r.status == http.StatusServiceUnavailable && r.retryAfter == "" {
			t.Errorf("503 without Retry-After")
		}
		if r.status != http.StatusUnauthorized && r.status != http.StatusServiceUnavailable {
			t.Errorf("login answered %d, want 401 (wrong password) or 503 (busy)", r.status)
		}
	}
	if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusUnauthorized] == 0 {
		t.Errorf("%d concurrent logins: %v; want some checked (401) and the overflow refused (503)", n, counts)
	}
	if logs := g.waitForLog(t, "slots busy"); !strings.Contains(logs, "slots busy") {
		t.Errorf("the log does not say why logins were refused:\n%s", logs)
	}
	// Once the burst is over, logins work again.
	r := login(t, g, browser(t), "room=math", "teacher", "right-password")
	jitsiToken(t, hsVerifier(), r, "https://meet.example.com/math", "math", "")
}
