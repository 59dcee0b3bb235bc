package browser

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// env is what one flow test runs against: the services, a stand-in Jitsi,
// a gateway configured for both, and a browser.
type env struct {
	ldap  testenv.LDAPEnv
	jitsi *jitsiStandIn
	gw    *gateway
	b     *browser
}

// newEnv starts a stand-in, a gateway with the LDAP backend (and Dex when
// withOIDC) and a browser. Services are looked up first, so a machine
// without them skips before anything is built or started.
func newEnv(t *testing.T, o gatewayOptions, withOIDC bool, acceptLanguage string) *env {
	t.Helper()
	testenv.Chromium(t)
	ldap := testenv.LDAP(t)
	o.ldap = &ldap
	if withOIDC {
		oidc := testenv.OIDC(t)
		o.oidc = &oidc
		o.port = testenv.FreeCallbackPort(t)
	}
	e := &env{ldap: ldap, jitsi: newJitsiStandIn(t)}
	o.jitsiURL = e.jitsi.URL
	e.gw = startGateway(t, o)
	e.b = newBrowser(t, acceptLanguage)
	t.Cleanup(func() { e.checkNoTokenLogged(t) })
	return e
}

// checkNoTokenLogged fails the test when a token the stand-in received
// appears in the gateway's log: tokens are credentials.
func (e *env) checkNoTokenLogged(t *testing.T) {
	log := e.gw.log.String()
	for _, v := range e.jitsi.Visits() {
		if sig := tokenSignature(v.JWT); sig != "" && strings.Contains(log, sig) {
			t.Errorf("the gateway log contains the token sent to %s", v.RequestURI)
		}
	}
}

// tokenSignature is the last segment of a JWT ("" when it has none).
func tokenSignature(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	return parts[2]
}

// wantUser checks the context.user claims of a verified token.
func wantUser(t *testing.T, tok *jitsiverify.Verified, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if got := tok.User[k]; got != w {
			t.Errorf("context.user.%s = %v (%T), want %v; context.user = %v", k, got, got, w, tok.User)
		}
	}
}

func TestWelcomeRoomLDAPLoginGivesTeacherAnOwnerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{}, false, "")
	b := e.b

	b.open(e.gw.URL+"/", "#room-form")
	b.do("type the room and join",
		chromedp.SendKeys(chromedp.ID("room"), "Physik-7b"),
		chromedp.Click(chromedp.CSS("#room-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("form-ldap")))
	if loc := b.location(); !strings.HasPrefix(loc, e.gw.URL+"/login?") || !strings.Contains(loc, "room=physik-7b") {
		t.Fatalf("after choosing a room without a session the browser is at %s, want the login page for physik-7b", loc)
	}
	// Rooms are shown as Jitsi will name them: normalised, lower case.
	if got := b.text(".lead .room"); got != "physik-7b" {
		t.Errorf("login page names the room %q, want physik-7b", got)
	}
	e.jitsi.noVisits(t)

	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#joined")
	v := e.jitsi.onlyVisit(t)
	if v.Tenant != "" || v.RoomSafe != "physik-7b" {
		t.Errorf("sent to tenant %q room %q, want room physik-7b without tenant", v.Tenant, v.RoomSafe)
	}
	if want := e.jitsi.URL + "/physik-7b?jwt=" + v.JWT; b.location() != want {
		t.Errorf("browser at %s, want %s", b.location(), want)
	}
	if got := b.text("#joined"); got != "joined physik-7b as owner" {
		t.Errorf("stand-in page says %q", got)
	}
	tok := v.Token
	if !tok.Owner() || tok.Subject != xmppDomain || tok.Room != "physik-7b" {
		t.Errorf("token: owner=%v sub=%q room=%q, want owner for physik-7b at %s", tok.Owner(), tok.Subject, tok.Room, xmppDomain)
	}
	wantUser(t, tok, map[string]any{
		"affiliation": "owner", "moderator": true, "lobby_bypass": true,
		"name": "Teacher One", "email": "teacher1@school.example",
	})

	// The welcome page remembers the room in this browser.
	b.open(e.gw.URL+"/", "#room-form")
	b.do("wait for the recent rooms", chromedp.WaitVisible(chromedp.ID("recent")))
	recent := strings.ToLower(b.text("#recent-list"))
	if !strings.Contains(recent, "physik-7b") {
		t.Errorf("recent rooms = %q, want physik-7b in it", recent)
	}
	if who := b.text(".who"); !strings.Contains(who, "Teacher One") {
		t.Errorf("header says %q, want the signed-in name", who)
	}
}

func TestOIDCLoginThroughDexGivesStudentAMemberToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{}, true, "")
	b := e.b

	b.open(e.gw.URL+"/login?room=Chemie", "#start-dex")
	b.do("start the Dex login",
		chromedp.Click(chromedp.ID("start-dex")),
		chromedp.WaitVisible(chromedp.ID("login")))
	oidc := testenv.OIDC(t)
	if loc := b.location(); !strings.HasPrefix(loc, oidc.Issuer+"/") {
		t.Fatalf("after the OIDC button the browser is at %s, want Dex (%s)", loc, oidc.Issuer)
	}
	e.jitsi.noVisits(t)
	b.screenshot("en-dex-login.png") // Dex's own page, for the reviewer
	b.do("log in at Dex as student1",
		chromedp.SendKeys(chromedp.ID("login"), "student1"),
		chromedp.SendKeys(chromedp.ID("password"), "student1pass"),
		chromedp.Click(chromedp.ID("submit-login")),
		chromedp.WaitVisible(chromedp.ID("joined")))

	v := e.jitsi.onlyVisit(t)
	if v.Tenant != "" || v.RoomSafe != "chemie" {
		t.Errorf("sent to tenant %q room %q, want room chemie", v.Tenant, v.RoomSafe)
	}
	if got := b.text("#joined"); got != "joined chemie as member" {
		t.Errorf("stand-in page says %q", got)
	}
	tok := v.Token
	if tok.Owner() || tok.Subject != xmppDomain || tok.Room != "chemie" {
		t.Errorf("token: owner=%v sub=%q room=%q, want a member token for chemie", tok.Owner(), tok.Subject, tok.Room)
	}
	wantUser(t, tok, map[string]any{
		"affiliation": "member", "moderator": false,
		"name": "Student One", "email": "student1@school.example",
	})
	if _, ok := tok.User["lobby_bypass"]; ok {
		t.Errorf("student token has lobby_bypass: %v", tok.User)
	}
}

