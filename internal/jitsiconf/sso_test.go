package jitsiconf

import (
	"net/url"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
)

// TestConfigJSInlineSignIn: the config.js lines of the inline sign-in, and
// the URLs Jitsi builds from them the way the contract says it does
// (docs/reference/jitsi-rooms-and-sso.md §2.1), reach jitsi-gate's
// endpoints with the parameters they check.
func TestConfigJSInlineSignIn(t *testing.T) {
	cfg := &config.Config{
		Server: config.Server{Listen: ":8080", PublicURL: "https://meet.example.com/_auth"},
		Jitsi: config.Jitsi{URL: "https://meet.example.com", XMPPDomain: "meet.jitsi", AppID: "gate",
			Signing: config.Signing{Algorithm: "HS256", Secret: "s"}},
		SSO: config.SSO{Clients: []config.SSOClient{{ClientID: "jitsi",
			RedirectURIs: []string{"https://meet.example.com/static/sso.html"}}}},
	}
	cfg.ApplyDefaults()
	s, err := Build(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Render(FormatConfigJS)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"config.tokenAuthUrl = 'https://meet.example.com/_auth/sso/authorize?client_id=jitsi&response_type=code&scope=openid" +
			"&state={state}&redirect_uri=https%3A%2F%2Fmeet.example.com%2Fstatic%2Fsso.html" +
			"&code_challenge={code_challenge}&code_challenge_method=S256';",
		"config.tokenAuthInline = true;",
		"config.sso = { tokenService: 'meet.example.com/_auth/sso', clientId: 'jitsi' };",
		"config.tokenLogoutUrl = 'https://meet.example.com/_auth/sso/logout?client_id=jitsi" +
			"&post_logout_redirect_uri=https%3A%2F%2Fmeet.example.com%2Fstatic%2Flogout.html';",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("configjs lacks\n  %s\ngot:\n%s", want, out)
		}
	}

	// What Jitsi's getTokenAuthUrl and loginWithPopup make of it.
	state := `{"room":"Mathe 1","roomSafe":"mathe1","tenant":""}`
	popup := strings.NewReplacer("{state}", url.QueryEscape(state), "{code_challenge}", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").
		Replace(s.TokenAuthURL) + "&nonce=" + strings.Repeat("ab", 32)
	u, err := url.Parse(popup)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/_auth/sso/authorize" || q.Get("state") != state || q.Get("client_id") != "jitsi" ||
		q.Get("redirect_uri") != "https://meet.example.com/static/sso.html" || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("nonce")) != 64 {
		t.Errorf("the popup URL Jitsi builds: %s", popup)
	}
	// sso.html posts to https://{tokenService}/token.
	if got := "https://" + s.SSO.TokenService + "/token"; got != cfg.Server.PublicURL+"/sso/token" {
		t.Errorf("sso.html would post to %s", got)
	}
	lu, err := url.Parse(s.TokenLogoutURL + "&id_token_hint=x")
	if err != nil || lu.Path != "/_auth/sso/logout" || lu.Query().Get("post_logout_redirect_uri") != "https://meet.example.com/static/logout.html" {
		t.Errorf("logout URL %s", s.TokenLogoutURL)
	}

	env, _ := s.Render(FormatEnv)
	if !strings.Contains(env, "#   config.tokenAuthInline = true;") || !strings.Contains(env, "TOKEN_AUTH_URL="+s.TokenAuthURL) {
		t.Errorf("env output lacks the inline sign-in:\n%s", env)
	}
}
