package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
)

// loginsOf is jitsi_gate_logins_total by result for backend.
func loginsOf(t *testing.T, m *metrics.Metrics, backend string) map[string]float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "jitsi_gate_logins_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["backend"] == backend && s.GetCounter().GetValue() > 0 {
				out[labels["result"]] = s.GetCounter().GetValue()
			}
		}
	}
	return out
}

// counterSum adds up every series of the counter name.
func counterSum(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() == name {
			for _, s := range f.GetMetric() {
				sum += s.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestProviderLoginResults: each way a provider login ends is counted once,
// with the result operators alert on; a callback that belongs to no login
// of the browser is not a login.
func TestProviderLoginResults(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(h *harness)
		tamper func(cb *url.URL)
		down   bool // the provider goes down before the callback
		want   map[string]float64
	}{
		{name: "success", want: map[string]float64{metrics.LoginSuccess: 1}},
		{name: "user cancels", setup: func(h *harness) { h.idp.SetAuthorizeError("access_denied", "user cancelled") },
			want: map[string]float64{metrics.LoginDenied: 1}},
		{name: "code refused", setup: func(h *harness) { h.idp.SetTokenError(http.StatusBadRequest, "invalid_grant", "expired") },
			want: map[string]float64{metrics.LoginDenied: 1}},
		{name: "answer does not verify", setup: func(h *harness) {
			h.idp.SetIDTokenMutator(func(c map[string]any) { c["nonce"] = "other" })
		}, want: map[string]float64{metrics.LoginDenied: 1}},
		{name: "provider down", down: true, want: map[string]float64{metrics.LoginUnavailable: 1}},
		{name: "forged state is no login", tamper: func(cb *url.URL) {
			q := cb.Query()
			q.Set("state", "forged")
			cb.RawQuery = q.Encode()
		}, want: map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := metrics.New(metrics.Options{Backends: []string{"idp", "demo"}})
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, harnessOptions{metrics: m})
			if tt.setup != nil {
				tt.setup(h)
			}
			c := client(t)
			resp, _ := get(t, c, h.url+"/login/idp?room=math")
			cb := h.idp.Authorize(t, resp.Header.Get("Location"))
			if tt.tamper != nil {
				tt.tamper(cb)
			}
			if tt.down {
				h.idp.Down()
			}
			get(t, c, cb.String())
			got := loginsOf(t, m, "idp")
			if len(got) != len(tt.want) {
				t.Fatalf("logins = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("logins = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestProviderDownAtLoginStartIsUnavailable(t *testing.T) {
	m, err := metrics.New(metrics.Options{Backends: []string{"idp", "demo"}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{metrics: m})
	h.idp.Down()
	resp, _ := get(t, client(t), h.url+"/login/idp?room=math")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login start with the provider down: %d, want 503", resp.StatusCode)
	}
	if got := loginsOf(t, m, "idp"); len(got) != 1 || got[metrics.LoginUnavailable] != 1 {
		t.Errorf("logins = %v, want one unavailable", got)
	}
}

func TestPasswordLoginRateLimitedIsCounted(t *testing.T) {
	m, err := metrics.New(metrics.Options{Backends: []string{"idp", "demo"}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{metrics: m}) // 5 failed attempts per user and minute
	c := client(t)
	for range 6 {
		resp, err := c.PostForm(h.url+"/login/demo", url.Values{"username": {"student"}, "password": {"wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := loginsOf(t, m, "demo")
	if got[metrics.LoginBadCredentials] != 5 || got[metrics.LoginRateLimited] != 1 || len(got) != 2 {
		t.Errorf("logins = %v, want 5 bad_credentials and 1 rate_limited", got)
	}
	// The metrics middleware sees the answer the client got.
	if n := counterOf(t, m, "jitsi_gate_http_requests_total", map[string]string{"route": "POST /login/{backend}", "code": "429"}); n != 1 {
		t.Errorf("429 answers counted %v, want 1", n)
	}
}

// counterOf is the value of the counter name with exactly labels, 0 when
// there is none.
func counterOf(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return s.GetCounter().GetValue()
		}
	}
	return 0
}
