package main

// The web half of the security suite (issue 9): each test replays an
// attack against the real program (run) and asserts it no longer works,
// plus table tests for the attack classes that already held. Run it with
//
//	go test ./cmd/jitsi-gate -run Security
//
// Different clients are simulated only through a trusted proxy on
// 127.0.0.1 and X-Forwarded-For values from the documentation ranges
// (192.0.2.0/24, 2001:db8::/32): they are header strings, nothing is ever
// sent to them. evil.example is a reserved name, likewise only text.

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc/oidctest"
)

// securityConfig is a gateway behind a trusted proxy on 127.0.0.1 with
// static users and, when idp is not nil, an OIDC provider "idp".
func securityConfig(t *testing.T, addr, rateLimit string, idp *oidctest.Provider) string {
	t.Helper()
	cfg := fmt.Sprintf(`
server: {listen: "%s", public_url: "http://%s", trusted_proxies: [127.0.0.1/32]}
jitsi:
  url: https://meet.example.com
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  audience: jitsi
  signing: {algorithm: HS256, secret: "%s"}
session: {secret: "test-session-secret-0123456789abcdef0123"}
rate_limit: %s
backends:
  - id: demo
    type: static
    label: Test accounts
    users:
      - {username: teacher, password_hash: "%s", groups: [teachers]}
      - {username: student, password_hash: "%s", groups: [students]}
`, addr, addr, testSecret, rateLimit, hash(t, "teacherpw"), hash(t, "studentpw"))
	if idp != nil {
		cfg += fmt.Sprintf(`  - id: idp
    type: oidc
    label: School login
    issuer: %s
    client_id: %s
    client_secret: %s
`, idp.Issuer(), oidctest.ClientID, oidctest.ClientSecret)
	}
	return cfg + `rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner}
  - {name: no-students-in-staff-rooms, match: {groups: [students]}, role: deny, rooms: ["staff-*"]}
  - {name: students, match: {groups: [students]}, role: member}
`
}

// doFrom is do with extra request headers (X-Forwarded-For and friends).
func doFrom(t *testing.T, c *http.Client, method, u string, form url.Values, header map[string]string) response {
	t.Helper()
	body := strings.NewReader("")
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
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), header: resp.Header}
}

// loginFrom posts the password form as a client behind the trusted proxy.
func loginFrom(t *testing.T, g *testGateway, client, user, pw string) response {
	t.Helper()
	return doFrom(t, browser(t), http.MethodPost, g.base+"/login/demo",
		url.Values{"username": {user}, "password": {pw}}, map[string]string{"X-Forwarded-For": client})
}

// TestSecurityPerUserLimitHoldsUnderConcurrency: 35 concurrent wrong
// passwords for one user from one client got 30 × 401 with a limit of 5,
// because the limit was checked before the backend call and counted after
// it. Now exactly 5 reach the backend.
func TestSecurityPerUserLimitHoldsUnderConcurrency(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 5, per_ip: 1000, window: 1m}", nil), nil)
	const attempts = 35
	statuses := make(chan int, attempts)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses <- loginFrom(t, g, "192.0.2.20", "student", "wrong").status
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != 5 || count[http.StatusTooManyRequests] != attempts-5 {
		t.Fatalf("35 concurrent wrong passwords: %v, want 5 × 401 and 30 × 429", count)
	}
}

// TestSecurityUsernameVariantsShareOneLimit: the rate-limit key is the
// folded username, so the spellings a directory treats as one user share
// one budget.
func TestSecurityUsernameVariantsShareOneLimit(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 3, per_ip: 1000, window: 1m}", nil), nil)
	for i, user := range []string{"student", "ſtudent", "ｓｔｕｄｅｎｔ", "STUDENT", " Student "} {
		r := loginFrom(t, g, "192.0.2.21", user, "wrong")
		want := http.StatusUnauthorized
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		if r.status != want {
			t.Errorf("attempt %d as %q: %d, want %d", i+1, user, r.status, want)
		}
	}
}

