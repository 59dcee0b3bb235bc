package oidc

// Integration tests against a real Dex backed by the test slapd (see
// internal/testenv and test/infra). They skip without GATEWAY_TEST_OIDC_ISSUER
// and fail in CI.

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

func dexConfig(t *testing.T, env testenv.OIDCEnv, public bool) Config {
	t.Helper()
	cfg := Config{
		ID:           "oidc",
		Label:        "Dex",
		Issuer:       env.Issuer,
		ClientID:     env.ClientID,
		ClientSecret: env.ClientSecret,
		// Dex puts groups into the ID token only for the groups scope.
		Scopes:        []string{"openid", "profile", "email", "groups"},
		RedirectURL:   fmt.Sprintf("http://127.0.0.1:%d/callback/oidc", testenv.FreeCallbackPort(t)),
		GroupsClaims:  []string{"groups"},
		AuthParams:    map[string]string{"connector_id": "ldap"},
		RetryInterval: 50 * time.Millisecond,
	}
	if public {
		cfg.ClientID, cfg.ClientSecret = env.PublicClientID, ""
	}
	return cfg
}

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// dexLogin plays the browser at Dex: it opens authURL, fills in the LDAP
// login form and returns where Dex sends the browser back to redirectURL
// (not followed), or nil when Dex shows its login form again (wrong
// password).
func dexLogin(t *testing.T, authURL, redirectURL, user, password string) *url.URL {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirectURL) {
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("dex: open authorize URL: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("dex: no login form (status %s):\n%s", resp.Status, page)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatalf("dex: form action: %v", err)
	}
	resp, err = c.PostForm(action.String(), url.Values{"login": {user}, "password": {password}})
	if err != nil {
		t.Fatalf("dex: post login form: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
		// Dex shows the form again (v2.45.1 with 401). Make sure it is the
		// form and not some other failure page.
		page, _ := io.ReadAll(resp.Body)
		if !formAction.Match(page) {
			t.Fatalf("dex: after login: status %s without the login form:\n%s", resp.Status, page)
		}
		return nil
	}
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), redirectURL) {
		t.Fatalf("dex: after login: status %s, location %v (%v)", resp.Status, loc, err)
	}
	return loc
}

// dexCode runs AuthCodeURL and the Dex login and returns the callback.
func dexCode(t *testing.T, a *Authenticator, user, password string) (flow, *url.URL) {
	t.Helper()
	f := startFlow(t, a)
	return f, dexLogin(t, f.authURL, a.cfg.RedirectURL, user, password)
}

func TestDexLogin(t *testing.T) {
	env := testenv.OIDC(t)
	tests := []struct {
		name, user, password string
		public               bool
		want                 auth.Identity
	}{
		{
			name: "teacher, confidential client", user: "teacher1", password: "teacher1pass",
			want: auth.Identity{Backend: "oidc", Username: "teacher1", Name: "Teacher One",
				Email: "teacher1@school.example", Groups: []string{"teachers", "staff"}},
		},
		{
			name: "student, public client", user: "student1", password: "student1pass", public: true,
			want: auth.Identity{Backend: "oidc", Username: "student1", Name: "Student One",
				Email: "student1@school.example", Groups: []string{"students"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuth(t, dexConfig(t, env, tt.public))
			if err := a.Ready(context.Background()); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			f, cb := dexCode(t, a, tt.user, tt.password)
			if cb == nil {
				t.Fatal("Dex did not redirect back after a correct password")
			}
			if err := auth.CallbackError(cb.Query()); err != nil {
				t.Fatalf("CallbackError: %v", err)
			}
			if cb.Query().Get("state") != f.state {
				t.Fatalf("state = %q, want %q", cb.Query().Get("state"), f.state)
			}
			id, hint, err := a.Exchange(context.Background(), cb.Query().Get("code"), f.verifier, f.nonce)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id.Subject == "" || hint == "" {
				t.Errorf("subject %q, logout hint %q: want both", id.Subject, hint)
			}
			slices.Sort(id.Groups)
			slices.Sort(tt.want.Groups)
			tt.want.Subject = id.Subject
			if fmt.Sprint(id) != fmt.Sprint(tt.want) {
				t.Errorf("identity = %+v\nwant       %+v", id, tt.want)
			}
		})
	}
}

func TestDexFailures(t *testing.T) {
	env := testenv.OIDC(t)
	a := newAuth(t, dexConfig(t, env, false))
	ctx := context.Background()

	t.Run("wrong password gives no code", func(t *testing.T) {
		if _, cb := dexCode(t, a, "teacher1", "wrong"); cb != nil {
			t.Fatalf("Dex redirected back after a wrong password: %s", cb)
		}
	})
	t.Run("replayed code", func(t *testing.T) {
		f, cb := dexCode(t, a, "student1", "student1pass")
		c := cb.Query().Get("code")
		if _, _, err := a.Exchange(ctx, c, f.verifier, f.nonce); err != nil {
			t.Fatalf("first Exchange: %v", err)
		}
		id, hint, err := a.Exchange(ctx, c, f.verifier, f.nonce)
		mustFail(t, id, hint, err)
		var pe *auth.ProviderError
		if !errors.As(err, &pe) || pe.Code != "invalid_grant" {
			t.Fatalf("replayed code: %v, want ProviderError invalid_grant", err)
		}
	})
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		f, cb := dexCode(t, a, "student1", "student1pass")
		id, hint, err := a.Exchange(ctx, cb.Query().Get("code"), oauth2.GenerateVerifier(), f.nonce)
		mustFail(t, id, hint, err)
		if !errors.Is(err, auth.ErrProvider) {
			t.Fatalf("wrong verifier: %v, want a provider refusal", err)
		}
	})
	t.Run("nonce of another login", func(t *testing.T) {
		f, cb := dexCode(t, a, "student1", "student1pass")
		id, hint, err := a.Exchange(ctx, cb.Query().Get("code"), f.verifier, "some-other-nonce")
		mustFail(t, id, hint, err)
		if !strings.Contains(err.Error(), "nonce") {
			t.Fatalf("error = %v, want a nonce mismatch", err)
		}
	})
	t.Run("no end_session_endpoint", func(t *testing.T) {
		u, err := a.LogoutURL(ctx, "hint", "http://127.0.0.1:18080/")
		if err != nil || u != "" {
			t.Fatalf("LogoutURL = %q, %v; want empty (Dex has no RP-initiated logout)", u, err)
		}
	})
}

func TestDexDownAtStartThenUp(t *testing.T) {
	ldap := testenv.LDAP(t)
	env := testenv.PrivateOIDC(t, ldap)
	env.Stop(t)

	a := newAuth(t, dexConfig(t, env, false))
	ctx := context.Background()
	err := a.Ready(ctx)
	if !errors.Is(err, auth.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Ready with Dex stopped = %v, want ErrUnavailable (connection refused)", err)
	}
	if _, err := a.AuthCodeURL(ctx, "s", "n", "v"); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("AuthCodeURL with Dex stopped = %v, want ErrUnavailable", err)
	}

	env.Start(t)
	waitFor(t, "Ready after Dex started", func() bool { return a.Ready(ctx) == nil })
	f, cb := dexCode(t, a, "teacher1", "teacher1pass")
	if cb == nil {
		t.Fatal("no code after Dex came back")
	}
	id, _, err := a.Exchange(ctx, cb.Query().Get("code"), f.verifier, f.nonce)
	if err != nil || !slices.Contains(id.Groups, "teachers") {
		t.Fatalf("login after Dex came back = %+v, %v", id, err)
	}
}
