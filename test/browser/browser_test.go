package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// testTimeout bounds one test's browser work (logins through Dex included).
const testTimeout = 90 * time.Second

// browser is one headless Chromium with its own profile (so no cookie or
// localStorage leaks between tests) and one tab.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab, with the test's deadline
	tab context.Context // the tab without deadline, for the failure report
	dir string          // where screenshots go
}

// newBrowser starts Chromium. acceptLanguage is sent as Accept-Language
// ("en-US,en", "de-DE,de"); empty means English.
func newBrowser(t *testing.T, acceptLanguage string) *browser {
	t.Helper()
	execPath := testenv.Chromium(t)
	if acceptLanguage == "" {
		acceptLanguage = "en-US,en"
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The language headless Chromium asks pages for (Accept-Language).
		chromedp.Flag("accept-lang", acceptLanguage),
		chromedp.Flag("lang", strings.Split(acceptLanguage, ",")[0]),
		chromedp.WindowSize(1024, 768),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelT := context.WithTimeout(tab, testTimeout)
	b := &browser{t: t, ctx: ctx, tab: tab}
	t.Cleanup(func() {
		if t.Failed() {
			b.failureReport()
		}
		cancelT()
		cancelTab()
		cancelAlloc()
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", execPath, err)
	}
	t.Logf("Chromium started in %s", time.Since(start).Round(time.Millisecond))
	return b
}

// failureReport saves a screenshot and the page text of where the browser
// was when the test failed.
func (b *browser) failureReport() {
	ctx, cancel := context.WithTimeout(b.tab, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Logf("browser was at %s showing:\n%s", loc, text)
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		p := filepath.Join(b.artifacts(), "failure.png")
		if os.WriteFile(p, png, 0o644) == nil {
			b.t.Logf("screenshot of the failure: %s", p)
		}
	}
}

func (b *browser) artifacts() string {
	if b.dir == "" {
		b.dir = testenv.ArtifactsDir(b.t)
	}
	return b.dir
}

// stepTimeout bounds one page step (load a page and find an element on
// it), so that a test that lands on the wrong page fails in seconds, not
// at the test deadline.
const stepTimeout = 20 * time.Second

// do runs steps and fails the test with what when one fails or all take
// longer than stepTimeout.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to url and waits for sel to be visible.
func (b *browser) open(url string, sel chromedp.CSS) {
	b.t.Helper()
	b.do("open "+url+" and wait for "+string(sel), chromedp.Navigate(url), chromedp.WaitVisible(sel))
}

// location is the URL in the address bar, with its #fragment.
func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("read location: %v", err)
	}
	return loc
}

// text is the visible text of the first element matching sel.
func (b *browser) text(sel chromedp.CSS) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("read text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression returning a string.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// waitFor evaluates the JavaScript condition until it is true. Unlike
// chromedp.Poll it survives the navigation a click starts (the page's
// JavaScript context is replaced underneath it).
func (b *browser) waitFor(what, condition string) {
	b.t.Helper()
	var lastErr error
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](condition))
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-b.ctx.Done():
			b.t.Fatalf("waiting for %s: %v (last error: %v)", what, b.ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pageText is everything the page shows.
func (b *browser) pageText() string {
	b.t.Helper()
	return b.eval(`document.body.innerText`)
}

// exists reports whether sel matches an element now (no waiting).
func (b *browser) exists(sel string) bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, sel)))
	if err != nil {
		b.t.Fatalf("query %s: %v", sel, err)
	}
	return ok
}

// passwordLogin fills and submits the login form of backend, then waits
// for next.
func (b *browser) passwordLogin(backend, username, password string, next chromedp.CSS) {
	b.t.Helper()
	b.do(fmt.Sprintf("log in as %s at %s and wait for %s", username, backend, next),
		chromedp.WaitVisible(chromedp.ID("form-"+backend)),
		chromedp.Clear(chromedp.ID("username-"+backend)),
		chromedp.SendKeys(chromedp.ID("username-"+backend), username),
		chromedp.SendKeys(chromedp.ID("password-"+backend), password),
		chromedp.Click(chromedp.ID("submit-"+backend)),
		chromedp.WaitVisible(next))
	b.waitFor("the page after the login to load", `document.readyState === "complete"`)
}

// screenshot saves a full-page PNG as name in the artifacts directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.artifacts(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", p)
}

// cookies returns the browser's cookies for url.
func (b *browser) cookies(url string) []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	})
	if err != nil {
		b.t.Fatalf("read cookies: %v", err)
	}
	return res.Cookies
}

// setCookie stores a cookie for url that lives until the browser is closed,
// whatever Max-Age the server gave it.
func (b *browser) setCookie(url string, c *network.Cookie) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{
			Name: c.Name, Value: c.Value, URL: url, Path: c.Path,
			HTTPOnly: &c.HTTPOnly, SameSite: c.SameSite,
		})
	})
	if err != nil {
		b.t.Fatalf("set cookie %s: %v", c.Name, err)
	}
}

// history is the list of URLs in the tab's history (redirects are not
// entries; pages shown are).
func (b *browser) history() []string {
	b.t.Helper()
	h, err := chromedp.Run(b.ctx, chromedp.NavigationEntries())
	if err != nil {
		b.t.Fatalf("read history: %v", err)
	}
	var urls []string
	for _, e := range h.Entries {
		urls = append(urls, e.URL)
	}
	return urls
}

// networkCookie is a cookie as the DevTools protocol reports it.
type networkCookie = network.Cookie
