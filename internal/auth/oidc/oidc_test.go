package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc/oidctest"
)

const testRedirect = "http://127.0.0.1:18080/callback/oidc"

func testConfig(p *oidctest.Provider) Config {
	return Config{
		ID:            "oidc",
		Label:         "School login",
		Issuer:        p.Issuer(),
		ClientID:      oidctest.ClientID,
		ClientSecret:  oidctest.ClientSecret,
		RedirectURL:   testRedirect,
		GroupsClaims:  []string{"groups"},
		RetryInterval: 10 * time.Millisecond,
	}
}

func newAuth(t *testing.T, cfg Config) *Authenticator {
	t.Helper()
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// flow is one started login as the web layer would keep it.
type flow struct {
	state, nonce, verifier string
	authURL                string
}

func startFlow(t *testing.T, a *Authenticator) flow {
	t.Helper()
	f := flow{state: "state-" + oauth2.GenerateVerifier()[:8], nonce: "nonce-" + oauth2.GenerateVerifier()[:8], verifier: oauth2.GenerateVerifier()}
	u, err := a.AuthCodeURL(context.Background(), f.state, f.nonce, f.verifier)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	f.authURL = u
	return f
}

// code sends the browser to the provider and returns the code it got back.
func code(t *testing.T, p *oidctest.Provider, f flow) string {
	t.Helper()
	cb := p.Authorize(t, f.authURL)
	if got := cb.Query().Get("state"); got != f.state {
		t.Fatalf("callback state = %q, want %q", got, f.state)
	}
	c := cb.Query().Get("code")
	if c == "" {
		t.Fatalf("callback without code: %s", cb)
	}
	return c
}

// login runs a whole login and returns what Exchange returned.
func login(t *testing.T, a *Authenticator, p *oidctest.Provider) (auth.Identity, string, error) {
	t.Helper()
	f := startFlow(t, a)
	return a.Exchange(context.Background(), code(t, p, f), f.verifier, f.nonce)
}

// mustFail checks that a failed login produced no identity at all.
func mustFail(t *testing.T, id auth.Identity, hint string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("login succeeded with %+v, want an error", id)
	}
	if !reflect.DeepEqual(id, auth.Identity{}) || hint != "" {
		t.Fatalf("failed login returned identity %+v, hint %q", id, hint)
	}
}

func TestLoginCodeFlowWithPKCE(t *testing.T) {
	tests := []struct {
		name           string
		clientID       string
		secret         string
		wantClientAuth string
	}{
		{"confidential client", oidctest.ClientID, oidctest.ClientSecret, "basic"},
		{"public client", oidctest.PublicClientID, "", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			p.SetClaims(map[string]any{
				"sub": "u-42", "name": "Ada Lovelace", "preferred_username": "ada",
				"email": "ada@example.org", "groups": []string{"teachers", "staff"},
			})
			cfg := testConfig(p)
			cfg.ClientID, cfg.ClientSecret = tt.clientID, tt.secret
			a := newAuth(t, cfg)

			f := startFlow(t, a)
			id, hint, err := a.Exchange(context.Background(), code(t, p, f), f.verifier, f.nonce)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			want := auth.Identity{
				Backend: "oidc", Subject: "u-42", Username: "ada", Name: "Ada Lovelace",
				Email: "ada@example.org", Groups: []string{"teachers", "staff"},
			}
			if !reflect.DeepEqual(id, want) {
				t.Errorf("identity = %+v\nwant       %+v", id, want)
			}
			if strings.Count(hint, ".") != 2 {
				t.Errorf("logout hint %q is not a compact JWT", hint)
			}

			reqs := p.AuthRequests()
			if len(reqs) != 1 {
				t.Fatalf("provider saw %d authorization requests, want 1", len(reqs))
			}
			r := reqs[0]
			checks := []struct{ name, got, want string }{
				{"client_id", r.ClientID, tt.clientID},
				{"redirect_uri", r.RedirectURI, testRedirect},
				{"response_type", r.ResponseType, "code"},
				{"scope", r.Scope, "openid profile email"},
				{"state", r.State, f.state},
				{"nonce", r.Nonce, f.nonce},
				{"code_challenge_method", r.CodeChallengeMethod, "S256"},
				{"code_challenge", r.CodeChallenge, oauth2.S256ChallengeFromVerifier(f.verifier)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("authorization request %s = %q, want %q", c.name, c.got, c.want)
				}
			}
			toks := p.TokenRequests()
			if len(toks) != 1 {
				t.Fatalf("provider saw %d token requests, want 1", len(toks))
			}
			if tr := toks[0]; !tr.PKCEVerified || tr.CodeVerifier != f.verifier || tr.ClientAuth != tt.wantClientAuth || tr.Error != "" {
				t.Errorf("token request = %+v, want PKCE verified with %s client auth", tr, tt.wantClientAuth)
			}
		})
	}
}

