package sso

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

const (
	jwtSecret   = "sso-test-jwt-secret-0123456789abcdef0123"
	redirectURI = "https://meet.example.com/static/sso.html"
	verifier    = "a-random-64-character-pkce-verifier-0123456789-abcdefghijklmnopq"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// directory plays an LDAP directory whose groups the test changes.
type directory struct {
	mu     sync.Mutex
	groups map[string][]string
}

func (d *directory) Refresh(_ context.Context, id auth.Identity) (auth.Identity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.groups[id.Subject]
	if !ok {
		return auth.Identity{}, auth.ErrInvalidCredentials
	}
	id.Groups = g
	return id, nil
}

func (d *directory) set(user string, groups ...string) {
	d.mu.Lock()
	d.groups[user] = groups
	d.mu.Unlock()
}

// countingGrants counts the refresh tokens created: one is created exactly
// when a Jitsi token is minted.
type countingGrants struct {
	*store.Store
	mu      sync.Mutex
	refresh int
}

func (c *countingGrants) CreateSSOGrant(ctx context.Context, g store.SSOGrant) (store.SSOGrant, error) {
	if g.Kind == store.SSORefresh {
		c.mu.Lock()
		c.refresh++
		c.mu.Unlock()
	}
	return c.Store.CreateSSOGrant(ctx, g)
}

func (c *countingGrants) minted() int { c.mu.Lock(); defer c.mu.Unlock(); return c.refresh }

type fixture struct {
	srv    *Server
	clock  *clock
	dir    *directory
	logins *signin.Keeper
	grants *countingGrants
	tina   Login
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	st, err := store.Open(ctx, store.Config{Driver: store.DriverSQLite, Path: filepath.Join(t.TempDir(), "s.db"), Now: clk.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := &directory{groups: map[string][]string{"tina": {"teachers"}}}
	logins, err := signin.New(signin.Options{Records: st, Refreshers: map[string]auth.Refresher{"ldap": dir},
		RefreshGroups: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Compile([]policy.Rule{
		{Name: "teachers", Groups: []string{"teachers"}, Role: policy.Owner},
		{Name: "students", Groups: []string{"students"}, Role: policy.Member},
	})
	if err != nil {
		t.Fatal(err)
	}
	granter, err := grant.New(pol, grant.Settings{Issuer: "gate", Audience: "gate", XMPPDomain: "meet.jitsi", TokenLifetime: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewHS256([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	grants := &countingGrants{Store: st}
	srv, err := New(Options{
		Issuer: "https://meet.example.com/_auth/sso", Secret: []byte("session-secret-0123456789abcdef0123456789"),
		Clients: []Client{{ID: "jitsi", RedirectURIs: []string{redirectURI}}, {ID: "other", RedirectURIs: []string{"https://meet.example.com/other.html"}}},
		Grants:  grants, Logins: logins, Granter: granter, Signer: signer,
		Jitsi: &target.Jitsi{URL: &url.URL{Scheme: "https", Host: "meet.example.com"}},
		Now:   clk.Now, RefreshLifetime: 8 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := auth.Identity{Backend: "ldap", Subject: "tina", Username: "tina", Name: "Tina", Groups: []string{"teachers"}}
	sid, err := logins.Start(ctx, id, clk.Now().Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, clock: clk, dir: dir, logins: logins, grants: grants, tina: Login{ID: sid, Identity: id}}
}

func authorizeQuery(state string) url.Values {
	return url.Values{"client_id": {"jitsi"}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {redirectURI}, "state": {state}, "code_challenge": {challengeOf(verifier)},
		"code_challenge_method": {"S256"}, "nonce": {"nonce-123"}}
}

const mathState = `{"room":"Mathe","roomSafe":"mathe","config.startWithAudioMuted":true}`

// code runs an authorize request for tina and returns the code.
func (f *fixture) code(t *testing.T, q url.Values) string {
	t.Helper()
	req, aerr := f.srv.ParseAuthorize(q)
	if aerr != nil {
		t.Fatalf("ParseAuthorize: %v", aerr)
	}
	loc, err := url.Parse(f.srv.Authorize(context.Background(), req, f.tina))
	if err != nil {
		t.Fatal(err)
	}
	got := loc.Query()
	if loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || got.Get("code") == "" {
		t.Fatalf("authorize redirected to %s, want %s with a code", loc, redirectURI)
	}
	if got.Get("state") != q.Get("state") {
		t.Fatalf("state not echoed byte for byte: %q, want %q", got.Get("state"), q.Get("state"))
	}
	return got.Get("code")
}

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"client_id": {"jitsi"}, "code_verifier": {verifier}}
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"jitsi"}}
}

// verified checks the access token as Prosody would, for room mathe.
func (f *fixture) verified(t *testing.T, jwt string) *jitsiverify.Verified {
	t.Helper()
	cfg := &jitsiverify.Config{AppID: "gate", AppSecret: jwtSecret, AcceptedAudiences: []string{"gate"},
		EnableDomainVerification: true, XMPPDomain: "meet.jitsi", Now: f.clock.Now}
	v, err := cfg.Verify(context.Background(), jwt)
	if err != nil {
		t.Fatalf("access token refused: %v", err)
	}
	if err := v.CheckRoom("mathe", ""); err != nil {
		t.Fatalf("access token for the wrong room: %v", err)
	}
	return v
}

func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCodeExchangeAndRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	is, terr := f.srv.Token(ctx, codeForm(f.code(t, authorizeQuery(mathState))))
	if terr != nil {
		t.Fatalf("code exchange: %v", terr)
	}
	r := is.Response
	if !f.verified(t, r.AccessToken).Owner() || r.TokenType != "Bearer" || r.ExpiresIn != 3600 || r.RefreshToken == "" {
		t.Fatalf("answer %+v: want an owner token for an hour with a refresh token", r)
	}
	idt := payload(t, r.IDToken)
	if idt["nonce"] != "nonce-123" || idt["aud"] != "jitsi" || idt["sub"] != "ldap:tina" || idt["iss"] != "https://meet.example.com/_auth/sso" {
		t.Errorf("id_token claims %v", idt)
	}
	// The id_token is no Jitsi token, whatever Prosody trusts.
	cfg := &jitsiverify.Config{AppID: "gate", AppSecret: jwtSecret, AcceptedAudiences: []string{"gate", "jitsi"}}
	if _, err := cfg.Verify(ctx, r.IDToken); err == nil {
		t.Error("the id_token verifies as a Jitsi token")
	}

	f.clock.add(30 * time.Minute)
	is2, terr := f.srv.Token(ctx, refreshForm(r.RefreshToken))
	if terr != nil {
		t.Fatalf("refresh: %v", terr)
	}
	if !f.verified(t, is2.Response.AccessToken).Owner() || is2.Response.RefreshToken == r.RefreshToken {
		t.Fatalf("refresh answer %+v: want a new owner token and a rotated refresh token", is2.Response)
	}
	// The rotated-out token is refused, and its replay ends the family.
	if _, terr := f.srv.Token(ctx, refreshForm(r.RefreshToken)); terr == nil || terr.Code != "invalid_grant" {
		t.Fatalf("old refresh token: %v, want invalid_grant", terr)
	}
	if _, terr := f.srv.Token(ctx, refreshForm(is2.Response.RefreshToken)); terr == nil || terr.Code != "invalid_grant" {
		t.Fatalf("refresh token of a replayed family: %v, want invalid_grant", terr)
	}
}

// TestTokenRefusals: each bad request is refused with its error and
// nothing is minted.
func TestTokenRefusals(t *testing.T) {
	tests := []struct {
		name   string
		form   func(t *testing.T, f *fixture) url.Values
		code   string
		status int
	}{
		{"wrong verifier", func(t *testing.T, f *fixture) url.Values {
			q := codeForm(f.code(t, authorizeQuery(mathState)))
			q.Set("code_verifier", strings.Repeat("x", 64))
			return q
		}, "invalid_grant", 400},
		{"verifier too short to be one", func(t *testing.T, f *fixture) url.Values {
			q := codeForm(f.code(t, authorizeQuery(mathState)))
			q.Set("code_verifier", "short")
			return q
		}, "invalid_grant", 400},
		{"reused code", func(t *testing.T, f *fixture) url.Values {
			code := f.code(t, authorizeQuery(mathState))
			if _, terr := f.srv.Token(context.Background(), codeForm(code)); terr != nil {
				t.Fatal(terr)
			}
			f.grants.refresh = 0
			return codeForm(code)
		}, "invalid_grant", 400},
		{"expired code", func(t *testing.T, f *fixture) url.Values {
			code := f.code(t, authorizeQuery(mathState))
			f.clock.add(DefaultCodeLifetime + time.Second)
			return codeForm(code)
		}, "invalid_grant", 400},
		{"other redirect_uri", func(t *testing.T, f *fixture) url.Values {
			q := codeForm(f.code(t, authorizeQuery(mathState)))
			q.Set("redirect_uri", "https://meet.example.com/other.html")
			return q
		}, "invalid_grant", 400},
		{"other client_id", func(t *testing.T, f *fixture) url.Values {
			q := codeForm(f.code(t, authorizeQuery(mathState)))
			q.Set("client_id", "other")
			return q
		}, "invalid_grant", 400},
		{"unknown client_id", func(t *testing.T, f *fixture) url.Values {
			q := codeForm(f.code(t, authorizeQuery(mathState)))
			q.Set("client_id", "evil")
			return q
		}, "invalid_client", 401},
		{"unknown code", func(t *testing.T, f *fixture) url.Values { return codeForm("no-such-code") }, "invalid_grant", 400},
		{"no grant_type", func(t *testing.T, f *fixture) url.Values { return url.Values{"client_id": {"jitsi"}} }, "invalid_request", 400},
		{"password grant", func(t *testing.T, f *fixture) url.Values {
			return url.Values{"client_id": {"jitsi"}, "grant_type": {"password"}}
		}, "unsupported_grant_type", 400},
		{"tampered refresh token", func(t *testing.T, f *fixture) url.Values {
			rt := f.refreshToken(t)
			b := []byte(rt)
			b[5] ^= 1
			return refreshForm(string(b))
		}, "invalid_grant", 400},
		{"refresh token of another client", func(t *testing.T, f *fixture) url.Values {
			q := refreshForm(f.refreshToken(t))
			q.Set("client_id", "other")
			return q
		}, "invalid_grant", 400},
		{"code used as refresh token", func(t *testing.T, f *fixture) url.Values {
			return refreshForm(f.code(t, authorizeQuery(mathState)))
		}, "invalid_grant", 400},
		{"refresh after logout", func(t *testing.T, f *fixture) url.Values {
			rt := f.refreshToken(t)
			if err := f.logins.End(context.Background(), f.tina.ID); err != nil {
				t.Fatal(err)
			}
			if err := f.srv.EndLogin(context.Background(), f.tina.ID); err != nil {
				t.Fatal(err)
			}
			return refreshForm(rt)
		}, "invalid_grant", 400},
		{"refresh after the login ended elsewhere", func(t *testing.T, f *fixture) url.Values {
			rt := f.refreshToken(t)
			// The gateway's own logout ends the record only.
			if err := f.logins.End(context.Background(), f.tina.ID); err != nil {
				t.Fatal(err)
			}
			return refreshForm(rt)
		}, "invalid_grant", 400},
		{"refresh after the account was disabled", func(t *testing.T, f *fixture) url.Values {
			rt := f.refreshToken(t)
			f.dir.mu.Lock()
			delete(f.dir.groups, "tina")
			f.dir.mu.Unlock()
			f.clock.add(2 * time.Minute)
			return refreshForm(rt)
		}, "invalid_grant", 400},
		{"refresh after the user left every group", func(t *testing.T, f *fixture) url.Values {
			rt := f.refreshToken(t)
			f.dir.set("tina", "parents")
			f.clock.add(2 * time.Minute)
			return refreshForm(rt)
		}, "invalid_grant", 400},
		{"expired refresh token", func(t *testing.T, f *fixture) url.Values {
			rt := f.refreshToken(t)
			f.clock.add(8*time.Hour + time.Second)
			return refreshForm(rt)
		}, "invalid_grant", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			form := tt.form(t, f)
			before := f.grants.minted()
			is, terr := f.srv.Token(context.Background(), form)
			if terr == nil {
				t.Fatalf("accepted: %+v", is.Response)
			}
			if terr.Code != tt.code || terr.Status != tt.status {
				t.Errorf("error %s (%d) %q, want %s (%d)", terr.Code, terr.Status, terr.Description, tt.code, tt.status)
			}
			if is.Response.AccessToken != "" || f.grants.minted() != before {
				t.Errorf("something was minted: %+v, %d refresh tokens", is.Response, f.grants.minted()-before)
			}
		})
	}
}

// refreshToken signs tina in through a code and returns the refresh token.
func (f *fixture) refreshToken(t *testing.T) string {
	t.Helper()
	is, terr := f.srv.Token(context.Background(), codeForm(f.code(t, authorizeQuery(mathState))))
	if terr != nil {
		t.Fatal(terr)
	}
	return is.Response.RefreshToken
}

// TestRefreshFollowsGroups: a refresh evaluates the rules with the groups
// the directory reports now.
func TestRefreshFollowsGroups(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rt := f.refreshToken(t)
	f.dir.set("tina", "students")
	f.clock.add(2 * time.Minute)
	is, terr := f.srv.Token(ctx, refreshForm(rt))
	if terr != nil {
		t.Fatalf("refresh: %v", terr)
	}
	if v := f.verified(t, is.Response.AccessToken); v.Owner() {
		t.Fatalf("still owner after leaving teachers: %v", v.User)
	}
	f.dir.set("tina")
	f.clock.add(2 * time.Minute)
	if _, terr := f.srv.Token(ctx, refreshForm(is.Response.RefreshToken)); terr == nil || terr.Code != "invalid_grant" {
		t.Fatalf("refresh without a group: %v, want invalid_grant", terr)
	}
	// The refusal ended the family: the rights coming back do not revive it.
	f.dir.set("tina", "teachers")
	f.clock.add(2 * time.Minute)
	if _, terr := f.srv.Token(ctx, refreshForm(is.Response.RefreshToken)); terr == nil {
		t.Fatal("a refused refresh token works again")
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		mutate   func(q url.Values)
		page     bool // no redirect: an error page
		code     string
		hasState bool
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "evil") }, true, "unauthorized_client", false},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/sso.html") }, true, "invalid_request", false},
		{"redirect_uri with a suffix", func(q url.Values) { q.Set("redirect_uri", redirectURI+"?x") }, true, "invalid_request", false},
		{"missing state", func(q url.Values) { q.Del("state") }, false, "invalid_request", false},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, false, "unsupported_response_type", true},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, false, "invalid_request", true},
		{"missing challenge", func(q url.Values) { q.Del("code_challenge") }, false, "invalid_request", true},
		{"missing nonce", func(q url.Values) { q.Del("nonce") }, false, "invalid_request", true},
		{"state without room", func(q url.Values) { q.Set("state", `{"tenant":""}`) }, false, "invalid_request", true},
		{"state not JSON", func(q url.Values) { q.Set("state", `room=x`) }, false, "invalid_request", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authorizeQuery(mathState)
			tt.mutate(q)
			_, aerr := f.srv.ParseAuthorize(q)
			if aerr == nil {
				t.Fatal("accepted")
			}
			if aerr.Code != tt.code {
				t.Errorf("code %s (%s), want %s", aerr.Code, aerr.Description, tt.code)
			}
			if tt.page {
				if aerr.RedirectURL() != "" {
					t.Errorf("redirects to %s, want an error page", aerr.RedirectURL())
				}
				return
			}
			u, err := url.Parse(aerr.RedirectURL())
			if err != nil || u.Scheme+"://"+u.Host+u.Path != redirectURI {
				t.Fatalf("redirect %q, want to %s", aerr.RedirectURL(), redirectURI)
			}
			back := u.Query()
			if back.Get("error") != tt.code || back.Get("error_description") == "" || back.Has("state") != tt.hasState ||
				back.Get("state") != q.Get("state") || back.Has("code") {
				t.Errorf("redirect query %v", back)
			}
		})
	}
}

