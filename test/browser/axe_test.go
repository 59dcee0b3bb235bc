package browser

import (
	"encoding/json"
	"fmt"
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
  return JSON.stringify(r.violations.map(v => ({
    id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary || ""}))
  })));
})()`

// checkAccessibility runs axe-core on the page the browser shows. Serious
// and critical violations fail the test; moderate and minor ones are
// logged. It returns false when axe-core is not installed.
func (b *browser) checkAccessibility(page string) bool {
	b.t.Helper()
	src, err := loadAxe()
	if err != nil {
		return false
	}
	// DevTools evaluation is not subject to the page's CSP, so axe runs on
	// the real pages with their real headers.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](
		`typeof axe !== "undefined" || (function(){`+"\n"+src+"\n"+`;return typeof axe !== "undefined";}).call(window)`)); err != nil {
		b.t.Fatalf("inject axe-core into %s: %v", page, err)
	}
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](axeRunScript, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core on %s: %v", page, err)
	}
	var violations []axeViolation
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		b.t.Fatalf("axe-core result for %s: %v\n%s", page, err, out)
	}
	for _, v := range violations {
		switch v.Impact {
		case "serious", "critical":
			b.t.Errorf("accessibility (axe-core) on the %s page: %s", page, v)
		default:
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