func TestAuthCodeURLParams(t *testing.T) {
	p := oidctest.New(t)
	cfg := testConfig(p)
	cfg.Scopes = []string{"profile", "groups"}
	cfg.AuthParams = map[string]string{"kc_idp_hint": "school-ldap", "prompt": "login", "acr_values": "mfa"}
	a := newAuth(t, cfg)

	f := startFlow(t, a)
	u, err := url.Parse(f.authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"kc_idp_hint": "school-ldap", "prompt": "login", "acr_values": "mfa",
		"scope": "openid profile groups", "client_id": oidctest.ClientID,
		"state": f.state, "nonce": f.nonce, "code_challenge_method": "S256",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("param %s = %q, want %q", k, got, v)
		}
	}

	for _, args := range [][3]string{{"", "n", "v"}, {"s", "", "v"}, {"s", "n", ""}} {
		if _, err := a.AuthCodeURL(context.Background(), args[0], args[1], args[2]); err == nil {
			t.Errorf("AuthCodeURL(%q, %q, %q) succeeded, want error", args[0], args[1], args[2])
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := Config{ID: "oidc", Issuer: "https://idp.example.org/realms/school", ClientID: "gate", RedirectURL: "https://gate.example.org/callback/oidc"}
	if _, err := New(good, nil); err != nil {
		t.Fatalf("New(good): %v", err)
	}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"no id", func(c *Config) { c.ID = "" }, "missing id"},
		{"no issuer", func(c *Config) { c.Issuer = "" }, "issuer: missing"},
		{"relative issuer", func(c *Config) { c.Issuer = "idp.example.org" }, "issuer:"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "missing client_id"},
		{"no redirect", func(c *Config) { c.RedirectURL = "" }, "redirect URL: missing"},
		{"override state", func(c *Config) { c.AuthParams = map[string]string{"state": "x"} }, `auth param "state"`},
		{"override redirect_uri", func(c *Config) { c.AuthParams = map[string]string{"Redirect_URI": "x"} }, `auth param "Redirect_URI"`},
		{"override code_challenge_method", func(c *Config) { c.AuthParams = map[string]string{"code_challenge_method": "plain"} }, "code_challenge_method"},
		{"request object", func(c *Config) { c.AuthParams = map[string]string{"request_uri": "x"} }, "request_uri"},
		{"empty groups path", func(c *Config) { c.GroupsClaims = []string{"groups", ""} }, "invalid groups claim path"},
		{"empty path segment", func(c *Config) { c.GroupsClaims = []string{"realm_access..roles"} }, "invalid groups claim path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			a, err := New(cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, %v; want error containing %q", a, err, tt.wantErr)
			}
		})
	}
}

