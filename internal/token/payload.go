package token

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendPayload appends the JSON of c exactly as encoding/json's Marshal
// writes it (field order, omitempty, sorted feature keys, HTML-safe string
// escaping); FuzzPayloadMatchesEncodingJSON holds it to that, byte for
// byte. Every /join signs one payload, and reflection, the map sort and
// their allocations were most of the HS256 minting time, so this one fixed
// struct is written by hand.
func appendPayload(dst []byte, c *wireClaims) []byte {
	dst = append(dst, `{"iss":`...)
	dst = appendString(dst, c.Issuer)
	dst = append(dst, `,"aud":`...)
	dst = appendString(dst, c.Audience)
	dst = append(dst, `,"sub":`...)
	dst = appendString(dst, c.Subject)
	dst = append(dst, `,"room":`...)
	dst = appendString(dst, c.Room)
	dst = append(dst, `,"iat":`...)
	dst = strconv.AppendInt(dst, c.IssuedAt, 10)
	dst = append(dst, `,"nbf":`...)
	dst = strconv.AppendInt(dst, c.NotBefore, 10)
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, c.ExpiresAt, 10)

	u := &c.Context.User
	dst = append(dst, `,"context":{"user":{"id":`...)
	dst = appendString(dst, u.ID)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, u.Name)
	if u.Email != "" {
		dst = append(dst, `,"email":`...)
		dst = appendString(dst, u.Email)
	}
	if u.Affiliation != "" {
		dst = append(dst, `,"affiliation":`...)
		dst = appendString(dst, u.Affiliation)
	}
	dst = append(dst, `,"moderator":`...)
	dst = strconv.AppendBool(dst, u.Moderator)
	if u.LobbyBypass != nil {
		dst = append(dst, `,"lobby_bypass":`...)
		dst = strconv.AppendBool(dst, *u.LobbyBypass)
	}
	if u.Lobby != nil {
		dst = append(dst, `,"lobby":`...)
		dst = strconv.AppendBool(dst, *u.Lobby)
	}
	dst = append(dst, '}')
	if f := c.Context.Features; len(f) > 0 {
		dst = append(dst, `,"features":{`...)
		// A rule has a handful of features: sorting on the stack.
		var buf [16]string
		keys := buf[:0]
		for k := range f {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = strconv.AppendBool(dst, f[k])
		}
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding with HTML escaping (its
// default): quotes, backslashes and control characters escaped, < > &
// as \u003c \u003e \u0026, U+2028 and U+2029 escaped, and invalid UTF-8
// replaced by \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
