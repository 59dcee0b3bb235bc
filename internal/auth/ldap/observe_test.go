package ldap

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// observed records what Config.Observe is told.
type observed struct {
	mu  sync.Mutex
	ops []string
}

func (o *observed) observe(op string, d time.Duration) {
	if d < 0 {
		panic("negative duration for " + op)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ops = append(o.ops, op)
}

func (o *observed) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.ops)
}

// TestObserveNamesAreTheMetricsOperations: the words Observe reports are
// the metrics package's operation labels (anything else is exported as
// "other").
func TestObserveNamesAreTheMetricsOperations(t *testing.T) {
	for got, want := range map[string]string{OpConnect: metrics.OpLDAPConnect, OpBind: metrics.OpLDAPBind, OpSearch: metrics.OpLDAPSearch} {
		if got != want {
			t.Errorf("ldap operation %q, metrics label %q", got, want)
		}
	}
}

func TestObserveFailedConnect(t *testing.T) {
	var o observed
	cfg := validConfig()
	cfg.URL = "ldap://" + closedPort(t)
	cfg.Observe = o.observe
	a := newAuth(t, cfg)
	if _, err := a.Login(context.Background(), "teacher1", "teacher1pass"); err == nil {
		t.Fatal("login against a closed port succeeded")
	}
	if got := o.list(); !slices.Equal(got, []string{OpConnect}) {
		t.Errorf("observed %v, want only the failed connect", got)
	}
}

func TestObserveLogin(t *testing.T) {
	env := testenv.LDAP(t)
	tests := []struct {
		name, user, pass string
		// The operations in order: connect, service bind, user search,
		// then (right password) the user bind, the rebind and the
		// group searches.
		wantPrefix []string
		wantOK     bool
	}{
		{"success", "teacher1", "teacher1pass", []string{OpConnect, OpBind, OpSearch, OpBind, OpBind, OpSearch}, true},
		{"wrong password", "teacher1", "wrong", []string{OpConnect, OpBind, OpSearch, OpBind}, false},
		{"unknown user", "nobody-here", "x", []string{OpConnect, OpBind, OpSearch}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o observed
			cfg := schoolConfig(env)
			cfg.Observe = o.observe
			a := newAuth(t, cfg)
			_, err := a.Login(context.Background(), tt.user, tt.pass)
			if (err == nil) != tt.wantOK {
				t.Fatalf("Login = %v, want ok=%v", err, tt.wantOK)
			}
			got := o.list()
			if len(got) < len(tt.wantPrefix) || !slices.Equal(got[:len(tt.wantPrefix)], tt.wantPrefix) {
				t.Errorf("observed %v, want it to start with %v", got, tt.wantPrefix)
			}
			if !tt.wantOK && len(got) != len(tt.wantPrefix) {
				t.Errorf("observed %v after a refused login, want exactly %v", got, tt.wantPrefix)
			}
		})
	}
}
