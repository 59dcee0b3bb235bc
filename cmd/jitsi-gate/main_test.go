package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

const testSecret = "test-hs256-secret-0123456789abcdef0123456789"

// syncBuffer collects the gateway's log for assertions.
type syncBuffer = testenv.SyncBuffer

// held are the listeners freePort bound, by address, until a gateway
// started with that address as server.listen takes one over.
var held sync.Map

// freePort binds 127.0.0.1:0 and returns the address; the gateway the test
// starts on it gets the bound listener (heldListen), so no other test can
// take the port in between.
func freePort(t *testing.T) string {
	t.Helper()
	ln := testenv.Listen(t)
	addr := ln.Addr().String()
	held.Store(addr, ln)
	t.Cleanup(func() { held.Delete(addr) })
	return addr
}

// closedAddr is an address on 127.0.0.1 where nothing listens (for tests
// of what happens then).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln := testenv.Listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// heldListen hands over a listener freePort bound, or listens anew.
func heldListen(network, address string) (net.Listener, error) {
	if ln, ok := held.LoadAndDelete(address); ok {
		return ln.(net.Listener), nil
	}
	return net.Listen(network, address)
}

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// hsGatewayHead is the server, jitsi and session part of the test configs
// with an HS256 secret; each test appends its backends and rules.
func hsGatewayHead(addr string) string { return gatewayHead(addr, "") }

// gatewayHead is hsGatewayHead with public_url at path (e.g. "/_auth") and
// more lines for the jitsi section (e.g. "tenants: [school-a]").
func gatewayHead(addr, path string, jitsiLines ...string) string {
	extra := ""
	for _, l := range jitsiLines {
		extra += "  " + l + "\n"
	}
	return fmt.Sprintf(`
server: {listen: "%s", public_url: "http://%s%s", shutdown_delay: 0s}
jitsi:
  url: https://meet.example.com
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  audience: jitsi
  signing: {algorithm: HS256, secret: "%s"}
%ssession: {secret: "test-session-secret-0123456789abcdef0123"}
`, addr, addr, path, testSecret, extra)
}

// gatewayConfig is a test configuration: teachers own every room, students
// may join every room except staff-*, tutors only tutoring rooms, parents
// are in no rule.
func gatewayConfig(t *testing.T, addr, signing string) string {
	t.Helper()
	return fmt.Sprintf(`
server: {listen: "%s", public_url: "http://%s", shutdown_delay: 0s}
jitsi:
  url: https://meet.example.com
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  audience: jitsi
  signing: %s
  token_lifetime: 90m
  tenants: [school-a, school-b]
session: {secret: "test-session-secret-0123456789abcdef0123", lifetime: 8h}
backends:
  - id: demo
    type: static
    label: Test accounts
    users:
      - {username: teacher, password_hash: "%s", name: "Tina Teacher", email: t@example.org, groups: [teachers]}
      - {username: student, password_hash: "%s", name: "Sam Student", groups: [students]}
      - {username: parent, password_hash: "%s", name: "Pat Parent", groups: [parents, guests]}
      - {username: tutor, password_hash: "%s", groups: [tutors]}
rules:
  - name: teachers
    match: {groups: [teachers]}
    role: owner
    lobby_bypass: true
    features: {recording: true, livestreaming: false}
  - name: no-students-in-staff-rooms
    match: {groups: [students]}
    role: deny
    rooms: ["staff-*"]
  - name: students
    match: {groups: [students]}
    role: member
    rooms: ["*"]
    token_lifetime: 45m
  - name: tutors
    match: {groups: [tutors]}
    role: member
    rooms: ["tutoring-*", "nachhilfe-*"]
rate_limit: {per_user: 3, per_ip: 1000, window: 1m}
log: {level: debug}
`, addr, addr, signing, hash(t, "teacherpw"), hash(t, "studentpw"), hash(t, "parentpw"), hash(t, "tutorpw"))
}

type testGateway struct {
	base string
	log  *syncBuffer
	// backend is the password backend login() posts to (default "demo").
	backend string
}

