// Package room turns user-supplied Jitsi room and tenant names into the exact
// form Jitsi's web client and Prosody use, and rejects everything that could
// smuggle a path, a host or a control character into a redirect.
//
// The backend-safe name (Name.Safe) is what Jitsi's getBackendSafeRoomName
// computes: decodeURIComponent, NFKC, toLowerCase, encodeURIComponent,
// lower-case hex (docs/reference/jitsi-contract.md §6). It is the MUC node Prosody compares
// the token's "room" claim against, so the gateway must produce byte-for-byte
// the same string. Parse is stricter than Jitsi: inputs that Jitsi would
// silently reinterpret (slashes, '%' after decoding, look-alike punctuation
// produced by NFKC) are rejected instead of guessed at, and every accepted
// name is a fixed point (Parse(Display).Safe == Safe), so redirecting to
// /<Safe> makes Jitsi compute the same name again.
//
// Errors are *Error values with a stable Code the web layer translates:
//
//	"empty"          nothing left after removing the characters Jitsi removes
//	"too_long"       input over 1024 bytes, or Display over 64 characters
//	"reserved"       a Jitsi static path, web-root file, the gateway's own prefix, "." or ".."
//	"invalid_char"   '/', '\', '%' after decoding, invalid UTF-8,
//	                 a character that only normalises to a forbidden one,
//	                 a code point unassigned in our Unicode tables, a capital
//	                 'Σ' next to characters whose casing is unstable, or a
//	                 name Jitsi would not map to itself on a second pass
//	"control_char"   C0/C1 controls, DEL, bidi overrides
//	"mismatch"       FromState: room and roomSafe disagree, or roomSafe is not canonical
//	"invalid_tenant" ParseTenant: not a DNS label
package room

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Error codes; stable, the web layer maps them to translated messages.
const (
	CodeEmpty         = "empty"
	CodeTooLong       = "too_long"
	CodeReserved      = "reserved"
	CodeInvalidChar   = "invalid_char"
	CodeControlChar   = "control_char"
	CodeMismatch      = "mismatch"
	CodeInvalidTenant = "invalid_tenant"
)

// Limits. MaxRawBytes bounds work on hostile input; MaxRunes is the
// contract's recommended gateway limit (Jitsi itself has none).
const (
	MaxRawBytes = 1024
	MaxRunes    = 64
)