func TestTokenAuthURLBringsTheUserBackToTheExactRoom(t *testing.T) {
	t.Parallel()
	state, err := json.Marshal(map[string]any{
		"room": "Mathe-Übung", "roomSafe": "mathe-%c3%bcbung", "tenant": "school-a",
		"config.startWithAudioMuted": true,
		// Not allow-listed, and a non-boolean for an allowed key: both dropped.
		"config.disableDeepLinking":  true,
		"config.startWithVideoMuted": "yes",
		"iframe":                     false,
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		query      string
		wantTenant string
		wantHash   string // the fragment Jitsi gets back ("" for none)
	}{
		{name: "room", query: "room=" + url.QueryEscape("Mathe-Übung")},
		{name: "state", query: "state=" + url.QueryEscape(string(state)),
			wantTenant: "school-a", wantHash: "config.startWithAudioMuted=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, gatewayOptions{tenants: []string{"school-a"}}, false, "")
			b := e.b
			b.open(e.gw.URL+"/login?"+tt.query, "#form-ldap")
			if got := b.text(".lead .room"); got != "mathe-übung" {
				t.Errorf("login page names the room %q, want mathe-übung", got)
			}
			b.passwordLogin("ldap", "teacher1", "teacher1pass", "#joined")

			v := e.jitsi.onlyVisit(t)
			if v.Tenant != tt.wantTenant || v.RoomSafe != "mathe-%c3%bcbung" {
				t.Errorf("sent to %s, want tenant %q room mathe-%%c3%%bcbung", v.RequestURI, tt.wantTenant)
			}
			wantSub := xmppDomain
			if tt.wantTenant != "" {
				wantSub = tt.wantTenant
			}
			if v.Token.Subject != wantSub || v.Token.Room != "mathe-%c3%bcbung" {
				t.Errorf("token sub %q room %q, want sub %q room mathe-%%c3%%bcbung", v.Token.Subject, v.Token.Room, wantSub)
			}
			path := "/mathe-%c3%bcbung"
			if tt.wantTenant != "" {
				path = "/" + tt.wantTenant + path
			}
			want := e.jitsi.URL + path + "?jwt=" + v.JWT
			if tt.wantHash != "" {
				want += "#" + tt.wantHash
			}
			if got := b.location(); got != want {
				t.Errorf("browser at\n  %s\nwant\n  %s", got, want)
			}
			if got := b.text("#joined"); got != "joined mathe-übung as owner" {
				t.Errorf("stand-in page says %q", got)
			}
		})
	}
}

func TestLoggedInUserGoesStraightThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{}, false, "")
	b := e.b
	b.open(e.gw.URL+"/login?room=first", "#form-ldap")
	b.passwordLogin("ldap", "student1", "student1pass", "#joined")
	e.jitsi.onlyVisit(t)

	b.open(e.gw.URL+"/", "#room-form")
	before := len(b.history())
	b.do("join a second room",
		chromedp.SendKeys(chromedp.ID("room"), "second"),
		chromedp.Click(chromedp.CSS("#room-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("joined")))
	v := e.jitsi.lastVisit(t, 2)
	if v.RoomSafe != "second" || v.Token.Owner() {
		t.Errorf("second join: room %q owner %v, want a member token for second", v.RoomSafe, v.Token.Owner())
	}
	// Only the Jitsi page was added to the history: no login page in between.
	if h := b.history(); len(h) != before+1 || !strings.HasPrefix(h[len(h)-1], e.jitsi.URL+"/second?jwt=") {
		t.Errorf("history after the second join = %q, want one new entry, the Jitsi page", h[before-1:])
	}

	// Jitsi's tokenAuthUrl for a logged-in user also goes straight through.
	b.do("open the tokenAuthUrl for a third room",
		chromedp.Navigate(e.gw.URL+"/login?room=third"), chromedp.WaitVisible(chromedp.ID("joined")))
	if v := e.jitsi.lastVisit(t, 3); v.RoomSafe != "third" {
		t.Errorf("third join went to %s", v.RequestURI)
	}
}

func TestExpiredSessionMeansLoggingInAgain(t *testing.T) {
	t.Parallel()
	const lifetime = 2 * time.Second
	e := newEnv(t, gatewayOptions{sessionLifetime: lifetime.String()}, false, "")
	b := e.b
	b.open(e.gw.URL+"/login?room=first", "#form-ldap")
	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#joined")
	e.jitsi.onlyVisit(t)
	session := slices.DeleteFunc(b.cookies(e.gw.URL+"/"), func(c *networkCookie) bool { return c.Name != "jitsi_gate" })
	if len(session) != 1 {
		t.Fatalf("no session cookie jitsi_gate after login: %v", b.cookies(e.gw.URL+"/"))
	}

	// Really wait: the lifetime is enforced by the cookie's Max-Age in the
	// browser and by the timestamp inside the cookie on the server. The
	// second half replays the old cookie to check the server side alone.
	time.Sleep(lifetime + time.Second)
	b.open(e.gw.URL+"/join/second", "#form-ldap")
	if loc := b.location(); !strings.HasPrefix(loc, e.gw.URL+"/login?") || !strings.Contains(loc, "room=second") {
		t.Errorf("expired session: browser at %s, want the login page for room second", loc)
	}
	b.setCookie(e.gw.URL+"/", session[0])
	b.open(e.gw.URL+"/join/second", "#form-ldap")
	if loc := b.location(); !strings.HasPrefix(loc, e.gw.URL+"/login?") {
		t.Errorf("expired cookie replayed: browser at %s, want the login page", loc)
	}
	if n := len(e.jitsi.Visits()); n != 1 {
		t.Fatalf("an expired session reached Jitsi: %d visits", n)
	}

	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#joined")
	if v := e.jitsi.lastVisit(t, 2); v.RoomSafe != "second" || !v.Token.Owner() {
		t.Errorf("after logging in again: %s owner=%v", v.RequestURI, v.Token.Owner())
	}
}

func TestWrongPasswordStaysOnTheLoginPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{}, false, "")
	b := e.b
	b.open(e.gw.URL+"/login?room=physik", "#form-ldap")
	b.passwordLogin("ldap", "teacher1", "not-the-password", "#login-error")
	if got := b.text("#login-error"); got != "Wrong username or password." {
		t.Errorf("error shown: %q", got)
	}
	if loc := b.location(); !strings.HasPrefix(loc, e.gw.URL+"/login") {
		t.Errorf("browser at %s, want still the login page", loc)
	}
	if got := b.eval(`document.getElementById("username-ldap").value`); got != "teacher1" {
		t.Errorf("username field after the error = %q, want it kept", got)
	}
	if got := b.eval(`document.activeElement ? document.activeElement.id : ""`); got != "password-ldap" {
		t.Errorf("focus after the error is on %q, want the password field", got)
	}
	if got := b.text(".lead .room"); got != "physik" {
		t.Errorf("the room is no longer named on the page: %q", got)
	}
	e.jitsi.noVisits(t)

	// The right password on the same page still leads to the room.
	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#joined")
	if v := e.jitsi.onlyVisit(t); v.RoomSafe != "physik" {
		t.Errorf("after the retry: %s", v.RequestURI)
	}
}

func TestDeniedUserSeesWhyAndGetsNoToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{}, false, "")
	b := e.b
	b.open(e.gw.URL+"/login?room=physik", "#form-ldap")
	b.passwordLogin("ldap", "guest", "guestpass", "main div.card[role=alert]")
	if h := b.text("h1"); h != "No access to this room" {
		t.Errorf("heading %q", h)
	}
	text := b.text("main div.card[role=alert]")
	for _, want := range []string{"Guest User", "not in any group", "physik"} {
		if !strings.Contains(text, want) {
			t.Errorf("denied page says %q, want it to contain %q", text, want)
		}
	}
	e.jitsi.noVisits(t)
}

func TestLogoutMeansTheNextJoinNeedsALogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{}, false, "")
	b := e.b
	b.open(e.gw.URL+"/login?room=first", "#form-ldap")
	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#joined")
	e.jitsi.onlyVisit(t)

	b.open(e.gw.URL+"/logout", "main h1")
	if h := b.text("main h1"); h != "You are signed out" {
		t.Errorf("logout page heading %q", h)
	}
	b.open(e.gw.URL+"/join/second", "#form-ldap")
	if loc := b.location(); !strings.HasPrefix(loc, e.gw.URL+"/login?") {
		t.Errorf("after logout /join went to %s, want the login page", loc)
	}
	if n := len(e.jitsi.Visits()); n != 1 {
		t.Errorf("after logout the browser reached Jitsi again (%d visits)", n)
	}
}