// startGateway runs the real program (run) with cfg on a free port and
// waits until /healthz answers.
func startGateway(t *testing.T, cfg string, getenv func(string) string) *testGateway {
	t.Helper()
	g, err := tryStartGateway(t, cfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// startGatewayOnPort is startGateway for a config that depends on the
// port, picked by pick: when another test took the port between picking
// and listening (the OIDC callback ports are a small shared range), it
// tries another one.
func startGatewayOnPort(t *testing.T, pick func(*testing.T) string, mkConfig func(addr string) string) *testGateway {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		g, err := tryStartGateway(t, mkConfig(pick(t)), nil)
		if err == nil {
			return g
		}
		if !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func tryStartGateway(t *testing.T, cfg string, getenv func(string) string) (*testGateway, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runEnv(ctx, []string{"jitsi-gate", "serve", "-config", path},
			env{getenv: getenv, stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs, listen: heldListen})
	}()
	stopped := false
	t.Cleanup(func() {
		cancel()
		if stopped {
			return
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop")
		}
	})
	var base string
	for _, line := range strings.Split(cfg, "\n") {
		if i := strings.Index(line, "public_url: \""); i >= 0 && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			base = strings.TrimSuffix(strings.Split(line[i+len("public_url: \""):], "\"")[0], "/")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			stopped = true
			return nil, fmt.Errorf("gateway exited early: %v\nlog:\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gateway not healthy at %s: %v\nlog:\n%s", base, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &testGateway{base: base, log: logs}, nil
}

// waitForLog waits until the gateway's log (written in batches) contains
// substr, and returns the log.
func (g *testGateway) waitForLog(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		logs := g.log.String()
		if strings.Contains(logs, substr) || time.Now().After(deadline) {
			return logs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so each hop can be checked.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type response struct {
	status   int
	location string
	body     string
	header   http.Header
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), header: resp.Header}
}

// login posts the password form the way the login page does and follows
// the gateway's own redirects until a response leaves the gateway or is
// not a redirect.
func login(t *testing.T, g *testGateway, c *http.Client, query, user, pw string) response {
	t.Helper()
	backend := g.backend
	if backend == "" {
		backend = "demo"
	}
	u := g.base + "/login/" + backend
	if query != "" {
		u += "?" + query
	}
	r := do(t, c, http.MethodPost, u, url.Values{"username": {user}, "password": {pw}})
	return follow(t, g, c, r)
}

func follow(t *testing.T, g *testGateway, c *http.Client, r response) response {
	t.Helper()
	for i := 0; i < 5 && (r.status == http.StatusSeeOther || r.status == http.StatusFound) && strings.HasPrefix(r.location, "/"); i++ {
		r = do(t, c, http.MethodGet, g.base+r.location, nil)
	}
	return r
}

func hsVerifier() *jitsiverify.Config {
	return &jitsiverify.Config{
		AppID: "jitsi-gate", AppSecret: testSecret,
		AcceptedAudiences: []string{"jitsi"}, EnableDomainVerification: true, XMPPDomain: "meet.jitsi",
	}
}

// jitsiToken checks that a redirect goes to the Jitsi room and returns the
// verified token.
func jitsiToken(t *testing.T, v *jitsiverify.Config, r response, wantPrefix, roomSafe, tenant string) *jitsiverify.Verified {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("status %d, want 302 to Jitsi; body:\n%s", r.status, r.body)
	}
	if !strings.HasPrefix(r.location, wantPrefix+"?jwt=") {
		t.Fatalf("Location %q, want prefix %q", r.location, wantPrefix+"?jwt=")
	}
	u, err := url.Parse(r.location)
	if err != nil {
		t.Fatal(err)
	}
	jwt := u.Query().Get("jwt")
	got, err := v.Verify(context.Background(), jwt)
	if err != nil {
		t.Fatalf("token rejected by the contract verifier: %v", err)
	}
	if err := got.CheckRoom(roomSafe, tenant); err != nil {
		t.Fatalf("room check: %v", err)
	}
	return got
}

func TestTeacherAndStudentGetTheRightTokens(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)

	teacher := browser(t)
	// The login page as Jitsi's tokenAuthUrl opens it.
	page := do(t, teacher, http.MethodGet, g.base+"/login?room=Mathe-%C3%9Cbung", nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, `action="/login/demo?room=mathe-%25c3%25bcbung"`) {
		t.Fatalf("login page: %d\n%s", page.status, page.body)
	}
	r := login(t, g, teacher, "room=mathe-%25c3%25bcbung", "teacher", "teacherpw")
	tok := jitsiToken(t, hsVerifier(), r, "https://meet.example.com/mathe-%c3%bcbung", "mathe-%c3%bcbung", "")
	if !tok.Owner() {
		t.Errorf("teacher token is not an owner token: %v", tok.User)
	}
	if tok.User["affiliation"] != "owner" || tok.User["moderator"] != true || tok.User["lobby_bypass"] != true {
		t.Errorf("teacher context.user = %v", tok.User)
	}
	if tok.User["id"] != "demo:teacher" || tok.User["name"] != "Tina Teacher" || tok.User["email"] != "t@example.org" {
		t.Errorf("teacher identity in token = %v", tok.User)
	}
	if tok.Features["recording"] != true || tok.Features["livestreaming"] != false {
		t.Errorf("teacher features = %v", tok.Features)
	}
	if tok.Subject != "meet.jitsi" {
		t.Errorf("sub = %q, want the XMPP domain", tok.Subject)
	}
	exp, iat, nbf := tok.Claims["exp"].(float64), tok.Claims["iat"].(float64), tok.Claims["nbf"].(float64)
	if exp-iat != 90*60 || iat-nbf != 60 {
		t.Errorf("exp-iat = %v s (want 5400), iat-nbf = %v s (want 60)", exp-iat, iat-nbf)
	}

	// Already logged in: /login with a room goes straight through.
	again := follow(t, g, teacher, do(t, teacher, http.MethodGet, g.base+"/login?room=physics", nil))
	jitsiToken(t, hsVerifier(), again, "https://meet.example.com/physics", "physics", "")

	student := browser(t)
	r = login(t, g, student, "room=math-101", "student", "studentpw")
	tok = jitsiToken(t, hsVerifier(), r, "https://meet.example.com/math-101", "math-101", "")
	if tok.Owner() || tok.User["affiliation"] != "member" || tok.User["moderator"] != false {
		t.Errorf("student token grants more than member: %v", tok.User)
	}
	if _, ok := tok.User["lobby_bypass"]; ok {
		t.Errorf("student token has lobby_bypass although the rule does not set it: %v", tok.User)
	}
	if tok.Features != nil {
		t.Errorf("student token has features %v; the rule sets none", tok.Features)
	}
	if exp, iat := tok.Claims["exp"].(float64), tok.Claims["iat"].(float64); exp-iat != 45*60 {
		t.Errorf("student token lifetime %v s, want the rule's 45m", exp-iat)
	}

	// The audit log names who got what, and never contains a token.
	logs := g.waitForLog(t, "role=owner")
	if !strings.Contains(logs, `msg="token issued"`) || !strings.Contains(logs, "rule=teachers") {
		t.Errorf("no audit line for the teacher's token:\n%s", logs)
	}
	if strings.Contains(logs, "eyJ") || strings.Contains(logs, testSecret) || strings.Contains(logs, "teacherpw") {
		t.Errorf("log contains a token, the secret or a password:\n%s", logs)
	}
}

func TestDeniedAndWrongPasswordGetNoToken(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)

	t.Run("parent in no rule", func(t *testing.T) {
		c := browser(t)
		r := login(t, g, c, "room=math-101", "parent", "parentpw")
		if r.status != http.StatusForbidden || r.location != "" {
			t.Fatalf("status %d location %q, want 403 without redirect", r.status, r.location)
		}
		for _, want := range []string{"parents, guests", "math-101"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("denied page does not say %q:\n%s", want, r.body)
			}
		}
		if strings.Contains(r.body, "eyJ") {
			t.Error("denied page contains a token")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := browser(t)
		r := login(t, g, c, "room=math-101", "teacher", "wrong")
		if r.status != http.StatusUnauthorized || r.location != "" {
			t.Fatalf("status %d location %q, want 401", r.status, r.location)
		}
		if !strings.Contains(r.body, "Wrong username or password") || strings.Contains(r.body, "eyJ") {
			t.Errorf("wrong-password page:\n%s", r.body)
		}
		// No session was started: /join sends to the login page.
		j := do(t, c, http.MethodGet, g.base+"/join/math-101", nil)
		if j.status != http.StatusSeeOther || !strings.HasPrefix(j.location, "/login?room=math-101") {
			t.Errorf("after a wrong password /join gives %d %q", j.status, j.location)
		}
	})
	t.Run("unknown user looks like a wrong password", func(t *testing.T) {
		r := login(t, g, browser(t), "", "nobody", "x")
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong username or password") {
			t.Errorf("unknown user: %d", r.status)
		}
	})
	t.Run("deny rule", func(t *testing.T) {
		c := browser(t)
		r := login(t, g, c, "room=staff-room", "student", "studentpw")
		if r.status != http.StatusForbidden || r.location != "" {
			t.Fatalf("student in staff room: %d %q, want 403", r.status, r.location)
		}
		if !strings.Contains(r.body, "no-students-in-staff-rooms") {
			t.Errorf("denied page does not name the deny rule:\n%s", r.body)
		}
		// The same session may still enter other rooms.
		jitsiToken(t, hsVerifier(), do(t, c, http.MethodGet, g.base+"/join/math-101", nil),
			"https://meet.example.com/math-101", "math-101", "")
	})
	t.Run("room outside the rule's patterns", func(t *testing.T) {
		c := browser(t)
		r := login(t, g, c, "room=math-101", "tutor", "tutorpw")
		if r.status != http.StatusForbidden {
			t.Fatalf("tutor in math-101: %d, want 403", r.status)
		}
		r = follow(t, g, c, do(t, c, http.MethodGet, g.base+"/join?room=Nachhilfe-Mathe", nil))
		jitsiToken(t, hsVerifier(), r, "https://meet.example.com/nachhilfe-mathe", "nachhilfe-mathe", "")
	})
	t.Run("rate limit", func(t *testing.T) {
		c := browser(t)
		var last response
		for i := 0; i < 4; i++ {
			last = login(t, g, c, "", "student", "wrong")
		}
		if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
			t.Fatalf("4th failed attempt: %d, Retry-After %q", last.status, last.header.Get("Retry-After"))
		}
		if !strings.Contains(last.body, "Too many sign-in attempts") {
			t.Errorf("rate-limit page:\n%s", last.body)
		}
		// Even the right password is refused while blocked.
		r := login(t, g, c, "", "student", "studentpw")
		if r.status != http.StatusTooManyRequests {
			t.Errorf("right password while blocked: %d", r.status)
		}
	})
}

