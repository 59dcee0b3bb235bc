package doctor

import (
	"regexp"
	"strings"
)

// stripJSComments removes // and /* */ comments from JavaScript source,
// leaving string literals alone. Jitsi's stock config.js documents every
// option in comments ("// tokenAuthUrl: 'https://myservice.com/auth/{room}'"),
// so options must only be looked for in code. Regular expression literals
// are not recognised; config.js has none that matter here.
func stripJSComments(src string) string {
	var b strings.Builder
	b.Grow(len(src))
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipString(src, i)
			b.WriteString(src[i:j])
			i = j
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += 2 + end + 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipString returns the index just after the string literal starting at
// src[i] (a quote), or len(src) when it is not terminated.
func skipString(src string, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			return j + 1
		case '\n':
			if q != '`' {
				return j + 1
			}
		}
	}
	return len(src)
}

// jsValue is an option value found in config.js.
type jsValue struct {
	Found bool
	// Literal is false when the value is not a plain string literal
	// (a variable, an expression, undefined, ...); Raw then holds a short
	// excerpt of it.
	Literal bool
	Value   string
	Raw     string
}

// findOption returns the last assignment of option name in (comment-free)
// JavaScript: "name: '...'" in the config object or "config.name = '...'"
// appended later (custom-config.js), the later one winning as in the
// browser.
func findOption(code, name string) jsValue {
	re := regexp.MustCompile(`(?:^|[^A-Za-z0-9_$])` + regexp.QuoteMeta(name) + `\s*(?::|=[^=])`)
	locs := re.FindAllStringIndex(code, -1)
	if len(locs) == 0 {
		return jsValue{}
	}
	last := locs[len(locs)-1]
	end := last[1]
	if code[end-1] != ':' {
		end-- // the [^=] after '=' is the first byte of the value
	}
	rest := strings.TrimLeft(code[end:], " \t\r\n")
	if rest != "" && (rest[0] == '\'' || rest[0] == '"' || rest[0] == '`') {
		j := skipString(rest, 0)
		lit := rest[:j]
		if len(lit) >= 2 && lit[len(lit)-1] == lit[0] {
			return jsValue{Found: true, Literal: true, Value: unescapeJS(lit[1 : len(lit)-1]), Raw: lit}
		}
	}
	raw := rest
	if k := strings.IndexAny(raw, ",;\n}"); k >= 0 {
		raw = raw[:k]
	}
	raw = strings.TrimSpace(raw)
	if len(raw) > 80 {
		raw = raw[:80] + "…"
	}
	return jsValue{Found: true, Raw: raw}
}

// unescapeJS handles the escapes that can appear in a URL literal.
func unescapeJS(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isUnset reports whether a found value means "not set" to the client.
func (v jsValue) isUnset() bool {
	if !v.Found {
		return true
	}
	if v.Literal {
		return strings.TrimSpace(v.Value) == ""
	}
	switch v.Raw {
	case "undefined", "null", "false", "''", `""`:
		return true
	}
	return false
}
