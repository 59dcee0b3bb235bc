package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientNetwork(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"127.0.0.1", "127.0.0.1"},
		{"@", "@"}, // a Unix socket peer
	}
	for _, tt := range tests {
		if got := clientNetwork(tt.ip); got != tt.want {
			t.Errorf("clientNetwork(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func TestOwnCookieHeader(t *testing.T) {
	prefixes := []string{"jitsi_gate", "lang_x"}
	tests := []struct {
		name        string
		lines       []string
		want        string
		wantDropped bool
	}{
		{"only ours", []string{"jitsi_gate=abc"}, "jitsi_gate=abc", false},
		{"ours among others", []string{"a=1; jitsi_gate=abc; b=2; lang_x=de"}, "jitsi_gate=abc; lang_x=de", true},
		{"several lines", []string{"a=1", "jitsi_gate_flow_0a=v ", "lang_x=en;c=3"}, "jitsi_gate_flow_0a=v; lang_x=en", true},
		{"prefix inside a value", []string{"a=jitsi_gate=evil; b=xjitsi_gate=1"}, "", true},
		{"prefix inside a name", []string{"my_jitsi_gate=1; jitsi_gate=ok"}, "jitsi_gate=ok", true},
		{"duplicates kept in order", []string{"jitsi_gate=new; x=1; jitsi_gate=old"}, "jitsi_gate=new; jitsi_gate=old", true},
		{"none of ours", []string{"a=1; b=2"}, "", true},
		{"blanks and tabs", []string{"a=1;\t jitsi_gate=v\t; b"}, "jitsi_gate=v", true},
		{"capped", []string{strings.Repeat("jitsi_gate_flow_x=1; ", 40)}, strings.TrimSuffix(strings.Repeat("jitsi_gate_flow_x=1; ", maxOwnCookies), "; "), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := ownCookieHeader(tt.lines, prefixes)
			if got != tt.want || dropped != tt.wantDropped {
				t.Errorf("ownCookieHeader(%q) = %q, %v; want %q, %v", tt.lines, got, dropped, tt.want, tt.wantDropped)
			}
		})
	}
}

// TestOwnCookiesMiddleware: handlers see only the gateway's cookies, the
// original request is not modified, and an oversized header is refused.
func TestOwnCookiesMiddleware(t *testing.T) {
	var seen []*http.Cookie
	h := ownCookiesWith(&site{}, clients{}, []string{"jitsi_gate", langCookie}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Cookies()
	}))
	r := httptest.NewRequest(http.MethodGet, "/join/x", nil)
	r.Header.Set("Cookie", "_ga=1; jitsi_gate=v; other=2")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if len(seen) != 1 || seen[0].Name != "jitsi_gate" || seen[0].Value != "v" {
		t.Errorf("handler saw %v, want only jitsi_gate=v", seen)
	}
	if r.Header.Get("Cookie") != "_ga=1; jitsi_gate=v; other=2" {
		t.Errorf("the original request was modified: %q", r.Header.Get("Cookie"))
	}
}

// TestLangLinksStayOnThePage: language links are "?query" (or the login
// page after a POST) and keep only the target parameters, never the path
// or anything else the request brought.
func TestLangLinksStayOnThePage(t *testing.T) {
	s := &site{}
	tests := []struct {
		method, target string
		want           string // the "de" link
	}{
		{"GET", "/%2Fevil.example", "?lang=de"},
		{"GET", "/%2F%2Fevil.example?x=1", "?lang=de"},
		{"GET", "/login?room=math&tenant=school-a&config.startWithAudioMuted=true&next=//evil.example", "?config.startWithAudioMuted=true&lang=de&room=math&tenant=school-a"},
		{"GET", "/callback/idp?code=secret-code&state=s1&error=Call+0800", "?lang=de&state=s1"},
		{"POST", "/%2Fevil.example/login/demo?room=math", "/login?lang=de&room=math"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		links := s.langLinks(r, "en")
		var got string
		for _, l := range links {
			if l.Lang == "de" {
				got = l.URL
			}
		}
		if got != tt.want {
			t.Errorf("%s %s: de link %q, want %q", tt.method, tt.target, got, tt.want)
		}
	}
}

func BenchmarkOwnCookieHeader(b *testing.B) {
	parts := []string{}
	for i := range 299 {
		parts = append(parts, "_ga_other"+strings.Repeat("x", i%7)+"=GA1.2.1234567890.1234567890")
	}
	parts = append(parts[:150], append([]string{"jitsi_gate=" + strings.Repeat("v", 400)}, parts[150:]...)...)
	for _, tc := range []struct {
		name  string
		lines []string
	}{{"cookies=1", []string{"jitsi_gate=" + strings.Repeat("v", 400)}}, {"cookies=300", []string{strings.Join(parts, "; ")}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ownCookieHeader(tc.lines, []string{"jitsi_gate"})
			}
		})
	}
}

type failingPinger struct{ err error }

func (p failingPinger) Ping(context.Context) error { return p.err }

// TestReadyzAsksTheStore: without its store the gateway is not ready, and
// the public answer does not say why.
func TestReadyzAsksTheStore(t *testing.T) {
	backends, err := newBackendSet(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, tt := range []struct {
		store Pinger
		want  int
	}{{failingPinger{}, http.StatusOK}, {failingPinger{errors.New("database is locked")}, http.StatusServiceUnavailable}} {
		rec := httptest.NewRecorder()
		handleReadyz(log, backends, tt.store, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tt.want || strings.Contains(rec.Body.String(), "locked") {
			t.Errorf("store %v: %d %q, want %d without details", tt.store, rec.Code, rec.Body.String(), tt.want)
		}
	}
}