func TestBadRoomNamesGetAClearErrorAndNoToken(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)
	c := browser(t)
	if r := login(t, g, c, "", "teacher", "teacherpw"); r.status != http.StatusSeeOther && r.status != http.StatusOK {
		t.Fatalf("login: %d", r.status)
	}
	tests := []struct {
		name, path, want string
	}{
		{"double slash", "/join?room=" + url.QueryEscape("//evil.com"), "cannot be used"},
		{"dot dot", "/join?room=..", "reserved"},
		{"encoded slash", "/join/a%2Fb", "cannot be used"},
		{"url", "/join?room=" + url.QueryEscape("https://x"), "cannot be used"},
		{"10 kB", "/join?room=" + strings.Repeat("a", 10<<10), ""},
		{"CR LF", "/join?room=a%0D%0ALocation:%20https://evil.com", "line breaks"},
		{"reserved", "/join/config.js", "reserved"},
		{"empty", "/join?room=", "enter a room name"},
		{"only stripped chars", "/join?room=" + url.QueryEscape("?#&"), "enter a room name"},
		{"login with slash room", "/login?room=" + url.QueryEscape("/evil"), "cannot be used"},
		{"bad tenant", "/join/math?tenant=-bad-", "not a valid tenant"},
		{"tenant not allowed", "/join/math?tenant=school-z", "not available here"},
		{"config not boolean", "/join/math?config.startWithAudioMuted=%3Cscript%3E", "could not be understood"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, c, http.MethodGet, g.base+tt.path, nil)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d (location %q), want 400", r.status, r.location)
			}
			if strings.Contains(r.body, "eyJ") || r.location != "" {
				t.Fatal("bad room produced a token or a redirect")
			}
			if tt.want != "" && !strings.Contains(r.body, tt.want) {
				t.Errorf("page does not explain the problem (%q):\n%s", tt.want, r.body)
			}
		})
	}
	// Odd but valid names go to the right room.
	valid := []struct{ typed, safe string }{
		{"Straße-Ä", "stra%c3%9fe-%c3%a4"},
		{"ΟΔΟΣ", "%ce%bf%ce%b4%ce%bf%cf%82"},
		{"O'Brien (Raum 7)", "obrienraum7"},
		{"ＦＵＬＬ", "full"},
	}
	for _, v := range valid {
		r := follow(t, g, c, do(t, c, http.MethodGet, g.base+"/join?room="+url.QueryEscape(v.typed), nil))
		jitsiToken(t, hsVerifier(), r, "https://meet.example.com/"+v.safe, v.safe, "")
	}
}

