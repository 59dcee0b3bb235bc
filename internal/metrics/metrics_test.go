package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// newMetrics builds a Metrics with two configured backends and rules.
func newMetrics(t testing.TB) *Metrics {
	t.Helper()
	m, err := New(Options{Version: "1.2.3-test", Backends: []string{"school", "keycloak"}, Rules: []string{"teachers", "students"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// scrape fetches h's /metrics answer in the text format and returns every
// sample keyed by its series, e.g. `jitsi_gate_logins_total{backend="school", result="success"}`.
func scrape(t testing.TB, h http.Handler) map[string]float64 {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", rec.Code, rec.Body)
	}
	return parseSamples(t, rec.Body)
}

func parseSamples(t testing.TB, body io.Reader) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	samples := map[string]float64{}
	for _, f := range fams {
		vec, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Now()}, f)
		if err != nil {
			t.Fatalf("extract %s: %v", f.GetName(), err)
		}
		for _, s := range vec {
			samples[s.Metric.String()] = float64(s.Value)
		}
	}
	return samples
}

// seriesOf returns the samples of one metric name.
func seriesOf(samples map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range samples {
		if k == name || strings.HasPrefix(k, name+"{") {
			out[k] = v
		}
	}
	return out
}

func TestMethodsRecord(t *testing.T) {
	tests := []struct {
		name   string
		record func(m *Metrics)
		series string
		want   float64
	}{
		{"login success", func(m *Metrics) { m.Login("school", LoginSuccess) },
			`jitsi_gate_logins_total{backend="school", result="success"}`, 1},
		{"every login result", func(m *Metrics) {
			for _, r := range []string{LoginSuccess, LoginBadCredentials, LoginDenied, LoginUnavailable, LoginRateLimited, LoginError} {
				m.Login("keycloak", r)
			}
			m.Login("keycloak", LoginRateLimited)
		}, `jitsi_gate_logins_total{backend="keycloak", result="rate_limited"}`, 2},
		{"token issued", func(m *Metrics) { m.TokenIssued("teachers", RoleOwner); m.TokenIssued("teachers", RoleOwner) },
			`jitsi_gate_tokens_issued_total{role="owner", rule="teachers"}`, 2},
		{"access denied without a rule", func(m *Metrics) { m.AccessDenied("") },
			`jitsi_gate_access_denied_total{rule="none"}`, 1},
		{"access denied by a rule", func(m *Metrics) { m.AccessDenied("students") },
			`jitsi_gate_access_denied_total{rule="students"}`, 1},
		{"backend latency count", func(m *Metrics) {
			m.ObserveBackend("school", OpLDAPBind, 30*time.Millisecond)
			m.ObserveBackend("school", OpLDAPBind, 70*time.Millisecond)
		}, `jitsi_gate_backend_request_duration_seconds_count{backend="school", operation="ldap_bind"}`, 2},
		{"backend latency sum", func(m *Metrics) {
			m.ObserveBackend("school", OpLDAPSearch, 250*time.Millisecond)
			m.ObserveBackend("school", OpLDAPSearch, 750*time.Millisecond)
		}, `jitsi_gate_backend_request_duration_seconds_sum{backend="school", operation="ldap_search"}`, 1},
		{"backend latency bucket", func(m *Metrics) { m.ObserveBackend("keycloak", OpOIDCExchange, 40*time.Millisecond) },
			`jitsi_gate_backend_request_duration_seconds_bucket{backend="keycloak", le="0.05", operation="oidc_exchange"}`, 1},
		{"backend observer", func(m *Metrics) { m.BackendObserver("keycloak")(OpOIDCUserInfo, time.Millisecond) },
			`jitsi_gate_backend_request_duration_seconds_count{backend="keycloak", operation="oidc_userinfo"}`, 1},
		{"reservation", func(m *Metrics) { m.Reservation(ReservationClosed) },
			`jitsi_gate_reservation_decisions_total{decision="closed"}`, 1},
		{"invite", func(m *Metrics) { m.Invite(InviteRedeemed); m.Invite(InviteRedeemed); m.Invite(InviteCreated) },
			`jitsi_gate_invites_total{event="redeemed"}`, 2},
		{"build info", func(*Metrics) {},
			`jitsi_gate_build_info{go_version="` + runtime.Version() + `", version="1.2.3-test"}`, 1},
		{"rate limiter keys", func(m *Metrics) {
			if err := m.RateLimiterKeys("per_ip", func() int { return 42 }); err != nil {
				t.Fatal(err)
			}
		}, `jitsi_gate_rate_limiter_keys{limiter="per_ip"}`, 42},
		{"gauge func", func(m *Metrics) {
			if err := m.RegisterGaugeFunc("room_registry_rooms", "Rooms in the registry.", func() float64 { return 7 }); err != nil {
				t.Fatal(err)
			}
		}, `jitsi_gate_room_registry_rooms`, 7},
		{"http request", func(m *Metrics) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
			m.HTTPMiddleware(nil)(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
		}, `jitsi_gate_http_requests_total{code="200", route="GET /healthz"}`, 1},
		{"http duration", func(m *Metrics) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
			m.HTTPMiddleware(nil)(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
		}, `jitsi_gate_http_request_duration_seconds_count{route="GET /healthz"}`, 1},
		{"go collector", func(*Metrics) {}, `go_goroutines`, -1},
		{"process collector", func(*Metrics) {}, `process_start_time_seconds`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(t)
			tt.record(m)
			samples := scrape(t, m.Handler())
			got, ok := samples[tt.series]
			if !ok {
				t.Fatalf("series %s missing from the scrape; have:\n%s", tt.series, keys(samples, "jitsi_gate_"))
			}
			if tt.want >= 0 && got != tt.want {
				t.Errorf("%s = %v, want %v", tt.series, got, tt.want)
			}
			if tt.want < 0 && got <= 0 {
				t.Errorf("%s = %v, want > 0", tt.series, got)
			}
		})
	}
}

