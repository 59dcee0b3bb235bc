package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc/oidctest"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/static"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/sso"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
	staticfiles "github.com/jitsi-gate/jitsi-gate/static"
	"github.com/jitsi-gate/jitsi-gate/templates"
	"github.com/jitsi-gate/jitsi-gate/web"
)

const (
	jitsiOrigin    = "https://meet.example.com"
	ssoRedirect    = jitsiOrigin + "/static/sso.html"
	ssoLogout      = jitsiOrigin + "/static/logout.html"
	ssoVerifier    = "a-pkce-verifier-of-the-meeting-page-0123456789-abcdefghijklmnopqr"
	ssoMathState   = `{"room":"Mathe","roomSafe":"mathe","config.startWithAudioMuted":true}`
	ssoStudentPass = "pw"
)

type ssoHarness struct {
	url     string
	idp     *oidctest.Provider
	metrics *metrics.Metrics
}

func newSSOHarness(t *testing.T) *ssoHarness {
	t.Helper()
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	publicURL, _ := url.Parse(srv.URL)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := metrics.New(metrics.Options{Backends: []string{"idp", "demo"}})
	if err != nil {
		t.Fatal(err)
	}

	idp := oidctest.New(t)
	oa, err := oidc.New(oidc.Config{ID: "idp", Label: "School IdP", Issuer: idp.Issuer(), ClientID: oidctest.ClientID,
		ClientSecret: oidctest.ClientSecret, RedirectURL: srv.URL + "/callback/idp", GroupsClaims: []string{"groups"}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte(ssoStudentPass), bcrypt.MinCost)
	sa, err := static.New("demo", "Demo", []static.User{
		{Username: "teacher", PasswordHash: string(h), Name: "Tina", Groups: []string{"teachers"}},
	})
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
	signer, _ := token.NewHS256([]byte(secret))
	sessions, err := session.NewManager(session.Options{Secret: []byte(secret), Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{Driver: store.DriverSQLite, Path: filepath.Join(t.TempDir(), "gate.db")}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logins, err := signin.New(signin.Options{Records: st, Refreshers: map[string]auth.Refresher{"demo": sa}})
	if err != nil {
		t.Fatal(err)
	}
	grants, _ := grant.New(pol, grant.Settings{XMPPDomain: "meet.jitsi", Issuer: "gate", Audience: "gate", TokenLifetime: time.Hour}, nil)
	jitsiURL := &url.URL{Scheme: "https", Host: "meet.example.com"}
	inline, err := sso.New(sso.Options{Issuer: srv.URL + "/sso", Secret: []byte(secret),
		Clients: []sso.Client{{ID: "jitsi", RedirectURIs: []string{ssoRedirect}}},
		Grants:  st, Logins: logins, Granter: grants, Signer: signer, Jitsi: &target.Jitsi{URL: jitsiURL}, Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := web.NewServer(web.Options{
		PublicURL: publicURL, Jitsi: web.JitsiOptions{URL: jitsiURL},
		UI:        web.UIOptions{Title: "Test School", DefaultLanguage: "en"},
		RateLimit: web.RateLimitOptions{PerUser: 5, PerIP: 100, Window: time.Minute}, Version: "test",
	}, web.Deps{Logger: logger, Passwords: []auth.PasswordAuthenticator{sa}, Redirects: []auth.RedirectAuthenticator{oa},
		Grants: grants, Logins: logins, Signer: signer, Sessions: sessions, SSO: inline,
		Templates: templates.FS(), Static: staticfiles.FS(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = handler
	return &ssoHarness{url: srv.URL, idp: idp, metrics: m}
}

func ssoAuthorizeURL(base, state string) string {
	sum := sha256.Sum256([]byte(ssoVerifier))
	q := url.Values{"client_id": {"jitsi"}, "response_type": {"code"}, "scope": {"openid"}, "state": {state},
		"redirect_uri": {ssoRedirect}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "nonce": {"meeting-nonce"}}
	return base + "/sso/authorize?" + q.Encode()
}

// codeFrom checks that resp sends the popup to sso.html with a code and
// the state byte for byte, and returns the code.
func codeFrom(t *testing.T, resp *http.Response, state string) string {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), ssoRedirect+"?") {
		t.Fatalf("authorize answered %d %q, want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), ssoRedirect)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("redirect query %v: want the code and state %q", loc.Query(), state)
	}
	return loc.Query().Get("code")
}

// postToken posts form to /sso/token the way sso.html does, from origin.
func postToken(t *testing.T, base, origin string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/sso/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func TestSSOPasswordLoginInThePopupThenRefreshThenLogout(t *testing.T) {
	h := newSSOHarness(t)
	c := client(t)
	resp, _ := get(t, c, ssoAuthorizeURL(h.url, ssoMathState))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
		t.Fatalf("authorize without a login: %d %q, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	loginURL, _ := url.Parse(resp.Header.Get("Location"))
	resp, page := get(t, c, h.url+loginURL.String())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "/login/demo?") {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	resp, err := c.PostForm(h.url+"/login/demo?"+loginURL.RawQuery, url.Values{"username": {"teacher"}, "password": {ssoStudentPass}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	next := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(next, "/sso/authorize?") {
		t.Fatalf("after the login: %d %q, want back to /sso/authorize", resp.StatusCode, next)
	}
	resp, _ = get(t, c, h.url+next)
	code := codeFrom(t, resp, ssoMathState)

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ssoRedirect},
		"client_id": {"jitsi"}, "code_verifier": {ssoVerifier}}
	resp, body := postToken(t, h.url, jitsiOrigin, form)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != jitsiOrigin {
		t.Fatalf("token: %d %v (ACAO %q)", resp.StatusCode, body, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	tok, err := verifier().Verify(context.Background(), body["access_token"].(string))
	if err != nil || tok.CheckRoom("mathe", "") != nil || !tok.Owner() {
		t.Fatalf("access token: %v", err)
	}
	if n := counterSum(t, h.metrics, "jitsi_gate_tokens_issued_total"); n != 1 {
		t.Errorf("jitsi_gate_tokens_issued_total = %v after one inline sign-in, want 1", n)
	}
	idToken := body["id_token"].(string)
	claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(idToken, ".")[1])
	if !strings.Contains(string(claims), `"nonce":"meeting-nonce"`) || !strings.Contains(string(claims), `"aud":"jitsi"`) {
		t.Errorf("id_token claims %s", claims)
	}

	// A refresh round: the popup of a signed-in user answers at once.
	resp, _ = get(t, c, ssoAuthorizeURL(h.url, ssoMathState))
	codeFrom(t, resp, ssoMathState)
	resp, body = postToken(t, h.url, jitsiOrigin, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {body["refresh_token"].(string)}, "client_id": {"jitsi"}})
	if resp.StatusCode != http.StatusOK || body["access_token"] == nil || body["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", resp.StatusCode, body)
	}
	refreshToken := body["refresh_token"].(string)

	// Logout in Jitsi's hidden iframe.
	resp, _ = get(t, c, h.url+"/sso/logout?client_id=jitsi&post_logout_redirect_uri="+url.QueryEscape(ssoLogout)+
		"&id_token_hint="+idToken)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != ssoLogout {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors "+jitsiOrigin) ||
		resp.Header.Get("X-Frame-Options") != "" {
		t.Errorf("logout not frameable by Jitsi: CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
	resp, body = postToken(t, h.url, jitsiOrigin, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {refreshToken}, "client_id": {"jitsi"}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" || body["access_token"] != nil {
		t.Fatalf("refresh after logout: %d %v, want invalid_grant", resp.StatusCode, body)
	}
	// Signed out: the next popup asks for a login again.
	resp, _ = get(t, c, ssoAuthorizeURL(h.url, ssoMathState))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
		t.Fatalf("authorize after logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Other pages stay unframeable.
	resp, _ = get(t, c, h.url+"/login")
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("login page frameable: %q", resp.Header.Get("Content-Security-Policy"))
	}
}

func TestSSOProviderLoginInThePopup(t *testing.T) {
	h := newSSOHarness(t)
	h.idp.SetClaims(map[string]any{"sub": "s1", "name": "Sam", "groups": []any{"students"}})
	c := client(t)
	resp, _ := get(t, c, ssoAuthorizeURL(h.url, ssoMathState))
	loginURL, _ := url.Parse(resp.Header.Get("Location"))
	resp = oidcLogin(t, &harness{url: h.url, idp: h.idp}, c, loginURL.RawQuery)
	next := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(next, "/sso/authorize?") {
		t.Fatalf("after the provider login: %d %q, want back to /sso/authorize", resp.StatusCode, next)
	}
	resp, _ = get(t, c, h.url+next)
	code := codeFrom(t, resp, ssoMathState)
	resp, body := postToken(t, h.url, jitsiOrigin, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {ssoRedirect}, "client_id": {"jitsi"}, "code_verifier": {ssoVerifier}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	tok, err := verifier().Verify(context.Background(), body["access_token"].(string))
	if err != nil || tok.Owner() || tok.CheckRoom("mathe", "") != nil {
		t.Fatalf("student's token: owner=%v err=%v", tok != nil && tok.Owner(), err)
	}
}

func TestSSOTokenEndpointCORS(t *testing.T) {
	h := newSSOHarness(t)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {ssoRedirect},
		"client_id": {"jitsi"}, "code_verifier": {ssoVerifier}}
	resp, body := postToken(t, h.url, "https://evil.example", form)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" || body["error"] != "invalid_request" {
		t.Errorf("foreign origin: %d %v ACAO %q", resp.StatusCode, body, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// A refused code from Jitsi still carries CORS, so sso.html can read the error.
	resp, body = postToken(t, h.url, jitsiOrigin, form)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" || resp.Header.Get("Access-Control-Allow-Origin") != jitsiOrigin {
		t.Errorf("unknown code from Jitsi: %d %v ACAO %q", resp.StatusCode, body, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	for _, tt := range []struct {
		origin string
		status int
	}{{jitsiOrigin, http.StatusNoContent}, {"https://evil.example", http.StatusForbidden}} {
		req, _ := http.NewRequest(http.MethodOptions, h.url+"/sso/token", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		allow := resp.Header.Get("Access-Control-Allow-Origin")
		if resp.StatusCode != tt.status || (tt.status == http.StatusNoContent) != (allow == tt.origin) {
			t.Errorf("preflight from %s: %d ACAO %q", tt.origin, resp.StatusCode, allow)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, h.url+"/sso/token", strings.NewReader(`{"grant_type":"refresh_token"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("JSON body: %d, want 400", resp.StatusCode)
	}
}

func TestSSOAuthorizeBadClientShowsAPage(t *testing.T) {
	h := newSSOHarness(t)
	c := client(t)
	for _, bad := range []string{
		strings.Replace(ssoAuthorizeURL(h.url, ssoMathState), "client_id=jitsi", "client_id=evil", 1),
		strings.Replace(ssoAuthorizeURL(h.url, ssoMathState), url.QueryEscape(ssoRedirect), url.QueryEscape("https://evil.example/sso.html"), 1),
	} {
		resp, page := get(t, c, bad)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(page, "sign-in request") {
			t.Errorf("%s: %d %q", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A post_logout_redirect_uri elsewhere is refused too.
	resp, _ := get(t, c, h.url+"/sso/logout?post_logout_redirect_uri="+url.QueryEscape("https://evil.example/"))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("logout to elsewhere: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
