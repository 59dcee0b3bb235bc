package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc/oidctest"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/static"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
	staticfiles "github.com/jitsi-gate/jitsi-gate/static"
	"github.com/jitsi-gate/jitsi-gate/templates"
	"github.com/jitsi-gate/jitsi-gate/web"
)

const secret = "web-test-secret-0123456789abcdef0123456789"

// clock is a settable time source shared by the session manager and the
// server, so session expiry can be tested without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	url   string
	clock *clock
	idp   *oidctest.Provider
}

type harnessOptions struct {
	preview         bool
	tokenInFragment bool
	onlyOIDC        bool
	metrics         *metrics.Metrics
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	publicURL, _ := url.Parse(srv.URL)

	clk := &clock{now: time.Now()}
	idp := oidctest.New(t)
	oa, err := oidc.New(oidc.Config{
		ID: "idp", Label: "School IdP", Issuer: idp.Issuer(), ClientID: oidctest.ClientID,
		ClientSecret: oidctest.ClientSecret, RedirectURL: srv.URL + "/callback/idp",
		GroupsClaims: []string{"groups", "realm_access.roles"},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	sa, err := static.New("demo", "Demo", []static.User{
		{Username: "teacher", PasswordHash: string(h), Name: "Tina", Groups: []string{"teachers"}},
		{Username: "student", PasswordHash: string(h), Groups: []string{"students"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	pol, err := policy.Compile([]policy.Rule{
		{Name: "teachers", Groups: []string{"teachers"}, Role: policy.Owner, LobbyBypass: &yes},
		{Name: "students", Groups: []string{"students"}, Role: policy.Member},
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewHS256([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.NewManager(session.Options{Secret: []byte(secret), Lifetime: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	logins := testLogins(t, clk.Now)
	grants, err := grant.New(pol, grant.Settings{XMPPDomain: "meet.jitsi", Issuer: "gate", Audience: "gate", TokenLifetime: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := web.Deps{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Redirects: []auth.RedirectAuthenticator{oa},
		Grants:    grants,
		Logins:    logins,
		Signer:    signer,
		Sessions:  sessions,
		Templates: templates.FS(),
		Static:    staticfiles.FS(),
		Now:       clk.Now,
		Metrics:   o.metrics,
	}
	if !o.onlyOIDC {
		deps.Passwords = []auth.PasswordAuthenticator{sa}
	}
	handler, err := web.NewServer(web.Options{
		PublicURL: publicURL,
		Jitsi: web.JitsiOptions{
			URL:     &url.URL{Scheme: "https", Host: "meet.example.com"},
			Preview: o.preview, TokenInFragment: o.tokenInFragment,
		},
		UI:        web.UIOptions{Title: "Test School", DefaultLanguage: "en"},
		RateLimit: web.RateLimitOptions{PerUser: 5, PerIP: 100, Window: time.Minute},
		Version:   "test",
	}, deps)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = handler
	// Unless a test says otherwise, provider logins are students.
	idp.SetClaims(map[string]any{"sub": "s1", "name": "Sam", "groups": []any{"students"}})
	return &harness{url: srv.URL, clock: clk, idp: idp}
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func verifier() *jitsiverify.Config {
	return &jitsiverify.Config{AppID: "gate", AppSecret: secret, EnableDomainVerification: true, XMPPDomain: "meet.jitsi"}
}

// oidcLogin drives the whole provider round trip: /login/idp → provider →
// /callback/idp, and returns the gateway's answer to the callback.
func oidcLogin(t *testing.T, h *harness, c *http.Client, query string) *http.Response {
	t.Helper()
	resp, body := get(t, c, h.url+"/login/idp?"+query)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login start: %d\n%s", resp.StatusCode, body)
	}
	cb := h.idp.Authorize(t, resp.Header.Get("Location"))
	resp, body = get(t, c, cb.String())
	if resp.StatusCode >= 400 {
		t.Logf("callback answered %d:\n%s", resp.StatusCode, body)
	}
	return resp
}

func TestOIDCLoginLandsInTheRequestedRoomWithTheRightRole(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.idp.SetClaims(map[string]any{"sub": "u1", "name": "Ada", "email": "ada@example.org",
		"realm_access": map[string]any{"roles": []any{"teachers"}}})
	c := client(t)
	resp := oidcLogin(t, h, c, "room=Physik-1&tenant=")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/join/physik-1" {
		t.Fatalf("callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = get(t, c, h.url+resp.Header.Get("Location"))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://meet.example.com/physik-1?jwt=") {
		t.Fatalf("join: %d %q", resp.StatusCode, loc)
	}
	u, _ := url.Parse(loc)
	tok, err := verifier().Verify(context.Background(), u.Query().Get("jwt"))
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Owner() || tok.User["id"] != "idp:u1" || tok.User["name"] != "Ada" {
		t.Errorf("token user = %v", tok.User)
	}
	// PKCE S256 was used, and the request carried state and nonce.
	reqs := h.idp.AuthRequests()
	if len(reqs) != 1 || reqs[0].CodeChallengeMethod != "S256" || reqs[0].State == "" || reqs[0].Nonce == "" {
		t.Errorf("authorize requests: %+v", reqs)
	}
}

func TestOIDCFailuresGiveNoSession(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(h *harness)
		tamper func(cb *url.URL)
		status int
		want   string
	}{
		{"user cancels", func(h *harness) { h.idp.SetAuthorizeError("access_denied", "user cancelled") }, nil,
			http.StatusForbidden, "cancelled"},
		{"tampered state", nil, func(cb *url.URL) {
			q := cb.Query()
			q.Set("state", "forged")
			cb.RawQuery = q.Encode()
		}, http.StatusBadRequest, "does not belong"},
		{"wrong nonce", func(h *harness) {
			h.idp.SetIDTokenMutator(func(c map[string]any) { c["nonce"] = "other" })
		}, nil, http.StatusUnauthorized, "could not be verified"},
		{"provider down at the token endpoint", nil, nil, http.StatusServiceUnavailable, "cannot be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			if tt.setup != nil {
				tt.setup(h)
			}
			c := client(t)
			resp, _ := get(t, c, h.url+"/login/idp?room=math")
			cb := h.idp.Authorize(t, resp.Header.Get("Location"))
			if tt.tamper != nil {
				tt.tamper(cb)
			}
			if tt.name == "provider down at the token endpoint" {
				h.idp.Down()
			}
			resp, body := get(t, c, cb.String())
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("callback: %d (want %d), body lacks %q:\n%s", resp.StatusCode, tt.status, tt.want, body)
			}
			// No session: /join sends to the login page.
			h.idp.Up()
			resp, _ = get(t, c, h.url+"/join/math")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("after a failed login /join gives %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestOIDCCallbackReplayIsRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := client(t)
	resp, _ := get(t, c, h.url+"/login/idp?room=math")
	cb := h.idp.Authorize(t, resp.Header.Get("Location"))
	if resp, _ := get(t, c, cb.String()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback: %d", resp.StatusCode)
	}
	// The flow cookie is gone: the same callback again is refused before
	// the code reaches the provider.
	before := len(h.idp.TokenRequests())
	resp, body := get(t, c, cb.String())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "start again") {
		t.Errorf("replayed callback: %d\n%s", resp.StatusCode, body)
	}
	if after := len(h.idp.TokenRequests()); after != before {
		t.Errorf("replayed callback reached the token endpoint (%d → %d requests)", before, after)
	}
	// Another browser cannot use the callback either.
	if resp, _ := get(t, client(t), cb.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback in another browser: %d", resp.StatusCode)
	}
}

func TestProviderLoginStraightFromJitsiState(t *testing.T) {
	// tokenAuthUrl may point at one provider: /login/idp?state={state}.
	h := newHarness(t, harnessOptions{})
	c := client(t)
	state := url.QueryEscape(`{"room":"Mathe-Übung","roomSafe":"mathe-%c3%bcbung","config.startWithAudioMuted":true}`)
	resp, body := get(t, c, h.url+"/login/idp?state="+state)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login start from state: %d\n%s", resp.StatusCode, body)
	}
	cb := h.idp.Authorize(t, resp.Header.Get("Location"))
	resp, _ = get(t, c, cb.String())
	if loc := resp.Header.Get("Location"); loc != "/join/mathe-%c3%bcbung?config.startWithAudioMuted=true" {
		t.Errorf("after the callback: %d %q", resp.StatusCode, loc)
	}
	if resp, _ := get(t, c, h.url+"/login/idp?state="+url.QueryEscape(`{"roomSafe":"a%2fb"}`)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad state at the provider login: %d", resp.StatusCode)
	}
}

func TestOnlyOIDCBackendSkipsTheChoice(t *testing.T) {
	h := newHarness(t, harnessOptions{onlyOIDC: true})
	resp, _ := get(t, client(t), h.url+"/login?room=math")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login/idp?room=math") {
		t.Errorf("/login with one provider: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLogoutAtTheProvider(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := client(t)
	oidcLogin(t, h, c, "room=math")
	resp, _ := get(t, c, h.url+"/logout")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, h.idp.Issuer()) {
		t.Fatalf("logout: %d %q, want a redirect to the provider's end-session endpoint", resp.StatusCode, loc)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("id_token_hint") == "" || u.Query().Get("post_logout_redirect_uri") != h.url+"/logout" {
		t.Errorf("end-session parameters: %v", u.Query())
	}
	if resp, _ := get(t, c, h.url+"/join/math"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("join after logout: %d", resp.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := client(t)
	resp, err := c.PostForm(h.url+"/login/demo?room=math", url.Values{"username": {"student"}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, _ := get(t, c, h.url+"/join/math"); resp.StatusCode != http.StatusFound {
		t.Fatalf("join with a fresh session: %d", resp.StatusCode)
	}
	h.clock.Advance(61 * time.Minute)
	resp, _ = get(t, c, h.url+"/join/math")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?room=math") {
		t.Errorf("join after the session lifetime: %d %q, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAppsAndFragment(t *testing.T) {
	t.Run("ios", func(t *testing.T) {
		h := newHarness(t, harnessOptions{})
		c := client(t)
		oidcLogin(t, h, c, "room=math")
		resp, _ := get(t, c, h.url+"/join/math?app=ios")
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "org.jitsi.meet://meet.example.com/math?jwt=") {
			t.Errorf("ios redirect: %q", loc)
		}
	})
	t.Run("electron", func(t *testing.T) {
		h := newHarness(t, harnessOptions{})
		c := client(t)
		oidcLogin(t, h, c, "room=math")
		resp, body := get(t, c, h.url+"/join/math?app=electron")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="jitsi-meet://meet.example.com/math?jwt=`) {
			t.Errorf("electron page: %d\n%s", resp.StatusCode, body)
		}
	})
	t.Run("fragment", func(t *testing.T) {
		h := newHarness(t, harnessOptions{tokenInFragment: true})
		c := client(t)
		oidcLogin(t, h, c, "room=math")
		resp, _ := get(t, c, h.url+"/join/math?config.startWithAudioMuted=true")
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "https://meet.example.com/math#jwt=%22") || strings.Contains(loc, "?jwt=") ||
			!strings.HasSuffix(loc, "%22&config.startWithAudioMuted=true") {
			t.Errorf("fragment redirect: %q", loc)
		}
	})
}

// The redirect to Jitsi carries the token in its Location: it must not be
// cached or leak as a referrer. It has no document, so it goes without the
// page headers; a page (the welcome page here) keeps them.
func TestJoinRedirectHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := client(t)
	oidcLogin(t, h, c, "room=math")
	resp, _ := get(t, c, h.url+"/join/math")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://meet.example.com/math?jwt=") {
		t.Fatalf("join: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	want := map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"Content-Security-Policy": "", "X-Frame-Options": "", "X-Content-Type-Options": ""}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("redirect %s = %q, want %q", k, got, v)
		}
	}
	page, _ := get(t, c, h.url+"/")
	for _, k := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Cache-Control", "Referrer-Policy"} {
		if page.Header.Get(k) == "" {
			t.Errorf("welcome page without %s", k)
		}
	}
}

func TestPreviewShowsTheTokenInstead(t *testing.T) {
	h := newHarness(t, harnessOptions{preview: true})
	c := client(t)
	oidcLogin(t, h, c, "room=math")
	resp, body := get(t, c, h.url+"/join/math")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Fatalf("preview: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, want := range []string{"https://meet.example.com/math?jwt=", `&#34;typ&#34;: &#34;JWT&#34;`, `&#34;room&#34;: &#34;math&#34;`, "students"} {
		if !strings.Contains(body, want) {
			t.Errorf("preview page lacks %q", want)
		}
	}
}

// TestReadyzIsShortForAnonymousCallers: /readyz is public, so it says
// ready or not and nothing about which backend or why (that is logged).
func TestReadyzIsShortForAnonymousCallers(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.idp.Down()
	resp, body := get(t, client(t), h.url+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || body != `{"status":"not ready"}`+"\n" {
		t.Errorf("readyz with the provider down: %d %q, want 503 and only the status", resp.StatusCode, body)
	}
	// The pages still work.
	if resp, _ := get(t, client(t), h.url+"/login?room=math"); resp.StatusCode != http.StatusOK {
		t.Errorf("login page with the provider down: %d", resp.StatusCode)
	}
	h.idp.Up()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body = get(t, client(t), h.url+"/readyz")
		if resp.StatusCode == http.StatusOK {
			if body != `{"status":"ready"}`+"\n" {
				t.Errorf("readyz when ready: %q", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never recovered: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestGermanPages(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	req, _ := http.NewRequest(http.MethodGet, h.url+"/login?room=math", nil)
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `<html lang="de">`) || !strings.Contains(string(b), "Passwort") {
		t.Errorf("German login page:\n%s", b)
	}
	// The switcher wins over the header and is remembered.
	c := client(t)
	resp, body := get(t, c, h.url+"/?lang=en")
	if !strings.Contains(body, `<html lang="en">`) {
		t.Errorf("?lang=en: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, h.url+"/", nil)
	req.Header.Set("Accept-Language", "de")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `<html lang="en">`) {
		t.Error("the language choice was not remembered")
	}
}

// testLogins keeps login records in a SQLite store of the test's own.
func testLogins(t testing.TB, now func() time.Time) *signin.Keeper {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: store.DriverSQLite,
		Path: filepath.Join(t.TempDir(), "gate.db"), Now: now}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k, err := signin.New(signin.Options{Records: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLanguageChoiceRemembered: ?lang= on a page sets the language cookie
// once, also on an error page (which picks the language twice).
func TestLanguageChoiceRemembered(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := client(t)
	for _, path := range []string{"/login?lang=de", "/no-such-page?lang=de"} {
		resp, body := get(t, c, h.url+path)
		n := 0
		for _, ck := range resp.Cookies() {
			if ck.Name == "jitsi_gate_lang" && ck.Value == "de" {
				n++
			}
		}
		if n != 1 || !strings.Contains(body, `lang="de"`) {
			t.Errorf("%s: %d language cookies, want 1 (German page: %v)", path, n, strings.Contains(body, `lang="de"`))
		}
	}
}