func keys(samples map[string]float64, prefix string) string {
	var b strings.Builder
	for k := range samples {
		if strings.HasPrefix(k, prefix) {
			b.WriteString("  " + k + "\n")
		}
	}
	return b.String()
}

// TestScrapeAfterLoginFailedLoginAndToken is the acceptance check
// at the level of this package: the counters a login, a failed login and a
// token move, seen through the real listener.
func TestScrapeAfterLoginFailedLoginAndToken(t *testing.T) {
	m := newMetrics(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- m.ServeListener(ctx, ln, nil) }()
	url := "http://" + ln.Addr().String() + Path

	m.Login("school", LoginSuccess)
	m.Login("school", LoginBadCredentials)
	m.TokenIssued("teachers", RoleOwner)

	want := `
# HELP jitsi_gate_logins_total Login attempts by backend and result (success, bad_credentials, denied, unavailable, rate_limited, error).
# TYPE jitsi_gate_logins_total counter
jitsi_gate_logins_total{backend="keycloak",result="bad_credentials"} 0
jitsi_gate_logins_total{backend="keycloak",result="denied"} 0
jitsi_gate_logins_total{backend="keycloak",result="error"} 0
jitsi_gate_logins_total{backend="keycloak",result="rate_limited"} 0
jitsi_gate_logins_total{backend="keycloak",result="success"} 0
jitsi_gate_logins_total{backend="keycloak",result="unavailable"} 0
jitsi_gate_logins_total{backend="school",result="bad_credentials"} 1
jitsi_gate_logins_total{backend="school",result="denied"} 0
jitsi_gate_logins_total{backend="school",result="error"} 0
jitsi_gate_logins_total{backend="school",result="rate_limited"} 0
jitsi_gate_logins_total{backend="school",result="success"} 1
jitsi_gate_logins_total{backend="school",result="unavailable"} 0
# HELP jitsi_gate_tokens_issued_total Jitsi tokens issued, by the rule that decided and the role it granted.
# TYPE jitsi_gate_tokens_issued_total counter
jitsi_gate_tokens_issued_total{role="member",rule="students"} 0
jitsi_gate_tokens_issued_total{role="member",rule="teachers"} 0
jitsi_gate_tokens_issued_total{role="owner",rule="students"} 0
jitsi_gate_tokens_issued_total{role="owner",rule="teachers"} 1
`
	// The listener may still be starting: retry the first scrape briefly.
	var cmpErr error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		cmpErr = testutil.ScrapeAndCompare(url, strings.NewReader(want), "jitsi_gate_logins_total", "jitsi_gate_tokens_issued_total")
		if cmpErr == nil || !strings.Contains(cmpErr.Error(), "connect") {
			break
		}
	}
	if cmpErr != nil {
		t.Fatal(cmpErr)
	}

	// The scrape itself is counted.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	samples := parseSamples(t, resp.Body)
	resp.Body.Close()
	if got := samples[`promhttp_metric_handler_requests_total{code="200"}`]; got < 1 {
		t.Errorf("promhttp_metric_handler_requests_total{code=200} = %v, want >= 1", got)
	}

	// Only /metrics is served on the metrics listener.
	resp, err = http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / on the metrics listener = %d, want 404", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeListener returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not return after its context was cancelled")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the metrics listener still answers after its context was cancelled")
	}
}

