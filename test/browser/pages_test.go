package browser

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// pageTexts are strings each page must show, per language. They are
// written out here rather than taken from internal/i18n, so a wrong or
// missing translation fails the test.
var pageTexts = map[string]map[string]string{
	"en": {
		"accept":        "en-US,en;q=0.9",
		"welcome":       "Join a meeting",
		"join":          "Join",
		"login":         "Sign in",
		"username":      "Username",
		"wrong":         "Wrong username or password.",
		"denied":        "No access to this room",
		"denied.groups": "is not in any group",
		"error":         "This link does not work",
		"error.state":   "The meeting details sent by Jitsi could not be read.",
		"loggedout":     "You are signed out",
		"preview":       "Token preview",
	},
	"de": {
		"accept":        "de-DE,de;q=0.9",
		"welcome":       "An einer Besprechung teilnehmen",
		"join":          "Beitreten",
		"login":         "Anmelden",
		"username":      "Benutzername",
		"wrong":         "Benutzername oder Passwort ist falsch.",
		"denied":        "Kein Zugang zu diesem Raum",
		"denied.groups": "ist in keiner Gruppe",
		"error":         "Dieser Link funktioniert nicht",
		"error.state":   "Die von Jitsi gesendeten Besprechungsdaten konnten nicht gelesen werden.",
		"loggedout":     "Sie sind abgemeldet",
		"preview":       "Token-Vorschau",
	},
}

// TestPagesInEnglishAndGerman walks through every page in a browser that
// asks for the language by Accept-Language, checks the language of each
// page, saves a full-page screenshot of it (<lang>-<page>.png in the
// artifacts directory) and runs the axe-core accessibility lint on it.
func TestPagesInEnglishAndGerman(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			want := pageTexts[lang]
			e := newEnv(t, gatewayOptions{}, false, want["accept"])
			b := e.b
			axeRan := false
			check := func(page, heading string) {
				t.Helper()
				if got := b.text("main h1"); got != heading {
					t.Errorf("%s page: heading %q, want %q", page, got, heading)
				}
				if got := b.eval(`document.documentElement.lang`); got != lang {
					t.Errorf("%s page: <html lang=%q>, want %q", page, got, lang)
				}
				b.screenshot(lang + "-" + page + ".png")
				axeRan = b.checkAccessibility(page) || axeRan
			}

			b.open(e.gw.URL+"/", "#room-form")
			check("welcome", want["welcome"])
			if got := b.text("#room-form button"); got != want["join"] {
				t.Errorf("welcome page button %q, want %q", got, want["join"])
			}
			b.phoneCheck(lang, "welcome")

			b.open(e.gw.URL+"/login?room="+url.QueryEscape("Mathe-Übung"), "#form-ldap")
			check("login", want["login"])
			if got := b.text(`label[for="username-ldap"]`); got != want["username"] {
				t.Errorf("login page username label %q, want %q", got, want["username"])
			}
			b.phoneCheck(lang, "login")

			b.passwordLogin("ldap", "teacher1", "wrong-password", "#login-error")
			check("login-error", want["login"])
			if got := b.text("#login-error"); got != want["wrong"] {
				t.Errorf("wrong password message %q, want %q", got, want["wrong"])
			}

			b.passwordLogin("ldap", "guest", "guestpass", "main div.card[role=alert]")
			check("denied", want["denied"])
			if got := b.text("main div.card[role=alert]"); !strings.Contains(got, want["denied.groups"]) {
				t.Errorf("denied page says %q, want %q in it", got, want["denied.groups"])
			}
			b.phoneCheck(lang, "denied")

			b.open(e.gw.URL+"/logout", "main h1")
			check("loggedout", want["loggedout"])

			b.open(e.gw.URL+"/login?state=%7Bnot-json", "main p.card.error")
			check("error", want["error"])
			if got := b.text("main p.card.error"); !strings.HasPrefix(got, want["error.state"]) {
				t.Errorf("error page says %q, want %q", got, want["error.state"])
			}
			e.jitsi.noVisits(t)

			// The preview page needs jitsi.preview: true: a second gateway.
			// (Cookies are per host, not per port: the first gateway's
			// session is gone since the logout above.)
			pv := startGateway(t, gatewayOptions{jitsiURL: e.jitsi.URL, ldap: &e.ldap, preview: true})
			b.open(pv.URL+"/login?room="+url.QueryEscape("Mathe-Übung"), "#form-ldap")
			b.passwordLogin("ldap", "teacher1", "teacher1pass", "#token-claims")
			check("preview", want["preview"])
			b.checkPreview(e.jitsi, "mathe-%c3%bcbung")
			b.phoneCheck(lang, "preview")
			e.jitsi.noVisits(t)

			if !axeRan {
				requireAxe(t)
			}
		})
	}
}