// TestAuthorizeDenied: a user the rules do not admit gets access_denied
// back in the popup, and no code.
func TestAuthorizeDenied(t *testing.T) {
	f := newFixture(t)
	req, aerr := f.srv.ParseAuthorize(authorizeQuery(mathState))
	if aerr != nil {
		t.Fatal(aerr)
	}
	parent := f.tina
	parent.Identity.Groups = []string{"parents"}
	u, _ := url.Parse(f.srv.Authorize(context.Background(), req, parent))
	if q := u.Query(); q.Get("error") != "access_denied" || q.Has("code") || q.Get("state") != mathState {
		t.Errorf("denied user redirected with %v", q)
	}
}

// TestRefreshRoundRebinds: in a refresh round the popup's (new) login
// takes over the refresh token, so a token of an ended login works again
// after the user signed in anew.
func TestRefreshRoundRebinds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rt := f.refreshToken(t)
	if err := f.logins.End(ctx, f.tina.ID); err != nil {
		t.Fatal(err)
	}
	sid, err := f.logins.Start(ctx, f.tina.Identity, f.clock.Now().Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f.tina.ID = sid
	state, _ := json.Marshal(map[string]any{"room": "Mathe", "roomSafe": "mathe", "refreshToken": rt})
	f.code(t, authorizeQuery(string(state)))
	if _, terr := f.srv.Token(ctx, refreshForm(rt)); terr != nil {
		t.Fatalf("refresh after a new sign-in in the popup: %v", terr)
	}
}