func TestServe(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		m := newMetrics(t)
		if err := m.Serve(t.Context(), "", nil); err != nil {
			t.Errorf("Serve with an empty address = %v, want nil at once", err)
		}
	})
	t.Run("bad address", func(t *testing.T) {
		m := newMetrics(t)
		err := m.Serve(t.Context(), "127.0.0.1:notaport", nil)
		if err == nil || !strings.Contains(err.Error(), "metrics listener on 127.0.0.1:notaport") {
			t.Errorf("Serve on a bad address = %v, want an error naming the address", err)
		}
	})
	t.Run("address in use", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		m := newMetrics(t)
		if err := m.Serve(t.Context(), busy.Addr().String(), nil); err == nil {
			t.Error("Serve on a busy address returned nil, want an error")
		}
	})
	t.Run("binds and stops", func(t *testing.T) {
		// Find a free port, then let Serve bind it itself.
		probe, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := probe.Addr().String()
		probe.Close()
		m := newMetrics(t)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Serve(ctx, addr, nil) }()
		var resp *http.Response
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if resp, err = http.Get("http://" + addr + Path); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("GET %s: %v", Path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "jitsi_gate_build_info") {
			t.Errorf("GET %s = %d, body without jitsi_gate_build_info", Path, resp.StatusCode)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v after cancel, want nil", err)
		}
	})
}

// TestNilMetrics: with metrics off callers hold a nil *Metrics and call
// everything without checks.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Login("school", LoginSuccess)
	m.TokenIssued("teachers", RoleOwner)
	m.AccessDenied("")
	m.ObserveBackend("school", OpLDAPBind, time.Second)
	m.BackendObserver("school")(OpLDAPSearch, time.Second)
	m.Reservation(ReservationAllowed)
	m.Invite(InviteCreated)
	if err := m.RateLimiterKeys("per_ip", func() int { return 1 }); err != nil {
		t.Errorf("RateLimiterKeys on nil = %v", err)
	}
	if err := m.RegisterGaugeFunc("x", "x", func() float64 { return 1 }); err != nil {
		t.Errorf("RegisterGaugeFunc on nil = %v", err)
	}
	if m.Registry() != nil {
		t.Error("Registry on nil is not nil")
	}
	if err := m.Serve(t.Context(), "127.0.0.1:0", nil); err != nil {
		t.Errorf("Serve on nil = %v, want nil at once", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ServeListener(t.Context(), ln, nil); err != nil {
		t.Errorf("ServeListener on nil = %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ServeListener on nil left the listener open (Accept: %v)", err)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Handler = %d, want 404", rec.Code)
	}

	inner := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.HTTPMiddleware(nil)(inner)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("nil middleware changed the answer: %d", rec.Code)
	}
	if _, wrapped := h.(http.HandlerFunc); !wrapped {
		t.Errorf("nil middleware wrapped the handler in %T", h)
	}
}

func TestLabelValuesAreBounded(t *testing.T) {
	m := newMetrics(t)
	m.Login("school", "weird-result")
	m.Login("attacker-chosen-id", LoginSuccess)
	m.TokenIssued("teachers", "admin")
	m.TokenIssued("unknown-rule", RoleMember)
	m.ObserveBackend("school", "ldap_modify", time.Millisecond)
	m.Reservation("maybe")
	m.Invite("forwarded")
	m.AccessDenied("\xff\xfe")

	samples := scrape(t, m.Handler())
	for _, series := range []string{
		`jitsi_gate_logins_total{backend="school", result="other"}`,
		`jitsi_gate_logins_total{backend="other", result="success"}`,
		`jitsi_gate_tokens_issued_total{role="other", rule="teachers"}`,
		`jitsi_gate_tokens_issued_total{role="member", rule="other"}`,
		`jitsi_gate_backend_request_duration_seconds_count{backend="school", operation="other"}`,
		`jitsi_gate_reservation_decisions_total{decision="other"}`,
		`jitsi_gate_invites_total{event="other"}`,
		`jitsi_gate_access_denied_total{rule="other"}`,
	} {
		if samples[series] != 1 {
			t.Errorf("%s = %v, want 1", series, samples[series])
		}
	}
	for k := range samples {
		for _, leaked := range []string{"weird-result", "attacker-chosen-id", "admin", "unknown-rule", "ldap_modify", "maybe", "forwarded"} {
			if strings.Contains(k, `"`+leaked+`"`) {
				t.Errorf("label value %q recorded: %s", leaked, k)
			}
		}
	}
}

