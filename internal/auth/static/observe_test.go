package static

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
)

func TestObserveVerify(t *testing.T) {
	if OpVerify != metrics.OpStaticVerify {
		t.Fatalf("static operation %q, metrics label %q", OpVerify, metrics.OpStaticVerify)
	}
	tests := []struct {
		name, user, pw string
		// Checks refused before bcrypt are not comparisons.
		wantObserved int
	}{
		{"right password", "teacher", "teach-pw", 1},
		{"wrong password", "teacher", "wrong", 1},
		{"unknown user pays the dummy compare", "mallory", "teach-pw", 1},
		{"empty password is refused before bcrypt", "teacher", "", 0},
		{"over-long password is refused before bcrypt", "teacher", strings.Repeat("x", 80), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []time.Duration
			a, err := New("demo", "", testUsers(t), Observe(func(op string, d time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				if op != OpVerify {
					t.Errorf("observed %q", op)
				}
				got = append(got, d)
			}))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = a.Login(context.Background(), tt.user, tt.pw)
			mu.Lock()
			defer mu.Unlock()
			if len(got) != tt.wantObserved {
				t.Fatalf("observed %d comparisons, want %d", len(got), tt.wantObserved)
			}
			for _, d := range got {
				// bcrypt at the minimum cost still takes about a millisecond.
				if d < 100*time.Microsecond {
					t.Errorf("comparison observed as %s: not the bcrypt time", d)
				}
			}
		})
	}
}
