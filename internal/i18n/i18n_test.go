package i18n

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCatalogsComplete(t *testing.T) {
	for lang, c := range catalogs {
		for other, oc := range catalogs {
			for key := range oc {
				if _, ok := c[key]; !ok {
					t.Errorf("%s has %q but %s does not", other, key, lang)
				}
			}
		}
		for key, msg := range c {
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s: %q is empty", lang, key)
			}
		}
	}
}

// TestTemplatesUseKnownKeys scans the page templates for {{.T "key"}} and
// {{$.T "key"}} so that a typo shows up here, not as a raw key on a page.
func TestTemplatesUseKnownKeys(t *testing.T) {
	files, err := filepath.Glob("../../templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	re := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			for lang, c := range catalogs {
				if _, ok := c[m[1]]; !ok {
					t.Errorf("%s uses %q, missing in %s", filepath.Base(f), m[1], lang)
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d translated strings in templates; is the pattern still right?", seen)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		header, fallback, want string
	}{
		{"", "en", "en"},
		{"", "de", "de"},
		{"", "fr", "en"},
		{"de-DE,de;q=0.9,en;q=0.8", "en", "de"},
		{"en-US,en;q=0.9,de;q=0.8", "de", "en"},
		{"fr-FR,fr;q=0.9,de;q=0.5", "en", "de"},
		{"fr", "de", "de"},
		{"de;q=0.1,en;q=0.2", "en", "en"},
		{"DE-at", "en", "de"},
		{"*", "de", "de"},
		{"de;q=abc", "en", "en"},
		{"de;q=0", "en", "en"},
	}
	for _, tt := range tests {
		if got := Match(tt.header, tt.fallback); got != tt.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tt.header, tt.fallback, got, tt.want)
		}
	}
}

func TestTranslate(t *testing.T) {
	de := New("de")
	if got := de.T("error.rate_limited", 30); !strings.Contains(got, "30 Sekunden") {
		t.Errorf("de rate limit message = %q", got)
	}
	if got := New("xx").Lang(); got != "en" {
		t.Errorf("unknown language falls back to %q, want en", got)
	}
	if got := de.T("no.such.key"); got != "no.such.key" {
		t.Errorf("unknown key = %q", got)
	}
}