// TestOpenLabelSet: without a configured list, backend ids are recorded as
// they are up to a limit, then as "other".
func TestOpenLabelSet(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxBackends + 50 {
		m.Login("backend-"+strings.Repeat("x", i%200), LoginSuccess)
	}
	m.Login(strings.Repeat("y", maxLabelLen+1), LoginSuccess)
	series := seriesOf(scrape(t, m.Handler()), "jitsi_gate_logins_total")
	if len(series) != maxBackends+1 {
		t.Errorf("got %d login series, want %d (the limit plus other)", len(series), maxBackends+1)
	}
	if got, want := series[`jitsi_gate_logins_total{backend="other", result="success"}`], float64(50+1); got != want {
		t.Errorf("other = %v, want %v", got, want)
	}
}

func TestHTTPRouteCardinality(t *testing.T) {
	m := newMetrics(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_auth/join/{room}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://meet.example.com/"+r.PathValue("room"))
		w.WriteHeader(http.StatusFound)
	})
	h := m.HTTPMiddleware(MuxRoute(mux))(mux)
	for i := range 1000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_auth/join/room-"+strings.Repeat("a", i%7)+string(rune('a'+i%26))+"-"+strconv.Itoa(i), nil))
		if rec.Code != http.StatusFound {
			t.Fatalf("request %d = %d", i, rec.Code)
		}
	}
	for i := range 1000 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/junk/"+strconv.Itoa(i), nil))
	}
	samples := scrape(t, m.Handler())
	requests := seriesOf(samples, "jitsi_gate_http_requests_total")
	want := map[string]float64{
		`jitsi_gate_http_requests_total{code="302", route="GET /_auth/join/{room}"}`: 1000,
		`jitsi_gate_http_requests_total{code="404", route="none"}`:                   1000,
	}
	if len(requests) != len(want) {
		t.Errorf("2,000 distinct paths gave %d series, want %d:\n%s", len(requests), len(want), keys(requests, ""))
	}
	for k, v := range want {
		if requests[k] != v {
			t.Errorf("%s = %v, want %v", k, requests[k], v)
		}
	}
	if got := samples[`jitsi_gate_http_request_duration_seconds_count{route="GET /_auth/join/{room}"}`]; got != 1000 {
		t.Errorf("duration count = %v, want 1000", got)
	}
}

// TestRawPathRouteIsCapped: a route function that returns raw paths (the
// mistake the route argument exists to avoid) still cannot grow the
// scrape without bound.
func TestRawPathRouteIsCapped(t *testing.T) {
	m := newMetrics(t)
	h := m.HTTPMiddleware(func(r *http.Request) string { return r.URL.Path })(http.NotFoundHandler())
	for i := range 1000 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p/"+strconv.Itoa(i), nil))
	}
	series := seriesOf(scrape(t, m.Handler()), "jitsi_gate_http_requests_total")
	if len(series) != maxRoutes+1 {
		t.Errorf("1,000 raw paths gave %d series, want %d", len(series), maxRoutes+1)
	}
}

