package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/static"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
	staticfiles "github.com/jitsi-gate/jitsi-gate/static"
	"github.com/jitsi-gate/jitsi-gate/templates"
	"github.com/jitsi-gate/jitsi-gate/web"
)

// The /join hot path: a session cookie comes in, the rules are evaluated,
// a token is signed and a 302 goes out. Compared, in the same run, with a
// bare net/http handler answering a 302 with a Location of the same size,
// both over loopback HTTP with parallel clients (what a load tool sees) and
// in-process (the CPU cost of the handler alone).
//
//	go test -run '^$' -bench 'Join|Bare' -benchmem -count 6 ./web/ | tee bench.txt
//	benchstat bench.txt

func benchServer(b *testing.B, signer *token.Signer) (http.Handler, *http.Cookie) {
	b.Helper()
	return benchServerWith(b, signer, nil)
}

// benchServerWith is benchServer with metrics on (m not nil).
func benchServerWith(b *testing.B, signer *token.Signer, m *metrics.Metrics) (http.Handler, *http.Cookie) {
	b.Helper()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	sa, err := static.New("demo", "Demo", []static.User{
		{Username: "teacher", PasswordHash: string(h), Name: "Tina Teacher", Email: "tina@example.org",
			Groups: []string{"teachers", "staff", "math"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	yes := true
	pol, err := policy.Compile([]policy.Rule{
		{Name: "suspended", Groups: []string{"suspended"}, Role: policy.Deny},
		{Name: "teachers", Groups: []string{"teachers"}, Role: policy.Owner, LobbyBypass: &yes,
			Features: map[string]bool{"recording": true, "livestreaming": false}},
		{Name: "students", Groups: []string{"students"}, Role: policy.Member},
	})
	if err != nil {
		b.Fatal(err)
	}
	sessions, err := session.NewManager(session.Options{Secret: []byte(secret), Lifetime: 8 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	publicURL, _ := url.Parse("http://127.0.0.1")
	grants, err := grant.New(pol, grant.Settings{XMPPDomain: "meet.jitsi", Issuer: "jitsi-gate", Audience: "jitsi-gate", TokenLifetime: time.Hour}, nil)
	if err != nil {
		b.Fatal(err)
	}
	handler, err := web.NewServer(web.Options{
		PublicURL: publicURL,
		Jitsi:     web.JitsiOptions{URL: &url.URL{Scheme: "https", Host: "meet.example.com"}},
		UI:        web.UIOptions{Title: "Bench"},
		RateLimit: web.RateLimitOptions{PerUser: 5, PerIP: 1000, Window: time.Minute},
	}, web.Deps{
		// Info, as in production: every token writes its audit line.
		Logger:    slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Passwords: []auth.PasswordAuthenticator{sa},
		Grants:    grants, Signer: signer, Sessions: sessions, Logins: testLogins(b, time.Now),
		Templates: templates.FS(), Static: staticfiles.FS(),
		Metrics: m,
	})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/login/demo",
		strings.NewReader(url.Values{"username": {"teacher"}, "password": {"pw"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "jitsi_gate" {
			return handler, c
		}
	}
	b.Fatalf("login did not set a session cookie: %d", rec.Code)
	return nil, nil
}

// bareHandler is the ceiling: a 302 with a ~400-byte Location, nothing else.
func bareHandler() http.Handler {
	loc := "https://meet.example.com/math-101?jwt=" + strings.Repeat("x", 360)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
	})
}

func hsSigner(b *testing.B) *token.Signer {
	s, err := token.NewHS256([]byte(secret))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func rsSigner(b *testing.B) *token.Signer {
	k, err := token.GenerateKey(2048)
	if err != nil {
		b.Fatal(err)
	}
	s, err := token.NewRS256(k, "bench-1")
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// loopback measures requests over real HTTP on 127.0.0.1 with parallel
// keep-alive clients.
func loopback(b *testing.B, h http.Handler, cookie *http.Cookie) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	target := srv.URL + "/join/math-101"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, target, nil)
			if cookie != nil {
				req.AddCookie(cookie)
			}
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// inProcess calls the handler directly: no network, no client.
func inProcess(b *testing.B, h http.Handler, cookie *http.Cookie) {
	req := httptest.NewRequest(http.MethodGet, "/join/math-101", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func BenchmarkBare(b *testing.B) {
	b.Run("loopback", func(b *testing.B) { loopback(b, bareHandler(), nil) })
	b.Run("inprocess", func(b *testing.B) { inProcess(b, bareHandler(), nil) })
}

func BenchmarkJoinHS256(b *testing.B) {
	h, c := benchServer(b, hsSigner(b))
	b.Run("loopback", func(b *testing.B) { loopback(b, h, c) })
	b.Run("inprocess", func(b *testing.B) { inProcess(b, h, c) })
}

// BenchmarkJoinHS256Metrics is BenchmarkJoinHS256 with metrics on: the
// HTTP middleware, the token counter.
func BenchmarkJoinHS256Metrics(b *testing.B) {
	m, err := metrics.New(metrics.Options{Backends: []string{"demo"}, Rules: []string{"suspended", "teachers", "students"}})
	if err != nil {
		b.Fatal(err)
	}
	h, c := benchServerWith(b, hsSigner(b), m)
	b.Run("loopback", func(b *testing.B) { loopback(b, h, c) })
	b.Run("inprocess", func(b *testing.B) { inProcess(b, h, c) })
}

func BenchmarkJoinRS256(b *testing.B) {
	h, c := benchServer(b, rsSigner(b))
	b.Run("loopback", func(b *testing.B) { loopback(b, h, c) })
	b.Run("inprocess", func(b *testing.B) { inProcess(b, h, c) })
}

// BenchmarkJoinManyCookies compares /join with only the session cookie and
// with the session cookie among 299 others (other apps on the Jitsi domain,
// or an attacker inflating the header), side by side in one run. The
// gateway keeps only its own cookies from the header in one pass, so the
// two should cost about the same:
//
//	go test -run '^$' -bench JoinManyCookies -benchmem ./web/
func BenchmarkJoinManyCookies(b *testing.B) {
	h, c := benchServer(b, hsSigner(b))
	for _, n := range []int{1, 300} {
		b.Run(fmt.Sprintf("cookies=%d", n), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/join/math-101", nil)
			req.Header.Set("Cookie", manyCookies(c, n))
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusFound {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// manyCookies is a Cookie header of n cookies with the session cookie in
// the middle.
func manyCookies(session *http.Cookie, n int) string {
	parts := make([]string, 0, n)
	for i := range n - 1 {
		parts = append(parts, fmt.Sprintf("_ga_other%03d=GA1.2.%010d.%010d", i, i*7919, i*104729))
	}
	mid := len(parts) / 2
	parts = append(parts[:mid], append([]string{session.Name + "=" + session.Value}, parts[mid:]...)...)
	return strings.Join(parts, "; ")
}
