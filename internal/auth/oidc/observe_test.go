package oidc

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc/oidctest"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
)

// TestObserveNamesAreTheMetricsOperations: the words Observe reports are
// the metrics package's operation labels (anything else is exported as
// "other").
func TestObserveNamesAreTheMetricsOperations(t *testing.T) {
	for got, want := range map[string]string{OpDiscovery: metrics.OpOIDCDiscovery, OpExchange: metrics.OpOIDCExchange, OpUserInfo: metrics.OpOIDCUserInfo} {
		if got != want {
			t.Errorf("oidc operation %q, metrics label %q", got, want)
		}
	}
}

func TestObserve(t *testing.T) {
	tests := []struct {
		name     string
		userInfo bool
		setup    func(p *oidctest.Provider)
		wantOK   bool
		want     []string
	}{
		{"login", false, nil, true, []string{OpDiscovery, OpExchange}},
		{"login with userinfo", true, nil, true, []string{OpDiscovery, OpExchange, OpUserInfo}},
		{"code refused", false, func(p *oidctest.Provider) {
			p.SetTokenError(http.StatusBadRequest, "invalid_grant", "expired")
		}, false, []string{OpDiscovery, OpExchange}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			if tt.setup != nil {
				tt.setup(p)
			}
			var mu sync.Mutex
			var got []string
			cfg := testConfig(p)
			cfg.UserInfo = tt.userInfo
			cfg.Observe = func(op string, d time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				if d <= 0 {
					t.Errorf("%s took %s", op, d)
				}
				got = append(got, op)
			}
			a := newAuth(t, cfg)
			_, _, err := login(t, a, p)
			if (err == nil) != tt.wantOK {
				t.Fatalf("login = %v, want ok=%v", err, tt.wantOK)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tt.want) {
				t.Errorf("observed %v, want %v", got, tt.want)
			}
		})
	}
}
