package auth

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits for provider error texts shown on pages and written to logs.
const (
	MaxErrorCodeLen        = 64
	MaxErrorDescriptionLen = 200
)

// CallbackError returns the provider's error from the callback query
// (error, error_description) as a *ProviderError, or nil when the
// query carries no "error". The values come from the browser and end up on
// a page and in the log, so they are stripped of control and formatting
// characters and truncated (code 64, description 200 characters).
func CallbackError(q url.Values) error {
	if !q.Has("error") {
		return nil
	}
	code := Sanitize(q.Get("error"), MaxErrorCodeLen)
	if code == "" {
		code = "unknown_error"
	}
	return &ProviderError{
		Code:        code,
		Description: Sanitize(q.Get("error_description"), MaxErrorDescriptionLen),
	}
}

// Sanitize makes a value from outside (a provider, a directory, a form)
// safe to show on a page, log or put in a token: it turns line breaks and tabs into spaces, drops other control and
// invisible formatting characters (including bidi overrides), trims spaces
// and cuts s to at most n characters.
func Sanitize(s string, n int) string {
	if isClean(s, n) {
		// The common case (every token carries a name and an e-mail):
		// nothing to change, nothing to copy.
		return s
	}
	return sanitize(s, n)
}

// sanitize is Sanitize without the shortcut.
func sanitize(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			continue
		}
		if count == n {
			break
		}
		b.WriteRune(r)
		count++
	}
	return strings.TrimSpace(b.String())
}

// isClean says Sanitize(s, n) would return s unchanged: at most n
// characters, none of them dropped or replaced, no space at either end.
func isClean(s string, n int) bool {
	if s == "" {
		return true
	}
	if strings.TrimSpace(s) != s {
		return false
	}
	count := 0
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && r >= 0x20 && r != 0x7f:
		case r < utf8.RuneSelf, unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			return false
		}
		count++
	}
	return count <= n
}