func TestLogoutHintAndRedirect(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	is, terr := f.srv.Token(ctx, codeForm(f.code(t, authorizeQuery(mathState))))
	if terr != nil {
		t.Fatal(terr)
	}
	forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://meet.example.com/_auth/sso",
		"sid": loginHash(f.tina.ID)})
	forgedHint, _ := forged.SignedString([]byte(jwtSecret))
	if err := f.srv.EndHint(ctx, forgedHint); err == nil {
		t.Error("a hint signed with another key was accepted")
	}
	f.clock.add(2 * time.Hour) // an expired id_token still names the login
	if err := f.srv.EndHint(ctx, is.Response.IDToken); err != nil {
		t.Fatalf("EndHint: %v", err)
	}
	if _, terr := f.srv.Token(ctx, refreshForm(is.Response.RefreshToken)); terr == nil || terr.Code != "invalid_grant" {
		t.Errorf("refresh after logout by hint: %v, want invalid_grant", terr)
	}

	for _, tt := range []struct{ client, post, want string }{
		{"", "", "https://meet.example.com/static/logout.html"},
		{"jitsi", "https://meet.example.com/static/logout.html", "https://meet.example.com/static/logout.html"},
		{"jitsi", "https://evil.example/static/logout.html", ""},
		{"jitsi", "https://meet.example.com/static/logout.html?x", ""},
		{"evil", "", ""},
	} {
		got, err := f.srv.LogoutRedirect(tt.client, tt.post)
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("LogoutRedirect(%q, %q) = %q, %v; want %q", tt.client, tt.post, got, err, tt.want)
		}
	}
}

// TestLogoutPage: the logout page beside a redirect URI, as jitsi-config
// writes it into tokenLogoutUrl and LogoutRedirect accepts it.
func TestLogoutPage(t *testing.T) {
	for in, want := range map[string]string{
		"https://meet.example.com/static/sso.html":          "https://meet.example.com/static/logout.html",
		"https://meet.example.com/st%61tic/sso.html":        "https://meet.example.com/static/logout.html",
		"https://meet.example.com/school-a/static/sso.html": "https://meet.example.com/school-a/static/logout.html",
	} {
		if got, ok := LogoutPage(in); !ok || got != want {
			t.Errorf("LogoutPage(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
