package main

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// dexGatewayConfig points a gateway at a test Dex. The gateway listens on a
// port Dex has a redirect URI for (http://127.0.0.1:PORT/callback/dex).
func dexGatewayConfig(addr string, o testenv.OIDCEnv) string {
	return hsGatewayHead(addr) + fmt.Sprintf(`
backends:
  - id: dex
    type: oidc
    label: School login
    issuer: %s
    client_id: %s
    client_secret: %s
    scopes: [openid, profile, email, groups]
    groups_claim: groups
rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner, lobby_bypass: true}
  - {name: students, match: {groups: [students]}, role: member}
`, o.Issuer, o.ClientID, o.ClientSecret)
}

// callbackAddr is a listen address on a port Dex has redirect URIs for.
func callbackAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", testenv.FreeCallbackPort(t))
}

var dexFormAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// dexSignIn plays the user at Dex's own login page: it follows the
// gateway's redirect to Dex, submits the LDAP form and returns Dex's
// redirect back to the gateway's callback (not followed).
func dexSignIn(t *testing.T, c *http.Client, authURL, user, password string) string {
	t.Helper()
	dex := &http.Client{Jar: c.Jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.Contains(req.URL.Path, "/callback/") {
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return nil
		}}
	resp, err := dex.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := dexFormAction.FindSubmatch(page)
	if m == nil {
		t.Fatalf("Dex shows no login form (%s):\n%s", resp.Status, page)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = dex.PostForm(action.String(), url.Values{"login": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, "/callback/dex?") {
		t.Fatalf("Dex did not send the browser back after the login (%s, Location %q)", resp.Status, loc)
	}
	return loc
}

func TestOIDCLoginThroughDex(t *testing.T) {
	o := testenv.OIDC(t)
	g := startGatewayOnPort(t, callbackAddr, func(addr string) string { return dexGatewayConfig(addr, o) })

	for _, tt := range []struct {
		user, pw string
		owner    bool
	}{{"teacher1", "teacher1pass", true}, {"student1", "student1pass", false}} {
		t.Run(tt.user, func(t *testing.T) {
			c := browser(t)
			// With one identity provider the login page goes straight there.
			r := do(t, c, http.MethodGet, g.base+"/login?room=Mathe-%C3%9Cbung", nil)
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login/dex?") {
				t.Fatalf("/login: %d %q", r.status, r.location)
			}
			r = do(t, c, http.MethodGet, g.base+r.location, nil)
			if r.status != http.StatusFound || !strings.HasPrefix(r.location, o.Issuer) {
				t.Fatalf("/login/dex: %d %q", r.status, r.location)
			}
			callback := dexSignIn(t, c, r.location, tt.user, tt.pw)
			r = follow(t, g, c, do(t, c, http.MethodGet, callback, nil))
			tok := jitsiToken(t, hsVerifier(), r, "https://meet.example.com/mathe-%c3%bcbung", "mathe-%c3%bcbung", "")
			if tok.Owner() != tt.owner {
				t.Errorf("owner = %v, want %v: %v", tok.Owner(), tt.owner, tok.User)
			}

			// The callback cannot be replayed: the flow cookie is gone, and
			// the code never reaches Dex again.
			if r := do(t, c, http.MethodGet, callback, nil); r.status != http.StatusBadRequest {
				t.Errorf("replayed callback: %d, want 400", r.status)
			}
			// Logout ends the gateway session (Dex has no end-session
			// endpoint, so the gateway shows its own page).
			if r := do(t, c, http.MethodGet, g.base+"/logout", nil); r.status != http.StatusOK {
				t.Errorf("logout: %d %q", r.status, r.location)
			}
			if r := do(t, c, http.MethodGet, g.base+"/join/math", nil); r.status != http.StatusSeeOther {
				t.Errorf("join after logout: %d, want a redirect to the login page", r.status)
			}
		})
	}

	t.Run("tampered state", func(t *testing.T) {
		c := browser(t)
		r := do(t, c, http.MethodGet, g.base+"/login/dex?room=math", nil)
		callback := dexSignIn(t, c, r.location, "teacher1", "teacher1pass")
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Set("state", "x"+q.Get("state"))
		u.RawQuery = q.Encode()
		r = do(t, c, http.MethodGet, u.String(), nil)
		if r.status != http.StatusBadRequest || strings.Contains(r.body, "eyJ") {
			t.Fatalf("tampered state: %d", r.status)
		}
		if r := do(t, c, http.MethodGet, g.base+"/join/math", nil); r.status != http.StatusSeeOther {
			t.Errorf("a tampered state started a session: /join gives %d", r.status)
		}
	})
	t.Run("cancelled at the provider", func(t *testing.T) {
		// What Dex (or any provider) sends when the user cancels.
		c := browser(t)
		r := do(t, c, http.MethodGet, g.base+"/login/dex?room=math", nil)
		u, _ := url.Parse(r.location)
		cb := fmt.Sprintf("%s/callback/dex?error=access_denied&error_description=%s&state=%s",
			g.base, url.QueryEscape("User cancelled"), url.QueryEscape(u.Query().Get("state")))
		r = do(t, c, http.MethodGet, cb, nil)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "cancelled") {
			t.Errorf("cancelled login: %d\n%s", r.status, r.body)
		}
	})
}

func TestGatewayStaysUpWhileTheProviderIsDown(t *testing.T) {
	o := testenv.PrivateOIDC(t, testenv.LDAP(t))
	o.Stop(t)
	// The gateway starts although Dex is down.
	g := startGatewayOnPort(t, callbackAddr, func(addr string) string { return dexGatewayConfig(addr, o) })

	c := browser(t)
	// The answer is short; which backend and why is in the log only.
	if r := do(t, c, http.MethodGet, g.base+"/readyz", nil); r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "dex") {
		t.Errorf("/readyz with the provider down: %d %s", r.status, r.body)
	}
	if !strings.Contains(g.waitForLog(t, "readyz: backend not ready"), "backend=dex") {
		t.Errorf("the log does not name the backend that is not ready:\n%s", g.log.String())
	}
	if r := do(t, c, http.MethodGet, g.base+"/", nil); r.status != http.StatusOK {
		t.Errorf("welcome page with the provider down: %d", r.status)
	}
	r := do(t, c, http.MethodGet, g.base+"/login/dex?room=math", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "cannot be reached") {
		t.Fatalf("login with the provider down: %d\n%s", r.status, r.body)
	}

	o.Start(t)
	deadline := time.Now().Add(90 * time.Second) // discovery retries back off up to a minute
	for {
		r = do(t, c, http.MethodGet, g.base+"/login/dex?room=math", nil)
		if r.status == http.StatusFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login still fails after the provider came back: %d", r.status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	callback := dexSignIn(t, c, r.location, "student1", "student1pass")
	r = follow(t, g, c, do(t, c, http.MethodGet, callback, nil))
	jitsiToken(t, hsVerifier(), r, "https://meet.example.com/math", "math", "")
}