// TestSecurityTargetedLockout: wrong passwords from elsewhere no longer
// lock the user out of their own client; only the much higher global cap
// does, and the page says how long to wait. IPv6 clients count by /64,
// IPv4-mapped IPv6 as IPv4.
func TestSecurityTargetedLockout(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 3, per_user_global: 7, per_ip: 1000, window: 1m}", nil), nil)
	const victim = "192.0.2.10"
	steps := []struct {
		client, pw string
		want       int
	}{
		{"192.0.2.66", "wrong", 401},
		{"192.0.2.66", "wrong", 401},
		{"192.0.2.66", "wrong", 401},
		{"192.0.2.66", "wrong", 429},
		{"::ffff:192.0.2.66", "wrong", 429}, // the same IPv4 client
		// The user's own client is not locked out, and a success gives its
		// attempt back to the global count.
		{victim, "teacherpw", 303},
		// One IPv6 /64 is one client, whatever the interface identifier.
		{"2001:db8:66:1::1", "wrong", 401},
		{"2001:db8:66:1::2", "wrong", 401},
		{"2001:db8:66:1:ffff::3", "wrong", 401},
		{"2001:db8:66:1::4", "wrong", 429},
		{"2001:db8:66:2::1", "wrong", 401}, // the 7th failure: the global cap
		{"2001:db8:66:3::1", "wrong", 429},
		{victim, "teacherpw", 429},
	}
	for i, s := range steps {
		r := loginFrom(t, g, s.client, "teacher", s.pw)
		if r.status != s.want {
			t.Fatalf("step %d (%s, %s): %d, want %d\n%s", i+1, s.client, s.pw, r.status, s.want, r.body)
		}
		if r.status == http.StatusTooManyRequests {
			if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("step %d: 429 without Retry-After", i+1)
			}
			if !strings.Contains(r.body, "try again in") {
				t.Errorf("step %d: the page does not say how long to wait:\n%s", i+1, r.body)
			}
		}
	}
	logs := g.waitForLog(t, "limit=user_global")
	for _, want := range []string{"limit=user ", "limit=user_global"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log does not name the limit (%q)", want)
		}
	}
}

// TestSecurityPerIPLimitCountsIPv6By64: stepping through the addresses of
// one /64 gives no fresh per-IP budget.
func TestSecurityPerIPLimitCountsIPv6By64(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 3, window: 1m}", nil), nil)
	steps := []struct {
		client, user string
		want         int
	}{
		{"2001:db8:77:1::1", "a", 401},
		{"2001:db8:77:1::2", "b", 401},
		{"2001:db8:77:1:abcd::3", "c", 401},
		{"2001:db8:77:1::4", "d", 429},
		{"2001:db8:77:2::1", "e", 401},
	}
	for i, s := range steps {
		if r := loginFrom(t, g, s.client, s.user, "wrong"); r.status != s.want {
			t.Errorf("step %d (%s): %d, want %d", i+1, s.client, r.status, s.want)
		}
	}
}

var linkAttr = regexp.MustCompile(`(?i)\b(?:href|action|src)="([^"]*)"`)