func TestJitsiStateEntry(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)
	c := browser(t)
	state := map[string]any{
		"room": "Mathe-Übung", "roomSafe": "mathe-%c3%bcbung", "tenant": "school-a",
		"config.startWithAudioMuted": true, "config.prejoinConfig.enabled": false,
		"config.evil": "<script>", "interfaceConfig.X": 1,
	}
	js, _ := json.Marshal(state)
	page := do(t, c, http.MethodGet, g.base+"/login?state="+url.QueryEscape(string(js)), nil)
	if page.status != http.StatusOK {
		t.Fatalf("login page from state: %d\n%s", page.status, page.body)
	}
	r := login(t, g, c, "room=mathe-%25c3%25bcbung&tenant=school-a&config.prejoinConfig.enabled=false&config.startWithAudioMuted=true", "teacher", "teacherpw")
	v := hsVerifier()
	tok := jitsiToken(t, v, r, "https://meet.example.com/school-a/mathe-%c3%bcbung", "mathe-%c3%bcbung", "school-a")
	if tok.Subject != "school-a" {
		t.Errorf("sub = %q, want the tenant", tok.Subject)
	}
	u, _ := url.Parse(r.location)
	if u.Fragment != "config.prejoinConfig.enabled=false&config.startWithAudioMuted=true" {
		t.Errorf("hash = %q: want only the allow-listed config keys", u.Fragment)
	}

	bad := []struct{ name, state, want string }{
		{"not json", `{"room":`, "could not be read"},
		{"array", `[1,2]`, "could not be read"},
		{"roomSafe mismatch", `{"room":"a","roomSafe":"b"}`, "inconsistent"},
		{"evil roomSafe", `{"roomSafe":"..%2f..%2fevil"}`, ""},
		{"evil tenant", `{"roomSafe":"math","tenant":"evil.com/x"}`, "not a valid tenant"},
		{"huge", `{"room":"` + strings.Repeat("a", 9000) + `"}`, "could not be read"},
		{"wrong types", `{"room":5}`, "could not be read"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			r := do(t, c, http.MethodGet, g.base+"/login?state="+url.QueryEscape(b.state), nil)
			if r.status != http.StatusBadRequest || r.location != "" {
				t.Fatalf("status %d location %q, want 400", r.status, r.location)
			}
			if b.want != "" && !strings.Contains(r.body, b.want) {
				t.Errorf("page does not explain (%q):\n%s", b.want, r.body)
			}
		})
	}
}

