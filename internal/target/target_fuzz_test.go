package target

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedirectStaysOnJitsi feeds arbitrary {state} JSON and room/query
// input through the target parsers (go test -fuzz FuzzRedirectStaysOnJitsi
// ./internal/target). Whatever is accepted must produce a
// redirect to the configured Jitsi origin, with nothing from the input
// outside the validated path, the token and the allow-listed hash.
func FuzzRedirectStaysOnJitsi(f *testing.F) {
	for _, seed := range []string{
		`{"room":"Mathe-Übung","roomSafe":"mathe-%c3%bcbung","tenant":"school-a","config.startWithAudioMuted":true}`,
		`{"roomSafe":"..%2f..%2fevil.com"}`, `{"room":"//evil.com"}`, `{"tenant":"evil.com/x","room":"a"}`,
		`{"room":"a\r\nLocation: https://evil.com"}`, `{"ios":true,"room":"x"}`, `[]`, `{"room":5}`,
	} {
		f.Add(seed, "math", "tenant=school-a&config.startWithAudioMuted=true&app=electron")
	}
	j := &Jitsi{URL: &url.URL{Scheme: "https", Host: "meet.example.com"}}
	f.Fuzz(func(t *testing.T, state, rawRoom, rawQuery string) {
		check := func(tg Target) {
			if !tg.HasRoom() {
				return
			}
			for _, fragment := range []bool{false, true} {
				j.TokenInFragment = fragment
				dest := j.RoomURL(tg, "eyJ.eyJ.sig")
				u, err := url.Parse(dest)
				if err != nil {
					t.Fatalf("redirect %q does not parse: %v", dest, err)
				}
				if u.Host != "meet.example.com" || (u.Scheme != "https" && u.Scheme != "org.jitsi.meet") {
					t.Fatalf("redirect leaves Jitsi: %q", dest)
				}
				if strings.ContainsAny(dest, "\r\n\t \\<>\"'") {
					t.Fatalf("redirect carries unsafe characters: %q", dest)
				}
				// At most /<tenant>/<room>, and no segment a browser would
				// resolve against its neighbours.
				segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
				if len(segs) > 2 {
					t.Fatalf("redirect has more than tenant and room: %q", dest)
				}
				for _, seg := range segs {
					if seg == "" || seg == "." || seg == ".." {
						t.Fatalf("redirect has an empty or dot segment: %q", dest)
					}
				}
			}
		}
		if tg, err := j.FromState(state); err == nil {
			check(tg)
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		if tg, err := j.Parse(rawRoom, q); err == nil {
			check(tg)
		}
	})
}
