// Package i18n holds the translated user-facing strings of the pages and
// picks a language from the Accept-Language header or an explicit choice.
//
// Catalogs are plain Go maps (messages.go) so that a missing translation is
// caught by a unit test rather than shown to a teacher at 8 o'clock.
package i18n

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Translator renders messages in one language.
type Translator struct {
	lang    string
	catalog map[string]string
}

// Languages returns the supported language tags, sorted.
func Languages() []string {
	langs := make([]string, 0, len(catalogs))
	for l := range catalogs {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	return langs
}

// Supported reports whether lang has a catalog.
func Supported(lang string) bool {
	_, ok := catalogs[lang]
	return ok
}

// New returns a translator for lang, or for English when lang is unknown.
func New(lang string) Translator {
	c, ok := catalogs[lang]
	if !ok {
		lang, c = "en", catalogs["en"]
	}
	return Translator{lang: lang, catalog: c}
}

// Lang is the language tag of the translator ("en", "de").
func (t Translator) Lang() string { return t.lang }

// T returns the message for key, formatted with args (fmt verbs). An
// unknown key falls back to English, then to the key itself, so a page
// never breaks because of a missing string.
func (t Translator) T(key string, args ...any) string {
	msg, ok := t.catalog[key]
	if !ok {
		msg, ok = catalogs["en"][key]
		if !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Has reports whether key exists in the catalog of t's language.
func (t Translator) Has(key string) bool {
	_, ok := t.catalog[key]
	return ok
}

// Match picks the best supported language from an Accept-Language header
// value (RFC 9110 weights), or fallback when none is supported.
func Match(acceptLanguage, fallback string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, q := parseLanguageRange(part)
		if tag == "" || q <= bestQ {
			continue
		}
		// "de-AT" is served by "de".
		base, _, _ := strings.Cut(tag, "-")
		if Supported(base) {
			best, bestQ = base, q
		}
	}
	if best == "" {
		if Supported(fallback) {
			return fallback
		}
		return "en"
	}
	return best
}

func parseLanguageRange(s string) (tag string, q float64) {
	s = strings.TrimSpace(s)
	tag, params, _ := strings.Cut(s, ";")
	tag = strings.ToLower(strings.TrimSpace(tag))
	q = 1
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				return "", 0
			}
			q = f
		}
	}
	if tag == "*" {
		return "", 0
	}
	return tag, q
}
