package browser

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// calendarTexts are what the calendar page must say, per language
// (written out, not taken from internal/i18n).
var calendarTexts = map[string]map[string]string{
	"en": {"heading": "Your calendar", "copy": "Copy address", "renew": "Make a new address",
		"renewed": "Here is your new address. The old one no longer works."},
	"de": {"heading": "Ihr Kalender", "copy": "Adresse kopieren", "renew": "Neue Adresse erstellen",
		"renewed": "Hier ist Ihre neue Adresse. Die alte funktioniert nicht mehr."},
}

// TestCalendarPage: the calendar page in English and German, at desktop
// and phone width, linted with axe-core; its address serves a feed without
// a cookie, and "new address" replaces it.
func TestCalendarPage(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			want := calendarTexts[lang]
			e := newEnv(t, gatewayOptions{}, false, pageTexts[lang]["accept"])
			b := e.b
			b.open(e.gw.URL+"/login", "#form-ldap")
			b.passwordLogin("ldap", "teacher1", "teacher1pass", "#today") // the dashboard; the login page has a main h1 too

			b.open(e.gw.URL+"/calendar", "#feed-url")
			if got := b.text("main h1"); got != want["heading"] {
				t.Errorf("heading %q, want %q", got, want["heading"])
			}
			if got := b.eval(`document.documentElement.lang`); got != lang {
				t.Errorf("<html lang=%q>, want %q", got, lang)
			}
			// rooms.js shows the copy button (hidden without JavaScript).
			b.waitFor("the copy button", `!document.getElementById("copy-feed").hidden`)
			if got := b.text("#copy-feed"); got != want["copy"] {
				t.Errorf("copy button %q, want %q", got, want["copy"])
			}
			if got := b.text("#renew-form button"); got != want["renew"] {
				t.Errorf("renew button %q, want %q", got, want["renew"])
			}
			first := b.eval(`document.getElementById("feed-url").value`)
			if !strings.HasPrefix(first, e.gw.URL+"/calendar/") || !strings.HasSuffix(first, ".ics") {
				t.Fatalf("the page shows the address %q", first)
			}
			b.screenshot(lang + "-calendar.png")
			axeRan := b.checkAccessibility("calendar")
			b.phoneCheck(lang, "calendar")

			if status, body := get(t, first); status != http.StatusOK || !strings.HasPrefix(body, "BEGIN:VCALENDAR") {
				t.Errorf("GET the address without a cookie: %d\n%s", status, body)
			}

			b.do("make a new address", chromedp.Click("#renew-form button"), chromedp.WaitVisible("main p.note[role=status]"))
			b.waitFor("the page after the new address to load", `document.readyState === "complete"`)
			if got := b.text("main p.note[role=status]"); got != want["renewed"] {
				t.Errorf("after a new address the page says %q, want %q", got, want["renewed"])
			}
			second := b.eval(`document.getElementById("feed-url").value`)
			if second == first || !strings.HasSuffix(second, ".ics") {
				t.Errorf("new address %q (was %q)", second, first)
			}
			b.checkAccessibility("calendar (new address)")
			if status, _ := get(t, first); status != http.StatusNotFound {
				t.Errorf("the old address after a new one: %d, want 404", status)
			}
			if status, _ := get(t, second); status != http.StatusOK {
				t.Errorf("the new address: %d, want 200", status)
			}
			// The gateway logs requests at debug level: never a feed token.
			for _, addr := range []string{first, second} {
				token := strings.TrimSuffix(addr[strings.LastIndex(addr, "/")+1:], ".ics")
				if strings.Contains(e.gw.log.String(), token) {
					t.Errorf("the gateway log contains the token of %s", addr)
				}
			}
			if !axeRan {
				requireAxe(t)
			}
		})
	}
}

// get fetches u without cookies and returns the status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