// checkStaysOnSite fails when a response could send the browser anywhere
// but the gateway itself or the configured Jitsi: the Location header and
// every link, form action and source in the page.
func checkStaysOnSite(t *testing.T, what string, r response) {
	t.Helper()
	targets := []string{r.location}
	for _, m := range linkAttr.FindAllStringSubmatch(r.body, -1) {
		targets = append(targets, html.UnescapeString(m[1]))
	}
	for _, u := range targets {
		if u == "" || strings.HasPrefix(u, "https://meet.example.com/") {
			continue
		}
		trimmed := strings.TrimLeft(u, " \t\r\n")
		switch {
		case strings.HasPrefix(trimmed, "?"), strings.HasPrefix(trimmed, "#"):
		case strings.HasPrefix(trimmed, "/") && !strings.HasPrefix(trimmed, "//") && !strings.HasPrefix(trimmed, `/\`):
		default:
			t.Errorf("%s: link or redirect off the site: %q (status %d)", what, u, r.status)
		}
	}
	if r.status >= 500 {
		t.Errorf("%s: status %d", what, r.status)
	}
}

// TestSecurityNoOpenRedirect sends redirect payloads in every parameter a
// gateway of this kind might read (room, state, lang, the usual next/return
// names) and in the forwarded headers, anonymous and logged in; no answer
// may point anywhere but the gateway or Jitsi. It includes the 404 page's
// language links: GET /%2Fevil.example rendered href="//evil.example?lang=de".
func TestSecurityNoOpenRedirect(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 100000, window: 1m}", nil), nil)
	anon := browser(t)
	teacher := browser(t)
	if r := login(t, g, teacher, "", "teacher", "teacherpw"); r.status >= 400 {
		t.Fatalf("login: %d", r.status)
	}

	t.Run("paths", func(t *testing.T) {
		for _, p := range []string{
			"/%2Fevil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "/%2F%5Cevil.example",
			"/%2Fevil.example/login", "/static/%2F%2Fevil.example", "/join/%2F%2Fevil.example",
			"/login/%2Fevil.example", "/%09/evil.example", "/https:%2F%2Fevil.example",
		} {
			for name, c := range map[string]*http.Client{"anonymous": anon, "logged in": teacher} {
				r := do(t, c, http.MethodGet, g.base+p, nil)
				checkStaysOnSite(t, name+" GET "+p, r)
				if strings.Contains(r.body, "//evil.example?") {
					t.Errorf("%s GET %s: page links to //evil.example", name, p)
				}
			}
		}
	})

	payloads := []string{
		"//evil.example", "https://evil.example/", `/\evil.example`, `\\evil.example`, "%2F%2Fevil.example",
		"javascript:alert(1)", "https:evil.example", "/%09/evil.example", " //evil.example", "http://127.0.0.2/",
	}
	params := []string{"room", "state", "lang", "next", "return", "returnTo", "return_to", "redirect",
		"redirect_uri", "url", "continue", "tenant", "app", "config.startWithAudioMuted"}
	paths := []string{"/", "/login", "/login/demo", "/join", "/join/math", "/logout", "/nope"}
	t.Run("parameters", func(t *testing.T) {
		for _, p := range paths {
			for _, param := range params {
				for _, payload := range payloads {
					q := url.Values{param: {payload}}
					if param == "state" && payload == payloads[0] {
						js, _ := json.Marshal(map[string]string{"room": payload, "roomSafe": payload})
						q.Set("state", string(js))
					}
					if param != "room" && strings.HasPrefix(p, "/login") {
						q.Set("room", "math")
					}
					u := g.base + p + "?" + q.Encode()
					checkStaysOnSite(t, "anonymous GET "+u, do(t, anon, http.MethodGet, u, nil))
					checkStaysOnSite(t, "logged-in GET "+u, do(t, teacher, http.MethodGet, u, nil))
				}
			}
		}
		// The login POST, whose answer redirects on success.
		for _, param := range params {
			for _, payload := range payloads {
				q := url.Values{param: {payload}}
				c := browser(t)
				r := do(t, c, http.MethodPost, g.base+"/login/demo?"+q.Encode(),
					url.Values{"username": {"teacher"}, "password": {"teacherpw"}, param: {payload}})
				checkStaysOnSite(t, "login POST "+param+"="+payload, r)
			}
		}
	})
	t.Run("forwarded headers", func(t *testing.T) {
		headers := []map[string]string{
			{"X-Forwarded-Host": "evil.example"},
			{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
			{"X-Forwarded-Proto": "javascript"},
			{"X-Forwarded-For": "//evil.example"},
			{"X-Forwarded-For": "192.0.2.1, evil.example"},
			{"Forwarded": "host=evil.example;proto=https"},
			{"Forwarded": `for="[2001:db8::1]";host="evil.example"`},
			{"X-Forwarded-Prefix": "//evil.example"},
			{"X-Original-URL": "//evil.example"},
			{"X-Rewrite-URL": "//evil.example"},
		}
		for _, p := range append(paths, "/login?room=math", "/join/math?tenant=x", "/%2Fevil.example") {
			for _, h := range headers {
				for name, c := range map[string]*http.Client{"anonymous": anon, "logged in": teacher} {
					r := doFrom(t, c, http.MethodGet, g.base+p, nil, h)
					checkStaysOnSite(t, fmt.Sprintf("%s GET %s with %v", name, p, h), r)
					if strings.Contains(r.body, "evil.example") && strings.Contains(r.location+r.body, "://evil") {
						t.Errorf("%s GET %s with %v: the page names the forwarded host", name, p, h)
					}
				}
			}
			r := doFrom(t, browser(t), http.MethodPost, g.base+"/login/demo?room=math",
				url.Values{"username": {"teacher"}, "password": {"teacherpw"}},
				map[string]string{"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"})
			checkStaysOnSite(t, "login POST with forwarded host", follow(t, g, browser(t), r))
		}
	})
}

// TestSecurityRoomConfusions: spellings of a denied room either name
// another room or are refused; no token is ever issued for a staff-* room
// to a student.
func TestSecurityRoomConfusions(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 100000, window: 1m}", nil), nil)
	c := browser(t)
	if r := login(t, g, c, "", "student", "studentpw"); r.status >= 400 {
		t.Fatalf("login: %d", r.status)
	}
	variants := []string{
		"staff-room", "STAFF-room", "Staff-Room", "ｓｔａｆｆ-room", "staff‐room", "staff－room", "sta\u200bff-room",
		"staff-room%00", "staff-room/", "staff-room?x=1", "staff-room#x", "./staff-room", "../staff-room",
		"staff-room%2F..", "%73taff-room", "staff-room\u0000", "staff-room ", " staff-room", "staff%2droom",
		"staff-room.", "ſtaff-room", "staff\troom", "staff-room\r\n", "tenant/staff-room", "staff-room;x",
	}
	for _, v := range variants {
		for _, u := range []string{"/join?room=" + url.QueryEscape(v), "/join/" + url.PathEscape(v),
			"/login?state=" + url.QueryEscape(`{"room":`+jsonString(v)+`}`)} {
			r := follow(t, g, c, do(t, c, http.MethodGet, g.base+u, nil))
			checkStaysOnSite(t, "GET "+u, r)
			if r.status != http.StatusFound {
				continue // refused or denied
			}
			loc, err := url.Parse(r.location)
			if err != nil {
				t.Fatalf("GET %s: bad Location %q", u, r.location)
			}
			roomSafe := strings.TrimPrefix(loc.EscapedPath(), "/")
			jitsiToken(t, hsVerifier(), r, "https://meet.example.com/"+roomSafe, roomSafe, "")
			if strings.HasPrefix(roomSafe, "staff-") {
				t.Errorf("GET %s: student got a token for %q", u, roomSafe)
			}
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestSecurityCrossOriginPostsAreRefused: login CSRF in its forms; only a
// same-origin POST (or one without browser metadata) reaches the backend.
func TestSecurityCrossOriginPostsAreRefused(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 100000, window: 1m}", nil), nil)
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"same-site sibling", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.meet.example.com"}, 403},
		{"foreign origin without metadata", map[string]string{"Origin": "https://evil.example"}, 403},
		{"null origin", map[string]string{"Origin": "null"}, 403},
		{"origin with other port", map[string]string{"Origin": "http://" + strings.Split(addr, ":")[0] + ":1"}, 403},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": g.base}, 303},
		{"no browser metadata (curl)", nil, 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := doFrom(t, browser(t), http.MethodPost, g.base+"/login/demo",
				url.Values{"username": {"teacher"}, "password": {"teacherpw"}}, tt.header)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d", r.status, tt.want)
			}
			if tt.want == 403 {
				for _, ck := range r.header.Values("Set-Cookie") {
					if strings.HasPrefix(ck, "jitsi_gate=") && !strings.Contains(ck, "Max-Age=0") {
						t.Errorf("refused POST set the session cookie")
					}
				}
			}
		})
	}
}

// TestSecurityOversizedInputs: huge usernames, passwords, rooms, states and
// cookies get a clear 4xx, never a 500, a token or a session.
func TestSecurityOversizedInputs(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 100000, window: 1m}", nil), nil)
	big := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name   string
		method string
		path   string
		form   url.Values
		header map[string]string
		want   []int
	}{
		{"username over the form limit", "POST", "/login/demo", url.Values{"username": {big(20 << 10)}, "password": {"x"}}, nil, []int{400, 413}},
		{"10 KB username", "POST", "/login/demo", url.Values{"username": {big(10 << 10)}, "password": {"x"}}, nil, []int{401}},
		{"password over bcrypt's 72 bytes", "POST", "/login/demo", url.Values{"username": {"teacher"}, "password": {"teacherpw" + big(100)}}, nil, []int{401}},
		{"10 KB password", "POST", "/login/demo", url.Values{"username": {"teacher"}, "password": {big(10 << 10)}}, nil, []int{401}},
		{"20 KB room", "GET", "/join?room=" + big(20<<10), nil, nil, []int{400}},
		{"20 KB room in the path", "GET", "/join/" + big(20<<10), nil, nil, []int{400}},
		{"20 KB room at login", "GET", "/login?room=" + big(20<<10), nil, nil, []int{400}},
		{"40 KB state", "GET", "/login?state=" + url.QueryEscape(`{"room":"`+big(40<<10)+`"}`), nil, nil, []int{400}},
		{"70 KB URL", "GET", "/join?room=" + big(70<<10), nil, nil, []int{400, 414, 431}},
		{"40 KB Cookie header", "GET", "/join/math", nil, map[string]string{"Cookie": manyCookieHeader(1000)}, []int{431}},
		{"oversized session cookie", "GET", "/join/math", nil, map[string]string{"Cookie": "jitsi_gate=" + big(8<<10)}, []int{303}},
		{"oversized flow cookie", "GET", "/join/math", nil, map[string]string{"Cookie": "jitsi_gate_flow_0123456789ab=" + big(8<<10)}, []int{303}},
		{"many flow cookies", "GET", "/join/math", nil, map[string]string{"Cookie": strings.Repeat("jitsi_gate_flow_0123456789ab=x; ", 500)}, []int{303}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := doFrom(t, browser(t), tt.method, g.base+tt.path, tt.form, tt.header)
			ok := false
			for _, w := range tt.want {
				ok = ok || r.status == w
			}
			if !ok {
				t.Errorf("status %d, want one of %v\n%.500s", r.status, tt.want, r.body)
			}
			if strings.Contains(r.body, "eyJ") || strings.Contains(r.location, "jwt=") {
				t.Error("oversized input produced a token")
			}
			for _, ck := range r.header.Values("Set-Cookie") {
				if strings.HasPrefix(ck, "jitsi_gate=") && !strings.Contains(ck, "Max-Age=0") {
					t.Error("oversized input started a session")
				}
			}
		})
	}
}

// manyCookieHeader is a Cookie header of n foreign cookies (~40 bytes each).
func manyCookieHeader(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("_ga_other%04d=GA1.2.%010d.%08d", i, i*7919, i)
	}
	return strings.Join(parts, "; ")
}

// TestSecurityManyCookies: the session cookie among 300 foreign ones still
// works (the gateway keeps only its own cookies in one pass; the cost is
// measured by BenchmarkJoinManyCookies in web/), and a forged session
// cookie hidden in another cookie's value is not read.
func TestSecurityManyCookies(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 100000, window: 1m}", nil), nil)
	c := browser(t)
	login(t, g, c, "", "teacher", "teacherpw")
	gw, _ := url.Parse(g.base)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(gw) {
		if ck.Name == "jitsi_gate" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after login")
	}
	foreign := strings.Split(manyCookieHeader(299), "; ")
	header := strings.Join(append(foreign[:150], append([]string{"jitsi_gate=" + session.Value}, foreign[150:]...)...), "; ")
	r := doFrom(t, &http.Client{CheckRedirect: browser(t).CheckRedirect}, http.MethodGet, g.base+"/join/math", nil,
		map[string]string{"Cookie": header})
	jitsiToken(t, hsVerifier(), r, "https://meet.example.com/math", "math", "")

	hidden := "x=1; other=a;jitsi_gate=" + session.Value
	hidden = strings.Replace(hidden, ";jitsi_gate=", "jitsi_gate=", 1) // inside other's value
	r = doFrom(t, &http.Client{CheckRedirect: browser(t).CheckRedirect}, http.MethodGet, g.base+"/join/math", nil,
		map[string]string{"Cookie": hidden})
	if r.status != http.StatusSeeOther {
		t.Errorf("session cookie inside another cookie's value: %d, want 303 to the login page", r.status)
	}
}

// TestSecurityNoStaticListing: directories under /static/ are 404, with or
// without a trailing slash; files are served.
func TestSecurityNoStaticListing(t *testing.T) {
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 100000, window: 1m}", nil), nil)
	c := browser(t)
	for _, p := range []string{"/static/", "/static/css", "/static/css/", "/static/img/", "/static/js", "/static/./", "/static/css/..%2f"} {
		r := do(t, c, http.MethodGet, g.base+p, nil)
		if r.status/100 == 3 && strings.HasPrefix(r.location, "/static/") {
			r = do(t, c, http.MethodGet, g.base+r.location, nil) // the mux cleaning the path
		}
		if r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404\n%.300s", p, r.status, r.body)
		}
		if strings.Contains(r.body, `href="style.css"`) || strings.Contains(r.body, `href="css/"`) || strings.Contains(r.body, "<pre>") {
			t.Errorf("GET %s lists the directory:\n%.300s", p, r.body)
		}
	}
	if r := do(t, c, http.MethodGet, g.base+"/static/css/style.css", nil); r.status != http.StatusOK {
		t.Errorf("GET /static/css/style.css: %d", r.status)
	}
}

// oidcGateway starts a gateway with the static users and the fake provider
// "idp"; provider logins are teachers.
func oidcGateway(t *testing.T) (*testGateway, *oidctest.Provider) {
	t.Helper()
	idp := oidctest.New(t)
	idp.SetClaims(map[string]any{"sub": "t1", "name": "Tina", "preferred_username": "tina", "groups": []any{"teachers"}})
	addr := freePort(t)
	g := startGateway(t, securityConfig(t, addr, "{per_user: 100, per_ip: 100000, window: 1m}", idp), nil)
	return g, idp
}

// TestSecurityOIDCCallbackChecksStateFirst: an unsolicited callback with a
// provider error and a wrong or missing state gets the generic "start
// again" page, never the attacker's error text; with the right state the
// provider's error is shown.
func TestSecurityOIDCCallbackChecksStateFirst(t *testing.T) {
	g, _ := oidcGateway(t)
	const evil = "Your_account_is_locked_call_0800_EVIL"
	for _, tc := range []struct{ name, query string }{
		{"no state", "error=" + evil + "&error_description=" + evil},
		{"wrong state", "error=" + evil + "&error_description=" + evil + "&state=forged"},
		{"empty state", "error=" + evil + "&state="},
	} {
		for _, withFlow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, flow in progress %v", tc.name, withFlow), func(t *testing.T) {
				c := browser(t)
				if withFlow {
					if r := do(t, c, http.MethodGet, g.base+"/login/idp?room=math", nil); r.status != http.StatusFound {
						t.Fatalf("login start: %d", r.status)
					}
				}
				r := do(t, c, http.MethodGet, g.base+"/callback/idp?"+tc.query, nil)
				if r.status != http.StatusBadRequest || !strings.Contains(r.body, "start again") {
					t.Errorf("status %d, want 400 with the start-again page\n%.400s", r.status, r.body)
				}
				if strings.Contains(r.body, evil) {
					t.Error("the page shows the unsolicited error text")
				}
			})
		}
	}
	t.Run("right state", func(t *testing.T) {
		c := browser(t)
		r := do(t, c, http.MethodGet, g.base+"/login/idp?room=math", nil)
		loc, _ := url.Parse(r.location)
		r = do(t, c, http.MethodGet, g.base+"/callback/idp?error=access_denied&state="+url.QueryEscape(loc.Query().Get("state")), nil)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "cancelled") {
			t.Errorf("provider error with the right state: %d\n%.400s", r.status, r.body)
		}
	})
}

// TestSecurityOIDCTwoTabs: a teacher opens two meeting links; both sign-ins
// complete, in either order, each in its own room, and neither callback can
// be replayed. Starting more than the bound drops the oldest flow.
func TestSecurityOIDCTwoTabs(t *testing.T) {
	g, idp := oidcGateway(t)
	c := browser(t)
	start := func(room string) *url.URL {
		t.Helper()
		r := do(t, c, http.MethodGet, g.base+"/login/idp?room="+room, nil)
		if r.status != http.StatusFound {
			t.Fatalf("login start for %s: %d", room, r.status)
		}
		return idp.Authorize(t, r.location)
	}
	cbMath := start("math")
	cbArt := start("art")
	// The second tab finishes first.
	for _, tc := range []struct {
		cb   *url.URL
		room string
	}{{cbArt, "art"}, {cbMath, "math"}} {
		r := follow(t, g, c, do(t, c, http.MethodGet, tc.cb.String(), nil))
		jitsiToken(t, hsVerifier(), r, "https://meet.example.com/"+tc.room, tc.room, "")
	}
	for _, cb := range []*url.URL{cbArt, cbMath} {
		if r := do(t, c, http.MethodGet, cb.String(), nil); r.status != http.StatusBadRequest {
			t.Errorf("replayed callback: %d, want 400", r.status)
		}
	}

	// Seven tabs: the two oldest flows are dropped, the five newest finish.
	c = browser(t)
	var cbs []*url.URL
	for i := range 7 {
		cbs = append(cbs, start(fmt.Sprint("room-", i)))
	}
	gw, _ := url.Parse(g.base)
	flows := 0
	for _, ck := range c.Jar.Cookies(gw) {
		if strings.HasPrefix(ck.Name, "jitsi_gate_flow_") {
			flows++
		}
	}
	if flows != 5 {
		t.Errorf("browser holds %d flow cookies after 7 sign-ins, want 5", flows)
	}
	for i, cb := range cbs {
		r := follow(t, g, c, do(t, c, http.MethodGet, cb.String(), nil))
		if i < 2 {
			if r.status != http.StatusBadRequest {
				t.Errorf("dropped flow %d: %d, want 400", i, r.status)
			}
			continue
		}
		room := fmt.Sprint("room-", i)
		jitsiToken(t, hsVerifier(), r, "https://meet.example.com/"+room, room, "")
	}
}