func TestRS256TokensVerifyThroughTheServedKey(t *testing.T) {
	dir := t.TempDir()
	key, err := token.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, token.EncodePrivateKeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	kid := "gate-test-1"
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr,
		fmt.Sprintf(`{algorithm: RS256, private_key_file: %q, key_id: %s}`, keyFile, kid)), nil)

	c := browser(t)
	r := login(t, g, c, "room=math-101", "teacher", "teacherpw")
	v := &jitsiverify.Config{
		AppID: "jitsi-gate", ASAPKeyServer: g.base + "/asap",
		AcceptedAudiences: []string{"jitsi"}, EnableDomainVerification: true, XMPPDomain: "meet.jitsi",
	}
	tok := jitsiToken(t, v, r, "https://meet.example.com/math-101", "math-101", "")
	if tok.Header["kid"] != kid || tok.Header["alg"] != "RS256" {
		t.Errorf("header = %v", tok.Header)
	}
	// The served key is an SPKI PEM at the hashed path; unknown kids 404.
	pem := do(t, c, http.MethodGet, g.base+"/asap/"+token.ASAPFileName(kid), nil)
	if pem.status != http.StatusOK || !strings.HasPrefix(pem.body, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("ASAP key: %d %q", pem.status, pem.body)
	}
	for _, p := range []string{"/asap/" + token.ASAPFileName("other"), "/asap/..%2f..%2fetc%2fpasswd", "/asap/ABC.pem"} {
		if r := do(t, c, http.MethodGet, g.base+p, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, r.status)
		}
	}
	jwks := do(t, c, http.MethodGet, g.base+"/.well-known/jwks.json", nil)
	if jwks.status != http.StatusOK || !strings.Contains(jwks.body, `"kid":"`+kid+`"`) {
		t.Errorf("JWKS: %d %s", jwks.status, jwks.body)
	}
	// A token from another key is rejected by the same verifier.
	other, _ := token.GenerateKey(2048)
	forger, _ := token.NewRS256(other, kid)
	forged, _ := forger.Mint(token.Claims{Issuer: "jitsi-gate", Audience: "jitsi", Subject: "meet.jitsi", Room: "math-101",
		IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	if _, err := v.Verify(context.Background(), forged); err == nil {
		t.Error("a token signed by another key verified")
	}
}

func TestCrossOriginLoginPostIsRefused(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)
	req, _ := http.NewRequest(http.MethodPost, g.base+"/login/demo",
		strings.NewReader(url.Values{"username": {"teacher"}, "password": {"teacherpw"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := browser(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login POST: %d, want 403", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "jitsi_gate") && c.MaxAge >= 0 && c.Value != "" {
			t.Errorf("cross-site POST set cookie %s", c.Name)
		}
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)
	c := browser(t)
	login(t, g, c, "", "teacher", "teacherpw")
	if r := do(t, c, http.MethodGet, g.base+"/join/math", nil); r.status != http.StatusFound {
		t.Fatalf("join before logout: %d", r.status)
	}
	// "Sign in with another account" keeps the room for the next login.
	if r := do(t, c, http.MethodGet, g.base+"/logout?room=math", nil); r.status != http.StatusOK ||
		!strings.Contains(r.body, "signed out") || !strings.Contains(r.body, `href="/login?room=math"`) {
		t.Fatalf("logout: %d\n%s", r.status, r.body)
	}
	if r := do(t, c, http.MethodGet, g.base+"/join/math", nil); r.status != http.StatusSeeOther {
		t.Errorf("join after logout: %d, want a redirect to the login page", r.status)
	}
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`), nil)
	c := browser(t)
	req, _ := http.NewRequest(http.MethodPost, g.base+"/login/demo",
		strings.NewReader(url.Values{"username": {"teacher"}, "password": {"teacherpw"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "jitsi_gate" {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 8*3600 {
				t.Errorf("session cookie attributes: %+v", ck)
			}
			if strings.Contains(ck.Value, "teacher") {
				t.Error("session cookie is readable")
			}
		}
	}
	if !found {
		t.Fatal("no session cookie after login")
	}
	r := do(t, c, http.MethodGet, g.base+"/", nil)
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("Referrer-Policy") != "no-referrer" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", r.header)
	}
}
