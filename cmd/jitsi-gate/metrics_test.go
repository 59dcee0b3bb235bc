package main

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// scrape fetches http://addr/metrics the way Prometheus does and returns
// its samples.
func scrape(t *testing.T, addr string) model.Vector {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	var out model.Vector
	for _, f := range fams {
		v, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Now()}, f)
		if err != nil {
			t.Fatalf("scrape: %s: %v", f.GetName(), err)
		}
		out = append(out, v...)
	}
	return out
}

// value is the sample of name with exactly labels (besides the name), and
// whether there is one.
func value(v model.Vector, name string, labels map[string]string) (float64, bool) {
	for _, s := range v {
		if string(s.Metric[model.MetricNameLabel]) != name || len(s.Metric) != len(labels)+1 {
			continue
		}
		match := true
		for k, want := range labels {
			if string(s.Metric[model.LabelName(k)]) != want {
				match = false
				break
			}
		}
		if match {
			return float64(s.Value), true
		}
	}
	return 0, false
}

// metricsConfig is gatewayConfig with metrics on at metricsAddr.
func metricsConfig(t *testing.T, addr, metricsAddr string) string {
	return gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`) +
		fmt.Sprintf("metrics: {listen: %q}\n", metricsAddr)
}

// TestMetricsCountLoginsTokensAndRequests: the "done when": a
// scrape after a failed login, a login and a token finds the counters
// moved, and the HTTP route label is the route pattern, never the path.
func TestMetricsCountLoginsTokensAndRequests(t *testing.T) {
	addr, metricsAddr := freePort(t), freePort(t)
	g := startGateway(t, metricsConfig(t, addr, metricsAddr), nil)

	before := scrape(t, metricsAddr)
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{
		// Configured backends and rules start at 0, so rate() works from
		// the first scrape.
		{"jitsi_gate_logins_total", map[string]string{"backend": "demo", "result": "success"}},
		{"jitsi_gate_logins_total", map[string]string{"backend": "demo", "result": "bad_credentials"}},
		{"jitsi_gate_tokens_issued_total", map[string]string{"rule": "teachers", "role": "owner"}},
	} {
		if v, ok := value(before, s.name, s.labels); !ok || v != 0 {
			t.Errorf("before any request: %s%v = %v (present %v), want 0", s.name, s.labels, v, ok)
		}
	}
	if _, ok := value(before, "jitsi_gate_build_info", map[string]string{"version": version, "go_version": runtime.Version()}); !ok {
		t.Error("no jitsi_gate_build_info with the version")
	}

	// Another user than the ones who then sign in: a success resets the
	// user's failed attempts, this one stays in the rate limiters.
	if r := login(t, g, browser(t), "room=mathe-7b", "parent", "wrong"); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", r.status)
	}
	teacher := browser(t)
	jitsiToken(t, hsVerifier(), login(t, g, teacher, "room=mathe-7b", "teacher", "teacherpw"),
		"https://meet.example.com/mathe-7b", "mathe-7b", "")
	student := browser(t)
	if r := login(t, g, student, "room=staff-room", "student", "studentpw"); r.status != http.StatusForbidden {
		t.Fatalf("student in staff-room: %d, want 403", r.status)
	}
	// The public listener does not serve the metrics.
	if r := do(t, browser(t), http.MethodGet, g.base+"/metrics", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /metrics on server.listen: %d, want 404", r.status)
	}

	after := scrape(t, metricsAddr)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"jitsi_gate_logins_total", map[string]string{"backend": "demo", "result": "bad_credentials"}, 1},
		{"jitsi_gate_logins_total", map[string]string{"backend": "demo", "result": "success"}, 2},
		{"jitsi_gate_tokens_issued_total", map[string]string{"rule": "teachers", "role": "owner"}, 1},
		{"jitsi_gate_tokens_issued_total", map[string]string{"rule": "students", "role": "member"}, 0},
		{"jitsi_gate_access_denied_total", map[string]string{"rule": "no-students-in-staff-rooms"}, 1},
		{"jitsi_gate_http_requests_total", map[string]string{"route": "POST /login/{backend}", "code": "401"}, 1},
		{"jitsi_gate_http_requests_total", map[string]string{"route": "POST /login/{backend}", "code": "303"}, 2},
		{"jitsi_gate_http_requests_total", map[string]string{"route": "GET /join/{room}", "code": "302"}, 1},
		{"jitsi_gate_http_requests_total", map[string]string{"route": "GET /join/{room}", "code": "403"}, 1},
		{"jitsi_gate_http_request_duration_seconds_count", map[string]string{"route": "GET /join/{room}"}, 2},
		// Three password checks, each one bcrypt comparison.
		{"jitsi_gate_backend_request_duration_seconds_count", map[string]string{"backend": "demo", "operation": "static_verify"}, 3},
	}
	for _, tt := range tests {
		if got, ok := value(after, tt.name, tt.labels); !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	// The /healthz polls of startGateway: a route with a code.
	if v, _ := value(after, "jitsi_gate_http_requests_total", map[string]string{"route": "GET /healthz", "code": "200"}); v < 1 {
		t.Errorf("no GET /healthz requests counted")
	}
	for _, limiter := range []string{"per_user", "per_user_global", "per_ip"} {
		if v, ok := value(after, "jitsi_gate_rate_limiter_keys", map[string]string{"limiter": limiter}); !ok || v < 1 {
			t.Errorf("jitsi_gate_rate_limiter_keys{limiter=%q} = %v (present %v), want ≥ 1 after logins", limiter, v, ok)
		}
	}
	for _, s := range after {
		if route := string(s.Metric["route"]); strings.Contains(route, "mathe") || strings.Contains(route, "staff") {
			t.Errorf("a raw path as route label: %s", s.Metric)
		}
	}
}

func TestMetricsListenerInUseFailsTheStart(t *testing.T) {
	taken := testenv.Listen(t) // not handed over: the gateway's bind fails
	_, err := tryStartGateway(t, metricsConfig(t, freePort(t), taken.Addr().String()), nil)
	if err == nil {
		t.Fatal("the gateway started although metrics.listen is taken")
	}
	if !strings.Contains(err.Error(), "metrics.listen") || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Errorf("error %q does not name metrics.listen and its address", err)
	}
}

// TestMetricsServedThroughTheShutdownDelay: while load balancers notice the
// 503 of /readyz, the numbers of the draining instance are still scraped;
// the metrics listener closes with the gateway.
func TestMetricsServedThroughTheShutdownDelay(t *testing.T) {
	addr, metricsAddr := freePort(t), freePort(t)
	cfg := strings.Replace(metricsConfig(t, addr, metricsAddr), "shutdown_delay: 0s", "shutdown_delay: 1s", 1)
	p := startProcess(t, addr, cfg)
	p.stop()
	waitFor(t, "/readyz to turn 503", func() bool { return status(t, p.base+"/readyz") == http.StatusServiceUnavailable })
	if v, ok := value(scrape(t, metricsAddr), "jitsi_gate_http_requests_total", map[string]string{"route": "GET /readyz", "code": "503"}); !ok || v < 1 {
		t.Errorf("during the shutdown delay: readyz 503s = %v (present %v), want ≥ 1", v, ok)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("gateway stopped with %v", err)
	}
	if got := status(t, "http://"+metricsAddr+"/metrics"); got != 0 {
		t.Errorf("metrics listener still answers %d after the gateway stopped", got)
	}
}

// TestInviteEventsAreMetricLabels: the invites service reports the events
// the metric counts under these labels (wire.go passes m.Invite).
func TestInviteEventsAreMetricLabels(t *testing.T) {
	for _, pair := range [][2]string{
		{invites.EventCreated, metrics.InviteCreated}, {invites.EventRedeemed, metrics.InviteRedeemed},
		{invites.EventRejected, metrics.InviteRejected}, {invites.EventRevoked, metrics.InviteRevoked},
	} {
		if pair[0] != pair[1] {
			t.Errorf("invites event %q is metrics label %q", pair[0], pair[1])
		}
	}
}