// checkPreview checks that the preview page shows a token the contract
// verifier accepts, for the room, and links to the stand-in.
func (b *browser) checkPreview(j *jitsiStandIn, roomSafe string) {
	t := b.t
	t.Helper()
	href := b.eval(`document.getElementById("jitsi-link").href`)
	if !strings.HasPrefix(href, j.URL+"/"+roomSafe+"?jwt=") {
		t.Errorf("preview links to %s, want %s/%s?jwt=…", href, j.URL, roomSafe)
		return
	}
	u, err := url.Parse(href)
	if err != nil {
		t.Fatalf("preview link: %v", err)
	}
	tok, err := j.verifier().Verify(b.ctx, u.Query().Get("jwt"))
	if err != nil {
		t.Fatalf("preview token refused by the contract verifier: %v", err)
	}
	if err := tok.CheckRoom(roomSafe, ""); err != nil {
		t.Errorf("preview token: %v", err)
	}
	if !tok.Owner() {
		t.Errorf("preview token for teacher1 is not an owner token: %v", tok.User)
	}
	if claims := b.text("#token-claims"); !strings.Contains(claims, `"affiliation": "owner"`) {
		t.Errorf("preview claims do not show the owner affiliation:\n%s", claims)
	}
	if got := b.text("#rule"); got != "teachers" {
		t.Errorf("preview names rule %q, want teachers", got)
	}
}

// phoneCheck looks at the page at a phone's viewport (390×844): no
// sideways scrolling, a screenshot <lang>-<page>-phone.png and the
// accessibility lint (some rules, such as scrollable regions, only fire on
// a small screen). Then it restores the desktop size.
func (b *browser) phoneCheck(lang, page string) {
	b.t.Helper()
	b.do("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		b.t.Errorf("%s page: %spx wide on a 390px phone screen (the page scrolls sideways)", page, w)
	}
	b.screenshot(lang + "-" + page + "-phone.png")
	b.checkAccessibility(page + " (phone)")
	b.do("back to the desktop size", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
	if w := b.eval(`String(window.innerWidth)`); w != "1024" {
		b.t.Fatalf("after the phone screenshot the window is %spx wide, want 1024", w)
	}
}

// TestLanguageSwitcher uses the language links in the page header: the
// choice wins over Accept-Language, is remembered across pages, and keeps
// the room the user is signing in for.
func TestLanguageSwitcher(t *testing.T) {
	t.Parallel()
	testenv.Chromium(t)
	e := newEnv(t, gatewayOptions{}, false, "en-US,en")
	b := e.b
	waitLang := func(lang string) {
		t.Helper()
		b.waitFor("a page in "+lang, `document.readyState === "complete" && document.documentElement.lang === "`+lang+`"`)
	}

	b.open(e.gw.URL+"/", "#room-form")
	if got := b.text("main h1"); got != pageTexts["en"]["welcome"] {
		t.Errorf("English browser: heading %q", got)
	}
	if got := b.text(`a[hreflang="en"][aria-current]`); got != "English" {
		t.Errorf("current language link %q, want English marked as current", got)
	}
	b.do("switch to German", chromedp.Click(chromedp.CSS(`a[hreflang="de"]`)))
	waitLang("de")
	if got := b.text("main h1"); got != pageTexts["de"]["welcome"] {
		t.Errorf("after the switch: heading %q", got)
	}

	// Remembered: the next page (without ?lang) is German too.
	b.open(e.gw.URL+"/login?room=physik", "#form-ldap")
	waitLang("de")
	if got := b.text("#submit-ldap"); got != "Anmelden" {
		t.Errorf("login button %q, want Anmelden", got)
	}
	b.passwordLogin("ldap", "teacher1", "wrong-password", "#login-error")
	if got := b.text("#login-error"); got != pageTexts["de"]["wrong"] {
		t.Errorf("German error %q", got)
	}

	// Back to English from the error page: still signing in for physik.
	b.do("switch to English", chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)))
	waitLang("en")
	if loc := b.location(); !strings.Contains(loc, "room=physik") {
		t.Errorf("after switching the language the browser is at %s: the room is lost", loc)
	}
	if got := b.text(".lead .room"); got != "physik" {
		t.Errorf("room on the login page after the switch: %q", got)
	}
	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#joined")
	if v := e.jitsi.onlyVisit(t); v.RoomSafe != "physik" {
		t.Errorf("joined %s, want physik", v.RequestURI)
	}
}
