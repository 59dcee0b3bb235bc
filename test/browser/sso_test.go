package browser

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	cdtarget "github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// ssoEnv is a meeting stand-in, a gateway with the inline sign-in for it,
// and a browser on the meeting page.
type ssoEnv struct {
	meeting *meetingStandIn
	gw      *gateway
	b       *browser
}

func newSSOEnv(t *testing.T, withOIDC bool) *ssoEnv {
	t.Helper()
	testenv.Chromium(t)
	ldap := testenv.LDAP(t)
	o := gatewayOptions{ldap: &ldap}
	if withOIDC {
		oidc := testenv.OIDC(t)
		o.oidc = &oidc
		o.port = testenv.FreeCallbackPort(t)
	}
	e := &ssoEnv{meeting: newMeetingStandIn(t)}
	o.jitsiURL = e.meeting.URL
	o.ssoRedirect = e.meeting.URL + "/static/sso.html"
	e.gw = startGateway(t, o)
	e.meeting.configure(e.gw.URL)
	e.b = newBrowser(t, "")
	return e
}

// popup clicks the meeting page's login button and returns a context on
// the popup window it opens.
func (e *ssoEnv) popup(t *testing.T) context.Context {
	t.Helper()
	opened := chromedp.WaitNewTarget(e.b.ctx, func(info *cdtarget.Info) bool { return info.OpenerID != "" })
	e.b.do("click log in on the meeting page", chromedp.Click(chromedp.ID("login")))
	select {
	case id := <-opened:
		ctx, cancel := chromedp.NewContext(e.b.tab, chromedp.WithTargetID(id))
		t.Cleanup(cancel)
		return ctx
	case <-time.After(stepTimeout):
		t.Fatal("the meeting page opened no popup")
		return nil
	}
}

// result waits until the popup has posted to the meeting page and returns
// what it posted.
func (e *ssoEnv) result(t *testing.T) map[string]string {
	t.Helper()
	e.b.waitFor("the popup's message to the meeting page", `window.ssoResult !== undefined`)
	var r map[string]string
	if err := json.Unmarshal([]byte(e.b.eval(`window.ssoResult`)), &r); err != nil {
		t.Fatal(err)
	}
	if r["error"] != "" {
		t.Fatalf("the popup reported an error: %s\ngateway log:\n%s", r["error"], e.gw.log.String())
	}
	return r
}

func verifyFor(t *testing.T, jwt, room string) *jitsiverify.Verified {
	t.Helper()
	cfg := &jitsiverify.Config{AppID: appID, AppSecret: jwtSecret, AcceptedAudiences: []string{appID},
		EnableDomainVerification: true, XMPPDomain: xmppDomain}
	tok, err := cfg.Verify(context.Background(), jwt)
	if err != nil {
		t.Fatalf("access token refused: %v", err)
	}
	if err := tok.CheckRoom(room, ""); err != nil {
		t.Fatalf("access token not for %s: %v", room, err)
	}
	return tok
}

// refreshRefused posts a refresh token the way sso.html does and wants
// invalid_grant.
func (e *ssoEnv) refreshRefused(t *testing.T, rt string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.gw.URL+"/sso/token", strings.NewReader(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"jitsi"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.meeting.URL)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" || body["access_token"] != nil {
		t.Fatalf("refresh after logout: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
}

// signInRefreshLogout is the whole story after the first sign-in: a
// refresh without a login form, a logout in the hidden iframe, and the
// refresh token refused afterwards.
func (e *ssoEnv) signInRefreshLogout(t *testing.T, first map[string]string, owner bool) {
	t.Helper()
	tok := verifyFor(t, first["accessToken"], "mathe")
	if tok.Owner() != owner {
		t.Fatalf("owner = %v, want %v (context.user %v)", tok.Owner(), owner, tok.User)
	}
	if first["refreshToken"] == "" {
		t.Fatal("no refresh token")
	}

	// The refresh path: the popup answers at once, nobody types anything.
	e.popup(t)
	second := e.result(t)
	// (The access token itself may be byte for byte the first one when
	// both were minted in the same second.)
	if second["refreshToken"] == "" || second["refreshToken"] == first["refreshToken"] {
		t.Fatal("the refresh did not rotate the refresh token")
	}
	if !strings.Contains(e.gw.log.String(), "grant_type=refresh_token") {
		t.Fatal("the second popup did not take the refresh path")
	}
	if verifyFor(t, second["accessToken"], "mathe").Owner() != owner {
		t.Fatal("the refreshed token has other rights")
	}

	e.b.do("log out in the hidden iframe", chromedp.Click(chromedp.ID("logout")))
	e.b.waitFor("logout-success from Jitsi's logout page", `window.loggedOut === true`)
	e.refreshRefused(t, second["refreshToken"])

	// Tokens are credentials, and the state carried a refresh token.
	log := e.gw.log.String()
	for _, secret := range []string{tokenSignature(first["accessToken"]), tokenSignature(second["accessToken"]),
		first["refreshToken"], second["refreshToken"], url.QueryEscape(first["refreshToken"])} {
		if secret != "" && strings.Contains(log, secret) {
			t.Errorf("the gateway log contains a token or refresh token")
		}
	}
}

func TestInlineSignInThroughLDAP(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, false)
	e.b.open(e.meeting.URL+"/mathe", "#login")
	p := e.popup(t)
	if err := chromedp.Do(p,
		chromedp.WaitVisible(chromedp.ID("form-ldap")),
		chromedp.SendKeys(chromedp.ID("username-ldap"), "teacher1"),
		chromedp.SendKeys(chromedp.ID("password-ldap"), "teacher1pass"),
		chromedp.Click(chromedp.ID("submit-ldap"))); err != nil {
		t.Fatalf("LDAP login in the popup: %v", err)
	}
	e.signInRefreshLogout(t, e.result(t), true)
}

func TestInlineSignInThroughDex(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, true)
	e.b.open(e.meeting.URL+"/mathe", "#login")
	p := e.popup(t)
	if err := chromedp.Do(p,
		chromedp.WaitVisible(chromedp.ID("start-dex")),
		chromedp.Click(chromedp.ID("start-dex")),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), "student1"),
		chromedp.SendKeys(chromedp.ID("password"), "student1pass"),
		chromedp.Click(chromedp.ID("submit-login"))); err != nil {
		t.Fatalf("Dex login in the popup: %v", err)
	}
	e.signInRefreshLogout(t, e.result(t), false)
}
