package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// axe-core is installed by test/infra/install.sh (npm) into
// test/infra/bin/axe-core; GATEWAY_TEST_AXE_JS overrides the path to
// axe.min.js.
const defaultAxePath = "../infra/bin/axe-core/node_modules/axe-core/axe.min.js"

var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

// loadAxe reads axe.min.js once per run.
func loadAxe() (string, error) {
	axeOnce.Do(func() {
		p := os.Getenv("GATEWAY_TEST_AXE_JS")
		if p == "" {
			p = defaultAxePath
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			axeErr = fmt.Errorf("axe-core: %w", err)
			return
		}
		b, err := os.ReadFile(abs)
		if err != nil {
			axeErr = fmt.Errorf("axe-core not found (%w); run test/infra/install.sh or set GATEWAY_TEST_AXE_JS", err)
			return
		}
		axeSource = string(b)
	})
	return axeSource, axeErr
}

// axeViolation is the part of an axe-core result we report.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "[%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&sb, "\n      at %s: %s\n        %s", n.Target, n.HTML,
			strings.ReplaceAll(n.Summary, "\n", "\n        "))
	}
	return sb.String()
}

// axeRunScript runs every axe-core rule on the document and returns the
// violations as JSON.
const axeRunScript = `(async () => {
  const r = await axe.run(document, {resultTypes: ["violations"]});
  return JSON.stringify({passes: r.passes.length, violations: r.violations.map(v => ({
    id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary || ""}))
  }))});
})()`

// axeResult is what one axe-core run found.
type axeResult struct {
	Passes     int            `json:"passes"`
	Violations []axeViolation `json:"violations"`
}

// runAxe runs axe-core on the page the browser shows. DevTools evaluation
// is not subject to the page's CSP, so axe runs on the real pages with
// their real headers.
func (b *browser) runAxe(page string) (axeResult, error) {
	src, err := loadAxe()
	if err != nil {
		return axeResult{}, err
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](
		`typeof axe !== "undefined" || (function(){`+"\n"+src+"\n"+`;return typeof axe !== "undefined";}).call(window)`)); err != nil {
		return axeResult{}, fmt.Errorf("inject axe-core into the %s page: %w", page, err)
	}
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](axeRunScript, chromedp.EvalAwaitPromise))
	if err != nil {
		return axeResult{}, fmt.Errorf("run axe-core on the %s page: %w", page, err)
	}
	var res axeResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return axeResult{}, fmt.Errorf("axe-core result for the %s page: %w\n%s", page, err, out)
	}
	if res.Passes == 0 {
		return axeResult{}, fmt.Errorf("axe-core checked nothing on the %s page: %s", page, out)
	}
	return res, nil
}

// blocking reports whether a violation fails the lint.
func (v axeViolation) blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

// checkAccessibility lints the page the browser shows: serious and
// critical violations fail the test, moderate and minor ones are logged.
// It returns false when axe-core is not installed (see requireAxe).
func (b *browser) checkAccessibility(page string) bool {
	b.t.Helper()
	if _, err := loadAxe(); err != nil {
		return false
	}
	res, err := b.runAxe(page)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("axe-core on the %s page: %d rules passed, %d violated", page, res.Passes, len(res.Violations))
	for _, v := range res.Violations {
		if v.blocking() {
			b.t.Errorf("accessibility (axe-core) on the %s page: %s", page, v)
		} else {
			b.t.Logf("accessibility note (axe-core) on the %s page: %s", page, v)
		}
	}
	return true
}

// requireAxe skips the test (fails it in CI) when axe-core is missing; call
// it at the end, so screenshots and the other checks still run.
func requireAxe(t *testing.T) {
	t.Helper()
	if _, err := loadAxe(); err != nil {
		msg := fmt.Sprintf("accessibility lint not run: %v", err)
		if testenv.Required() {
			t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
		}
		t.Skip(msg)
	}
}

// TestAxeLintFindsProblems makes sure the lint is not vacuous: on a page
// with an unlabelled input and grey-on-grey text, the same run that passes
// the gateway's pages reports serious violations.
func TestAxeLintFindsProblems(t *testing.T) {
	t.Parallel()
	testenv.Chromium(t)
	requireAxe(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>bad page</title><link rel="icon" href="data:,"></head>
<body><main><h1>Bad page</h1><input type="text" id="room">
<p style="color:#aaa;background:#bbb">hard to read</p></main></body></html>`)
	}))
	t.Cleanup(srv.Close)
	b := newBrowser(t, "")
	b.open(srv.URL, "#room")
	res, err := b.runAxe("bad")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, v := range res.Violations {
		if v.blocking() {
			found[v.ID] = true
		}
	}
	for _, id := range []string{"label", "color-contrast"} {
		if !found[id] {
			t.Errorf("axe-core did not report %q as serious or critical; violations: %v", id, res.Violations)
		}
	}
}