func TestClaimMapping(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"sub": "s-1", "name": "N", "preferred_username": "u", "email": "e@example.org"}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		cfg     func(*Config)
		claims  map[string]any
		want    auth.Identity // Backend is filled in
		wantErr string
	}{
		{
			name:   "groups list",
			claims: base(map[string]any{"groups": []string{"teachers", "staff"}}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org", Groups: []string{"teachers", "staff"}},
		},
		{
			name:   "groups single string",
			claims: base(map[string]any{"groups": "teachers"}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org", Groups: []string{"teachers"}},
		},
		{
			name:   "groups objects with name",
			claims: base(map[string]any{"groups": []any{map[string]any{"name": "teachers", "id": 7}, map[string]any{"name": "staff"}}}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org", Groups: []string{"teachers", "staff"}},
		},
		{
			name:   "realm_access.roles",
			cfg:    func(c *Config) { c.GroupsClaims = []string{"realm_access.roles"} },
			claims: base(map[string]any{"realm_access": map[string]any{"roles": []string{"moderator", "offline_access"}}}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org", Groups: []string{"moderator", "offline_access"}},
		},
		{
			name: "client roles with dash merged with groups and realm roles, deduplicated",
			cfg: func(c *Config) {
				c.GroupsClaims = []string{"groups", "resource_access.jitsi-gate.roles", "realm_access.roles"}
			},
			claims: base(map[string]any{
				"groups":          []string{"teachers"},
				"resource_access": map[string]any{"jitsi-gate": map[string]any{"roles": []string{"owner", "teachers"}}, "other": map[string]any{"roles": []string{"x"}}},
				"realm_access":    map[string]any{"roles": []string{"owner", "staff"}},
			}),
			want: auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org", Groups: []string{"teachers", "owner", "staff"}},
		},
		{
			name:   "keycloak full group paths",
			claims: base(map[string]any{"groups": []string{"/school/teachers", "/staff", "plain", "/"}}),
			want: auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org",
				Groups: []string{"/school/teachers", "school/teachers", "teachers", "/staff", "staff", "plain"}},
		},
		{
			name:   "keycloak deep path keeps only the last segment as plain name",
			claims: base(map[string]any{"groups": "/a/b/c"}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org", Groups: []string{"/a/b/c", "a/b/c", "c"}},
		},
		{
			name:   "namespaced claim name containing dots",
			cfg:    func(c *Config) { c.GroupsClaims = []string{"https://example.org/groups"} },
			claims: base(map[string]any{"https://example.org/groups": []string{"teachers"}}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org", Groups: []string{"teachers"}},
		},
		{
			name:   "missing groups claim means no groups",
			cfg:    func(c *Config) { c.GroupsClaims = []string{"groups", "realm_access.roles"} },
			claims: base(map[string]any{"realm_access": map[string]any{"other": 1}}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org"},
		},
		{
			name:   "null groups claim means no groups",
			claims: base(map[string]any{"groups": []any(nil)}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org"},
		},
		{
			name:    "groups claim is a number",
			claims:  base(map[string]any{"groups": 5}),
			wantErr: `groups claim "groups" is a number`,
		},
		{
			name:    "groups claim is an object",
			cfg:     func(c *Config) { c.GroupsClaims = []string{"realm_access"} },
			claims:  base(map[string]any{"realm_access": map[string]any{"roles": []string{"a"}}}),
			wantErr: `groups claim "realm_access" is an object`,
		},
		{
			name:    "groups list with a number",
			claims:  base(map[string]any{"groups": []any{"a", 3}}),
			wantErr: `groups claim "groups": element 1 is a number`,
		},
		{
			name:    "groups objects without name",
			claims:  base(map[string]any{"groups": []any{map[string]any{"id": "x"}}}),
			wantErr: `groups claim "groups": element 0 is an object without a string "name"`,
		},
		{
			name:   "name falls back to preferred_username",
			claims: base(map[string]any{"name": nil}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "u", Email: "e@example.org"},
		},
		{
			name:   "username falls back to a verified email",
			claims: base(map[string]any{"name": nil, "preferred_username": nil, "email_verified": true}),
			want:   auth.Identity{Subject: "s-1", Username: "e@example.org", Name: "e@example.org", Email: "e@example.org"},
		},
		{
			name:   "email_verified as the string true (Cognito)",
			claims: base(map[string]any{"preferred_username": nil, "email_verified": "true"}),
			want:   auth.Identity{Subject: "s-1", Username: "e@example.org", Name: "N", Email: "e@example.org"},
		},
		{
			name:   "unverified email is never the username",
			claims: base(map[string]any{"name": nil, "preferred_username": nil, "email_verified": false}),
			want:   auth.Identity{Subject: "s-1", Username: "s-1", Name: "e@example.org", Email: "e@example.org"},
		},
		{
			name:   "email without email_verified is never the username",
			claims: base(map[string]any{"preferred_username": nil}),
			want:   auth.Identity{Subject: "s-1", Username: "s-1", Name: "N", Email: "e@example.org"},
		},
		{
			name:   "email_verified of an odd type counts as unverified",
			claims: base(map[string]any{"preferred_username": nil, "email_verified": 1}),
			want:   auth.Identity{Subject: "s-1", Username: "s-1", Name: "N", Email: "e@example.org"},
		},
		{
			name:   "preferred_username wins over a verified email",
			claims: base(map[string]any{"email_verified": true}),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "N", Email: "e@example.org"},
		},
		{
			name:   "everything falls back to sub",
			claims: map[string]any{"sub": "s-1"},
			want:   auth.Identity{Subject: "s-1", Username: "s-1", Name: "s-1"},
		},
		{
			name: "custom id, name and email claims",
			cfg: func(c *Config) {
				c.IDClaim, c.NameClaim, c.EmailClaim = "oid", "given_name", "upn"
			},
			claims: base(map[string]any{"oid": "0000-1111", "given_name": "Ada", "upn": "ada@school.example"}),
			want:   auth.Identity{Subject: "0000-1111", Username: "u", Name: "Ada", Email: "ada@school.example"},
		},
		{
			name:   "configured name claim missing falls back",
			cfg:    func(c *Config) { c.NameClaim = "display_name" },
			claims: base(nil),
			want:   auth.Identity{Subject: "s-1", Username: "u", Name: "u", Email: "e@example.org"},
		},
		{
			name:   "nested id claim and numeric value",
			cfg:    func(c *Config) { c.IDClaim = "ext.uid" },
			claims: base(map[string]any{"ext": map[string]any{"uid": 12345678901234567}}),
			want:   auth.Identity{Subject: "12345678901234567", Username: "u", Name: "N", Email: "e@example.org"},
		},
		{
			name:    "configured id claim missing",
			cfg:     func(c *Config) { c.IDClaim = "oid" },
			claims:  base(nil),
			wantErr: `id claim "oid" is missing`,
		},
		{
			name:    "name claim of the wrong type",
			claims:  base(map[string]any{"name": []string{"a"}}),
			wantErr: `claim "name" is a list`,
		},
		{
			name:    "email claim of the wrong type",
			claims:  base(map[string]any{"email": true}),
			wantErr: `claim "email" is a boolean`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			p.SetClaims(tt.claims)
			cfg := testConfig(p)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			a := newAuth(t, cfg)
			id, hint, err := login(t, a, p)
			if tt.wantErr != "" {
				mustFail(t, id, hint, err)
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			tt.want.Backend = "oidc"
			if !reflect.DeepEqual(id, tt.want) {
				t.Errorf("identity = %+v\nwant       %+v", id, tt.want)
			}
		})
	}
}

func TestUserInfo(t *testing.T) {
	tests := []struct {
		name       string
		userinfo   map[string]any
		wantGroups []string
		wantName   string
		wantErr    string
	}{
		{
			name:       "groups and name only in userinfo are merged",
			userinfo:   map[string]any{"groups": []string{"teachers"}, "name": "From Userinfo"},
			wantGroups: []string{"teachers"},
			wantName:   "From Userinfo",
		},
		{
			name:     "userinfo of another subject is refused",
			userinfo: map[string]any{"sub": "someone-else", "groups": []string{"admins"}},
			wantErr:  `userinfo subject "someone-else" differs`,
		},
		{
			name:     "userinfo with a bad groups claim",
			userinfo: map[string]any{"groups": 1},
			wantErr:  `groups claim "groups" is a number`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			p.SetClaims(map[string]any{"sub": "s-1", "preferred_username": "u"})
			p.SetUserInfoClaims(tt.userinfo)
			cfg := testConfig(p)
			cfg.UserInfo = true
			a := newAuth(t, cfg)
			id, hint, err := login(t, a, p)
			if tt.wantErr != "" {
				mustFail(t, id, hint, err)
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id.Subject != "s-1" || id.Name != tt.wantName || !slices.Equal(id.Groups, tt.wantGroups) {
				t.Errorf("identity = %+v, want name %q groups %q", id, tt.wantName, tt.wantGroups)
			}
			if n := p.Hits(oidctest.PathUserInfo); n != 1 {
				t.Errorf("userinfo hits = %d, want 1", n)
			}
		})
	}

	t.Run("not asked when disabled", func(t *testing.T) {
		p := oidctest.New(t)
		p.SetUserInfoClaims(map[string]any{"groups": []string{"teachers"}})
		a := newAuth(t, testConfig(p))
		id, _, err := login(t, a, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(id.Groups) != 0 || p.Hits(oidctest.PathUserInfo) != 0 {
			t.Errorf("groups = %q, userinfo hits = %d; want none", id.Groups, p.Hits(oidctest.PathUserInfo))
		}
	})
}

func TestExchangeRejectsBadTokens(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(p *oidctest.Provider)
		wantErr string
	}{
		{"wrong nonce", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { c["nonce"] = "attacker-nonce" })
		}, "nonce does not match"},
		{"missing nonce", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { delete(c, "nonce") })
		}, "nonce does not match"},
		{"wrong audience", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { c["aud"] = "another-app" })
		}, "expected audience"},
		{"wrong issuer", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { c["iss"] = "https://evil.example" })
		}, "issued by a different provider"},
		{"expired", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })
		}, "token is expired"},
		{"not yet valid", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })
		}, "before the nbf"},
		{"signed by a key not in the JWKS", func(p *oidctest.Provider) {
			p.SetSignWithForeignKey(true)
		}, "failed to verify id token signature"},
		{"access token hash mismatch", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" })
		}, "access token hash"},
		{"no id_token in the token response", func(p *oidctest.Provider) {
			p.SetTokenResponseMutator(func(r map[string]any) { delete(r, "id_token") })
		}, "no id_token"},
		{"garbage id_token", func(p *oidctest.Provider) {
			p.SetTokenResponseMutator(func(r map[string]any) { r["id_token"] = "not.a.jwt" })
		}, "verify id token"},
		{"no sub", func(p *oidctest.Provider) {
			p.SetIDTokenMutator(func(c map[string]any) { delete(c, "sub") })
		}, `id claim "sub" is missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			tt.setup(p)
			a := newAuth(t, testConfig(p))
			id, hint, err := login(t, a, p)
			mustFail(t, id, hint, err)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrProvider) {
				t.Errorf("a bad token must not look like an outage or a provider refusal: %v", err)
			}
		})
	}
}

func TestExchangeFlowMismatch(t *testing.T) {
	p := oidctest.New(t)
	a := newAuth(t, testConfig(p))
	ctx := context.Background()

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		f := startFlow(t, a)
		id, hint, err := a.Exchange(ctx, code(t, p, f), oauth2.GenerateVerifier(), f.nonce)
		mustFail(t, id, hint, err)
		var pe *auth.ProviderError
		if !errors.As(err, &pe) || pe.Code != "invalid_grant" {
			t.Fatalf("error = %v, want ProviderError invalid_grant", err)
		}
	})
	t.Run("nonce of another flow", func(t *testing.T) {
		f, other := startFlow(t, a), startFlow(t, a)
		id, hint, err := a.Exchange(ctx, code(t, p, f), f.verifier, other.nonce)
		mustFail(t, id, hint, err)
	})
	t.Run("empty arguments", func(t *testing.T) {
		f := startFlow(t, a)
		c := code(t, p, f)
		for _, args := range [][3]string{{"", f.verifier, f.nonce}, {c, "", f.nonce}, {c, f.verifier, ""}} {
			id, hint, err := a.Exchange(ctx, args[0], args[1], args[2])
			mustFail(t, id, hint, err)
		}
	})
}

func TestReplayedCode(t *testing.T) {
	p := oidctest.New(t)
	a := newAuth(t, testConfig(p))
	f := startFlow(t, a)
	c := code(t, p, f)
	if _, _, err := a.Exchange(context.Background(), c, f.verifier, f.nonce); err != nil {
		t.Fatalf("first Exchange: %v", err)
	}
	id, hint, err := a.Exchange(context.Background(), c, f.verifier, f.nonce)
	mustFail(t, id, hint, err)
	var pe *auth.ProviderError
	if !errors.As(err, &pe) || pe.Code != "invalid_grant" || !errors.Is(err, auth.ErrProvider) {
		t.Fatalf("replayed code: error = %v, want ProviderError invalid_grant wrapping ErrProvider", err)
	}
	if pe.Description != "code already used" {
		t.Errorf("description = %q", pe.Description)
	}
}

func TestTokenEndpointFailures(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(p *oidctest.Provider)
		wantIs    error
		wantCode  string // ProviderError.Code when wantIs is ErrProvider
		wantInErr string
	}{
		{"provider answers 503", func(p *oidctest.Provider) { p.SetTokenError(http.StatusServiceUnavailable, "", "") },
			auth.ErrUnavailable, "", "503"},
		{"provider is down", func(p *oidctest.Provider) { p.Down() }, auth.ErrUnavailable, "", "503"},
		{"connection refused", func(p *oidctest.Provider) { p.Close() }, auth.ErrUnavailable, "", "connection refused"},
		{"invalid_client", func(p *oidctest.Provider) {
			p.SetTokenError(http.StatusUnauthorized, "invalid_client", "bad secret\x1b[31m")
		}, auth.ErrProvider, "invalid_client", "bad secret[31m"},
		{"server_error with code", func(p *oidctest.Provider) {
			p.SetTokenError(http.StatusInternalServerError, "temporarily_unavailable", "")
		}, auth.ErrProvider, "temporarily_unavailable", "temporarily_unavailable"},
		{"400 without error code", func(p *oidctest.Provider) { p.SetTokenError(http.StatusBadRequest, "", "") },
			nil, "", "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			a := newAuth(t, testConfig(p))
			f := startFlow(t, a)
			c := code(t, p, f)
			tt.setup(p)
			id, hint, err := a.Exchange(context.Background(), c, f.verifier, f.nonce)
			mustFail(t, id, hint, err)
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantInErr)
			}
			for _, sentinel := range []error{auth.ErrUnavailable, auth.ErrProvider} {
				if got, want := errors.Is(err, sentinel), sentinel == tt.wantIs; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, sentinel, got, want)
				}
			}
			var pe *auth.ProviderError
			if errors.As(err, &pe) && pe.Code != tt.wantCode {
				t.Errorf("ProviderError.Code = %q, want %q", pe.Code, tt.wantCode)
			}
		})
	}
}

func TestProviderDownAtStartThenUp(t *testing.T) {
	p := oidctest.New(t)
	p.Down()
	a := newAuth(t, testConfig(p)) // must not contact the provider
	if n := p.Hits(oidctest.PathDiscovery); n != 0 {
		t.Fatalf("New made %d discovery requests, want 0", n)
	}
	ctx := context.Background()

	err := a.Ready(ctx)
	if !errors.Is(err, auth.ErrUnavailable) || !strings.Contains(err.Error(), "discovery of "+p.Issuer()) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Ready = %v, want ErrUnavailable naming the issuer and the cause", err)
	}
	time.Sleep(20 * time.Millisecond) // past the first backoff, so calls below try again
	if _, err := a.AuthCodeURL(ctx, "s", "n", "v"); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("AuthCodeURL while down = %v, want ErrUnavailable", err)
	}
	id, hint, err := a.Exchange(ctx, "code", "verifier", "nonce")
	mustFail(t, id, hint, err)
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Exchange while down = %v, want ErrUnavailable", err)
	}
	if _, err := a.LogoutURL(ctx, "hint", "https://gate.example/"); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("LogoutURL while down = %v, want ErrUnavailable", err)
	}

	p.Up()
	deadline := time.Now().Add(5 * time.Second)
	for a.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still not ready after the provider came back: %v", a.Ready(ctx))
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, _, err := login(t, a, p)
	if err != nil || got.Subject != oidctest.DefaultSubject {
		t.Fatalf("login after recovery = %+v, %v", got, err)
	}
}

func TestUnavailableErrorIsOneShortLine(t *testing.T) {
	page := strings.Repeat("<html>\n<body>Bad Gateway</body>\n", 500)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, page, http.StatusBadGateway)
	}))
	defer srv.Close()
	a := newAuth(t, Config{ID: "oidc", Issuer: srv.URL, ClientID: "c", RedirectURL: testRedirect})
	err := a.Ready(context.Background())
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Ready = %v, want ErrUnavailable", err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") || len(msg) > 500 || !strings.Contains(msg, "502 Bad Gateway") {
		t.Errorf("error message is not one short line naming the status (%d bytes): %q", len(msg), msg)
	}
}

func TestDiscoveryIsSingleFlightAndBackedOff(t *testing.T) {
	p := oidctest.New(t)
	p.Down()
	cfg := testConfig(p)
	cfg.RetryInterval = time.Hour
	a := newAuth(t, cfg)

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := a.Ready(context.Background()); !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("Ready = %v, want ErrUnavailable", err)
			}
		})
	}
	wg.Wait()
	for range 5 {
		if _, err := a.AuthCodeURL(context.Background(), "s", "n", "v"); !errors.Is(err, auth.ErrUnavailable) {
			t.Fatalf("AuthCodeURL = %v", err)
		}
	}
	if n := p.Hits(oidctest.PathDiscovery); n != 1 {
		t.Fatalf("%d discovery requests during one backoff window, want 1", n)
	}

	// With a short interval, a later call tries again, and the interval grows.
	p2 := oidctest.New(t)
	p2.Down()
	cfg = testConfig(p2)
	cfg.RetryInterval = 200 * time.Millisecond
	a2 := newAuth(t, cfg)
	_ = a2.Ready(context.Background())
	_ = a2.Ready(context.Background())
	if n := p2.Hits(oidctest.PathDiscovery); n != 1 {
		t.Fatalf("immediate retry made %d requests, want 1", n)
	}
	time.Sleep(250 * time.Millisecond)
	_ = a2.Ready(context.Background())
	if n := p2.Hits(oidctest.PathDiscovery); n != 2 {
		t.Fatalf("retry after the interval made %d requests in total, want 2", n)
	}
	a2.mu.Lock()
	backoff := a2.backoff
	a2.mu.Unlock()
	if backoff != 400*time.Millisecond {
		t.Errorf("backoff after two failures = %v, want 400ms", backoff)
	}
}

func TestReadyWaitHonoursContext(t *testing.T) {
	// A provider that accepts the connection but never answers.
	hang := make(chan struct{})
	srv := newHangingServer(t, hang)
	cfg := Config{ID: "oidc", Issuer: srv, ClientID: "c", RedirectURL: testRedirect}
	a := newAuth(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.Ready(ctx)
	if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ready = %v, want ErrUnavailable wrapping the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Ready took %v despite a 50ms context", d)
	}
	close(hang)
}

func TestStartWarmsUpInTheBackground(t *testing.T) {
	p := oidctest.New(t)
	p.Down()
	a := newAuth(t, testConfig(p))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)

	waitFor(t, "background retries", func() bool { return p.Hits(oidctest.PathDiscovery) >= 2 })
	p.Up()
	waitFor(t, "background discovery", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.disc != nil
	})
	n := p.Hits(oidctest.PathDiscovery)
	time.Sleep(50 * time.Millisecond)
	if got := p.Hits(oidctest.PathDiscovery); got != n {
		t.Errorf("discovery requests went on after success: %d -> %d", n, got)
	}
	if err := a.Ready(ctx); err != nil {
		t.Errorf("Ready after warm-up: %v", err)
	}
}

func TestKeysAreCached(t *testing.T) {
	p := oidctest.New(t)
	a := newAuth(t, testConfig(p))
	const n = 5
	for i := range n {
		if _, _, err := login(t, a, p); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if got := p.Hits(oidctest.PathJWKS); got != 1 {
		t.Errorf("%d JWKS fetches for %d logins, want 1", got, n)
	}
	if got := p.Hits(oidctest.PathDiscovery); got != 1 {
		t.Errorf("%d discovery fetches for %d logins, want 1", got, n)
	}
	if got := p.Hits(oidctest.PathToken); got != n {
		t.Errorf("%d token requests, want %d", got, n)
	}
}

func TestLogoutURL(t *testing.T) {
	tests := []struct {
		name       string
		endSession bool
		hint       string
		redirect   string
		want       url.Values // nil: no logout URL
	}{
		{"hint and redirect", true, "id.token.hint", "https://gate.example/logged-out",
			url.Values{"id_token_hint": {"id.token.hint"}, "post_logout_redirect_uri": {"https://gate.example/logged-out"}, "client_id": {oidctest.ClientID}}},
		{"no hint", true, "", "https://gate.example/",
			url.Values{"post_logout_redirect_uri": {"https://gate.example/"}, "client_id": {oidctest.ClientID}}},
		{"no redirect", true, "h", "", url.Values{"id_token_hint": {"h"}, "client_id": {oidctest.ClientID}}},
		{"no end_session_endpoint", false, "h", "https://gate.example/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			p.SetEndSessionEndpoint(tt.endSession)
			a := newAuth(t, testConfig(p))
			got, err := a.LogoutURL(context.Background(), tt.hint, tt.redirect)
			if err != nil {
				t.Fatalf("LogoutURL: %v", err)
			}
			if tt.want == nil {
				if got != "" {
					t.Fatalf("LogoutURL = %q, want empty", got)
				}
				return
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if base := u.Scheme + "://" + u.Host + u.Path; base != p.Issuer()+oidctest.PathEndSession {
				t.Errorf("endpoint = %q", base)
			}
			if !reflect.DeepEqual(u.Query(), tt.want) {
				t.Errorf("query = %v, want %v", u.Query(), tt.want)
			}
		})
	}

	t.Run("with a real logout hint", func(t *testing.T) {
		p := oidctest.New(t)
		a := newAuth(t, testConfig(p))
		_, hint, err := login(t, a, p)
		if err != nil {
			t.Fatal(err)
		}
		lu, err := a.LogoutURL(context.Background(), hint, "https://gate.example/")
		if err != nil {
			t.Fatal(err)
		}
		cb := p.Authorize(t, lu) // follows it like a browser; the provider redirects back
		if cb.String() != "https://gate.example/" {
			t.Errorf("provider redirected to %s", cb)
		}
		reqs := p.LogoutRequests()
		if len(reqs) != 1 || reqs[0].Get("id_token_hint") != hint {
			t.Errorf("provider saw logout requests %v, want one with the id token", reqs)
		}
	})
}

func TestCallbackError(t *testing.T) {
	long := strings.Repeat("é", 250)
	tests := []struct {
		name string
		q    url.Values
		want *auth.ProviderError // nil: no error
	}{
		{"code and state", url.Values{"code": {"c"}, "state": {"s"}}, nil},
		{"empty query", url.Values{}, nil},
		{"cancelled", url.Values{"error": {"access_denied"}, "error_description": {"User cancelled"}, "state": {"s"}},
			&auth.ProviderError{Code: "access_denied", Description: "User cancelled"}},
		{"no description", url.Values{"error": {"login_required"}}, &auth.ProviderError{Code: "login_required"}},
		{"empty error value", url.Values{"error": {""}}, &auth.ProviderError{Code: "unknown_error"}},
		{"control characters stripped", url.Values{"error": {"access_denied\r\n"}, "error_description": {"line1\nline2\x00\x1b[2J\u202eevil"}},
			&auth.ProviderError{Code: "access_denied", Description: "line1 line2[2Jevil"}},
		{"long description truncated to 200 characters", url.Values{"error": {"server_error"}, "error_description": {long}},
			&auth.ProviderError{Code: "server_error", Description: strings.Repeat("é", 200)}},
		{"long code truncated", url.Values{"error": {strings.Repeat("x", 100)}},
			&auth.ProviderError{Code: strings.Repeat("x", 64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.CallbackError(tt.q)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CallbackError = %v, want nil", err)
				}
				return
			}
			var pe *auth.ProviderError
			if !errors.As(err, &pe) || !errors.Is(err, auth.ErrProvider) {
				t.Fatalf("CallbackError = %v, want *auth.ProviderError", err)
			}
			if *pe != *tt.want {
				t.Errorf("CallbackError = %+v, want %+v", *pe, *tt.want)
			}
		})
	}
}

func TestCallbackErrorFromProvider(t *testing.T) {
	p := oidctest.New(t)
	p.SetAuthorizeError("access_denied", "The user cancelled")
	a := newAuth(t, testConfig(p))
	f := startFlow(t, a)
	cb := p.Authorize(t, f.authURL)
	if cb.Query().Get("code") != "" || cb.Query().Get("state") != f.state {
		t.Fatalf("callback = %s", cb)
	}
	var pe *auth.ProviderError
	if err := auth.CallbackError(cb.Query()); !errors.As(err, &pe) || pe.Code != "access_denied" || pe.Description != "The user cancelled" {
		t.Fatalf("CallbackError = %v", err)
	}
}

func TestIdentityAccessors(t *testing.T) {
	p := oidctest.New(t)
	a := newAuth(t, testConfig(p))
	if a.ID() != "oidc" || a.Label() != "School login" {
		t.Errorf("ID, Label = %q, %q", a.ID(), a.Label())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newHangingServer returns the URL of a server that accepts requests and
// does not answer until hang is closed.
func newHangingServer(t *testing.T, hang <-chan struct{}) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