// Error is returned by Parse, FromState and ParseTenant.
type Error struct {
	// Code is one of the Code* constants.
	Code string
	// Message is an English sentence a user understands.
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is lets callers write errors.Is(err, &room.Error{Code: room.CodeReserved}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Name is a validated room name.
type Name struct {
	// Safe is the backend-safe name: the token "room" claim and the URL
	// path segment, e.g. "mathe-%c3%bcbung".
	Safe string
	// Display is the normalised human form (decoded, NFKC, lower-cased),
	// e.g. "mathe-übung". Rules glob-match on this.
	Display string
}

// reserved holds first path segments nginx serves itself in Jitsi's web
// container (static locations and web-root files), plus our own "_auth".
// A room or tenant with such a name would never reach Jitsi's app.
var reserved = map[string]bool{
	// Jitsi static locations (docker web/rootfs/defaults/meet.conf).
	"libs": true, "css": true, "static": true, "images": true, "fonts": true,
	"lang": true, "sounds": true, "connection_optimization": true,
	".well-known": true, "transcripts": true, "http-bind": true,
	"xmpp-websocket": true, "_api": true, "etherpad": true, "socket.io": true,
	"rtcstats-ws": true, "_load-test": true, "config.js": true,
	"interface_config.js": true, "external_api.js": true,
	// Files in the web root that try_files would serve instead of the room.
	"index.html": true, "base.html": true, "body.html": true, "head.html": true,
	"title.html": true, "manifest.json": true, "pwa-worker.js": true,
	"favicon.ico": true, "robots.txt": true, "plugin.head.html": true,
	"_unlock": true,
	// The gateway's own prefix.
	"_auth": true,
}

// Parse validates a room name typed by a user or taken from a URL (the
// welcome form, {room} of tokenAuthUrl, the /join/{room} path value) and
// computes its backend-safe and display forms.
func Parse(raw string) (Name, error) {
	if len(raw) > MaxRawBytes {
		return Name{}, newError(CodeTooLong, "Room names can be at most %d characters long.", MaxRunes)
	}
	if err := checkUnsafe(raw); err != nil {
		return Name{}, err
	}
	// Like Jitsi's try { decodeURIComponent } catch {}: an invalid escape
	// leaves the text as it was (and its '%' is then rejected below).
	s := raw
	if decoded, ok := decodeURIComponent(raw); ok {
		s = decoded
		if err := checkUnsafe(s); err != nil {
			return Name{}, err
		}
	}
	if strings.IndexByte(s, '%') >= 0 {
		// A '%' that survives one decode is either double encoding
		// (%252f) or an invalid escape; Jitsi would treat both
		// differently on a second pass, so Safe would not be stable.
		return Name{}, newError(CodeInvalidChar, "Room names cannot contain '%%'.")
	}

	s = strings.Map(func(r rune) rune {
		if isStripped(r) {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return Name{}, emptyError()
	}

	for _, r := range s {
		if r >= utf8.RuneSelf && !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cf, unicode.Co) {
			// Unassigned in our tables (Unicode 15.0, x/text's for
			// this Go version): newer browsers may normalise or
			// lower-case it differently, giving another room.
			return Name{}, newError(CodeInvalidChar, "Room name contains a character (%U) this server does not support; please use other characters.", r)
		}
	}
	nfkc := norm.NFKC.String(s)
	if strings.ContainsRune(nfkc, 'Σ') && !sigmaContextStable(nfkc) {
		return Name{}, newError(CodeInvalidChar, "Room names with a capital 'Σ' may only contain Latin and Greek letters, digits, '-', '_', '.' and '~'; please type the name in lower case.")
	}
	display := jsLower(nfkc)
	// NFKC can turn harmless-looking characters into ones Jitsi strips or
	// that change the path (U+FF0F fullwidth solidus → '/'). Jitsi strips
	// before normalising and would keep them; reject rather than guess.
	for _, r := range display {
		switch {
		case r == '/' || r == '\\':
			return Name{}, slashError()
		case r == '%':
			return Name{}, newError(CodeInvalidChar, "Room names cannot contain '%%' or characters that stand for it.")
		case isControl(r):
			return Name{}, controlError()
		case isStripped(r):
			return Name{}, newError(CodeInvalidChar, "Room names cannot contain %q or characters that stand for it.", r)
		}
	}
	// Every accepted name must be a fixed point, so that Jitsi (and a
	// second Parse) computes the same Safe from the URL we redirect to.
	if !(isASCII(display) || norm.NFKC.IsNormalString(display)) || jsLower(display) != display {
		return Name{}, newError(CodeInvalidChar, "Room name contains characters that cannot be used; please use plain letters and digits.")
	}
	if display == "." || display == ".." {
		// Path segments with a meaning of their own: reserved like Jitsi's paths.
		return Name{}, newError(CodeReserved, "%q is reserved and cannot be used as a room name.", display)
	}
	if utf8.RuneCountInString(display) > MaxRunes {
		return Name{}, newError(CodeTooLong, "Room names can be at most %d characters long.", MaxRunes)
	}
	if reserved[display] {
		return Name{}, newError(CodeReserved, "%q is reserved and cannot be used as a room name.", display)
	}
	return Name{Safe: encodeURIComponent(display), Display: display}, nil
}

// FromState validates the room from Jitsi's tokenAuthUrl {state} JSON. If
// room is given, its safe form must equal roomSafe (when roomSafe is given
// too); if only roomSafe is given it must already be canonical. Jitsi always
// sends roomSafe; trusting it without this check would let a crafted state
// name a different room than the one the user sees.
func FromState(room, roomSafe string) (Name, error) {
	switch {
	case room != "":
		n, err := Parse(room)
		if err != nil {
			return Name{}, err
		}
		if roomSafe != "" && n.Safe != roomSafe {
			return Name{}, mismatchError()
		}
		return n, nil
	case roomSafe != "":
		n, err := Parse(roomSafe)
		if err != nil {
			return Name{}, err
		}
		if n.Safe != roomSafe {
			return Name{}, mismatchError()
		}
		return n, nil
	default:
		return Name{}, emptyError()
	}
}

// ParseTenant validates a tenant (the path segment before the room). It
// must be a DNS label after ASCII lower-casing, because Jitsi turns it into
// the MUC domain conference.<tenant>.<domain>.
func ParseTenant(raw string) (string, error) {
	t := asciiLower(raw)
	if !isDNSLabel(t) {
		return "", newError(CodeInvalidTenant,
			"Tenant names may only contain a-z, 0-9 and '-', must not start or end with '-', and can be at most 63 characters long.")
	}
	if reserved[t] {
		return "", newError(CodeReserved, "%q is reserved and cannot be used as a tenant name.", t)
	}
	return t, nil
}

func emptyError() *Error {
	return newError(CodeEmpty, "The room name is empty. Please use letters, digits, '-' or '_'.")
}

func slashError() *Error {
	return newError(CodeInvalidChar, "Room names cannot contain '/' or '\\'.")
}

func controlError() *Error {
	return newError(CodeControlChar, "Room names cannot contain control characters or line breaks.")
}

func mismatchError() *Error {
	return newError(CodeMismatch, "The room name sent by the meeting page does not match its encoded form.")
}

// checkUnsafe rejects what must never pass, before or after decoding.
func checkUnsafe(s string) error {
	if !utf8.ValidString(s) {
		return newError(CodeInvalidChar, "Room names must be valid UTF-8 text.")
	}
	for _, r := range s {
		switch {
		case r == '/' || r == '\\':
			return slashError()
		case isControl(r):
			return controlError()
		}
	}
	return nil
}

// isControl: C0, DEL, C1, and the bidi formatting characters that make a
// name render as a different one.
func isControl(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// isStripped reports the characters Jitsi's client removes from every path
// segment (_ROOM_EXCLUDE_PATTERN) plus whitespace: Unicode White_Space and
// U+FEFF, which JavaScript's \s also matches.
func isStripped(r rune) bool {
	if r < utf8.RuneSelf {
		return strings.IndexByte(`:?#[]@!$&'()*+,;=></"`, byte(r)) >= 0 || r == ' '
	}
	return r == 0xfeff || unicode.Is(unicode.White_Space, r)
}

// jsLower is JavaScript's String.prototype.toLowerCase: locale-independent
// full case mapping including final sigma and İ → i̇. A Caser is stateful,
// so each call gets its own.
func jsLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return cases.Lower(language.Und).String(s)
		}
	}
	// ASCII, the common case: no special casing applies.
	return asciiLower(s)
}

// sigmaContextStable reports whether s, which contains a capital sigma,
// uses only characters whose Cased and Case_Ignorable properties are old
// and stable. Lower-casing Σ to σ or final ς depends on those properties
// of its neighbours; for characters added or changed in recent Unicode
// versions x/text, V8 and SpiderMonkey disagree (found by comparing every
// code point around Σ against node), so such names would get a different
// room than the one the user's browser computes.
func sigmaContextStable(s string) bool {
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
		case r >= 0x00c0 && r <= 0x024f: // Latin-1 letters, Latin Extended-A/B
		case r >= 0x0300 && r <= 0x036f: // combining diacritical marks
		case r >= 0x0370 && r <= 0x03ff: // Greek and Coptic
		case r >= 0x1f00 && r <= 0x1fff: // Greek Extended
		default:
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// isDNSLabel matches ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeURIComponent mirrors JavaScript's: every %XX is decoded ('+' is
// not a space), and the result must be valid UTF-8 (no overlongs, no
// surrogates); otherwise ok is false, where JavaScript throws URIError.
func decodeURIComponent(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// encodeURIComponent mirrors JavaScript's, with lower-case hex as Jitsi
// lower-cases the whole result. Unreserved: A-Z a-z 0-9 - _ . ! ~ * ' ( ).
// url.PathEscape and url.QueryEscape use different sets.
func encodeURIComponent(s string) string {
	const hexdigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&0xf])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

// CheckPattern reports why a room glob (path.Match syntax) can never match
// a Display name, or nil. Rules compare patterns with Display names, so a
// pattern must be written the way people type rooms ("prüfung-*"): the
// percent-encoded form ("pr%c3%bcfung-*"), upper case, '/', whitespace or
// characters that normalisation changes would make a deny rule silently
// never apply. Only the literal parts are checked; '*', '?', '[…]' and '\'
// escapes are the glob's own.
func CheckPattern(pattern string) error {
	if !utf8.ValidString(pattern) {
		return errors.New("is not valid UTF-8")
	}
	if strings.IndexByte(pattern, '%') >= 0 {
		if decoded, ok := decodeURIComponent(pattern); ok && decoded != pattern {
			return fmt.Errorf("is written in the encoded form; write room names as people type them: %q", jsLower(norm.NFKC.String(decoded)))
		}
		return errors.New("contains '%', which no room name can contain")
	}
	var lit strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*', '?':
		case '[':
			// A character class: its members are the admin's choice.
			if j := strings.IndexByte(pattern[i+1:], ']'); j >= 0 {
				i += j + 1
			}
		case '\\':
			if i+1 < len(pattern) {
				i++
				lit.WriteByte(pattern[i])
			}
		default:
			lit.WriteByte(c)
		}
	}
	for _, r := range lit.String() {
		switch {
		case r == '/' || r == '\\':
			return fmt.Errorf("contains %q, which no room name can contain", r)
		case isControl(r):
			return errors.New("contains a control character, which no room name can contain")
		case isStripped(r):
			return fmt.Errorf("contains %q, which Jitsi removes from room names", r)
		}
	}
	s := lit.String()
	if jsLower(norm.NFKC.String(s)) != jsLower(s) {
		return fmt.Errorf("contains characters that room names never have after normalisation; write %q", jsLower(norm.NFKC.String(pattern)))
	}
	return nil
}

// isASCII says s has only ASCII characters, which NFKC leaves as they are.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