// TestMuxRoute: PatternRoute needs the mux to see this middleware's
// request; MuxRoute names the route also when a middleware in between
// copies the request or answers itself.
func TestMuxRoute(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/{backend}", func(http.ResponseWriter, *http.Request) {})
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), struct{}{}, 1)))
		})
	}
	refusing := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })
	}
	tests := []struct {
		name   string
		route  func(*http.Request) string
		inner  func(http.Handler) http.Handler
		series string
	}{
		{"pattern, direct", nil, func(h http.Handler) http.Handler { return h },
			`jitsi_gate_http_requests_total{code="200", route="POST /login/{backend}"}`},
		{"pattern, copied request", nil, copying,
			`jitsi_gate_http_requests_total{code="200", route="none"}`},
		{"mux, copied request", MuxRoute(mux), copying,
			`jitsi_gate_http_requests_total{code="200", route="POST /login/{backend}"}`},
		{"mux, answered before the mux", MuxRoute(mux), refusing,
			`jitsi_gate_http_requests_total{code="403", route="POST /login/{backend}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(t)
			h := m.HTTPMiddleware(tt.route)(tt.inner(mux))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login/school", nil))
			series := seriesOf(scrape(t, m.Handler()), "jitsi_gate_http_requests_total")
			if series[tt.series] != 1 || len(series) != 1 {
				t.Errorf("got %v, want only %s = 1", series, tt.series)
			}
		})
	}
}

func TestHTTPStatusCodes(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		code    string
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, "200"},
		{"body only", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) }, "200"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/x", http.StatusSeeOther)
		}, "303"},
		{"error then more writes", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.WriteHeader(http.StatusOK) // superfluous: net/http ignores it
			_, _ = w.Write([]byte("down"))
		}, "503"},
		{"early hints first", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusTooManyRequests)
		}, "429"},
		{"flush first", func(w http.ResponseWriter, _ *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush through the recorder: %v", err)
			}
		}, "200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(t)
			mux := http.NewServeMux()
			mux.Handle("GET /x", tt.handler)
			m.HTTPMiddleware(nil)(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
			series := seriesOf(scrape(t, m.Handler()), "jitsi_gate_http_requests_total")
			want := `jitsi_gate_http_requests_total{code="` + tt.code + `", route="GET /x"}`
			if series[want] != 1 || len(series) != 1 {
				t.Errorf("got %v, want only %s = 1", series, want)
			}
		})
	}
	if got := codeLabel(999); got != Other {
		t.Errorf("codeLabel(999) = %q, want %q", got, Other)
	}
}

func TestRegistrationErrors(t *testing.T) {
	m := newMetrics(t)
	if err := m.RateLimiterKeys("per_user", func() int { return 1 }); err != nil {
		t.Fatal(err)
	}
	if err := m.RateLimiterKeys("per_user", func() int { return 2 }); err == nil {
		t.Error("a second rate limiter named per_user was accepted")
	}
	if err := m.RegisterGaugeFunc("jitsi_gate_things", "Things.", func() float64 { return 1 }); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterGaugeFunc("things", "Things.", func() float64 { return 1 }); err == nil {
		t.Error("jitsi_gate_things registered twice (once with, once without the prefix)")
	}
	if err := m.RegisterGaugeFunc("no spaces allowed", "x", func() float64 { return 1 }); err == nil {
		t.Error("an invalid metric name was accepted")
	}
}

// TestRegistryLint runs the client library's linter (Prometheus naming
// conventions: units, _total on counters, help text) over our metrics.
func TestRegistryLint(t *testing.T) {
	m := newMetrics(t)
	if err := m.RateLimiterKeys("per_ip", func() int { return 0 }); err != nil {
		t.Fatal(err)
	}
	m.Reservation(ReservationAllowed)
	m.Invite(InviteCreated)
	m.AccessDenied("students")
	m.ObserveBackend("school", OpLDAPBind, time.Millisecond)
	m.HTTPMiddleware(nil)(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "jitsi_gate_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

func BenchmarkHTTPMiddleware(b *testing.B) {
	m := newMetrics(b)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /join/{room}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusFound) })
	h := m.HTTPMiddleware(nil)(mux)
	req := httptest.NewRequest(http.MethodGet, "/join/room", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// TestConcurrentUse: handlers record from many goroutines at once while
// Prometheus scrapes (run with -race).
func TestConcurrentUse(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := m.HTTPMiddleware(nil)(http.NotFoundHandler())
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				m.Login("backend-"+strconv.Itoa((g*200+i)%40), LoginSuccess)
				m.TokenIssued("rule-"+strconv.Itoa(i%5), RoleMember)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
			}
		}()
	}
	for range 5 {
		scrape(t, m.Handler())
	}
	for range 8 {
		<-done
	}
	logins := seriesOf(scrape(t, m.Handler()), "jitsi_gate_logins_total")
	var total float64
	for _, v := range logins {
		total += v
	}
	if total != 8*200 || len(logins) != maxBackends+1 {
		t.Errorf("logins: %v in %d series, want %d in %d", total, len(logins), 8*200, maxBackends+1)
	}
}

// TestServeListenerBrokenListener: a listener that fails makes
// ServeListener return an error at once, without waiting for ctx.
func TestServeListenerBrokenListener(t *testing.T) {
	m := newMetrics(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Accept now fails
	done := make(chan error, 1)
	go func() { done <- m.ServeListener(t.Context(), ln, nil) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("ServeListener on a closed listener returned nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeListener on a closed listener did not return")
	}
}
